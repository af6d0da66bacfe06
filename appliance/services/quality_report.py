"""Quality scores per agent over time (docs/decisions/0039): the average final score
(a supervisor's adjustment where there is one, else the automatic score) of each agent's
inspected replies, per ISO week (Monday first) and over the whole range.

Scope as everywhere in quality inspection: an agent sees their own figures only, a
supervisor their department's agents, an administrator with ticket.view_all everyone.
Weeks are UTC weeks of the reply time. The reports helper calls `quality_summary`.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import QualityInspection, User, utcnow
from appliance.rules.access import Actor
from appliance.services.quality_review import department_scope, is_reviewer, week_of

DEFAULT_DAYS = 84        # twelve weeks
MAX_DAYS = 3660


@dataclass(frozen=True)
class AgentWeek:
    agent_id: int
    agent: str
    week: dt.date            # the Monday
    inspections: int
    average: float           # 0-100, one decimal
    lowest: float
    provisional: int         # how many still lack the model's rubric


@dataclass(frozen=True)
class AgentAverage:
    agent_id: int
    agent: str
    inspections: int
    average: float


@dataclass(frozen=True)
class QualitySummary:
    date_from: dt.date
    date_to: dt.date
    weeks: list[AgentWeek]          # by agent name, then week
    agents: list[AgentAverage]      # over the whole range, lowest average first


def _date(value, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError({name: "must be a date like 2026-01-31"}) from None


def parse_range(date_from, date_to, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    last = _date(date_to, "date_to") or today or utcnow().date()
    first = _date(date_from, "date_from") or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise ValidationError({"date_to": "must not be before date_from"})
    if (last - first).days >= MAX_DAYS:
        raise ValidationError({"date_from": f"the range may span at most {MAX_DAYS} days"})
    return first, last


def _id(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({name: "must be a number"}) from None


def _scoped(actor: Actor, department_id, agent_id):
    """The query's scope: (department ids or None for all, agent id or None)."""
    if not actor.is_staff:
        raise PermissionDenied("staff only")
    if not is_reviewer(actor):    # an agent: their own figures, nobody else's
        if agent_id not in (None, actor.user_id):
            raise NotFound("agent not found")
        return None, actor.user_id
    depts = department_scope(actor)
    if department_id is not None:
        if depts is not None and department_id not in depts:
            raise NotFound("department not found")
        depts = [department_id]
    return depts, agent_id


def quality_summary(actor: Actor, date_from=None, date_to=None, department_id=None,
                    agent_id=None) -> QualitySummary:
    first, last = parse_range(date_from, date_to)
    depts, agent = _scoped(actor, _id(department_id, "department_id"), _id(agent_id, "agent_id"))
    q = (QualityInspection.select(QualityInspection.agent, QualityInspection.replied_at,
                                  QualityInspection.score, QualityInspection.adjusted_score,
                                  QualityInspection.complete)
         .where((QualityInspection.replied_at >= dt.datetime.combine(first, dt.time()))
                & (QualityInspection.replied_at
                   < dt.datetime.combine(last + dt.timedelta(days=1), dt.time()))
                & QualityInspection.agent.is_null(False)))
    if depts is not None:
        q = q.where(QualityInspection.department.in_(depts))
    if agent is not None:
        q = q.where(QualityInspection.agent == agent)
    groups: dict[tuple[int, dt.date], list] = defaultdict(list)
    for r in q.namedtuples():
        final = r.adjusted_score if r.adjusted_score is not None else r.score
        groups[(r.agent, week_of(r.replied_at.date())[0])].append((final, r.complete))
    names = _names({a for a, _ in groups})
    weeks = [AgentWeek(a, names.get(a, str(a)), w, len(v), _avg([s for s, _ in v]),
                       min(s for s, _ in v), sum(not c for _, c in v))
             for (a, w), v in groups.items()]
    weeks.sort(key=lambda x: (x.agent, x.agent_id, x.week))
    return QualitySummary(first, last, weeks, _overall(groups, names))


def _avg(values: list[float]) -> float:
    return round(sum(values) / len(values), 1) if values else 0.0


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u.id: u.display_name for u in User.select(User.id, User.display_name)
            .where(User.id.in_(ids))}


def _overall(groups: dict, names: dict[int, str]) -> list[AgentAverage]:
    scores: dict[int, list[float]] = defaultdict(list)
    for (agent, _), values in groups.items():
        scores[agent].extend(s for s, _ in values)
    out = [AgentAverage(a, names.get(a, str(a)), len(v), _avg(v)) for a, v in scores.items()]
    return sorted(out, key=lambda x: (x.average, x.agent))
