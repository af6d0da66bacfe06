"""What staff see of SLA clocks: a ticket's panel and the queues' due badges, read from
the stored evaluation (ticket_sla), never recomputed in a request (decision 0036).
Customers see no SLA: the targets are an internal commitment."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance import dto
from appliance.models import SlaPolicy, TicketSla
from appliance.rules.access import Actor
from appliance.rules.sla_policy import CLOCKS


@dataclass(frozen=True)
class SlaClock:
    name: str                        # first_response | next_response | resolution
    due_at: dt.datetime | None       # naive UTC; None while paused
    target_minutes: int
    remaining_seconds: int           # at computed_at; negative once overdue
    breached: bool
    warning: int | None              # highest warning threshold reached (percent)
    paused: bool
    done: bool


@dataclass(frozen=True)
class TicketSlaView:
    policy: dto.Ref | None
    next_due_at: dt.datetime | None
    breached: bool
    warning: int | None
    paused: bool
    clocks: list[SlaClock]
    computed_at: dt.datetime


@dataclass(frozen=True)
class SlaBadge:
    """One queue row's SLA: the earliest due time of a running clock and its state."""
    next_due_at: dt.datetime | None
    breached: bool
    warning: int | None
    paused: bool


def for_ticket(actor: Actor, ticket_id: int) -> TicketSlaView | None:
    """The ticket's clocks for staff (the caller has checked the ticket is visible)."""
    if not actor.is_staff:
        return None
    row = TicketSla.get_or_none(TicketSla.ticket == ticket_id)
    if row is None:
        return None
    policy = (SlaPolicy.select(SlaPolicy.id, SlaPolicy.name)
              .where(SlaPolicy.id == row.policy_id).first()) if row.policy_id else None
    clocks = [_clock(name, row.clocks[name]) for name in CLOCKS if name in (row.clocks or {})]
    return TicketSlaView(dto.Ref(policy.id, policy.name) if policy else None, row.next_due_at,
                         row.breached, row.warning, row.paused, clocks, row.computed_at)


def _clock(name: str, c: dict) -> SlaClock:
    due = dt.datetime.fromisoformat(c["due_at"]) if c.get("due_at") else None
    return SlaClock(name, due, c["target_s"] // 60, c["remaining_s"], c["breached"],
                    c.get("warning"), c["paused"], c["done"])


def badges(actor: Actor, ticket_ids) -> dict[int, SlaBadge]:
    """Badges of the tickets of one queue page (one query); staff only."""
    ids = list(ticket_ids)
    if not actor.is_staff or not ids:
        return {}
    rows = TicketSla.select(TicketSla.ticket, TicketSla.next_due_at, TicketSla.breached,
                            TicketSla.warning, TicketSla.paused).where(
        TicketSla.ticket.in_(ids) & TicketSla.is_open)
    return {r.ticket_id: SlaBadge(r.next_due_at, r.breached, r.warning, r.paused) for r in rows}
