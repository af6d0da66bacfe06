"""Follow-up visits (回访; migration 0022, docs/decisions/0038): the rules an administrator
sets (which resolutions get a visit, when, with which script, by whom) and the visits,
one per resolution of a ticket (unique ticket + resolved_at, as the CSAT survey)."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .customers import Customer
from .org import Department, Team, User
from .tickets import Comment, Ticket


class FollowUpRule(BaseModel):
    name = pw.CharField(max_length=100, unique=True)
    active = pw.BooleanField(default=True)
    # What triggers a visit; an empty list means "any" (at least one is set).
    category_ids = pw.JSONField(default=list)     # a category covers its sub-categories
    customer_tags = pw.JSONField(default=list)    # tags or tiers (vip, vip-gold), casefolded
    customer_ids = pw.JSONField(default=list)
    delay_minutes = pw.IntegerField(default=1440)
    business_time = pw.BooleanField(default=False)   # on the department's SLA calendar
    script = pw.TextField(default="")                # shown to staff only
    assign_to = pw.CharField(max_length=16, default="resolver")   # resolver | department | team
    pool_department = pw.ForeignKeyField(Department, null=True, on_delete="SET NULL")
    pool_team = pw.ForeignKeyField(Team, null=True, on_delete="SET NULL")
    max_attempts = pw.IntegerField(default=3)        # calls before "unreachable" for good
    retry_minutes = pw.IntegerField(default=240)
    version = pw.IntegerField(default=1)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)


class FollowUpVisit(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, backref="+", on_delete="CASCADE")
    resolved_at = pw.DateTimeField()                 # the resolution it follows up
    rule = pw.ForeignKeyField(FollowUpRule, null=True, on_delete="SET NULL")
    customer = pw.ForeignKeyField(Customer, null=True, on_delete="SET NULL")
    department = pw.ForeignKeyField(Department, null=True, on_delete="SET NULL")  # the pool
    agent = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")        # None: the pool
    team = pw.ForeignKeyField(Team, null=True, on_delete="SET NULL")         # a team's pool
    resolver = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    script = pw.TextField(default="")                # the rule's script when scheduled
    due_at = pw.DateTimeField()
    status = pw.CharField(max_length=16, default="scheduled")   # scheduled | closed | cancelled
    outcome = pw.CharField(max_length=16, default="")  # satisfied | not_solved | unreachable
    attempts = pw.IntegerField(default=0)
    max_attempts = pw.IntegerField(default=3)
    retry_minutes = pw.IntegerField(default=240)
    note = pw.TextField(default="")
    call_note = pw.ForeignKeyField(Comment, null=True, backref="+", on_delete="SET NULL")
    follow_up = pw.ForeignKeyField(Ticket, null=True, backref="+", on_delete="SET NULL")
    done_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    done_at = pw.DateTimeField(null=True)
    reminded_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    version = pw.IntegerField(default=1)

    class Meta:
        indexes = ((("ticket", "resolved_at"), True), (("status", "due_at"), False),
                   (("agent", "status", "due_at"), False),
                   (("department", "status", "due_at"), False), (("done_at",), False))
