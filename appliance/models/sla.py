"""SLA configuration and state (migration 0020, docs/decisions/0036): business calendars
per department (one without a department is the default), policies, each ticket's
computed clocks, and the warnings and breaches recorded once each."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .org import Department
from .tickets import Ticket


class SlaCalendar(BaseModel):
    """Opening hours as rules.business_calendar reads them; department None: the default."""
    name = pw.CharField(max_length=100)
    department = pw.ForeignKeyField(Department, null=True, unique=True, on_delete="CASCADE")
    time_zone = pw.CharField(max_length=64, default="Asia/Shanghai")
    week = pw.JSONField(default=list)            # 7 lists of ["09:00", "18:00"], Monday first
    chinese_holidays = pw.BooleanField(default=True)
    makeup_day_hours = pw.JSONField(null=True)   # list of [start, end] or None
    closures = pw.JSONField(default=list)        # [{"start", "end", "reason"}] ISO dates/times
    extra_open_days = pw.JSONField(default=list)  # ISO dates
    version = pw.IntegerField(default=1)
    updated_at = pw.DateTimeField(default=utcnow)


class SlaPolicy(BaseModel):
    name = pw.CharField(max_length=100)
    position = pw.IntegerField(default=100)      # the order: lowest first
    active = pw.BooleanField(default=True)
    priorities = pw.JSONField(default=list)      # empty: any
    category_ids = pw.JSONField(default=list)
    tiers = pw.JSONField(default=list)
    channels = pw.JSONField(default=list)
    first_response_minutes = pw.IntegerField(null=True)
    next_response_minutes = pw.IntegerField(null=True)
    resolution_minutes = pw.IntegerField(null=True)
    warn_at = pw.JSONField(default=list)         # percents, e.g. [75, 90]
    escalations = pw.JSONField(default=list)     # [{"at", "action", "user_id", "team_id"}]
    version = pw.IntegerField(default=1)
    updated_at = pw.DateTimeField(default=utcnow)


class TicketSla(BaseModel):
    """The latest evaluation of a ticket's clocks, so queues sort without recomputing."""
    ticket = pw.ForeignKeyField(Ticket, primary_key=True, backref="+", on_delete="CASCADE")
    policy = pw.ForeignKeyField(SlaPolicy, null=True, on_delete="SET NULL")
    is_open = pw.BooleanField(default=True)
    next_due_at = pw.DateTimeField(null=True)    # earliest due time of a running clock
    breached = pw.BooleanField(default=False)    # any clock breached, running or done
    warning = pw.SmallIntegerField(null=True)    # highest warning percent of a running clock
    paused = pw.BooleanField(default=False)
    clocks = pw.JSONField(default=dict)          # clock -> state (services.sla_timers)
    computed_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("is_open", "next_due_at"), False), (("is_open", "breached"), False))


class SlaEvent(BaseModel):
    """A warning threshold crossed or a breach, recorded once per clock cycle."""
    ticket = pw.ForeignKeyField(Ticket, backref="+", on_delete="CASCADE")
    policy = pw.ForeignKeyField(SlaPolicy, null=True, on_delete="SET NULL")
    clock = pw.CharField(max_length=16)
    threshold = pw.SmallIntegerField()           # percent; 100 = breach
    started_at = pw.DateTimeField()              # the clock's start (a new cycle warns anew)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("ticket", "clock", "threshold", "started_at"), True),)
