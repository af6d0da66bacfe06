"""The audit log (docs/decisions/0026-audit-log.md): record, search, export, checkpoint,
verify and prune.

`record` is called by every service that does something security-relevant, inside that
service's transaction: the record commits with the change or not at all, and when it
cannot be written the action fails with AuditUnavailable (HTTP 503) — fail closed.
Writers take the next seq under a lock on the chain's head: a transaction-level advisory
lock on PostgreSQL (every node), the database write lock on SQLite (BEGIN IMMEDIATE).
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

import peewee

from appliance import audit_keys, request_context, runtime
from appliance.db import database, is_postgres
from appliance.errors import DomainError, PermissionDenied, ValidationError
from appliance.models import AuditCheckpoint, AuditHead, AuditRecord, User, utcnow
from appliance.rules.access import Actor
from security import audit_chain

log = logging.getLogger(__name__)

RESULTS = ("success", "failure", "denied")
_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_LOCK_KEY = 0x67644155  # "gdAU": the advisory lock that serialises audit writers
DETAIL_MAX = 4000
BATCH = 20000
COLUMNS = audit_chain.FIELDS + ("mac",)


class AuditUnavailable(DomainError):
    """The audit record could not be written, so the action it records was not done."""
    code = "audit_unavailable"
    http_status = 503


def iso(at: dt.datetime | str) -> str:
    """The one text form of a record's time that the mac covers (microseconds always)."""
    if isinstance(at, str):  # SQLite hands back what it stored
        at = at.replace(" ", "T")
        return at if "." in at else at + ".000000"
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def record(action: str, *, actor_id: int | None, ip: str = "", object_type: str = "",
           object_id: str | int = "", result: str = "success", detail: dict | None = None
           ) -> int:
    """Append one event to the chain; returns its seq. Raises AuditUnavailable."""
    if not _ACTION.match(action or "") or len(action) > 64 or result not in RESULTS:
        raise ValueError(f"bad audit action or result: {action!r} {result!r}")
    text = audit_chain.canonical_detail(detail)
    if len(text) > DETAIL_MAX:
        raise ValueError(f"audit detail of {action} is too long")
    try:
        keys = audit_keys.load(runtime.settings())
        with database.atomic():
            return _append(keys, {
                "actor_id": actor_id or None, "actor_name": _actor_name(actor_id),
                "ip": (ip or request_context.client_ip())[:64], "action": action,
                "object_type": object_type[:64], "object_id": str(object_id)[:64],
                "result": result, "detail": text})
    except (peewee.DatabaseError, audit_keys.AuditKeyProblem, OSError) as exc:
        # The class only: the message of a database error may quote the row's values.
        log.error("audit record %s could not be written (%s): the action is refused",
                  action, exc.__class__.__name__)
        raise AuditUnavailable("the audit log cannot be written; the action was not carried "
                               "out") from exc


def _actor_name(actor_id: int | None) -> str:
    if not actor_id:
        return "system" if actor_id == 0 else ""
    return User.select(User.username).where(User.id == actor_id).scalar() or ""


def _lock_head() -> tuple[int, str]:
    """Lock the chain's end for this transaction and return (seq, mac) of the last record."""
    if is_postgres():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
    head = AuditHead.get_or_none(AuditHead.id == 1)
    if head is not None:
        return head.seq, head.mac
    last = AuditRecord.select(AuditRecord.seq, AuditRecord.mac).order_by(
        AuditRecord.seq.desc()).first()
    seq, mac = (last.seq, last.mac) if last else (0, audit_chain.GENESIS)
    AuditHead.insert(id=1, seq=seq, mac=mac).execute()
    return seq, mac


def _append(keys, fields: dict) -> int:
    prev_seq, prev_mac = _lock_head()
    at = utcnow()
    rec = dict(fields, seq=prev_seq + 1, at=iso(at))
    mac = audit_chain.chain_mac(keys.hmac, prev_mac, rec)
    AuditRecord.insert(**dict(rec, at=at, mac=mac)).execute()
    AuditHead.update(seq=rec["seq"], mac=mac).where(AuditHead.id == 1).execute()
    return rec["seq"]


# --- checkpoints ---------------------------------------------------------------------------

def checkpoint(kind: str = "manual", *, only_if_new: bool = False) -> dict | None:
    """Sign the chain's current end; None when there is nothing (new) to sign."""
    keys = audit_keys.load(runtime.settings())
    with database.atomic():
        seq, mac = _lock_head()
        if seq == 0:
            return None
        if only_if_new and AuditCheckpoint.select().where(AuditCheckpoint.seq >= seq).exists():
            return None
        return _sign(keys, kind, seq, mac)


def _sign(keys, kind: str, seq: int, mac: str) -> dict:
    cp = {"kind": kind, "seq": seq, "head_mac": mac, "at": iso(utcnow()), "count": seq,
          "key_id": keys.key_id}
    cp["signature"] = audit_chain.sign_checkpoint(keys.private, cp)
    AuditCheckpoint.insert(**cp).execute()
    return cp


def checkpoints() -> list[dict]:
    q = AuditCheckpoint.select().order_by(AuditCheckpoint.seq, AuditCheckpoint.id)
    return [{"kind": c.kind, "seq": c.seq, "head_mac": c.head_mac, "at": c.at,
             "count": c.count, "key_id": c.key_id, "signature": c.signature} for c in q]


# --- verification --------------------------------------------------------------------------

def stream_records(upto: int | None = None):
    """Records as plain dicts in seq order, read in keyset batches (no ORM objects: a
    million peewee model instances would cost more than the HMACs)."""
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    # Built from module constants only; the one value is a bound parameter.
    p = database.param
    sql = (f'SELECT {cols} FROM "audit_record" WHERE "seq" > {p} AND "seq" <= {p} '  # nosec B608
           f'ORDER BY "seq" LIMIT {BATCH}')
    after, last = 0, upto if upto is not None else 2**62
    while True:
        rows = database.execute_sql(sql, (after, last)).fetchall()
        for row in rows:
            rec = dict(zip(COLUMNS, row))
            rec["at"] = iso(rec["at"])
            yield rec
        if len(rows) < BATCH:
            return
        after = rows[-1][0]


def verify(extra_checkpoints: list[dict] | None = None) -> audit_chain.Report:
    """Check the whole chain against the stored (and any exported) checkpoints."""
    keys = audit_keys.load(runtime.settings())
    # Checkpoints, then the head (never behind them), then records up to the head:
    # records and checkpoints written while this runs are left out, not reported.
    cps = checkpoints() + list(extra_checkpoints or [])
    head = AuditHead.get_or_none(AuditHead.id == 1)
    upto = head.seq if head else None
    return audit_chain.verify(keys.hmac, keys.public, stream_records(upto), cps, upto)


# --- retention -----------------------------------------------------------------------------

def prune(retention_days: int | None = None) -> int:
    """Delete records older than the retention, keeping the rest verifiable: in one
    transaction, sign an anchor checkpoint holding the mac of the last record deleted,
    open the trigger gate, delete, close the gate, and record that it happened."""
    days = retention_days or runtime.settings().audit_retention_days
    cutoff = utcnow() - dt.timedelta(days=days)
    keys = audit_keys.load(runtime.settings())
    with database.atomic():
        _lock_head()
        last = (AuditRecord.select(AuditRecord.seq, AuditRecord.mac)
                .where(AuditRecord.at < cutoff).order_by(AuditRecord.seq.desc()).first())
        if last is None:
            return 0
        _sign(keys, "anchor", last.seq, last.mac)
        database.execute_sql("INSERT INTO audit_prune_gate (id) VALUES (1)")
        n = AuditRecord.delete().where(AuditRecord.seq <= last.seq).execute()
        AuditCheckpoint.delete().where(AuditCheckpoint.seq < last.seq).execute()
        database.execute_sql("DELETE FROM audit_prune_gate")
        record("audit.pruned", actor_id=0, object_type="audit", detail={
            "through_seq": last.seq, "records": n, "retention_days": days})
    return n


# --- reading (the audit administrator) -----------------------------------------------------

@dataclass(frozen=True)
class Filters:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    actor: str = ""          # user name or id
    action: str = ""         # exact, or a prefix ending in "." (e.g. "auth.")
    object_type: str = ""
    object_id: str = ""
    result: str = ""


def require_auditor(actor: Actor) -> None:
    if not actor.can("audit.read"):
        raise PermissionDenied("audit administrators only")


def _query(f: Filters):
    q = AuditRecord.select()
    if f.since:
        q = q.where(AuditRecord.at >= f.since)
    if f.until:
        q = q.where(AuditRecord.at < f.until)
    if f.actor:
        q = q.where((AuditRecord.actor_id == int(f.actor)) if f.actor.isdigit()
                    else (AuditRecord.actor_name == f.actor))
    if f.action:
        q = q.where(AuditRecord.action.startswith(f.action) if f.action.endswith(".")
                    else AuditRecord.action == f.action)
    if f.object_type:
        q = q.where(AuditRecord.object_type == f.object_type)
    if f.object_id:
        q = q.where(AuditRecord.object_id == f.object_id)
    if f.result:
        if f.result not in RESULTS:
            raise ValidationError({"result": "must be one of " + ", ".join(RESULTS)})
        q = q.where(AuditRecord.result == f.result)
    return q


def row_dict(r: AuditRecord) -> dict:
    return {"seq": r.seq, "at": iso(r.at), "actor_id": r.actor_id, "actor_name": r.actor_name,
            "ip": r.ip, "action": r.action, "object_type": r.object_type,
            "object_id": r.object_id, "result": r.result, "detail": r.detail, "mac": r.mac}


def search(actor: Actor, filters: Filters, before_seq: int | None = None,
           limit: int = 50) -> tuple[list[dict], int | None]:
    """Newest first, keyset-paged by seq; returns (rows, before_seq of the next page)."""
    require_auditor(actor)
    q = _query(filters)
    if before_seq:
        q = q.where(AuditRecord.seq < before_seq)
    rows = [row_dict(r) for r in q.order_by(AuditRecord.seq.desc()).limit(limit + 1)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["seq"] if more and rows else None)


def get(actor: Actor, seq: int) -> dict | None:
    require_auditor(actor)
    r = AuditRecord.get_or_none(AuditRecord.seq == seq)
    return row_dict(r) if r else None


def export(actor: Actor, filters: Filters, fmt: str):
    """Lines of an export (csv or jsonl); the export itself is recorded first."""
    from appliance.services import audit_export
    return audit_export.export(actor, filters, fmt)


def record_user_change(actor_id: int | None, user_id: int, old_role: str, changes: dict) -> None:
    """user.updated (field names only, never values), plus user.role_changed and
    user.disabled / user.enabled when those are among the changes."""
    fields = sorted(k for k in changes if k != "version")
    record("user.updated", actor_id=actor_id, object_type="user", object_id=user_id,
           detail={"fields": fields})
    if "role" in changes and changes["role"] != old_role:
        record("user.role_changed", actor_id=actor_id, object_type="user", object_id=user_id,
               detail={"from": old_role, "to": changes["role"]})
    if "active" in changes:
        record("user.enabled" if changes["active"] else "user.disabled", actor_id=actor_id,
               object_type="user", object_id=user_id)
