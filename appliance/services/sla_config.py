"""SLA configuration: business calendars (one per department plus the default) and SLA
policies — list, read, save, delete (docs/decisions/0036).

Administrators with `config.manage` only. Input is a plain dict (API JSON or a parsed
form); bad input is one ValidationError naming every offending field with a reason —
a calendar is checked by rules.business_calendar.problems, a policy set by
rules.sla_policy.problems — and nothing is saved. Saves are versioned (a stale edit is a
409). After a change every open ticket's clocks are recomputed by the next periodic run;
the change also schedules that run at once (services.sla_timers).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from appliance import dto
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Category, Department, SlaCalendar, SlaPolicy, Team, User, utcnow
from appliance.rules import business_calendar as bc
from appliance.rules import calendar_json, sla_policy
from appliance.rules.access import Actor

CAL_FIELDS = ("name", "department_id", "time_zone", "week", "chinese_holidays",
              "makeup_day_hours", "closures", "extra_open_days")
POLICY_FIELDS = ("name", "order", "active", "priorities", "category_ids", "tiers", "channels",
                 "first_response_minutes", "next_response_minutes", "resolution_minutes",
                 "warn_at", "escalations")
CHANGED = "changed by someone else; reload and try again"


def require_admin(actor: Actor) -> None:
    if not actor.can("config.manage"):
        raise PermissionDenied("SLA settings are for administrators")


# ---------------------------------------------------------------- calendars

@dataclass(frozen=True)
class CalendarView:
    id: int
    name: str
    department: dto.Ref | None
    time_zone: str
    week: dict                      # day name -> [[start, end], ...]
    chinese_holidays: bool
    makeup_day_hours: list | None
    closures: list
    extra_open_days: list
    version: int
    warnings: list = field(default_factory=list)   # English texts (holiday data years)


def to_rule(row: SlaCalendar) -> bc.BusinessCalendar:
    """The stored calendar as the maths reads it (stored rows were validated on save)."""
    cal, _ = calendar_json.parse({
        "time_zone": row.time_zone, "week": row.week, "chinese_holidays": row.chinese_holidays,
        "makeup_day_hours": row.makeup_day_hours, "closures": row.closures,
        "extra_open_days": row.extra_open_days})
    return cal


def calendar_view(row: SlaCalendar, today: dt.date | None = None) -> CalendarView:
    today = today or utcnow().date()
    warnings = [p.message for p in bc.year_warnings(to_rule(row), (today.year, today.year + 1))]
    dept = row.department
    return CalendarView(row.id, row.name, dto.Ref(dept.id, dept.name) if dept else None,
                        row.time_zone, dict(zip(bc.WEEKDAYS, row.week)), row.chinese_holidays,
                        row.makeup_day_hours, list(row.closures), list(row.extra_open_days),
                        row.version, warnings)


def list_calendars(actor: Actor) -> list[CalendarView]:
    require_admin(actor)
    rows = SlaCalendar.select().order_by(SlaCalendar.department.is_null(False), SlaCalendar.name)
    return [calendar_view(r) for r in rows]


def get_calendar(actor: Actor, calendar_id: int) -> CalendarView:
    require_admin(actor)
    return calendar_view(_calendar_row(calendar_id))


def _calendar_row(calendar_id) -> SlaCalendar:
    row = SlaCalendar.get_or_none(SlaCalendar.id == _int_id(calendar_id))
    if row is None:
        raise NotFound("calendar not found")
    return row


def _int_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound("not found") from None


def save_calendar(actor: Actor, calendar_id: int | None, data: dict,
                  expected_version=None) -> CalendarView:
    """Create (calendar_id None) or replace a calendar; every problem in one error."""
    require_admin(actor)
    unknown = sorted(set(data) - set(CAL_FIELDS))
    if unknown:
        raise ValidationError({k: "unknown field" for k in unknown})
    cal, errors = calendar_json.parse(data)
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 100:
        errors["name"] = "required, at most 100 characters"
    department_id = data.get("department_id") or None
    if department_id is not None and not Department.select().where(
            Department.id == _safe_int(department_id)).exists():
        errors["department_id"] = "does not exist"
    if cal is not None:   # the readable rest is checked too, so one answer names everything
        unreadable = bool(errors)
        for p in bc.problems(cal):
            if p.severity == "error" and not (unreadable and p.code == "no_hours"):
                errors.setdefault(p.path, p.message)
    if errors:
        raise ValidationError(errors)
    values = {"name": name, "department": _safe_int(department_id) if department_id else None,
              **calendar_json.stored(cal), "updated_at": utcnow()}
    with unit_of_work():
        if calendar_id is None:
            if values["department"] is None and SlaCalendar.select().where(
                    SlaCalendar.department.is_null()).exists():
                raise ValidationError({"department_id": "choose a department: the default "
                                       "calendar exists already"})
            _department_free(values["department"], None)
            row = SlaCalendar.create(**values)
        else:
            row = _calendar_row(calendar_id)
            _check_version(row, expected_version)
            if (row.department_id is None) != (values["department"] is None):
                raise ValidationError({"department_id": "the default calendar has no "
                                       "department, the others one each"})
            _department_free(values["department"], row.id)
            n = SlaCalendar.update(**values, version=row.version + 1).where(
                (SlaCalendar.id == row.id) & (SlaCalendar.version == row.version)).execute()
            if n != 1:
                raise Conflict("the calendar was " + CHANGED)
            row = SlaCalendar.get_by_id(row.id)
        _changed()
    return calendar_view(row)


def delete_calendar(actor: Actor, calendar_id: int) -> None:
    require_admin(actor)
    with unit_of_work():
        row = _calendar_row(calendar_id)
        if row.department_id is None:
            raise ValidationError({"department_id": "the default calendar cannot be deleted"})
        row.delete_instance()
        _changed()


def _department_free(department_id: int | None, own_id: int | None) -> None:
    if department_id is None:
        return
    q = SlaCalendar.select().where(SlaCalendar.department == department_id)
    if own_id is not None:
        q = q.where(SlaCalendar.id != own_id)
    if q.exists():
        raise ValidationError({"department_id": "this department has a calendar already"})


def _check_version(row, expected_version) -> None:
    if expected_version in (None, ""):
        return
    if _safe_int(expected_version) != row.version:
        raise Conflict(f"the {type(row).__name__.replace('Sla', '').lower()} was {CHANGED}",
                       current_version=row.version)


def _safe_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- policies

@dataclass(frozen=True)
class PolicyView:
    id: int
    name: str
    order: int
    active: bool
    priorities: list
    category_ids: list
    tiers: list
    channels: list
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    warn_at: list
    escalations: list
    version: int


def policy_rule(row: SlaPolicy) -> sla_policy.Policy:
    return sla_policy.Policy(
        row.id, row.name, row.position, frozenset(row.priorities or ()),
        frozenset(row.category_ids or ()), frozenset(row.tiers or ()),
        frozenset(row.channels or ()), row.first_response_minutes, row.next_response_minutes,
        row.resolution_minutes, tuple(row.warn_at or ()),
        tuple(sla_policy.Escalation(e.get("at"), e.get("action"), e.get("user_id"),
                                    e.get("team_id")) for e in row.escalations or ()),
        row.active)


def _policy_view(row: SlaPolicy) -> PolicyView:
    return PolicyView(row.id, row.name, row.position, row.active, list(row.priorities),
                      list(row.category_ids), list(row.tiers), list(row.channels),
                      row.first_response_minutes, row.next_response_minutes,
                      row.resolution_minutes, list(row.warn_at), list(row.escalations),
                      row.version)


def list_policies(actor: Actor) -> list[PolicyView]:
    require_admin(actor)
    return [_policy_view(r) for r in SlaPolicy.select().order_by(SlaPolicy.position,
                                                                 SlaPolicy.id)]


def get_policy(actor: Actor, policy_id: int) -> PolicyView:
    require_admin(actor)
    return _policy_view(_policy_row(policy_id))


def _policy_row(policy_id) -> SlaPolicy:
    row = SlaPolicy.get_or_none(SlaPolicy.id == _int_id(policy_id))
    if row is None:
        raise NotFound("policy not found")
    return row


def category_parents() -> dict[int, int | None]:
    return dict(Category.select(Category.id, Category.parent).tuples())


def save_policy(actor: Actor, policy_id: int | None, data: dict,
                expected_version=None) -> PolicyView:
    """Create or replace a policy; rejected with reasons when it is invalid on its own or
    conflicts with, hides, or is hidden by another policy."""
    require_admin(actor)
    unknown = sorted(set(data) - set(POLICY_FIELDS))
    if unknown:
        raise ValidationError({k: "unknown field" for k in unknown})
    values, errors = _parse_policy(data)
    with unit_of_work():
        row = _policy_row(policy_id) if policy_id is not None else None
        if row is not None:
            _check_version(row, expected_version)
        errors = _policy_set_problems(row.id if row else None, values, errors)
        if errors:
            raise ValidationError(errors)
        values["updated_at"] = utcnow()
        if row is None:
            row = SlaPolicy.create(**values)
        else:
            n = SlaPolicy.update(**values, version=row.version + 1).where(
                (SlaPolicy.id == row.id) & (SlaPolicy.version == row.version)).execute()
            if n != 1:
                raise Conflict("the policy was " + CHANGED)
            row = SlaPolicy.get_by_id(row.id)
        _changed()
    return _policy_view(row)


def delete_policy(actor: Actor, policy_id: int) -> None:
    require_admin(actor)
    with unit_of_work():
        _policy_row(policy_id).delete_instance()
        _changed()


_MINUTES = ("first_response_minutes", "next_response_minutes", "resolution_minutes")


def _parse_policy(data: dict) -> tuple[dict, dict]:
    errors: dict[str, str] = {}
    values: dict = {"name": str(data.get("name") or "").strip()[:100],
                    "active": data.get("active", True) not in (False, "false", "0", 0, "off")}
    order = _safe_int(data.get("order", 100))
    values["position"] = order if order is not None else -1
    for key in _MINUTES:
        raw = data.get(key)
        values[key] = None if raw in (None, "") else _safe_int(raw)
        if raw not in (None, "") and values[key] is None:
            errors[key] = "a whole number of minutes"
    for key, kind in (("priorities", int), ("category_ids", int), ("warn_at", int),
                      ("tiers", str), ("channels", str)):
        raw = data.get(key) or []
        if isinstance(raw, str):
            raw = [x for x in raw.replace("，", ",").split(",") if x.strip()]
        if not isinstance(raw, list):
            errors[key] = "must be a list"
            raw = []
        if kind is int:
            parsed = [_safe_int(x) for x in raw]
            if None in parsed:
                errors[key] = "must be whole numbers"
            values[key] = sorted({x for x in parsed if x is not None})
        else:
            values[key] = sorted({str(x).strip().casefold() for x in raw})
    if "warn_at" not in data:
        values["warn_at"] = [75, 90]
    values["escalations"] = _parse_escalations(data.get("escalations") or [], errors)
    return values, errors


def _parse_escalations(raw, errors: dict) -> list[dict]:
    if not isinstance(raw, list):
        errors["escalations"] = "must be a list"
        return []
    out = []
    for i, e in enumerate(raw):
        if not isinstance(e, dict) or set(e) - {"at", "action", "user_id", "team_id"}:
            errors[f"escalations[{i}]"] = "an escalation is {at, action, user_id, team_id}"
            continue
        item = {"at": _safe_int(e.get("at")), "action": str(e.get("action") or "")}
        for key, model in (("user_id", User), ("team_id", Team)):
            if e.get(key) not in (None, ""):
                item[key] = _safe_int(e.get(key))
                if item[key] is None or not model.select().where(model.id == item[key]).exists():
                    errors[f"escalations[{i}].{key}"] = "does not exist"
        if item.get("user_id") and not User.select().where(
                (User.id == item["user_id"]) & User.active
                & User.role.in_(("agent", "supervisor"))).exists():
            errors.setdefault(f"escalations[{i}].user_id", "must be an active agent")
        out.append(item)
    return out


def _policy_set_problems(policy_id: int | None, values: dict, errors: dict) -> dict:
    """Problems of the whole set with this policy saved (after the policy's own, added to
    the input's `errors`); another policy a problem concerns is named in its reason."""
    others = list(SlaPolicy.select().where(SlaPolicy.id != policy_id) if policy_id
                  else SlaPolicy.select())
    mine = SlaPolicy(id=policy_id, **values)
    rules = [policy_rule(mine)] + [policy_rule(r) for r in others]
    parents = category_parents()
    errors = dict(errors)
    for p in sla_policy.policy_problems(rules[0], "", set(parents)):
        errors.setdefault(_field(p.path), p.message)
    if errors:
        return errors
    for p in sla_policy.problems(rules, parents):
        index = int(p.path.split("[")[1].split("]")[0])
        if p.code not in ("policy_conflict", "policy_unreachable"):
            continue
        if index == 0:
            errors.setdefault("order", p.message)
        elif p.params.get("other") == values["name"]:
            errors.setdefault("order", f"“{rules[index].name}”: {p.message}")
    return errors


def _field(path: str) -> str:
    """rules.sla_policy paths name the rule's fields; the form's fields end in _minutes."""
    head = path.split("[")[0] if path.startswith("escalations") else path
    if head in ("first_response", "next_response", "resolution"):
        return head + "_minutes"
    return path if path.startswith("escalations") else head


def _changed() -> None:
    """Every open ticket's clocks follow the new settings (the periodic run, started now)."""
    from appliance.services import sla_timers
    sla_timers.schedule_full_run()
