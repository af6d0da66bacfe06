"""Dispatch (人单匹配): agent profiles, shifts, absences, department routing policies,
the waiting queue, routing decisions, per-category efficiency and notifications."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .org import Department, Skill, Team, User
from .tickets import Category, Ticket

PRESENCES = ("online", "busy", "away", "offline")
STRATEGIES = ("skills", "least_loaded", "round_robin")


class AgentProfile(BaseModel):
    """Routing state of one staff member (created on first use; capacity lives on User).

    `presence` is what the agent (or the system, when `presence_auto`) set; whether the
    agent can take work also depends on shifts, absences and load (rules.routing)."""
    user = pw.ForeignKeyField(User, primary_key=True, backref="profile", on_delete="CASCADE")
    presence = pw.CharField(max_length=8, default="offline")
    presence_auto = pw.BooleanField(default=True)   # set by the system, not by the agent
    presence_changed_at = pw.DateTimeField(default=utcnow)
    last_activity_at = pw.DateTimeField(null=True)
    last_assigned_at = pw.DateTimeField(null=True)  # round-robin order and fairness
    # Permissions: empty list = no restriction; vip_tiers lists tiers allowed ("*" = all).
    allowed_category_ids = pw.JSONField(default=list)
    allowed_customer_ids = pw.JSONField(default=list)
    vip_tiers = pw.JSONField(default=lambda: ["*"])
    languages = pw.JSONField(default=list)          # e.g. ["zh", "en"]
    version = pw.IntegerField(default=1)


class AgentShift(BaseModel):
    """Weekly working hours in the appliance's time zone (weekday 0 = Monday).
    An agent with no shift rows is on shift whenever online."""
    user = pw.ForeignKeyField(User, backref="shifts", on_delete="CASCADE")
    weekday = pw.SmallIntegerField(constraints=[pw.Check("weekday BETWEEN 0 AND 6")])
    start_minute = pw.SmallIntegerField()  # minutes after local midnight
    end_minute = pw.SmallIntegerField()    # exclusive; may be < start for overnight shifts

    class Meta:
        indexes = ((("user", "weekday"), False),)


class AgentAbsence(BaseModel):
    """A break, leave or training: no new work between starts_at and ends_at (UTC)."""
    user = pw.ForeignKeyField(User, backref="absences", on_delete="CASCADE")
    kind = pw.CharField(max_length=16, default="break")  # break | leave | training
    starts_at = pw.DateTimeField()
    ends_at = pw.DateTimeField()
    note = pw.CharField(max_length=200, default="")

    class Meta:
        indexes = ((("user", "ends_at"), False),)


class DispatchPolicy(BaseModel):
    """How one department routes: strategy, score weights, capacity weights, escalation."""
    department = pw.ForeignKeyField(Department, primary_key=True, backref="policy",
                                    on_delete="CASCADE")
    auto_assign = pw.BooleanField(default=True)
    strategy = pw.CharField(max_length=16, default="skills")
    weights = pw.JSONField(default=dict)           # component -> weight (rules.routing)
    channel_weights = pw.JSONField(default=dict)   # channel -> load units
    priority_weights = pw.JSONField(default=dict)  # "1".."4" -> load units
    escalate_after_minutes = pw.IntegerField(default=0)  # 0 = never
    lead = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    overflow_department = pw.ForeignKeyField(Department, null=True, on_delete="SET NULL",
                                             backref="overflow_for")
    overflow_team = pw.ForeignKeyField(Team, null=True, on_delete="SET NULL")
    updated_at = pw.DateTimeField(default=utcnow)
    version = pw.IntegerField(default=1)


class QueueEntry(BaseModel):
    """A ticket waiting for an agent in its department's queue (one row per ticket)."""
    ticket = pw.ForeignKeyField(Ticket, primary_key=True, on_delete="CASCADE")
    department = pw.ForeignKeyField(Department, on_delete="CASCADE")
    priority = pw.SmallIntegerField(default=3)
    due_at = pw.DateTimeField(null=True)
    since = pw.DateTimeField(default=utcnow)
    reason = pw.CharField(max_length=32, default="")  # why no one took it the last time
    escalated_at = pw.DateTimeField(null=True)
    attempts = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("department", "priority", "due_at", "since"), False),)


class RoutingDecision(BaseModel):
    """Why a ticket went to whom (or waits): the chosen agent and the runners-up."""
    ticket = pw.ForeignKeyField(Ticket, backref="routing", on_delete="CASCADE")
    department = pw.ForeignKeyField(Department, null=True, on_delete="SET NULL")
    agent = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    mode = pw.CharField(max_length=16)       # auto | pulled | manual | queued | redistributed
    strategy = pw.CharField(max_length=16, default="")
    explanation = pw.JSONField(default=dict)  # facts for the sentence, translated on display
    candidates = pw.JSONField(default=list)   # [{user_id, name, score, parts}], best first
    excluded = pw.JSONField(default=dict)     # reason -> count
    latency_ms = pw.BigIntegerField(default=0)   # ticket creation -> this decision (0031)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("ticket", "id"), False), (("created_at",), False))


class AgentStat(BaseModel):
    """Efficiency of one agent in one category (category NULL = all) over the window."""
    user = pw.ForeignKeyField(User, backref="stats", on_delete="CASCADE")
    category = pw.ForeignKeyField(Category, null=True, on_delete="CASCADE")
    window_days = pw.IntegerField()
    closed = pw.IntegerField(default=0)
    median_handle_minutes = pw.FloatField(null=True)
    fcr_rate = pw.FloatField(null=True)
    reopen_rate = pw.FloatField(null=True)
    csat = pw.FloatField(null=True)             # mean CSAT rating 1..5 (services.agent_stats)
    csat_answers = pw.IntegerField(default=0)   # the answers it rests on (migration 0022)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "category"), True),)


class Notification(BaseModel):
    """Something a person should look at (escalations, misconfigured routing, ...)."""
    user = pw.ForeignKeyField(User, backref="notifications", on_delete="CASCADE")
    kind = pw.CharField(max_length=32)
    ticket = pw.ForeignKeyField(Ticket, null=True, on_delete="CASCADE")
    data = pw.JSONField(default=dict)
    created_at = pw.DateTimeField(default=utcnow)
    read_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "read_at", "id"), False),)


class CategorySkill(BaseModel):
    """Skills a category's tickets need (triage copies them to Ticket.required_skills)."""
    category = pw.ForeignKeyField(Category, backref="skill_rows", on_delete="CASCADE")
    skill = pw.ForeignKeyField(Skill, backref="category_rows", on_delete="CASCADE")
    min_level = pw.SmallIntegerField(default=1, constraints=[pw.Check("min_level BETWEEN 1 AND 5")])

    class Meta:
        indexes = ((("category", "skill"), True),)
