"""Scheduled e-mail reports (migration 0025, docs/decisions/0041): a supervisor's or an
administrator's saved dashboard filter sent as a CSV or XLSX attachment to internal users
(ids, never free addresses) every day, week or month, and one run row per period so that
a period is sent once however many workers or retries run."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .mail import MailMessage
from .org import User


class ReportSchedule(BaseModel):
    owner = pw.ForeignKeyField(User, backref="+", on_delete="CASCADE")
    name = pw.CharField(max_length=100)
    # The dashboard filter without dates (department, channel, agent, category): the
    # dates are the period that just ended when the schedule fires.
    params = pw.JSONField(default=dict)
    frequency = pw.CharField(max_length=8)            # daily | weekly | monthly
    weekday = pw.SmallIntegerField(null=True)         # weekly: 0 Monday .. 6 Sunday
    day = pw.SmallIntegerField(null=True)             # monthly: 1..28
    hour = pw.SmallIntegerField(default=8)            # local hour in time_zone, 0..23
    time_zone = pw.CharField(max_length=64, default="Asia/Shanghai")
    recipients = pw.JSONField(default=list)           # user ids (internal users only)
    format = pw.CharField(max_length=4, default="xlsx")   # csv | xlsx
    active = pw.BooleanField(default=True)
    paused_reason = pw.CharField(max_length=200, default="")
    last_sent_at = pw.DateTimeField(null=True)
    next_run_at = pw.DateTimeField(null=True, index=True)   # UTC
    created_at = pw.DateTimeField(default=utcnow)
    version = pw.IntegerField(default=1)


class ReportRun(BaseModel):
    """One period of one schedule: created once (unique), with the outbox row it queued."""
    schedule = pw.ForeignKeyField(ReportSchedule, backref="runs", on_delete="CASCADE")
    period_key = pw.CharField(max_length=16)          # 2026-11-26 | 2026-W47 | 2026-10
    date_from = pw.DateField()
    date_to = pw.DateField()
    mail = pw.ForeignKeyField(MailMessage, null=True, on_delete="SET NULL")
    status = pw.CharField(max_length=8, default="queued")  # queued | sent | skipped
    rows = pw.IntegerField(default=0)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("schedule", "period_key"), True),)
