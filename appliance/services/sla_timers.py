"""Each ticket's SLA clocks: which policy and calendar apply, where each clock stands,
stored in ticket_sla so queues sort and filter by due time without recomputing
(docs/decisions/0036).

Recomputed by the job `sla_ticket` (scheduled by services.common.record on the events
that move a clock: creation, replies, status, priority, category, department or customer
changes) and by the periodic run every minute over all open tickets, in batches of
`sla_batch_size`. Both are idempotent: the stored row is replaced by the same values,
and warnings and breaches are recorded once (services.sla_escalation).

Pauses come from the timeline: every status change is a TimelineEvent with field
"status" (before/after), so the time spent in `sla_pause_statuses` is derived, not
recorded separately.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from appliance import jobs
from appliance.db import run_sql
from appliance.jobs import schedule, unit_of_work
from appliance.models import (Comment, Customer, SlaCalendar, SlaPolicy, Ticket, TicketSla,
                              TimelineEvent, utcnow)
from appliance.rules import sla_policy
from appliance.rules.sla import evaluate
from appliance.services import live, sla_config

log = logging.getLogger(__name__)
UTC = dt.timezone.utc
# Timeline events that can move a clock (the field, for field changes).
_EVENTS = {"created", "reply_added", "status_changed", "reopened", "merged"}
_FIELDS = {"priority", "category_id", "department_id", "customer_id"}


def on_timeline(ticket_id: int, kind: str, field: str) -> None:
    """Called for every timeline event (services.common.record): recompute after commit."""
    if kind in _EVENTS or (kind in ("field_changed", "field_set") and field in _FIELDS):
        if _policies_exist():
            schedule("sla_ticket", ticket_id)


_ACTIVE_POLICY = f'SELECT 1 FROM "{SlaPolicy._meta.table_name}" WHERE "active" = ? LIMIT 1'  # nosec B608  # values are parameters


def _policies_exist() -> bool:
    return run_sql(_ACTIVE_POLICY, (True,)).fetchone() is not None   # on every timeline event


def schedule_full_run() -> None:
    """Inside a transaction: the whole periodic run again, right after commit."""
    schedule("sla_run", 0)


@jobs.batch_handler("sla_ticket")
def _recompute_job(ticket_ids: list[int]) -> None:
    from appliance import runtime
    recompute(ticket_ids, runtime.settings().sla_pause_statuses)


@jobs.handler("sla_run")
def _full_run_job(_: int) -> None:
    from appliance import runtime
    s = runtime.settings()
    tick(s.sla_pause_statuses, s.sla_batch_size)


# ---------------------------------------------------------------- the context

@dataclass
class Context:
    """What one run reads once: policies, calendars, the category tree."""
    policies: list
    calendars: dict            # department id (None: default) -> BusinessCalendar
    parents: dict
    pause_statuses: frozenset

    @classmethod
    def load(cls, pause_statuses) -> "Context":
        rows = list(SlaPolicy.select().where(SlaPolicy.active == True))  # noqa: E712
        calendars = {c.department_id: sla_config.to_rule(c) for c in SlaCalendar.select()}
        return cls([sla_config.policy_rule(r) for r in rows], calendars,
                   sla_config.category_parents(), frozenset(pause_statuses))

    def calendar(self, department_id):
        cal = self.calendars.get(department_id) or self.calendars.get(None)
        if cal is None:     # the default was never created (it is, by migration 0020)
            from appliance.rules.business_calendar import WEEKDAYS, weekly
            cal = weekly("Asia/Shanghai", {d: [("00:00", "24:00")] for d in WEEKDAYS})
        return cal


# ---------------------------------------------------------------- the runs

def tick(pause_statuses=("pending_customer",), batch_size: int = 500,
         now: dt.datetime | None = None) -> int:
    """Every open ticket (and every stored row of one that closed since), in batches of
    `batch_size` by id; returns how many tickets were evaluated."""
    started = time.monotonic()
    ctx = Context.load(pause_statuses)
    if not ctx.policies:
        TicketSla.delete().execute()     # no policy: no clocks to show
        return 0
    count, last = 0, 0
    while True:
        ids = [r for (r,) in Ticket.select(Ticket.id).where(
            Ticket.is_open & (Ticket.id > last)).order_by(Ticket.id).limit(batch_size).tuples()]
        if not ids:
            break
        count += recompute(ids, pause_statuses, now=now, ctx=ctx)
        last = ids[-1]
    stale = [r for (r,) in TicketSla.select(TicketSla.ticket).join(
        Ticket, on=(TicketSla.ticket == Ticket.id)).where(
        TicketSla.is_open & ~Ticket.is_open).tuples()]
    for i in range(0, len(stale), batch_size):
        count += recompute(stale[i:i + batch_size], pause_statuses, now=now, ctx=ctx)
    log.info("SLA run: %d tickets in %.1f s", count, time.monotonic() - started)
    return count


def recompute(ticket_ids: list[int], pause_statuses=("pending_customer",), *,
              now: dt.datetime | None = None, ctx: Context | None = None) -> int:
    """Evaluate and store the clocks of these tickets, record warnings and breaches."""
    from appliance.services import sla_escalation
    ctx = ctx or Context.load(pause_statuses)
    now = now or utcnow()
    ids = sorted(set(ticket_ids))
    if not ctx.policies:
        TicketSla.delete().where(TicketSla.ticket.in_(ids)).execute()
        return 0
    facts = _facts(ids)
    rows, crossings = [], []
    for t in facts["tickets"]:
        try:
            row, found = evaluate_ticket(ctx, t, facts, now)
        except ValueError as exc:   # e.g. a calendar with no open time for ten years
            log.warning("SLA of ticket %s not computed: %s", t.id, exc)
            continue
        if row is None:
            continue
        rows.append(row)
        crossings += found
    with unit_of_work():
        before = _summaries(ids)
        TicketSla.delete().where(TicketSla.ticket.in_(ids)).execute()
        fields = [getattr(TicketSla, k) for k in _ROW_FIELDS]
        for i in range(0, len(rows), 100):   # tuples: a fraction of the dicts' SQL building
            TicketSla.insert_many([tuple(r[k] for k in _ROW_FIELDS) for r in rows[i:i + 100]],
                                  fields=fields).execute()
        sla_escalation.record(crossings, now)
        _tell_open_pages(before, rows)
    return len(rows)


_SUMMARY = ("policy", "next_due_at", "breached", "warning", "paused", "is_open")


def _summaries(ids: list[int]) -> dict:
    fields = [getattr(TicketSla, k) for k in ("ticket",) + _SUMMARY]
    return {r[0]: r[1:] for r in TicketSla.select(*fields).where(
        TicketSla.ticket.in_(ids)).tuples()}


def _tell_open_pages(before: dict, rows: list[dict]) -> None:
    """A live event for each ticket whose panel reads differently now (policy, due time,
    state): open ticket pages refresh their SLA panel. The minute's countdown alone is
    not an event; the page refreshes its running clocks itself (live_ticket.js)."""
    for r in rows:
        if before.get(r["ticket"]) != tuple(r[k] for k in _SUMMARY):
            live.publish_ticket(r["ticket"], "sla_changed", internal=True)


_ROW_FIELDS = ("ticket", "policy", "is_open", "next_due_at", "breached", "warning", "paused",
               "clocks", "computed_at")


def _facts(ids: list[int]) -> dict:
    """Everything the evaluation reads for a batch, in four queries."""
    tickets = list(Ticket.select(
        Ticket.id, Ticket.status, Ticket.is_open, Ticket.priority, Ticket.category,
        Ticket.department, Ticket.assignee, Ticket.customer, Ticket.channel, Ticket.created_at,
        Ticket.first_response_at, Ticket.resolved_at, Ticket.merged_into).where(
        Ticket.id.in_(ids)))
    status: dict[int, list] = {}
    for tid, at, before, after in TimelineEvent.select(
            TimelineEvent.ticket, TimelineEvent.created_at, TimelineEvent.before,
            TimelineEvent.after).where(TimelineEvent.ticket.in_(ids)
                                       & (TimelineEvent.field == "status")
                                       ).order_by(TimelineEvent.id).tuples():
        status.setdefault(tid, []).append((at, before, after))
    replies: dict[int, list] = {}
    for tid, kind, at in Comment.select(Comment.ticket, Comment.author_kind, Comment.created_at
                                        ).where(Comment.ticket.in_(ids)
                                                & (Comment.internal == False)  # noqa: E712
                                                ).order_by(Comment.id).tuples():
        replies.setdefault(tid, []).append((kind, at))
    customers = {t.customer_id for t in tickets if t.customer_id}
    tags = dict(Customer.select(Customer.id, Customer.tags).where(
        Customer.id.in_(customers)).tuples()) if customers else {}
    return {"tickets": tickets, "status": status, "replies": replies, "tags": tags}


def tier(tags) -> str:
    """A customer's tier: its VIP tag (vip, vip-gold, ...) or "standard" (decision 0036)."""
    for t in tags or ():
        t = str(t).strip().casefold()
        if t.startswith("vip"):
            return t
    return sla_policy.DEFAULT_TIER


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _naive(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def evaluate_ticket(ctx: Context, t: Ticket, facts: dict, now: dt.datetime):
    """(ticket_sla row values, crossings) for one ticket; (None, []) without a policy."""
    if t.merged_into_id is not None:
        return None, []
    policy = sla_policy.match(ctx.policies, sla_policy.TicketFacts(
        t.priority, t.category_id, tier(facts["tags"].get(t.customer_id)), t.channel),
        ctx.parents)
    if policy is None:
        return None, []
    pauses = sla_policy.pause_intervals(
        [(_aware(at), b, a) for at, b, a in facts["status"].get(t.id, ())],
        ctx.pause_statuses)
    last_agent, waiting = _conversation(facts["replies"].get(t.id, ()))
    created, now_a = _aware(t.created_at), _aware(now)
    state = evaluate(ctx.calendar(t.department_id), policy.targets(), created,
                     _aware(t.first_response_at), _aware(waiting), _aware(last_agent),
                     _aware(t.resolved_at), pauses, now_a, policy.fractions())
    starts = {"first_response": created, "next_response": _aware(waiting),
              "resolution": created}
    clocks, crossings = {}, []
    for name in sla_policy.CLOCKS:
        s = getattr(state, name)
        if s is None:
            continue
        target = getattr(policy.targets(), name)
        clocks[name] = _clock_json(s, target)
        for threshold in _thresholds(s, target, policy.warn_at):
            crossings.append((t, policy, name, threshold, _naive(starts[name]),
                              not s.done, s.due_at))
    running = [c for c in clocks.values() if not c["done"]]
    dues = [c["due_at"] for c in running if c["due_at"]]
    warns = [c["warning"] for c in running if c["warning"]]
    row = {"ticket": t.id, "policy": policy.id, "is_open": bool(t.is_open),
           # to the second: the queues page by it exactly (services.queues, sort sla_due)
           "next_due_at": dt.datetime.fromisoformat(min(dues)).replace(microsecond=0)
           if dues else None,
           "breached": any(c["breached"] for c in clocks.values()),
           "warning": max(warns) if warns else None,
           "paused": any(c["paused"] for c in running), "clocks": clocks,
           "computed_at": now}
    return row, crossings


def _conversation(replies) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The last agent reply, and the start of the latest next-response cycle: the earliest
    customer message after an agent reply (kept once answered, so the clock shows done)."""
    last_agent, cycle, answered = None, None, True
    for kind, at in replies:
        if kind == "customer":
            if answered and last_agent is not None:
                cycle, answered = at, False
        else:
            last_agent, answered = at, True
    return last_agent, cycle


def _thresholds(s, target, warn_at) -> list[int]:
    if s.breached:
        return [sla_policy.BREACH]
    if s.done:
        return []
    return sla_policy.crossed(s.elapsed, target, warn_at)


def _clock_json(s, target: dt.timedelta) -> dict:
    return {"due_at": _naive(s.due_at).isoformat() if s.due_at else None,
            "target_s": int(target.total_seconds()),
            "elapsed_s": int(s.elapsed.total_seconds()),
            "remaining_s": int(s.remaining.total_seconds()),
            "breached": s.breached,
            "warning": round(s.warning * 100) if s.warning is not None else None,
            "paused": s.paused, "done": s.done}
