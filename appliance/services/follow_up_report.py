"""Follow-up visit figures for reports (docs/decisions/0038): outcome counts per agent and
per department over a date range. Supervisors see their own department, holders of
ticket.view_all any; the reports helper calls `follow_up_summary`.

A visit counts on the day it was closed (done_at, UTC dates): satisfied, not_solved and
unreachable as recorded, cancelled when its ticket was reopened before the call. The
agent is who made the last call (done_by); a cancelled visit has none.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from peewee import fn

from appliance import dto
from appliance.errors import PermissionDenied, ValidationError
from appliance.models import Department, FollowUpVisit, User, utcnow
from appliance.rules.access import Actor
from appliance.services import common

KINDS = ("satisfied", "not_solved", "unreachable", "cancelled")
MAX_DAYS = 366
DEFAULT_DAYS = 30       # the range when none is asked for


@dataclass(frozen=True)
class OutcomeCounts:
    satisfied: int = 0
    not_solved: int = 0
    unreachable: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.satisfied + self.not_solved + self.unreachable + self.cancelled


@dataclass(frozen=True)
class FollowUpSummary:
    date_from: dt.date
    date_to: dt.date
    department_id: int | None
    totals: OutcomeCounts
    by_agent: list[tuple[dto.Ref, OutcomeCounts]] = field(default_factory=list)
    by_department: list[tuple[dto.Ref, OutcomeCounts]] = field(default_factory=list)
    scheduled: int = 0              # still to call, due in the range


def _date(value, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError({name: "must be a date like 2026-01-31"}) from None


def _scope(actor: Actor, department_id) -> int | None:
    """The department the figures cover (None: all), after the permission check."""
    if not (actor.is_staff and actor.can("report.view")):
        raise PermissionDenied("follow-up figures are for supervisors and administrators")
    dept = common.exists(Department, department_id, "department_id")
    if actor.can("ticket.view_all"):
        return dept
    if actor.department_id is None or dept not in (None, actor.department_id):
        raise PermissionDenied("you see the figures of your own department only")
    return actor.department_id


def follow_up_summary(actor: Actor, date_from=None, date_to=None,
                      department_id=None) -> FollowUpSummary:
    """Blank dates: the last DEFAULT_DAYS days up to today (UTC)."""
    dept = _scope(actor, department_id)
    today = utcnow().date()
    values = common.check_all({
        "date_to": lambda: _date(date_to, "date_to") if date_to else today,
        "date_from": lambda: _date(date_from, "date_from") if date_from else None})
    end = values["date_to"]
    start = values["date_from"] or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise ValidationError({"date_to": "must not be before date_from"})
    if (end - start).days > MAX_DAYS:
        raise ValidationError({"date_to": f"the range may span at most {MAX_DAYS} days"})
    lo = dt.datetime.combine(start, dt.time.min)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min)
    cond = (FollowUpVisit.done_at >= lo) & (FollowUpVisit.done_at < hi) & (
        FollowUpVisit.status.in_(("closed", "cancelled")))
    if dept is not None:
        cond &= FollowUpVisit.department == dept
    kind = fn.COALESCE(fn.NULLIF(FollowUpVisit.outcome, ""), FollowUpVisit.status)
    rows = list(FollowUpVisit.select(FollowUpVisit.done_by, FollowUpVisit.department,
                                     kind.alias("kind"), fn.COUNT(FollowUpVisit.id).alias("n"))
                .where(cond).group_by(FollowUpVisit.done_by, FollowUpVisit.department, kind)
                .tuples())
    pending = FollowUpVisit.select().where(
        (FollowUpVisit.status == "scheduled") & (FollowUpVisit.due_at >= lo)
        & (FollowUpVisit.due_at < hi)
        & ((FollowUpVisit.department == dept) if dept is not None else True)).count()
    return FollowUpSummary(start, end, dept, _counts(rows, lambda r: True),
                           _grouped(rows, 0, User, "display_name"),
                           _grouped(rows, 1, Department, "name"), pending)


def _counts(rows, keep) -> OutcomeCounts:
    totals = dict.fromkeys(KINDS, 0)
    for row in rows:
        if keep(row) and row[2] in totals:
            totals[row[2]] += row[3]
    return OutcomeCounts(**totals)


def _grouped(rows, index: int, model, name_attr: str) -> list[tuple[dto.Ref, OutcomeCounts]]:
    ids = sorted({r[index] for r in rows} - {None})
    names = {m.id: getattr(m, name_attr) for m in
             model.select(model.id, getattr(model, name_attr)).where(model.id.in_(ids))} \
        if ids else {}
    return [(dto.Ref(i, names.get(i, "")), _counts(rows, lambda r, i=i: r[index] == i))
            for i in ids]
