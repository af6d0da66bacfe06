"""Transactional outbox for background work.

A service writes a Job row in the same transaction as the change it belongs to and
enqueues the Huey task after commit. The task marks the row done; the sweeper
re-enqueues rows left unfinished (worker killed, queue lost), so no work is lost.
"""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow


class Job(BaseModel):
    name = pw.CharField(max_length=64)
    object_id = pw.IntegerField()
    created_at = pw.DateTimeField(default=utcnow)
    enqueued_at = pw.DateTimeField(default=utcnow)
    done_at = pw.DateTimeField(null=True)
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(default="")

    class Meta:
        indexes = ((("done_at", "enqueued_at"), False), (("name", "object_id"), False))
