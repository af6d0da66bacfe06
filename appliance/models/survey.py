"""Satisfaction surveys (migration 0021, docs/decisions/0037): one CSAT survey per
resolution of a ticket and the periodic NPS survey of a customer, the link token stored
only as a SHA-256 hash, the answer and the follow-up a bad answer opened."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .customers import Customer
from .mail import MailMessage
from .org import Department, User
from .tickets import Category, Ticket


class Survey(BaseModel):
    kind = pw.CharField(max_length=8, default="csat")          # csat | nps
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="+", on_delete="CASCADE")
    resolved_at = pw.DateTimeField(null=True)                  # the resolution it asks about
    customer = pw.ForeignKeyField(Customer, null=True, on_delete="SET NULL")
    # Who and what it rates, as they were at resolution (reports group by these).
    department = pw.ForeignKeyField(Department, null=True, on_delete="SET NULL")
    agent = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    category = pw.ForeignKeyField(Category, null=True, on_delete="SET NULL")
    token_hash = pw.CharField(max_length=64, null=True, unique=True)   # sha256 hex
    mail = pw.ForeignKeyField(MailMessage, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    expires_at = pw.DateTimeField()
    rating = pw.SmallIntegerField(null=True)
    comment = pw.TextField(default="")
    answered_at = pw.DateTimeField(null=True)
    answered_via = pw.CharField(max_length=8, default="")      # link | portal
    follow_up = pw.ForeignKeyField(Ticket, null=True, backref="+", on_delete="SET NULL")
    # NPS: "nps:<customer>:<period number>", so two runs of the periodic task cannot both
    # survey a customer in one period (None for CSAT).
    period_key = pw.CharField(max_length=64, null=True, unique=True)

    class Meta:
        indexes = ((("ticket", "resolved_at"), True), (("kind", "created_at"), False))
