"""Encryption keys kept in the database: data keys wrapped by the master key, and the
check value that tells whether a master key is the one this database was set up with."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow


class DataKey(BaseModel):
    """An AES-256 key wrapped by master key `master_version` (security.envelope.wrap_key).
    purpose "data" encrypts fields and files (the newest unretired one for new values);
    "index" keys the blind indexes (one per installation)."""
    purpose = pw.CharField(max_length=16, default="data")
    wrapped = pw.TextField()  # base64
    master_version = pw.IntegerField()
    created_at = pw.DateTimeField(default=utcnow)
    retired_at = pw.DateTimeField(null=True)


class KeyCheck(BaseModel):
    """security.envelope.key_check of each master key version in use."""
    master_version = pw.IntegerField(primary_key=True)
    check_value = pw.CharField(max_length=64)
    created_at = pw.DateTimeField(default=utcnow)
