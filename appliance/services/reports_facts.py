"""Report facts: what one ticket or one survey contributes to each figure of the dashboard,
computed from the raw rows in a few batched queries (docs/metrics.md has the formulas).

Pure reading: services.reports_refresh stores the rows (models.reports.ReportFact) and
sums them into buckets. The definitions reuse those of the existing reports: first
contact and handle time as services.agent_stats, knowledge coverage as
services.knowledge_metrics, CSAT and NPS as services.csat_report.
"""
from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from peewee import JOIN

from appliance.models import (Article, ArticleTicket, ArticleUse, Comment, Survey, Ticket,
                              TicketSla, TimelineEvent, TriageRun)
from appliance.models.reports import CREATED_MEASURES, FRT_EDGES, RESOLVED_MEASURES

UTC = dt.timezone.utc
# As services.knowledge_metrics (COVERING_STATUSES, INSERT_KINDS); a unit test compares.
COVERING_STATUSES = ("published", "archived")
INSERT_KINDS = ("link", "snippet")
# AI triage's routing fields and the ticket columns they set (services.ai_training).
ROUTING_COLUMNS = {"department": "department_id", "category": "category_id",
                   "priority": "priority", "urgency": "urgency"}
# Fast-path runs whose suggestions count; skipped and failed ones suggested nothing.
TRIAGE_COUNTED = ("applied", "review", "undone")
GOOD_CSAT = (4, 5)


def local(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A stored (naive UTC) time in the site's time zone."""
    return moment.replace(tzinfo=UTC).astimezone(zone)


def frt_bin(seconds: float) -> int:
    """The histogram bin of a first-response time: bin i holds times up to FRT_EDGES[i]."""
    return bisect.bisect_left(FRT_EDGES, seconds)


def _blank(kind: str, ref_id: int, ticket_id: int | None, moment: dt.datetime,
           zone: ZoneInfo) -> dict:
    at = local(moment, zone)
    row = {"kind": kind, "ref_id": ref_id, "ticket_id": ticket_id, "department_id": 0,
           "channel": "", "category_id": 0, "agent_id": 0, "day": at.date(), "hour": at.hour,
           "rday": None, "is_open": False, "opened_at": None, "frt_bin": -1}
    row.update({m: 0 for m in CREATED_MEASURES + RESOLVED_MEASURES})
    return row


def _seconds(start: dt.datetime, end: dt.datetime) -> int:
    """A duration in whole seconds (rounded), never negative."""
    return max(0, round((end - start).total_seconds()))


# --------------------------------------------------------------------------- tickets

def ticket_facts(ids: list[int], zone: ZoneInfo) -> dict[int, dict]:
    """The fact row of each ticket in `ids` that exists (deleted ones are left out)."""
    if not ids:
        return {}
    tickets = list(Ticket.select(
        Ticket.id, Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at,
        Ticket.assigned_at, Ticket.department, Ticket.channel, Ticket.category,
        Ticket.assignee, Ticket.is_open, Ticket.merged_into, Ticket.priority, Ticket.urgency)
        .where(Ticket.id.in_(ids)))
    follow_ups = _follow_ups(ids)
    events = _events(ids)
    sla = {t: (p, b) for t, p, b in TicketSla.select(TicketSla.ticket, TicketSla.policy,
                                                     TicketSla.breached)
           .where(TicketSla.ticket.in_(ids)).tuples()}
    linked = {t for (t,) in ArticleTicket.select(ArticleTicket.ticket).join(
        Article, on=(ArticleTicket.article == Article.id)).where(
        ArticleTicket.ticket.in_(ids) & Article.status.in_(COVERING_STATUSES)).tuples()}
    inserted: dict[int, int] = defaultdict(int)
    for (t,) in ArticleUse.select(ArticleUse.ticket).where(
            ArticleUse.ticket.in_(ids) & ArticleUse.kind.in_(INSERT_KINDS)).tuples():
        inserted[t] += 1
    runs = _latest_runs(ids)
    out = {}
    for t in tickets:
        row = _ticket_row(t, zone, events.get(t.id, ([], False)), follow_ups.get(t.id, 0))
        if row["resolved"]:
            policy, breached = sla.get(t.id, (None, False))
            row.update(kb_linked=int(t.id in linked), kb_inserted=inserted.get(t.id, 0),
                       sla_n=int(policy is not None),
                       sla_met=int(policy is not None and not breached))
        row.update(_triage(t, runs.get(t.id)))
        out[t.id] = row
    return out


def _ticket_row(t: Ticket, zone: ZoneInfo, events: tuple[list, bool], follow_ups: int) -> dict:
    row = _blank("ticket", t.id, t.id, t.created_at, zone)
    assignments, reopened = events
    row.update(department_id=t.department_id or 0, channel=t.channel or "",
               category_id=t.category_id or 0, agent_id=t.assignee_id or 0, created=1)
    if t.first_response_at is not None:
        seconds = _seconds(t.created_at, t.first_response_at)
        row.update(frt_n=1, frt_sum=seconds, frt_bin=frt_bin(seconds))
    first = min([a for a in assignments[:1]] + ([t.assigned_at] if t.assigned_at else []),
                default=None)
    if first is not None:
        row.update(assign_n=1, assign_sum=_seconds(t.created_at, first))
    row["reassigns"] = max(0, len(assignments) - 1)
    if t.merged_into_id is None and t.is_open:
        row.update(is_open=True, opened_at=t.created_at)
    if t.resolved_at is not None and t.merged_into_id is None:
        start = t.assigned_at or t.created_at
        row.update(rday=local(t.resolved_at, zone).date(), resolved=1,
                   aht_sum=_seconds(start, t.resolved_at), reopened=int(reopened),
                   fcr=int(follow_ups == 0 and not reopened))
    return row


def _follow_ups(ids: list[int]) -> dict[int, int]:
    """Public customer messages after the first public agent reply (agent_stats.Handled)."""
    first: dict[int, dt.datetime] = {}
    customer: dict[int, list[dt.datetime]] = defaultdict(list)
    for t, kind, at in (Comment.select(Comment.ticket, Comment.author_kind, Comment.created_at)
                        .where(Comment.ticket.in_(ids) & (Comment.internal == False)  # noqa: E712
                               & Comment.author_kind.in_(("agent", "customer"))).tuples()):
        if kind == "agent":
            first[t] = min(first.get(t, at), at)
        else:
            customer[t].append(at)
    return {t: sum(1 for at in customer.get(t, ()) if at > reply) for t, reply in first.items()}


def _events(ids: list[int]) -> dict[int, tuple[list, bool]]:
    """Per ticket: the times it was given to someone (oldest first) and whether it was
    ever reopened."""
    assigned: dict[int, list[dt.datetime]] = defaultdict(list)
    reopened: set[int] = set()
    for t, kind, field, after, at in (
            TimelineEvent.select(TimelineEvent.ticket, TimelineEvent.kind, TimelineEvent.field,
                                 TimelineEvent.after, TimelineEvent.created_at)
            .where(TimelineEvent.ticket.in_(ids)
                   & ((TimelineEvent.kind == "reopened")
                      | (TimelineEvent.field == "assignee_id")))
            .order_by(TimelineEvent.id).tuples()):
        if kind == "reopened":
            reopened.add(t)
        elif after is not None:
            assigned[t].append(at)
    return {t: (sorted(assigned.get(t, [])), t in reopened) for t in set(assigned) | reopened}


def _latest_runs(ids: list[int]) -> dict[int, dict]:
    out = {}
    for t, suggestions in (TriageRun.select(TriageRun.ticket, TriageRun.suggestions)
                           .where(TriageRun.ticket.in_(ids) & (TriageRun.stage == "fast")
                                  & TriageRun.status.in_(TRIAGE_COUNTED))
                           .order_by(TriageRun.id).tuples()):
        out[t] = suggestions or {}
    return out


def _triage(t: Ticket, suggestions: dict | None) -> dict:
    """Routing fields the latest fast-path run suggested, and how many of them the ticket
    still holds (accepted, by AI or a person); the rest were corrected by someone."""
    suggested = accepted = 0
    for name, column in ROUTING_COLUMNS.items():
        s = (suggestions or {}).get(name)
        if not isinstance(s, dict) or s.get("value") in (None, ""):
            continue
        suggested += 1
        accepted += int(_same(name, s["value"], getattr(t, column)))
    return {"ai_suggested": suggested, "ai_accepted": accepted}


def _same(name: str, suggested, current) -> bool:
    if name == "urgency":
        return str(suggested) == str(current)
    try:
        return int(suggested) == current
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- surveys

def survey_facts(ids: list[int], zone: ZoneInfo) -> dict[int, dict]:
    """The fact row of each CSAT and NPS survey in `ids` that exists. A survey counts for
    the department, agent and category it recorded at resolution (csat_report), on the
    day it was sent, in its ticket's channel."""
    if not ids:
        return {}
    rows = (Survey.select(Survey.id, Survey.kind, Survey.ticket, Survey.department,
                          Survey.agent, Survey.category, Survey.created_at, Survey.rating,
                          Ticket.channel.alias("channel"))
            .join(Ticket, JOIN.LEFT_OUTER, on=(Survey.ticket == Ticket.id))
            .where(Survey.id.in_(ids)).namedtuples())
    out = {}
    for s in rows:
        row = _blank("survey", s.id, s.ticket, s.created_at, zone)
        row.update(department_id=s.department or 0, agent_id=s.agent or 0,
                   category_id=s.category or 0, channel=s.channel or "")
        answered = s.rating is not None
        if s.kind == "nps":
            row.update(nps_sent=1, nps_answered=int(answered),
                       nps_promoters=int(answered and s.rating >= 9),
                       nps_detractors=int(answered and s.rating <= 6))
        else:
            row.update(csat_sent=1, csat_answered=int(answered),
                       csat_good=int(answered and s.rating in GOOD_CSAT))
        out[s.id] = row
    return out
