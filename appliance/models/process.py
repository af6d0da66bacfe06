"""Cross-department processes (docs/decisions/0018-process-definitions.md): definitions
stored as whole JSON documents per version, and the engine's state per ticket.

The unique constraints are what make the engine safe to run twice: a ticket runs one
instance of a process at a time (`active_key` is the key while the instance lives and
NULL afterwards; NULLs never collide), a node is entered once per visit and branch, and
an approver has one vote per approval step.
"""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .org import User
from .tickets import Ticket

DEFINITION_STATUSES = ("draft", "published", "retired")
INSTANCE_STATUSES = ("running", "waiting", "completed", "rejected", "error", "cancelled")
STEP_STATES = ("entered", "running", "active", "completed", "failed", "cancelled")


class ProcessDefinition(BaseModel):
    key = pw.CharField(max_length=64)
    version = pw.IntegerField()
    status = pw.CharField(max_length=16, default="draft")
    name = pw.CharField(max_length=200, default="")  # the document's name, for lists
    document = pw.JSONField()
    revision = pw.IntegerField(default=1)  # bumped on each save of a draft (expected_version)
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    published_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    published_at = pw.DateTimeField(null=True)
    retired_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "process_definition"
        indexes = ((("key", "version"), True), (("status", "key"), False))


class ProcessInstance(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, backref="process_instances", on_delete="CASCADE")
    definition = pw.ForeignKeyField(ProcessDefinition, backref="instances",
                                    on_delete="RESTRICT")
    key = pw.CharField(max_length=64)
    version = pw.IntegerField()
    status = pw.CharField(max_length=16, default="running")
    active_key = pw.CharField(max_length=64, null=True)  # key while running, else NULL
    started_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    started_at = pw.DateTimeField(default=utcnow)
    ended_at = pw.DateTimeField(null=True)
    error = pw.TextField(default="")
    revision = pw.IntegerField(default=1)

    class Meta:
        table_name = "process_instance"
        indexes = ((("ticket", "active_key"), True), (("status", "id"), False),
                   (("ticket", "id"), False))


class ProcessStep(BaseModel):
    """One visit of a node by one branch of an instance (parallel branches: `branch`)."""
    instance = pw.ForeignKeyField(ProcessInstance, backref="steps", on_delete="CASCADE")
    node_id = pw.CharField(max_length=64)
    node_type = pw.CharField(max_length=24)
    label = pw.CharField(max_length=200, default="")
    branch = pw.CharField(max_length=255, default="")
    visit = pw.IntegerField(default=1)
    state = pw.CharField(max_length=16, default="entered")
    outcome = pw.CharField(max_length=16, default="")
    attempts = pw.IntegerField(default=0)
    entered_at = pw.DateTimeField(default=utcnow)
    due_at = pw.DateTimeField(null=True)
    wake_at = pw.DateTimeField(null=True)       # timers; approval escalation
    next_attempt_at = pw.DateTimeField(null=True)
    claimed_at = pw.DateTimeField(null=True)    # a webhook call in flight since
    completed_at = pw.DateTimeField(null=True)
    completed_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    error = pw.TextField(default="")
    data = pw.JSONField(default=dict)

    class Meta:
        table_name = "process_step"
        indexes = ((("instance", "node_id", "branch", "visit"), True),
                   (("state", "next_attempt_at"), False), (("state", "wake_at"), False),
                   (("instance", "state"), False))


class ProcessApproval(BaseModel):
    step = pw.ForeignKeyField(ProcessStep, backref="approvals", on_delete="CASCADE")
    approver = pw.ForeignKeyField(User, backref="process_approvals", on_delete="CASCADE")
    decision = pw.CharField(max_length=16, default="")  # "" | approved | rejected | void
    comment = pw.TextField(default="")
    escalated = pw.BooleanField(default=False)
    created_at = pw.DateTimeField(default=utcnow)
    decided_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "process_approval"
        indexes = ((("step", "approver"), True), (("approver", "decision", "id"), False))
