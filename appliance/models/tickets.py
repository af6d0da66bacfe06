"""Tickets and everything hanging off them: conversation, attachments, timeline, links."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .customers import Customer
from .org import Department, User


class Category(BaseModel):
    """Admin-managed hierarchical taxonomy; `path` is the full name for display and sorting."""
    name = pw.CharField(max_length=100)
    parent = pw.ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")
    path = pw.CharField(max_length=500, default="")
    department = pw.ForeignKeyField(Department, null=True, on_delete="SET NULL")
    active = pw.BooleanField(default=True)

    class Meta:
        indexes = ((("parent", "name"), True),)


class CustomFieldDef(BaseModel):
    key = pw.CharField(max_length=64, unique=True)
    label = pw.CharField(max_length=100)
    kind = pw.CharField(max_length=16)  # text | number | date | select | multiselect
    options = pw.JSONField(default=list)
    required = pw.BooleanField(default=False)
    active = pw.BooleanField(default=True)
    position = pw.IntegerField(default=0)


class Ticket(BaseModel):
    number = pw.CharField(max_length=32, unique=True)
    subject = pw.CharField(max_length=255)
    description = pw.TextField(default="")
    channel = pw.CharField(max_length=16, default="web")
    status = pw.CharField(max_length=24, default="new")
    is_open = pw.BooleanField(default=True)
    priority = pw.SmallIntegerField(default=3)
    urgency = pw.CharField(max_length=8, default="medium")
    category = pw.ForeignKeyField(Category, null=True, on_delete="SET NULL")
    department = pw.ForeignKeyField(Department, null=True, on_delete="SET NULL")
    assignee = pw.ForeignKeyField(User, null=True, backref="assigned", on_delete="SET NULL")
    customer = pw.ForeignKeyField(Customer, null=True, backref="tickets", on_delete="SET NULL")
    requester = pw.ForeignKeyField(User, null=True, backref="requested", on_delete="SET NULL")
    custom_fields = pw.JSONField(default=dict)
    due_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    first_response_at = pw.DateTimeField(null=True)
    resolved_at = pw.DateTimeField(null=True)
    closed_at = pw.DateTimeField(null=True)
    merged_into = pw.ForeignKeyField("self", null=True, on_delete="SET NULL",
                                     index=False)   # partial index below
    # Set by AI triage (as suggestions applied or confirmed; see models.ai.TriageRun).
    language = pw.CharField(max_length=8, default="")
    sentiment = pw.CharField(max_length=16, default="")
    summary = pw.CharField(max_length=500, default="")
    entities = pw.JSONField(default=dict)
    required_skills = pw.JSONField(default=list)
    triage_state = pw.CharField(max_length=16, default="")  # "" | pending | auto | review | done
    # Dispatch: how the current assignee got the ticket, and when.
    assignment_mode = pw.CharField(max_length=16, default="")  # "" | auto | pulled | manual
    assigned_at = pw.DateTimeField(null=True)
    version = pw.IntegerField(default=1)

    class Meta:
        # Each index serves one queue view with keyset paging on id (see docs/decisions).
        indexes = (
            (("assignee", "is_open", "id"), False),
            (("department", "is_open", "assignee", "id"), False),
            (("is_open", "id"), False),
            (("is_open", "priority", "id"), False),
            (("customer", "id"), False),
            (("requester", "id"), False),
            (("status", "id"), False),
            (("resolved_at",), False),  # knowledge coverage: tickets resolved in a period
            (("updated_at",), False),   # the report refresh's change feed (migration 0031)
        )


# merged_into is empty on nearly every ticket: only the merged ones are indexed (the
# ticket page's "merged into this one" lookup; migration 0032, decision 0049).
Ticket.add_index(Ticket.index(Ticket.merged_into, name="ticket_merged_into_id",
                              where=Ticket.merged_into.is_null(False)))
# The triage queue and its sidebar count on every agent page: partial indexes hold only
# the few tickets in each waiting state. A plain (triage_state, id) index was ignored by
# SQLite's planner, whose statistics keep one average per index (nearly every ticket has
# the same state), so the count walked the whole department. The state stays the first
# column: an equality on it is what makes the planner pick the partial index over an
# IS NULL on another indexed column (an empty partial index has no statistics).
for _state in ("review", "pending"):
    Ticket.add_index(Ticket.index(Ticket.triage_state, Ticket.id, name=f"ticket_triage_{_state}_id",
                                  where=(Ticket.triage_state == _state)))


class TicketTag(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, backref="tag_rows", on_delete="CASCADE")
    tag = pw.CharField(max_length=64)

    class Meta:
        indexes = ((("ticket", "tag"), True), (("tag", "ticket"), False))


class Comment(BaseModel):
    """A public reply or an internal note; `internal` ones are never shown to customers."""
    ticket = pw.ForeignKeyField(Ticket, backref="comments", on_delete="CASCADE")
    author = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    author_kind = pw.CharField(max_length=16)  # agent | customer | system
    internal = pw.BooleanField(default=False)
    body = pw.TextField()
    channel = pw.CharField(max_length=16, default="web")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("ticket", "id"), False),)


class Attachment(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, backref="attachments", on_delete="CASCADE")
    comment = pw.ForeignKeyField(Comment, null=True, backref="attachments", on_delete="SET NULL")
    filename = pw.CharField(max_length=255)
    storage_name = pw.CharField(max_length=64, unique=True)
    content_type = pw.CharField(max_length=100)
    size = pw.IntegerField()
    sha256 = pw.CharField(max_length=64)
    internal = pw.BooleanField(default=False)
    uploaded_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)


class TimelineEvent(BaseModel):
    """Append-only record of every change; services only ever insert rows here."""
    ticket = pw.ForeignKeyField(Ticket, backref="events", on_delete="CASCADE")
    actor = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    kind = pw.CharField(max_length=32)
    field = pw.CharField(max_length=64, default="")
    before = pw.JSONField(null=True)
    after = pw.JSONField(null=True)
    internal = pw.BooleanField(default=False)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("ticket", "id"), False),)


class TicketLink(BaseModel):
    """kind=parent: source is the parent of target; related/duplicate: source → target."""
    source = pw.ForeignKeyField(Ticket, backref="links_out", on_delete="CASCADE")
    target = pw.ForeignKeyField(Ticket, backref="links_in", on_delete="CASCADE")
    kind = pw.CharField(max_length=16)
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("source", "target", "kind"), True), (("target", "kind"), False))


class SavedFilter(BaseModel):
    user = pw.ForeignKeyField(User, backref="saved_filters", on_delete="CASCADE")
    name = pw.CharField(max_length=100)
    query = pw.JSONField(default=dict)

    class Meta:
        indexes = ((("user", "name"), True),)


class NumberSequence(BaseModel):
    """Per-year counter behind human ticket numbers (GD-2026-000123)."""
    year = pw.IntegerField(primary_key=True)
    last = pw.IntegerField(default=0)
