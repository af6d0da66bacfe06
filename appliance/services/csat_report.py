"""Satisfaction results (docs/decisions/0037): CSAT %, average score and response rate of
the surveys sent in a date range, overall and per agent, team, category and department.

Definitions (docs/decisions/0037, shown on the page):
- sent: surveys created in the range (one per resolution);
- response rate: answered / sent;
- average: mean score of the answers (1-5);
- CSAT %: answers of 4 or 5 / answers;
- NPS: % promoters (9-10) - % detractors (0-6) among the NPS answers of surveys sent in
  the range (-100..100).
A survey counts for the agent, department and category the ticket had when it was
resolved; an agent in several teams counts in each of them.

Scope: holders of report.view only; supervisors see their own department, administrators
every one (as the dispatch board). Customers' comments are free text that may carry
personal data: listed only for tickets the reader may open.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from appliance.errors import PermissionDenied, ValidationError
from appliance.models import Category, Department, Survey, Team, TeamMember, Ticket, User
from appliance.rules.access import Actor, can_view_reports, can_view_ticket

DEFAULT_DAYS = 30
MAX_DAYS = 3660
COMMENTS_SHOWN = 50
GOOD = (4, 5)


@dataclass(frozen=True)
class Figures:
    key: str                  # the group's name ("" overall)
    sent: int
    answered: int
    response_rate: float | None   # 0..1, None when nothing was sent
    average: float | None
    csat: float | None            # 0..1 share of 4-5 among answers


@dataclass(frozen=True)
class NpsFigures:
    sent: int
    answered: int
    promoters: int        # 9-10
    passives: int         # 7-8
    detractors: int       # 0-6
    score: float | None   # % promoters - % detractors, -100..100; None without answers


@dataclass(frozen=True)
class CommentRow:
    ticket_id: int
    ticket_number: str
    rating: int
    comment: str
    answered_at: dt.datetime


@dataclass(frozen=True)
class CsatReport:
    start: dt.date
    end: dt.date
    overall: Figures
    by_agent: list[Figures]
    by_team: list[Figures]
    by_category: list[Figures]
    by_department: list[Figures]
    comments: list[CommentRow]
    nps: NpsFigures

    @property
    def empty(self) -> bool:
        return self.overall.sent == 0 and self.nps.sent == 0


def parse_range(start: str | None, end: str | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The range from two ISO dates; empty means the last DEFAULT_DAYS days up to today."""
    errors: dict = {}
    days: dict = {}
    for name, value in (("start", start), ("end", end)):
        value = (value or "").strip()
        if not value:
            continue
        try:
            days[name] = dt.date.fromisoformat(value)
        except ValueError:
            errors[name] = "must be a date like 2026-01-31"
    if errors:
        raise ValidationError(errors)
    last = days.get("end", today)
    first = days.get("start", last - dt.timedelta(days=DEFAULT_DAYS - 1))
    if last < first:
        raise ValidationError({"end": "must not be before the start date"})
    if (last - first).days >= MAX_DAYS:
        raise ValidationError({"start": f"the range may span at most {MAX_DAYS} days"})
    return first, last


def scope(actor: Actor) -> list[int] | None:
    if not can_view_reports(actor):
        raise PermissionDenied("only supervisors and administrators may see satisfaction results")
    if actor.is_admin:
        return None
    return [] if actor.department_id is None else [actor.department_id]


def figures(key: str, sent: int, ratings: list[int]) -> Figures:
    n = len(ratings)
    return Figures(key, sent, n, round(n / sent, 4) if sent else None,
                   round(sum(ratings) / n, 2) if n else None,
                   round(sum(r in GOOD for r in ratings) / n, 4) if n else None)


def results(actor: Actor, start: str | None = None, end: str | None = None, *,
            today: dt.date | None = None) -> CsatReport:
    depts = scope(actor)
    first, last = parse_range(start, end, today or dt.datetime.utcnow().date())
    since = dt.datetime.combine(first, dt.time())
    until = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    # Plain tuples, not model instances: a range can hold a hundred thousand surveys.
    q = (Survey.select(Survey.ticket.alias("ticket_id"), Survey.agent.alias("agent_id"),
                       Survey.department.alias("department_id"),
                       Survey.category.alias("category_id"), Survey.rating,
                       Survey.comment, Survey.answered_at)
         .where((Survey.kind == "csat") & (Survey.created_at >= since)
                & (Survey.created_at < until)))
    if depts is not None:
        q = q.where(Survey.department.in_(depts))
    rows = list(q.namedtuples())
    nps = nps_figures(since, until, depts)
    return CsatReport(first, last, figures("", len(rows), _ratings(rows)),
                      _grouped(rows, _names(User, "display_name", rows, "agent_id"), "agent_id"),
                      _by_team(rows),
                      _grouped(rows, _names(Category, "path", rows, "category_id"), "category_id"),
                      _grouped(rows, _names(Department, "name", rows, "department_id"),
                               "department_id"),
                      _comments(actor, rows), nps)


def nps_figures(since: dt.datetime, until: dt.datetime, depts: list[int] | None) -> NpsFigures:
    q = (Survey.select(Survey.rating)
         .where((Survey.kind == "nps") & (Survey.created_at >= since) & (Survey.created_at < until)))
    if depts is not None:
        q = q.where(Survey.department.in_(depts))
    ratings = [r for (r,) in q.tuples()]
    answers = [r for r in ratings if r is not None]
    promoters = sum(r >= 9 for r in answers)
    detractors = sum(r <= 6 for r in answers)
    score = round((promoters - detractors) * 100 / len(answers), 1) if answers else None
    return NpsFigures(len(ratings), len(answers), promoters, len(answers) - promoters - detractors,
                      detractors, score)


def _ratings(rows) -> list[int]:
    return [r.rating for r in rows if r.rating is not None]


def _names(model, attr: str, rows, fk: str) -> dict[int, str]:
    ids = {getattr(r, fk) for r in rows} - {None}
    if not ids:
        return {}
    return {m.id: getattr(m, attr) or str(m.id) for m in model.select().where(model.id.in_(ids))}


def _grouped(rows, names: dict[int, str], fk: str) -> list[Figures]:
    groups: dict[int, list] = defaultdict(list)
    for r in rows:
        if getattr(r, fk) is not None:
            groups[getattr(r, fk)].append(r)
    out = [figures(names.get(k, str(k)), len(g), _ratings(g)) for k, g in groups.items()]
    return sorted(out, key=lambda f: (-f.sent, f.key))


def _by_team(rows) -> list[Figures]:
    agents = {r.agent_id for r in rows} - {None}
    teams: dict[int, set[int]] = defaultdict(set)
    names: dict[int, str] = {}
    if agents:
        for m in (TeamMember.select(TeamMember.team, TeamMember.user, Team.name)
                  .join(Team).where(TeamMember.user.in_(agents))):
            teams[m.user_id].add(m.team_id)
            names[m.team_id] = m.team.name
    groups: dict[int, list] = defaultdict(list)
    for r in rows:
        for team_id in teams.get(r.agent_id, ()):
            groups[team_id].append(r)
    out = [figures(names[k], len(g), _ratings(g)) for k, g in groups.items()]
    return sorted(out, key=lambda f: (-f.sent, f.key))


def _comments(actor: Actor, rows) -> list[CommentRow]:
    from appliance.services import common
    answered = sorted((r for r in rows if r.comment and r.ticket_id is not None),
                      key=lambda r: r.answered_at, reverse=True)
    out: list[CommentRow] = []
    for r in answered:
        t = Ticket.get_or_none(Ticket.id == r.ticket_id)
        if t is None or not can_view_ticket(actor, common.facts(t, steps=False)):
            continue
        out.append(CommentRow(t.id, t.number, r.rating, r.comment, r.answered_at))
        if len(out) >= COMMENTS_SHOWN:
            break
    return out
