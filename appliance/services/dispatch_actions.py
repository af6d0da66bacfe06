"""What people do to dispatch: take the next ticket, reassign by hand, look at decisions."""
from __future__ import annotations

from dataclasses import dataclass

from appliance.errors import PermissionDenied, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.models import QueueEntry, RoutingDecision, Ticket, User, utcnow
from appliance.rules import routing
from appliance.rules.access import Actor
from appliance.services import common, dispatch
from appliance.services import dispatch_state as state

PULL_LOOKAHEAD = 50  # waiting tickets considered for "take next"


@dataclass(frozen=True)
class TakeResult:
    ticket_id: int | None
    reason: str = ""  # why nothing was taken: at_capacity | queue_empty | none_qualified


def take_next(actor: Actor) -> TakeResult:
    """Assign the agent the highest-priority waiting ticket they are qualified for."""
    if not actor.is_staff or actor.department_id is None:
        raise PermissionDenied("only agents of a department can take tickets from its queue")
    ids = dispatch.waiting(actor.department_id, PULL_LOOKAHEAD)
    if not ids:
        return TakeResult(None, "queue_empty")
    me = state.agent_states([actor.user_id], None)
    if not me:
        raise PermissionDenied("not an active agent")
    tickets = {t.id: t for t in Ticket.select().where(Ticket.id.in_(ids))}
    policy = state.policy_for(actor.department_id)  # waiting() is this department's queue
    agents: dict = {}  # the agent's state per category (efficiency is per category)
    for ticket_id in ids:
        t = tickets.get(ticket_id)
        if not dispatch.routable(t):
            continue
        needs = state.needs_of(t, policy)
        if t.category_id not in agents:
            agents[t.category_id] = state.agent_states([actor.user_id], t.category_id)[0]
        agent = agents[t.category_id]
        if routing.permission_problem(needs, agent):
            continue
        if agent.load + needs.weight > agent.capacity + 1e-9:
            return TakeResult(None, "at_capacity")
        if dispatch._assign(t.id, actor.user_id, "pulled", needs, None, policy) == "assigned":
            return TakeResult(t.id)
    return TakeResult(None, "none_qualified")


def reassign(actor: Actor, ticket_id: int, user_id: int | None, note: str = "") -> None:
    """A supervisor moves a ticket by hand (or back to the queue with user_id None).
    Recorded as a manual decision; routing and redistribution leave it there."""
    if actor.role not in ("supervisor", "admin"):
        raise PermissionDenied("only supervisors can reassign tickets")
    note = common.clean_text(note, "note", max_len=500, single_line=True)
    target = None
    if user_id is not None:
        target = User.get_or_none(User.id == user_id)
        if target is None or not target.active or not target.is_staff:
            raise ValidationError({"user_id": "must be an active agent"})
    with unit_of_work():
        t = common.ticket_for(actor, ticket_id, edit=True, lock=True)
        before = t.assignee_id
        if before == user_id:
            return
        now = utcnow()
        (Ticket.update(assignee=user_id, assigned_at=now if user_id else None,
                       assignment_mode="manual" if user_id else "", version=Ticket.version + 1,
                       updated_at=now).where(Ticket.id == t.id).execute())
        manual_decision(actor, t, user_id, note, now)
        common.record(t.id, actor, "assigned", "assignee_id", before, user_id)
        if user_id is None:
            schedule("dispatch_ticket", t.id)
        else:
            QueueEntry.delete().where(QueueEntry.ticket == t.id).execute()
        dispatch.agent_freed(before)
        schedule("index_ticket", t.id)


def manual_decision(actor: Actor, t: Ticket, user_id: int | None, note: str, now) -> None:
    """Called by every hand-made assignment (also ticket edits that change the assignee)."""
    name = User.select(User.display_name).where(User.id == user_id).scalar() if user_id else ""
    RoutingDecision.create(ticket=t.id, department=t.department_id, agent=user_id,
                           mode="manual", explanation={"agent": name or "", "by": actor.display_name,
                                                       "note": note}, created_at=now,
                           latency_ms=max(0, int((now - t.created_at).total_seconds() * 1000)))
    common.record(t.id, actor, "routed", "", None,
                  {"mode": "manual", "agent": name or "", "note": note}, internal=True)


def decisions(actor: Actor, ticket_id: int) -> list[RoutingDecision]:
    """The ticket's routing decisions, newest first (staff only; runners-up are for
    supervisors)."""
    if not actor.is_staff:
        raise PermissionDenied("routing decisions are for staff")
    common.ticket_for(actor, ticket_id)
    rows = list(RoutingDecision.select().where(RoutingDecision.ticket == ticket_id)
                .order_by(RoutingDecision.id.desc()).limit(50))
    if actor.role not in ("supervisor", "admin"):
        for r in rows:
            r.candidates = []
    return rows


def ticket_state(ticket_id: int) -> dict:
    entry = QueueEntry.get_or_none(QueueEntry.ticket == ticket_id)
    if entry is None:
        return {}
    return {"waiting_since": entry.since, "reason": entry.reason,
            "escalated_at": entry.escalated_at}

