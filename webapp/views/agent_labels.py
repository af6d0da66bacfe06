"""Human words for timeline events: what happened, to which field, from what to what.

Event values are JSON (None, numbers, strings, lists, dicts). Everything here
returns plain text; the templates escape it.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import format_datetime, lazy_gettext

from webapp.filters import STATUS_LABELS, URGENCY_LABELS, CHANNEL_LABELS

EVENT_LABELS = {
    "created": lazy_gettext("created the ticket"),
    "field_changed": lazy_gettext("changed"),
    "assigned": lazy_gettext("assigned"),
    "status_changed": lazy_gettext("changed the status"),
    "reopened": lazy_gettext("reopened the ticket"),
    "csat_answered": lazy_gettext("satisfaction survey answered"),
    "csat_follow_up": lazy_gettext("low satisfaction rating: followed up on"),
    "reply_added": lazy_gettext("replied"),
    "note_added": lazy_gettext("added an internal note"),
    "attachment_added": lazy_gettext("attached a file"),
    "linked": lazy_gettext("linked"),
    "unlinked": lazy_gettext("unlinked"),
    "merged": lazy_gettext("merged"),
    "split": lazy_gettext("split a reply into a new ticket"),
}
FIELD_LABELS = {
    "rating": lazy_gettext("Rating"),
    "subject": lazy_gettext("Subject"),
    "priority": lazy_gettext("Priority"),
    "urgency": lazy_gettext("Urgency"),
    "category_id": lazy_gettext("Category"),
    "department_id": lazy_gettext("Department"),
    "assignee_id": lazy_gettext("Assignee"),
    "customer_id": lazy_gettext("Customer"),
    "tags": lazy_gettext("Tags"),
    "custom_fields": lazy_gettext("Custom fields"),
    "due_at": lazy_gettext("Due"),
    "status": lazy_gettext("Status"),
    "merged_into": lazy_gettext("merged into"),
    "merged_from": lazy_gettext("merged from"),
    "parent": lazy_gettext("parent/child"),
    "related": lazy_gettext("related"),
    "duplicate": lazy_gettext("duplicate"),
    "comment": lazy_gettext("reply"),
}
EMPTY = "—"
# Words for the keys of an event's dict value; modules add theirs (agent_callbacks).
KEY_LABELS: dict = {}


def event_label(kind: str) -> str:
    return str(EVENT_LABELS.get(kind, kind))


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def _scalar(value, field: str, names: dict) -> str:
    if field == "status":
        return str(STATUS_LABELS.get(value, value))
    if field == "urgency":
        return str(URGENCY_LABELS.get(value, value))
    if field == "channel":
        return str(CHANNEL_LABELS.get(value, value))
    if field == "priority" and isinstance(value, int):
        return f"P{value}"
    if field == "due_at" and isinstance(value, str):
        return _time(value)
    if field in names and isinstance(value, int):
        return str(names[field].get(value, f"#{value}"))
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return str(value)


def _time(value: str) -> str:
    """A stored UTC time (ISO 8601) in the UI's time zone, as the rest of the page shows it."""
    try:
        return format_datetime(dt.datetime.fromisoformat(value), "yyyy-MM-dd HH:mm")
    except ValueError:
        return value


def _mapping(value: dict, names: dict) -> str:
    if "number" in value:
        return str(value["number"])
    if "ticket_id" in value:
        return str(names.get("ticket", {}).get(value["ticket_id"], f"#{value['ticket_id']}"))
    if "filename" in value:
        return str(value["filename"])
    return "; ".join(f"{KEY_LABELS.get(k, k)}: {describe_value(v, k, names)}"
                     for k, v in value.items())


def describe_value(value, field: str = "", names: dict | None = None) -> str:
    """A short readable rendering of one before/after value of a timeline event."""
    names = names or {}
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, dict):
        return _mapping(value, names)
    if isinstance(value, (list, tuple)):
        return ", ".join(describe_value(v, field, names) for v in value)
    return _scalar(value, field, names)
