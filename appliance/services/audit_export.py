"""Exports of the audit log: CSV for people, JSON Lines for machines.

A JSONL export is self-describing so that it can be checked off the box: a header line
(public key, key id, filters), one line per record (with its mac), then every signed
checkpoint. The export is itself an audit event, recorded before the first line is made.
"""
from __future__ import annotations

import csv
import io
import json

from appliance import audit_keys, runtime
from appliance.errors import ValidationError
from appliance.models import utcnow
from appliance.rules.access import Actor
from appliance.services import audit

FORMATS = ("csv", "jsonl")
CSV_COLUMNS = ("seq", "at", "actor_id", "actor_name", "ip", "action", "object_type",
               "object_id", "result", "detail", "mac")


def _filters_detail(f: audit.Filters) -> dict:
    out = {k: v for k, v in f.__dict__.items() if v}
    return {k: audit.iso(v) if hasattr(v, "strftime") else v for k, v in out.items()}


def export(actor: Actor, filters: audit.Filters, fmt: str):
    """Record the export, then return an iterator over the lines of the file."""
    audit.require_auditor(actor)
    if fmt not in FORMATS:
        raise ValidationError({"format": "must be csv or jsonl"})
    audit.record("audit.exported", actor_id=actor.user_id, object_type="audit",
                 detail={"format": fmt, "filters": _filters_detail(filters)})
    rows = _rows(filters)
    return _csv(rows) if fmt == "csv" else _jsonl(filters, rows)


def _rows(filters: audit.Filters):
    q = audit._query(filters).order_by(audit.AuditRecord.seq).dicts().iterator()
    for r in q:
        r.pop("id", None)
        r["at"] = audit.iso(r["at"])
        yield r


def _csv(rows):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow([_cell(r[c]) for c in CSV_COLUMNS])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    if buf.getvalue():
        yield buf.getvalue()


def _cell(value) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _jsonl(filters: audit.Filters, rows):
    keys = audit_keys.load(runtime.settings())
    yield _line({"type": "header", "format": "gongdan-audit-export-v1",
                 "exported_at": audit.iso(utcnow()), "key_id": keys.key_id,
                 "public_key": keys.public_pem, "filters": _filters_detail(filters)})
    for r in rows:
        yield _line(dict(r, type="record"))
    for cp in audit.checkpoints():
        yield _line(dict(cp, type="checkpoint"))


def _line(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def read_checkpoints(lines) -> list[dict]:
    """The checkpoints of an export (or of a file of checkpoint lines)."""
    out = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise ValidationError({"checkpoints": f"line {n} is not JSON"}) from None
        if isinstance(obj, dict) and obj.get("type", "checkpoint") == "checkpoint":
            obj.pop("type", None)
            out.append(obj)
    return out


def read_export(lines):
    """(header, records, checkpoints) of a JSONL export, for verification off the box."""
    header, records, cps = {}, [], []
    for line in lines:
        if not line.strip():
            continue
        obj = json.loads(line)
        kind = obj.pop("type", "")
        if kind == "header":
            header = obj
        elif kind == "record":
            records.append(obj)
        elif kind == "checkpoint":
            cps.append(obj)
    return header, records, cps
