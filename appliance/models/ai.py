"""AI triage and assistance: classifier versions, triage runs, cold-start label
profiles, admin-editable priority rules, and agent draft requests.

The model text never becomes an instruction: everything stored here is a
suggestion with the versions that produced it (see docs/decisions/0010-ai-triage.md).
"""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .org import User
from .tickets import Ticket


class ClassifierVersion(BaseModel):
    """One trained (or cold-start) classifier for one ticket field.

    The serialised model lives in the database (not on a node's disk) so that
    every worker of a multi-node site loads the same version; it is a numpy/JSON
    archive, never a pickle."""
    field = pw.CharField(max_length=32)  # department | category | priority | urgency
    version = pw.IntegerField()
    kind = pw.CharField(max_length=16)  # learned | cold
    blob = pw.BlobField()
    sha256 = pw.CharField(max_length=64)
    n_examples = pw.IntegerField(default=0)
    metrics = pw.JSONField(default=dict)
    active = pw.BooleanField(default=False)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("field", "version"), True), (("field", "active"), False))


class TicketVector(BaseModel):
    """A ticket's sentence vector from the local model (local_llm.embedder), kept so that
    retraining does not embed every resolved ticket again (decision 0053). `space` names
    the model and pooling it came from; `text_sha` the text it was computed from, so an
    edited ticket is embedded again. Deleted with the ticket and by erasure."""
    ticket = pw.ForeignKeyField(Ticket, primary_key=True, on_delete="CASCADE")
    space = pw.CharField(max_length=64)
    text_sha = pw.CharField(max_length=64)
    vector = pw.BlobField()
    created_at = pw.DateTimeField(default=utcnow)


class TriageRun(BaseModel):
    """What AI triage suggested and applied for one ticket at one stage."""
    ticket = pw.ForeignKeyField(Ticket, backref="triage_runs", on_delete="CASCADE")
    stage = pw.CharField(max_length=16)  # fast | enrich
    status = pw.CharField(max_length=16)  # applied | review | failed | undone | skipped
    model = pw.CharField(max_length=100, default="")
    model_sha256 = pw.CharField(max_length=64, default="")
    classifier_versions = pw.JSONField(default=dict)  # field -> "learned:3" | "cold:1"
    prompt_version = pw.CharField(max_length=32, default="")
    rules_version = pw.CharField(max_length=32, default="")
    # field -> {"value", "confidence", "applied", "reason", "alternatives"}
    suggestions = pw.JSONField(default=dict)
    # field -> {"before", "after"}: exactly what undo has to put back
    applied = pw.JSONField(default=dict)
    error = pw.CharField(max_length=255, default="")
    duration_ms = pw.IntegerField(default=0)
    created_at = pw.DateTimeField(default=utcnow)
    undone_at = pw.DateTimeField(null=True)
    undone_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")

    class Meta:
        indexes = ((("ticket", "id"), False),)


class LabelProfile(BaseModel):
    """Cold start: what an admin says a label means, with a few example tickets."""
    field = pw.CharField(max_length=32)
    value = pw.CharField(max_length=64)  # department id, category id, priority 1-5, urgency
    description = pw.TextField(default="")
    examples = pw.JSONField(default=list)
    active = pw.BooleanField(default=True)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("field", "value"), True),)


class TriageRule(BaseModel):
    """An admin-editable priority/urgency rule (safety risk, outage, VIP, ...)."""
    name = pw.CharField(max_length=100)
    condition = pw.CharField(max_length=32)  # keywords | vip_customer | repeat_contact | negative_sentiment
    keywords = pw.JSONField(default=list)
    threshold = pw.IntegerField(default=0)  # repeat_contact: contacts within 7 days
    priority = pw.SmallIntegerField(null=True)  # at least this priority (1 = highest)
    urgency = pw.CharField(max_length=8, null=True)
    active = pw.BooleanField(default=True)
    position = pw.IntegerField(default=0)
    updated_at = pw.DateTimeField(default=utcnow)


class AiDraft(BaseModel):
    """A reply draft or summary an agent asked for; the worker streams text into it."""
    ticket = pw.ForeignKeyField(Ticket, backref="ai_drafts", on_delete="CASCADE")
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    kind = pw.CharField(max_length=16)  # reply | thread_summary | customer_summary
    tone = pw.CharField(max_length=16, default="formal")
    language = pw.CharField(max_length=8, default="")
    status = pw.CharField(max_length=16, default="queued")  # queued | running | done | failed
    text = pw.TextField(default="")
    citations = pw.JSONField(default=list)
    model = pw.CharField(max_length=100, default="")
    prompt_version = pw.CharField(max_length=32, default="")
    error = pw.CharField(max_length=255, default="")
    created_at = pw.DateTimeField(default=utcnow)
    finished_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("ticket", "user", "id"), False),)
