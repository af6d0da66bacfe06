"""Translating the agent workspace's HTML forms into service inputs and back.

The properties panel posts every field. Only the fields whose value differs from
what the form showed are sent to the service, so an unchanged form records no
timeline events, and the hidden expected_version guards the rest.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask_babel import to_user_timezone
from werkzeug.datastructures import MultiDict

from appliance.services.tickets import TicketInput

PROPERTY_FIELDS = ("status", "priority", "urgency", "department_id", "assignee_id",
                   "category_id", "tags", "due_at")
CF = "custom_fields."


def _ref_id(ref) -> str:
    return str(ref.id) if ref else ""


def local_input(value: dt.datetime | None) -> str:
    """A stored UTC time as a datetime-local input value in the UI's time zone."""
    return to_user_timezone(value).strftime("%Y-%m-%dT%H:%M") if value else ""


def from_local_input(value: str, timezone: str) -> str:
    """A datetime-local value (UI time zone) as ISO 8601 with offset; bad input passes
    through unchanged so that the service names the field in its error."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed.isoformat()


def normal_tags(text: str) -> str:
    return ", ".join(sorted({t.strip() for t in (text or "").split(",")} - {""}))


def _cf_shown(value, kind: str):
    if kind == "multiselect":
        return sorted(str(v) for v in (value or []))
    return "" if value is None else str(value)


def property_values(detail, field_defs) -> dict:
    """What the properties form shows for a ticket, as form values."""
    s = detail.summary
    values = {"status": s.status, "priority": str(s.priority), "urgency": s.urgency,
              "department_id": _ref_id(s.department), "assignee_id": _ref_id(s.assignee),
              "category_id": _ref_id(s.category), "tags": ", ".join(detail.tags),
              "due_at": local_input(s.due_at)}
    for d in field_defs:
        values[CF + d.key] = _cf_shown(detail.custom_fields.get(d.key), d.kind)
    return values


def posted_values(form: MultiDict, field_defs) -> dict:
    """The properties form as posted; fields absent from the post are left out."""
    values = {k: form.get(k, "").strip() for k in PROPERTY_FIELDS if k in form}
    if "tags" in values:
        values["tags"] = normal_tags(values["tags"])
    for d in field_defs:
        name = CF + d.key
        if name in form:
            values[name] = (sorted(v for v in form.getlist(name) if v) if d.kind == "multiselect"
                            else form.get(name, "").strip())
    return values


def property_changes(shown: dict, posted: dict, field_defs, timezone: str) -> dict:
    """The service's `changes` for the fields the person actually changed."""
    required = {CF + d.key for d in field_defs if d.required}
    changes: dict = {}
    for name, value in posted.items():
        if value == shown.get(name):
            continue
        if name.startswith(CF):
            if value in ("", []) and name in required:
                continue  # a required field cannot be emptied; keep the stored value
            changes.setdefault("custom_fields", {})[name[len(CF):]] = value
        elif name == "due_at":
            changes["due_at"] = from_local_input(value, timezone) if value else None
        elif name in ("department_id", "assignee_id", "category_id"):
            changes[name] = value or None
        else:
            changes[name] = value
    return changes


def custom_values(form: MultiDict, field_defs) -> dict:
    out = {}
    for d in field_defs:
        if d.kind == "multiselect":
            chosen = [v for v in form.getlist(CF + d.key) if v]
            if chosen:
                out[d.key] = chosen
        elif form.get(CF + d.key, "").strip():
            out[d.key] = form.get(CF + d.key).strip()
    return out


def ticket_input(form: MultiDict, field_defs, timezone: str) -> TicketInput:
    """The new-ticket form as the service's input (only the listed fields)."""
    due = form.get("due_at", "").strip()
    return TicketInput(
        subject=form.get("subject", ""), description=form.get("description", ""),
        channel=form.get("channel", "phone"), priority=form.get("priority") or None,
        urgency=form.get("urgency") or None, category_id=form.get("category_id") or None,
        department_id=form.get("department_id") or None,
        assignee_id=form.get("assignee_id") or None,
        customer_id=form.get("customer_id", "").strip() or None,
        tags=[t for t in normal_tags(form.get("tags", "")).split(", ") if t],
        custom_fields=custom_values(form, field_defs),
        due_at=from_local_input(due, timezone) if due else None)


def contacts_from(form: MultiDict) -> list[dict]:
    """Contact rows (kind, value, label); rows left blank are dropped."""
    rows = zip(form.getlist("contact_kind"), form.getlist("contact_value"),
               form.getlist("contact_label"))
    return [{"kind": k, "value": v, "label": lab} for k, v, lab in rows if v.strip()]


def customer_fields(form: MultiDict) -> dict:
    return {"name": form.get("name", ""), "company": form.get("company", ""),
            "notes": form.get("notes", ""),
            "tags": [t for t in normal_tags(form.get("tags", "")).split(", ") if t],
            "contacts": contacts_from(form)}
