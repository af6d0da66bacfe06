"""The tamper-evident audit log (docs/decisions/0026-audit-log.md).

`audit_record` rows are chained by an HMAC (security.audit_chain) and are never updated;
database triggers refuse UPDATE, and DELETE unless the retention prune has opened the
gate (a row in `audit_prune_gate` inserted and removed inside the prune's own
transaction). `actor_id` is a plain integer with a name snapshot, not a foreign key:
deleting a user must neither fail nor change the chain. `audit_head` is the single row
writers lock to take the next seq.
"""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow


class AuditRecord(BaseModel):
    seq = pw.BigIntegerField(unique=True)
    at = pw.DateTimeField(default=utcnow, index=True)
    actor_id = pw.IntegerField(null=True, index=True)
    actor_name = pw.CharField(max_length=150, default="")
    ip = pw.CharField(max_length=64, default="")
    action = pw.CharField(max_length=64, index=True)
    object_type = pw.CharField(max_length=64, default="")
    object_id = pw.CharField(max_length=64, default="")
    result = pw.CharField(max_length=16, default="success")
    detail = pw.TextField(default="{}")      # canonical JSON text, exactly as authenticated
    mac = pw.CharField(max_length=64)

    class Meta:
        indexes = ((("object_type", "object_id"), False),)


class AuditCheckpoint(BaseModel):
    """A signed statement that the chain had `count` records ending in `head_mac`."""
    seq = pw.BigIntegerField(index=True)
    kind = pw.CharField(max_length=16, default="periodic")   # periodic, manual, anchor
    head_mac = pw.CharField(max_length=64)
    at = pw.CharField(max_length=32)                          # ISO time, as signed
    count = pw.BigIntegerField()
    key_id = pw.CharField(max_length=16)
    signature = pw.CharField(max_length=128)


class AuditHead(BaseModel):
    """Where the chain ends (id 1): writers lock it; the verifier compares it."""
    seq = pw.BigIntegerField(default=0)
    mac = pw.CharField(max_length=64)


class AuditVerification(BaseModel):
    """One run of the chain verifier in the worker (migration 0027, decision 0043): asked
    for on /audit/verify or by the nightly task; the web request only queues it."""
    requested_by = pw.IntegerField(null=True)                  # user id; None: the nightly run
    requested_at = pw.DateTimeField(default=utcnow)
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    status = pw.CharField(max_length=16, default="queued")     # queued running intact tampered error
    records = pw.BigIntegerField(default=0)
    checkpoints = pw.IntegerField(default=0)
    first_seq = pw.BigIntegerField(null=True)
    last_seq = pw.BigIntegerField(null=True)
    problems = pw.JSONField(default=list)                      # [{kind, seq, message}]
    more_problems = pw.IntegerField(default=0)
    error = pw.CharField(max_length=200, default="")


class BackupRun(BaseModel):
    """A backup or a backup check the system administrator asked for on the backup page,
    run by the worker (migration 0028, decision 0044)."""
    kind = pw.CharField(max_length=8)                          # create | verify
    file_name = pw.CharField(max_length=64, default="")
    requested_by = pw.IntegerField(null=True)
    requested_at = pw.DateTimeField(default=utcnow)
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    status = pw.CharField(max_length=16, default="queued")     # queued running done failed
    bytes = pw.BigIntegerField(default=0)
    files = pw.IntegerField(default=0)
    seconds = pw.FloatField(default=0.0)
    error = pw.CharField(max_length=300, default="")
