"""Authentication records beside the user row: password history, recovery codes, and the
shared sliding-window counters of the rate limits (decision 0027)."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .org import User


class PasswordHistory(BaseModel):
    """Hashes of a user's previous passwords ("mlps" policy: the last N may not return)."""
    user = pw.ForeignKeyField(User, backref="+", on_delete="CASCADE")
    password_hash = pw.CharField(max_length=255)
    created_at = pw.DateTimeField(default=utcnow)


class RecoveryCode(BaseModel):
    """A single-use second-factor code; only its SHA-256 is stored."""
    user = pw.ForeignKeyField(User, backref="+", on_delete="CASCADE")
    code_hash = pw.CharField(max_length=64)
    used_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "code_hash"), True),)


class RateEvent(BaseModel):
    """One counted attempt (login, second step, password change, token creation) under a
    hashed key such as "login:ip:…"; in the database so every web worker sees the same
    counts."""
    key = pw.CharField(max_length=64)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("key", "created_at"), False),)


class SecurityPolicy(BaseModel):
    """One policy value the security administrator set (migration 0026, decision 0042);
    a key without a row keeps the config file's value."""
    key = pw.CharField(max_length=64, unique=True)
    value = pw.JSONField()
    updated_at = pw.DateTimeField(default=utcnow)
    updated_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
