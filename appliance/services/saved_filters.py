"""Saved queue filters: a user's own named sets of queue parameters.

A filter is stored as the queue's parameters ({"status": ["open"], ...}), the
same shape as the query string of the queue page, so that saving, sharing a
link and applying a saved filter are one code path: `build_query`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import peewee as pw

from appliance.errors import NotFound, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import SavedFilter
from appliance.rules import states
from appliance.rules.access import Actor
from appliance.services import common
from appliance.services.queues import SORTS, VIEWS, TicketQuery

FILTER_KEYS = ("view", "status", "priority", "department_id", "assignee", "category_id",
               "channel", "tag", "sort")
MAX_FILTERS = 50
_MAX_VALUES = 20


@dataclass(frozen=True)
class SavedFilterView:
    id: int
    name: str
    params: dict[str, list[str]]


def _view(row: SavedFilter) -> SavedFilterView:
    return SavedFilterView(row.id, row.name, {k: list(v) for k, v in (row.query or {}).items()})


def clean_params(params: Mapping) -> dict[str, list[str]]:
    """Keep the known keys with their non-empty values; unknown keys are dropped."""
    out: dict[str, list[str]] = {}
    for key in FILTER_KEYS:
        raw = params.get(key) or []
        values = [raw] if isinstance(raw, str) else list(raw)
        values = [str(v).strip()[:100] for v in values if str(v).strip()][:_MAX_VALUES]
        if values:
            out[key] = values
    return out


def _one(params: dict, key: str) -> str | None:
    values = params.get(key) or []
    return values[0] if values else None


def _int_or_none(value: str | None, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError({field: "must be an id"}) from None


def _priorities(values: list[str]) -> list[int]:
    try:
        out = [int(v.upper().lstrip("P")) for v in values]
    except ValueError:
        out = [0]
    if any(p not in states.PRIORITIES for p in out):
        raise ValidationError({"priority": "must be 1, 2, 3 or 4"})
    return out


def _assignee(value: str | None) -> int | str | None:
    if value in (None, "", "me", "none"):
        return value or None
    return _int_or_none(value, "assignee")


def build_query(params: Mapping, *, cursor: str | None = None, limit: int = 50,
                default_view: str = "mine") -> TicketQuery:
    """Turn queue parameters (a saved filter or a query string) into a TicketQuery."""
    p = clean_params(params)
    view, sort = _one(p, "view") or default_view, _one(p, "sort") or "newest"
    channel = _one(p, "channel")
    errors = {}
    if view not in VIEWS:
        errors["view"] = "must be one of " + ", ".join(VIEWS)
    if sort not in SORTS:
        errors["sort"] = "must be one of " + ", ".join(SORTS)
    if channel and channel not in states.CHANNELS:
        errors["channel"] = "must be one of " + ", ".join(states.CHANNELS)
    bad = [s for s in p.get("status", []) if s not in states.STATUSES]
    if bad:
        errors["status"] = "unknown status: " + ", ".join(bad)
    if errors:
        raise ValidationError(errors)
    return TicketQuery(
        view=view, status=p.get("status", []), priority=_priorities(p.get("priority", [])),
        department_id=_int_or_none(_one(p, "department_id"), "department_id"),
        assignee_id=_assignee(_one(p, "assignee")),
        category_id=_int_or_none(_one(p, "category_id"), "category_id"),
        channel=channel, tag=_one(p, "tag"), sort=sort, cursor=cursor or None, limit=limit)


def list_filters(actor: Actor) -> list[SavedFilterView]:
    rows = SavedFilter.select().where(SavedFilter.user == actor.user_id).order_by(SavedFilter.name)
    return [_view(r) for r in rows]


def _own(actor: Actor, filter_id: int) -> SavedFilter:
    """The actor's own filter; someone else's is reported as not found (no probing)."""
    row = SavedFilter.get_or_none((SavedFilter.id == filter_id)
                                  & (SavedFilter.user == actor.user_id))
    if row is None:
        raise NotFound("saved filter not found", id=filter_id)
    return row


def get_filter(actor: Actor, filter_id: int) -> SavedFilterView:
    return _view(_own(actor, filter_id))


def save_filter(actor: Actor, name: str, params: Mapping) -> SavedFilterView:
    """Save the parameters under a name; the name must be new for this user."""
    name = common.clean_text(name, "name", required=True, max_len=100, single_line=True)
    clean = clean_params(params)
    build_query(clean)  # reject what the queue would reject, before storing it
    with unit_of_work():
        mine = SavedFilter.select().where(SavedFilter.user == actor.user_id)
        if mine.where(SavedFilter.name == name).exists():
            raise ValidationError({"name": "you already have a filter with this name"})
        if mine.count() >= MAX_FILTERS:
            raise ValidationError({"name": f"at most {MAX_FILTERS} saved filters"})
        try:
            with unit_of_work():
                row = SavedFilter.create(user=actor.user_id, name=name, query=clean)
        except pw.IntegrityError:  # a concurrent save of the same name
            raise ValidationError({"name": "you already have a filter with this name"}) from None
    return _view(row)


def delete_filter(actor: Actor, filter_id: int) -> None:
    with unit_of_work():
        _own(actor, filter_id)
        SavedFilter.delete().where((SavedFilter.id == filter_id)
                                   & (SavedFilter.user == actor.user_id)).execute()
