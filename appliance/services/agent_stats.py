"""Agent efficiency per category over a rolling window (models.dispatch.AgentStat).

Owns the figures that routing's efficiency component reads (dispatch_state._efficiency):
for each agent, one row per category of the tickets they resolved in the last
`dispatch_stats_window_days` days, and one row with category NULL over all of them
(tickets without a category count only there). `csat` is the mean rating of the CSAT
surveys answered about the agent's resolutions in the same window (a quality signal for
routing), once there are CSAT_MIN_ANSWERS of them; `csat_answers` counts them. Answers
arriving later are picked up by the next run (the next resolution or the nightly roll).

The rows are recomputed from the tickets every time, never incremented, so a run is
idempotent and a lost or repeated job does no harm. Runs: the job "agent_stats" after an
agent resolves or closes a ticket (scheduled by services.dispatch.after_change), and
`recompute_all` every night, which also rolls the window forward (rows of categories
whose tickets all left it are deleted).
"""
from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from peewee import SQL, fn

from appliance import jobs, runtime
from appliance.db import database, is_postgres
from appliance.jobs import unit_of_work
from appliance.models import AgentStat, Comment, Survey, Ticket, TimelineEvent, User, utcnow
from appliance.models.org import STAFF_ROLES

# Advisory-lock class of "recomputing one agent's stats" (PostgreSQL; any fixed number
# that no other feature uses).
LOCK_CLASS = 4_204
# Answered CSAT surveys an agent needs in the window before their mean rating counts for
# routing (rules.routing.efficiency_score): one angry answer must not rank anyone last.
CSAT_MIN_ANSWERS = 3


@dataclass(frozen=True)
class Handled:
    """One ticket the agent resolved in the window, reduced to what the figures need."""
    category_id: int | None
    minutes: float        # resolved_at - (assigned_at or created_at)
    follow_ups: int       # public customer messages after the agent's first public reply
    reopened: bool        # a "reopened" timeline event, ever

    @property
    def first_contact(self) -> bool:
        """Resolved at the first contact: the customer never had to write again after the
        first answer (the agent's closing message does not count against it), and the
        ticket never came back."""
        return self.follow_ups == 0 and not self.reopened


@dataclass(frozen=True)
class Figures:
    closed: int
    median_handle_minutes: float
    fcr_rate: float
    reopen_rate: float


@dataclass(frozen=True)
class Roll:
    """What `recompute_all` did: agents looked at, agents with figures, rows kept."""
    agents: int
    with_figures: int
    rows: int


# --- pure figures -----------------------------------------------------------------------------

def figures(handled: list[Handled]) -> Figures:
    n = len(handled)
    return Figures(closed=n,
                   median_handle_minutes=round(statistics.median(h.minutes for h in handled), 2),
                   fcr_rate=round(sum(h.first_contact for h in handled) / n, 4),
                   reopen_rate=round(sum(h.reopened for h in handled) / n, 4))


def by_category(handled: list[Handled]) -> dict[int | None, Figures]:
    """Figures per category, plus key None for all tickets; empty when nothing was handled."""
    if not handled:
        return {}
    groups: dict[int, list[Handled]] = {}
    for h in handled:
        if h.category_id is not None:
            groups.setdefault(h.category_id, []).append(h)
    out: dict[int | None, Figures] = {c: figures(rows) for c, rows in groups.items()}
    out[None] = figures(handled)
    return out


def csat_figure(ratings: list[int]) -> tuple[float | None, int]:
    """(mean rating 1..5 or None below CSAT_MIN_ANSWERS, number of answers)."""
    n = len(ratings)
    return (round(sum(ratings) / n, 3) if n >= CSAT_MIN_ANSWERS else None), n


# --- reading ------------------------------------------------------------------------------------

def csat_by_category(user_id: int, since: dt.datetime, until: dt.datetime
                     ) -> dict[int | None, tuple[float | None, int]]:
    """The agent's CSAT answers given in [since, until] (surveys record the agent and
    category at resolution): csat_figure per category, and key None over all."""
    rows = (Survey.select(Survey.category, Survey.rating)
            .where((Survey.kind == "csat") & (Survey.agent == user_id)
                   & Survey.rating.is_null(False) & (Survey.answered_at >= since)
                   & (Survey.answered_at <= until)).tuples())
    groups: dict[int | None, list[int]] = {None: []}
    for category, rating in rows:
        groups[None].append(rating)
        if category is not None:
            groups.setdefault(category, []).append(rating)
    return {c: csat_figure(ratings) for c, ratings in groups.items()}


def handled_by(user_id: int, since: dt.datetime, until: dt.datetime) -> list[Handled]:
    """The agent's tickets resolved in [since, until]: one row each, only the columns needed,
    follow-up count and reopen flag computed by the database. Merged duplicates are left out:
    closing a duplicate is not handling a problem."""
    first_reply = (Comment.select(fn.MIN(Comment.created_at))
                   .where((Comment.ticket == Ticket.id) & (Comment.author_kind == "agent")
                          & (Comment.internal == False)))  # noqa: E712
    later = Comment.alias()
    follow_ups = (later.select(fn.COUNT(later.id))
                  .where((later.ticket == Ticket.id) & (later.author_kind == "customer")
                         & (later.internal == False)  # noqa: E712
                         & (later.created_at > first_reply)))
    reopened = fn.EXISTS(TimelineEvent.select(SQL("1")).where(
        (TimelineEvent.ticket == Ticket.id) & (TimelineEvent.kind == "reopened")))
    # `is_open = false` lets the (assignee, is_open, id) index find the agent's finished
    # tickets; every resolved ticket is closed for work (a reopened one has no resolved_at).
    rows = (Ticket.select(Ticket.category, Ticket.created_at, Ticket.assigned_at,
                          Ticket.resolved_at, follow_ups.alias("follow_ups"),
                          reopened.alias("reopened"))
            .where((Ticket.assignee == user_id) & (Ticket.is_open == False)  # noqa: E712
                   & (Ticket.resolved_at >= since) & (Ticket.resolved_at <= until)
                   & Ticket.merged_into.is_null())
            .tuples())
    return [Handled(category, _minutes(created, assigned, resolved), int(n or 0), bool(again))
            for category, created, assigned, resolved, n, again in rows]


def _minutes(created: dt.datetime, assigned: dt.datetime | None, resolved: dt.datetime) -> float:
    # From the current assignment (a ticket passed on is timed from its last hand-over);
    # tickets that never went through assignment are timed from creation.
    start = assigned or created
    return max(0.0, (resolved - start).total_seconds() / 60)


# --- writing ------------------------------------------------------------------------------------

def recompute_agent(user_id: int, now: dt.datetime | None = None) -> int:
    """Bring the agent's AgentStat rows up to date; returns how many rows they have now."""
    now = now or utcnow()
    window = runtime.settings().dispatch_stats_window_days
    # Read before the write transaction: SQLite's single write lock is then held only for
    # the few row writes. A run that read an older state may land after a newer one; the
    # job runner runs the handler again in that case (jobs.run_job), the nightly roll
    # otherwise.
    result = by_category(handled_by(user_id, now - dt.timedelta(days=window), now))
    csat = csat_by_category(user_id, now - dt.timedelta(days=window), now) if result else {}
    with unit_of_work():
        _serialise(user_id)
        existing = {s.category_id: s.id for s in
                    AgentStat.select(AgentStat.id, AgentStat.category)
                    .where(AgentStat.user == user_id)}
        gone = [row_id for category, row_id in existing.items() if category not in result]
        if gone:
            AgentStat.delete().where(AgentStat.id.in_(gone)).execute()
        for category, f in result.items():
            _save(user_id, category, f, window, now, existing.get(category),
                  csat.get(category, (None, 0)))
    return len(result)


def _serialise(user_id: int) -> None:
    """Runs for one agent (the job, the nightly roll, the CLI) take turns. The unique
    index on (user, category) does not protect the category-NULL row (NULLs are never
    equal), so two unserialised runs could both insert it. On SQLite every write
    transaction is BEGIN IMMEDIATE, which serialises them already."""
    if is_postgres():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, user_id))


def _save(user_id: int, category: int | None, f: Figures, window: int, now: dt.datetime,
          row_id: int | None, csat: tuple[float | None, int] = (None, 0)) -> None:
    # csat: the mean CSAT rating (rules.routing.efficiency_score reads it as a quality
    # signal), None below CSAT_MIN_ANSWERS answers; csat_answers says how many there were.
    values = {"window_days": window, "closed": f.closed,
              "median_handle_minutes": f.median_handle_minutes, "fcr_rate": f.fcr_rate,
              "reopen_rate": f.reopen_rate, "csat": csat[0], "csat_answers": csat[1],
              "updated_at": now}
    if row_id is None:
        AgentStat.insert(user=user_id, category=category, **values).execute()
    else:
        AgentStat.update(**values).where(AgentStat.id == row_id).execute()


@jobs.handler("agent_stats")
def run_agent_stats(user_id: int) -> None:
    """Job: the agent resolved or closed a ticket."""
    recompute_agent(user_id)


def recompute_all(now: dt.datetime | None = None) -> Roll:
    """Every staff member's rows (and anyone else's that exist), for the nightly roll of
    the window; one short transaction per agent."""
    now = now or utcnow()
    staff = {u.id for u in User.select(User.id).where(User.role.in_(STAFF_ROLES))}
    with_rows = {s.user_id for s in AgentStat.select(AgentStat.user).distinct()}
    counts = [recompute_agent(user_id, now) for user_id in sorted(staff | with_rows)]
    return Roll(agents=len(counts), with_figures=sum(1 for n in counts if n),
                rows=sum(counts))
