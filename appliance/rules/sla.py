"""Where a ticket stands against its SLA targets (pure; docs/decisions/0025).

Three clocks, all in business time on the ticket's calendar, all stopped by the pauses
(pending on the customer):

- first response: from creation to the first agent reply (or to resolution without one);
- next response: from the customer message waiting for an answer to the agent's reply
  (pass the *earliest* customer message after the last agent reply; before the first
  response this clock does not run, the first-response clock does);
- resolution: from creation to resolution.

A clock that has stopped reports how it ended (`done`); a running one reports its due time,
what is left and the highest warning threshold crossed. A running clock that is paused has
no due time (it depends on when the customer answers) but keeps its remaining time, unless
the due time had already passed before the pause.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from appliance.rules.business_calendar import (
    BusinessCalendar, Problem, add_business_time, business_time_between, year_warnings,
)


@dataclass(frozen=True)
class SlaTargets:
    first_response: timedelta | None = None
    next_response: timedelta | None = None
    resolution: timedelta | None = None


@dataclass(frozen=True)
class TargetState:
    due_at: datetime | None      # None only while paused and not yet breached
    elapsed: timedelta           # business time counted so far (or until done)
    remaining: timedelta         # target - elapsed; negative once overdue
    breached: bool
    warning: float | None        # highest threshold of warn_at reached, while running
    paused: bool
    done: bool                   # the clock has stopped (answered / resolved)


@dataclass(frozen=True)
class SlaState:
    first_response: TargetState | None
    next_response: TargetState | None
    resolution: TargetState | None
    warnings: tuple[Problem, ...] = ()     # e.g. no holiday data for a year in range


def evaluate(calendar: BusinessCalendar, targets: SlaTargets, created_at: datetime,
             first_response_at: datetime | None = None,
             last_customer_message_at: datetime | None = None,
             last_agent_reply_at: datetime | None = None,
             resolved_at: datetime | None = None,
             pauses=(), now: datetime | None = None,
             warn_at: tuple[float, ...] = (0.75,)) -> SlaState:
    """The state of each target at `now` (targets set to None give None)."""
    if now is None:
        raise ValueError("now is required (rules do not read the clock)")
    if any(not 0 < w < 1 for w in warn_at):
        raise ValueError("warning thresholds are fractions between 0 and 1")
    thresholds = tuple(sorted(warn_at))
    first = _clock(calendar, targets.first_response, created_at,
                   first_response_at or resolved_at, pauses, now, thresholds)
    waiting = (first_response_at is not None and last_customer_message_at is not None
               and last_customer_message_at > first_response_at)
    next_ = None
    if waiting:
        answered = last_agent_reply_at if (last_agent_reply_at and last_agent_reply_at
                                           >= last_customer_message_at) else None
        next_ = _clock(calendar, targets.next_response, last_customer_message_at,
                       answered or resolved_at, pauses, now, thresholds)
    resolution = _clock(calendar, targets.resolution, created_at, resolved_at, pauses, now,
                        thresholds)
    ends = [s.due_at for s in (first, next_, resolution) if s and s.due_at] + [now]
    years = range(min(created_at, now).year, max(ends).year + 1)
    return SlaState(first, next_, resolution, tuple(year_warnings(calendar, years)))


def _clock(cal: BusinessCalendar, target: timedelta | None, start: datetime,
           stop: datetime | None, pauses, now: datetime, thresholds) -> TargetState | None:
    if target is None:
        return None
    if target <= timedelta(0):
        raise ValueError("an SLA target must be positive")
    until = min(stop, now) if stop is not None else now
    until = max(until, start)                      # a stamp before the start counts as zero
    done = stop is not None and stop <= now
    closed = _close_pauses(pauses, start, until)
    elapsed = business_time_between(cal, start, until, closed)
    due = add_business_time(cal, start, target, closed)
    breached = until > due
    paused = not done and any(s <= now and (e is None or e > now) for s, e in pauses)
    remaining = target - elapsed
    warning = None
    if not done and not breached:
        crossed = [w for w in thresholds if elapsed >= target * w]
        warning = crossed[-1] if crossed else None
    return TargetState(due_at=None if paused and not breached else due, elapsed=elapsed,
                       remaining=remaining, breached=breached, warning=warning,
                       paused=paused, done=done)


def _close_pauses(pauses, start: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """Pauses cut to [start, until]: an open one, or one still running, ends at `until`."""
    closed = []
    for s, e in pauses:
        s, e = max(s, start), until if e is None else min(e, until)
        if s < e:
            closed.append((s, e))
    return closed
