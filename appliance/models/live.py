"""Live updates (docs/decisions/0019-live-updates.md): the events open pages follow, and
who is looking at or answering a ticket right now.

Events carry ids and a kind, never text: a page that hears of a change fetches what it
may see through the usual, permission-checked pages. `ticket_id` and `actor_id` are plain
integers, not foreign keys: an event is a short-lived note about a row, pruned after
`live_keep_hours`, and must not take locks on the rows it names.
"""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .org import User


class LiveEvent(BaseModel):
    """One change, written in the transaction that made it; the id orders the stream."""
    topic = pw.CharField(max_length=64, default="")   # "" = about ticket_id; else e.g. "process:3"
    ticket_id = pw.IntegerField(null=True)
    kind = pw.CharField(max_length=32)
    internal = pw.BooleanField(default=False)          # staff only (notes, presence, AI)
    actor_id = pw.IntegerField(null=True)
    data = pw.JSONField(null=True)                     # ids only, e.g. {"department_id": [1, 2]}
    created_at = pw.DateTimeField(default=utcnow)


class LivePresence(BaseModel):
    """A staff member with a ticket open (until viewing_until) and typing a reply in it
    (until replying_until); both are pushed forward by the page's heartbeats."""
    ticket_id = pw.IntegerField()
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    viewing_until = pw.DateTimeField()
    replying_until = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("ticket_id", "user"), True),)
