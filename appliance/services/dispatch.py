"""Dispatch: assigns triaged tickets to the best available agent, or queues them.

Event-driven: jobs "dispatch_ticket" (a ticket became routable), "dispatch_agent" (an
agent may have room: came online, resolved a ticket, got more capacity) and
"dispatch_department" (a policy changed) run the routing; the periodic tick
(appliance.services.presence.tick) is the safety net and the escalation clock.

Concurrency: an assignment is one transaction that locks the ticket, then the agent's
profile row (always in that order, so two dispatchers cannot deadlock; queueing,
escalation and redistribution lock the ticket first too), recounts the agent's load
under that lock and writes the assignee only where it is still empty.
On SQLite every write transaction is BEGIN IMMEDIATE, which serialises them; on
PostgreSQL the row locks do. Two workers or app nodes therefore never push an agent
over capacity nor assign one ticket twice (tests/domain/test_dispatch_concurrency.py).
"""
from __future__ import annotations

import logging
import time

from appliance import jobs
from appliance.db import is_postgres
from appliance.jobs import schedule, unit_of_work
from appliance.models import (AgentProfile, Department, DispatchPolicy, Notification,
                              QueueEntry, RoutingDecision, TeamMember, Ticket, User, utcnow)
from appliance.rules import routing
from appliance.rules.access import Actor
from appliance.services import common
from appliance.services import dispatch_state as state

log = logging.getLogger(__name__)
TRIES = 5            # candidates tried in turn when the best one filled up meanwhile
RUNNERS_UP = 5       # candidates kept on a decision for supervisors
FILL_LIMIT = 200     # waiting tickets looked at per department fill


def routable(t: Ticket | None) -> bool:
    return (t is not None and t.is_open and not t.merged_into_id and t.assignee_id is None
            and t.department_id is not None and t.triage_state != "pending")


# --- jobs -----------------------------------------------------------------------------------

@jobs.handler("dispatch_ticket")
def dispatch_ticket(ticket_id: int) -> int | None:
    """Assign the ticket if it is routable and someone can take it, else queue it.
    Safe to run twice: an assigned, closed or pending-triage ticket is left alone."""
    t = Ticket.get_or_none(Ticket.id == ticket_id)
    if not routable(t):
        if t is not None and (t.assignee_id or not t.is_open or t.merged_into_id):
            QueueEntry.delete().where(QueueEntry.ticket == ticket_id).execute()
        return None
    policy = state.policy_for(t.department_id)
    entry = QueueEntry.get_or_none(QueueEntry.ticket == ticket_id)
    widened = entry is not None and entry.escalated_at is not None
    if not policy.auto_assign:
        _queue(t, "manual_dispatch", None, policy)
        return None
    started = time.monotonic()
    needs = state.needs_of(t, policy)
    pool = state.pool(t.department_id, policy, widened)
    agents = state.agent_states(pool, t.category_id)
    ranking = routing.rank(needs, agents, policy.strategy, policy.weights)
    for cand in ranking.candidates[:TRIES]:
        outcome = _assign(t.id, cand.user_id, "auto", needs, ranking, policy)
        if outcome != "full":
            log.debug("ticket %d dispatched in %.0f ms", t.id, (time.monotonic() - started) * 1e3)
            return cand.user_id if outcome == "assigned" else None
    _queue(t, _reason(needs, agents), ranking, policy)
    return None


@jobs.handler("dispatch_agent")
def dispatch_agent(user_id: int) -> int:
    """The agent may have room now: fill from the queues they serve. Returns assignments."""
    u = User.get_or_none(User.id == user_id)
    if u is None:
        return 0
    teams = [m.team_id for m in TeamMember.select(TeamMember.team).where(TeamMember.user == u.id)]
    departments = {u.department_id} - {None}
    overflow = (DispatchPolicy.overflow_department == u.department_id) if u.department_id \
        else None
    if teams:  # a member of another department's overflow team serves its escalated tickets
        team_cond = DispatchPolicy.overflow_team.in_(teams)
        overflow = team_cond if overflow is None else (overflow | team_cond)
    if overflow is not None:
        departments |= {p.department_id for p in DispatchPolicy.select(
            DispatchPolicy.department).where(overflow)}
    return sum(dispatch_department(d) for d in sorted(departments))


@jobs.handler("dispatch_department")
def dispatch_department(department_id: int) -> int:
    """Try the department's waiting tickets in queue order; returns how many were assigned.
    Stops at a ticket that waits when nobody who could serve the queue has room. Who has
    room is looked up again only after an assignment: a ticket that stays waiting
    changes nobody's, and 200 lookups made one fill cost thousands of queries."""
    assigned, free = 0, None
    for ticket_id in waiting(department_id, FILL_LIMIT):
        if dispatch_ticket(ticket_id) is not None:
            assigned, free = assigned + 1, None
            continue
        if free is None:
            free = _anyone_free(department_id)
        if not free:
            break
    return assigned


def waiting(department_id: int, limit: int) -> list[int]:
    """Queue order: priority (1 first), then SLA due time (none last), then waiting time."""
    q = (QueueEntry.select(QueueEntry.ticket).where(QueueEntry.department == department_id)
         .order_by(QueueEntry.priority, QueueEntry.due_at.is_null(), QueueEntry.due_at,
                   QueueEntry.since, QueueEntry.ticket).limit(limit))
    return [e.ticket_id for e in q]


def _anyone_free(department_id: int) -> bool:
    policy = state.policy_for(department_id)
    probe = routing.TicketNeeds(ticket_id=0, weight=0.0)
    states = state.agent_states(state.pool(department_id, policy, True), None)
    return any(routing.exclusion(probe, a) is None and a.load < a.capacity for a in states)


# --- one assignment ----------------------------------------------------------------------------

def lock_ticket(ticket_id: int) -> Ticket | None:
    q = Ticket.select().where(Ticket.id == ticket_id)
    return (q.for_update() if is_postgres() else q).first()


def lock_profile(user_id: int) -> AgentProfile:
    """The agent's profile row, locked on PostgreSQL (it serialises their assignments)."""
    ensure_profile(user_id)
    q = AgentProfile.select().where(AgentProfile.user == user_id)
    return (q.for_update() if is_postgres() else q).get()


def ensure_profile(user_id: int) -> None:
    if not AgentProfile.select().where(AgentProfile.user == user_id).exists():
        with unit_of_work():  # a savepoint when nested: a concurrent insert loses nothing
            AgentProfile.insert(user=user_id).on_conflict_ignore().execute()


def _assign(ticket_id: int, user_id: int, mode: str, needs: routing.TicketNeeds,
            ranking: routing.Ranking | None, policy: DispatchPolicy) -> str:
    """"assigned", "gone" (someone else took or closed it) or "full" (the agent filled up
    or left since the ranking was read)."""
    ensure_profile(user_id)
    with unit_of_work():
        t = lock_ticket(ticket_id)
        if t is None or not t.is_open or t.assignee_id is not None or t.merged_into_id:
            return "gone"
        profile = lock_profile(user_id)
        fresh = state.agent_states([user_id], t.category_id)
        if not fresh or (mode == "auto" and routing.exclusion(needs, fresh[0]) is not None):
            return "full"
        if mode == "pulled" and fresh[0].load + needs.weight > fresh[0].capacity + 1e-9:
            return "full"
        write_assignment(t, user_id, mode, needs, ranking, policy, fresh[0], profile)
    return "assigned"


def write_assignment(t: Ticket, user_id: int, mode: str, needs: routing.TicketNeeds,
                     ranking: routing.Ranking | None, policy: DispatchPolicy,
                     agent: routing.AgentState, profile: AgentProfile,
                     actor: Actor | None = None) -> RoutingDecision:
    now = utcnow()
    n = (Ticket.update(assignee=user_id, assigned_at=now, assignment_mode=mode,
                       version=Ticket.version + 1, updated_at=now)
         .where((Ticket.id == t.id) & Ticket.assignee.is_null()).execute())
    if n != 1:
        raise RuntimeError("ticket was assigned under a lock")  # cannot happen: rolled back
    AgentProfile.update(last_assigned_at=now).where(AgentProfile.user == profile.user_id).execute()
    QueueEntry.delete().where(QueueEntry.ticket == t.id).execute()
    decision = record_decision(t, mode, policy, agent, needs, ranking, now)
    common.record(t.id, actor, "assigned", "assignee_id", None, user_id)
    common.record(t.id, actor, "routed", "", None,
                  {"decision": decision.id, "mode": mode, **decision.explanation}, internal=True)
    schedule("index_ticket", t.id)
    return decision


def record_decision(t: Ticket, mode: str, policy: DispatchPolicy,
                    agent: routing.AgentState | None, needs: routing.TicketNeeds | None,
                    ranking: routing.Ranking | None, now, reason: str = "") -> RoutingDecision:
    return RoutingDecision.create(
        ticket=t.id, department=t.department_id, agent=agent.user_id if agent else None,
        mode=mode, strategy=policy.strategy if mode == "auto" else "",
        explanation=explain(t, agent, needs, ranking) if agent else (
            {"reason": reason} if reason else {}),
        candidates=[_candidate(c) for c in (ranking.candidates[:RUNNERS_UP] if ranking else ())],
        excluded=dict(ranking.excluded) if ranking else {},
        latency_ms=max(0, int((now - t.created_at).total_seconds() * 1000)), created_at=now)


def _candidate(c: routing.Scored) -> dict:
    return {"user_id": c.user_id, "name": c.name, "score": round(c.score, 4),
            "parts": {k: round(v, 3) for k, v in c.parts.items()},
            "load": c.load, "capacity": c.capacity}


def explain(t: Ticket, a: routing.AgentState, needs: routing.TicketNeeds | None,
            ranking: routing.Ranking | None) -> dict:
    """Facts for "assigned to 王芳: 售后维修 level 4, load 3/8, median handling 22 min"
    (the sentence itself is written by the views, in the reader's language)."""
    skills = [{"name": n, "level": a.skills.get(n, 0)} for n in (needs.required_skills if needs
                                                               else {})]
    eff = a.efficiency
    chosen = next((c for c in (ranking.candidates if ranking else ()) if c.user_id == a.user_id),
                  None)
    return {"agent": a.name, "agent_id": a.user_id, "skills": skills,
            "load": round(a.load + (needs.weight if needs else 1.0), 2), "capacity": a.capacity,
            "median_minutes": round(eff.median_handle_minutes) if eff and
            eff.median_handle_minutes else None,
            "closed_in_category": eff.closed if eff else 0,
            "continuity": bool(needs and needs.previous_agents[:1] == (a.user_id,)),
            "language": needs.language if needs and needs.language in a.languages else "",
            "score": round(chosen.score, 4) if chosen else None,
            "runners_up": len(ranking.candidates) - 1 if ranking and ranking.candidates else 0}


# --- the queue ---------------------------------------------------------------------------------

def _reason(needs: routing.TicketNeeds, agents: list[routing.AgentState]) -> str:
    """Why the ticket waits. "nobody_qualified" only when every agent of the pool has a
    permanent problem with it, whatever their presence or load: the exclusion reason of
    the ranking names only the first problem (an offline agent reads "offline"), and
    candidates that filled up meanwhile are qualified."""
    if not agents:
        return "no_agents"
    if all(routing.permission_problem(needs, a) for a in agents):
        return "nobody_qualified"
    return "no_one_available"


def _queue(t: Ticket, reason: str, ranking: routing.Ranking | None,
           policy: DispatchPolicy) -> None:
    """Put (or keep) the ticket in its department's queue; tell people once when the
    department cannot route it by configuration. A ticket already waiting for the same
    reason with the same facts is left as it is: no write transaction per ticket when a
    department fill retries its whole queue (on SQLite each one takes the write lock)."""
    now = utcnow()
    entry = QueueEntry.get_or_none(QueueEntry.ticket == t.id)
    if entry is not None and (entry.reason, entry.department_id, entry.priority, entry.due_at) \
            == (reason, t.department_id, t.priority, t.due_at):
        return
    with unit_of_work():
        t = lock_ticket(t.id)
        if not routable(t):
            return
        entry = QueueEntry.get_or_none(QueueEntry.ticket == t.id)
        if entry is None:
            QueueEntry.create(ticket=t.id, department=t.department_id, priority=t.priority,
                              due_at=t.due_at, since=now, reason=reason, attempts=1)
            common.record(t.id, None, "queued", "", None, {"reason": reason}, internal=True)
        else:
            changed = entry.reason != reason
            (QueueEntry.update(department=t.department_id, priority=t.priority, due_at=t.due_at,
                               reason=reason, attempts=QueueEntry.attempts + 1)
             .where(QueueEntry.ticket == t.id).execute())
            if not changed:
                return
        record_decision(t, "queued", policy, None, None, ranking, now, reason)
        if reason in ("no_agents", "nobody_qualified"):
            notify_misconfigured(t, reason, policy)


def notify_misconfigured(t: Ticket, reason: str, policy: DispatchPolicy) -> None:
    """The department lead and the admins hear that tickets wait for a configuration fix:
    once per department and problem while they have not read the last notice (a
    hundred stuck tickets make one notice, not a hundred)."""
    kind = "routing_" + reason
    for user_id in people_to_tell(policy):
        unread = Notification.select(Notification.data).where(
            (Notification.user == user_id) & (Notification.kind == kind)
            & Notification.read_at.is_null())
        if any((n.data or {}).get("department_id") == t.department_id for n in unread):
            continue
        Notification.create(user=user_id, kind=kind, ticket=t.id,
                            data={"department_id": t.department_id,
                                  "department": Department.select(Department.name).where(
                                      Department.id == t.department_id).scalar() or ""})


def people_to_tell(policy: DispatchPolicy) -> list[int]:
    admins = [u.id for u in User.select(User.id).where((User.role == "admin") & User.active)]
    lead = [policy.lead_id] if policy.lead_id else []
    return list(dict.fromkeys(lead + admins))


def after_change(t: Ticket, before: dict) -> None:
    """Called by ticket services inside their transaction after changing `t`; `before`
    holds assignee_id, status and department_id as they were. Schedules the routing
    work the change calls for (jobs run after commit; each is idempotent) and takes a
    ticket that waits for no one any more (assigned, closed) out of the queue."""
    if t.assignee_id is None and t.is_open and t.department_id is not None:
        schedule("dispatch_ticket", t.id)
    else:  # assigned, closed or without a department: it waits for no one any more
        QueueEntry.delete().where(QueueEntry.ticket == t.id).execute()
    old = before.get("assignee_id")
    left = old is not None and old != t.assignee_id
    eased = (old is not None and before.get("status") in state.ACTIVE_STATUSES
             and t.status not in state.ACTIVE_STATUSES)
    if left or eased:
        agent_freed(old)
    if t.assignee_id is not None and t.status in ("resolved", "closed") \
            and before.get("status") not in ("resolved", "closed"):
        schedule("agent_stats", t.assignee_id)


def requeue(ticket_id: int) -> None:
    """Ask for a dispatch of this ticket after the current transaction commits."""
    schedule("dispatch_ticket", ticket_id)


def agent_freed(user_id: int | None) -> None:
    """The agent's load dropped (resolved, reassigned away, capacity raised)."""
    if user_id:
        schedule("dispatch_agent", user_id)
