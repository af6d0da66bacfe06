"""Agent presence, redistribution of unstarted work, escalation and the dispatch tick.

Presence is set by the agent (online, busy, away, offline) or by the system
(`presence_auto`): login -> online, logout -> offline, no activity for
`presence_idle_minutes` -> away, and back to online on activity when the system had
set away. "At capacity -> busy" is derived, never stored (rules.routing.effective_presence).
"""
from __future__ import annotations

import datetime as dt
import logging

from appliance import jobs, runtime
from appliance.errors import PermissionDenied, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.models import (AgentAbsence, AgentProfile, Comment, DispatchPolicy, Notification,
                              QueueEntry, RoutingDecision, Ticket, TimelineEvent, User, utcnow)
from appliance.models.dispatch import PRESENCES
from appliance.rules.access import Actor
from appliance.services import common, dispatch
from appliance.services import dispatch_state as state

log = logging.getLogger(__name__)
UNAVAILABLE = ("away", "offline")


def set_presence(actor: Actor, presence: str, *, user_id: int | None = None,
                 auto: bool = False) -> str:
    """Set an agent's presence (their own, or anyone's for supervisors and admins)."""
    if presence not in PRESENCES:
        raise ValidationError({"presence": "must be one of " + ", ".join(PRESENCES)})
    target = user_id or actor.user_id
    if target != actor.user_id and actor.role not in ("supervisor", "admin"):
        raise PermissionDenied("only supervisors may set another agent's presence")
    if not User.select().where((User.id == target) & User.role.in_(
            ("agent", "supervisor", "admin"))).exists():
        raise ValidationError({"user_id": "not a staff member"})
    return _change(target, presence, auto)


def _change(user_id: int, presence: str, auto: bool) -> str:
    dispatch.ensure_profile(user_id)
    with unit_of_work():
        p = dispatch.lock_profile(user_id)
        before = p.presence
        now = utcnow()
        (AgentProfile.update(presence=presence, presence_auto=auto, presence_changed_at=now,
                             last_activity_at=now if presence == "online" else p.last_activity_at)
         .where(AgentProfile.user == user_id).execute())
        if presence == "online" and before != "online":
            schedule("dispatch_agent", user_id)
        if presence in UNAVAILABLE and before not in UNAVAILABLE:
            schedule("redistribute_agent", user_id)
    return presence


def on_login(user: User) -> None:
    if user.role in state.ROUTABLE_ROLES:
        _change(user.id, "online", True)


def on_logout(user_id: int) -> None:
    if AgentProfile.select().where(AgentProfile.user == user_id).exists():
        _change(user_id, "offline", True)


def heartbeat(actor: Actor) -> str:
    """The agent's browser saw activity: note it; come back from an automatic away."""
    dispatch.ensure_profile(actor.user_id)
    p = AgentProfile.get(AgentProfile.user == actor.user_id)
    if p.presence == "away" and p.presence_auto:
        return _change(actor.user_id, "online", True)
    AgentProfile.update(last_activity_at=utcnow()).where(
        AgentProfile.user == actor.user_id).execute()
    return p.presence


# --- redistribution ----------------------------------------------------------------------------

ROUTED = ("auto", "pulled")  # assignment modes redistribution may undo (never "manual")


def unstarted(user_id: int) -> list[int]:
    """Open tickets routed to the agent (auto or pulled) they have not touched since: no
    reply, note or change by them after the assignment. Manual assignments stay put."""
    rows = list(Ticket.select(Ticket.id, Ticket.assigned_at).where(
        (Ticket.assignee == user_id) & Ticket.is_open & Ticket.assignment_mode.in_(ROUTED)))
    return [t.id for t in rows if not _touched(t.id, user_id, t.assigned_at)]


def _touched(ticket_id: int, user_id: int, since: dt.datetime | None) -> bool:
    since = since or dt.datetime.min
    return (Comment.select().where((Comment.ticket == ticket_id) & (Comment.author == user_id)
                                   & (Comment.created_at >= since)).exists()
            or TimelineEvent.select().where(
                (TimelineEvent.ticket == ticket_id) & (TimelineEvent.actor == user_id)
                & (TimelineEvent.created_at >= since)).exists())


@jobs.handler("redistribute_agent")
def redistribute_agent(user_id: int, now: dt.datetime | None = None) -> int:
    """The agent left (offline, away, break, shift end): their unstarted tickets go back
    to routing. Does nothing while they are available again. Returns tickets moved."""
    if _available(user_id, now):
        return 0
    moved = 0
    for ticket_id in unstarted(user_id):
        with unit_of_work():
            t = dispatch.lock_ticket(ticket_id)
            # Checked again under the lock: the agent may have replied (or a supervisor
            # made the assignment manual) since unstarted() read the ticket.
            if t is None or t.assignee_id != user_id or not t.is_open \
                    or t.assignment_mode not in ROUTED or _touched(t.id, user_id, t.assigned_at):
                continue
            now = utcnow()
            Ticket.update(assignee=None, assigned_at=None, assignment_mode="",
                          version=Ticket.version + 1, updated_at=now).where(
                Ticket.id == t.id).execute()
            RoutingDecision.create(ticket=t.id, department=t.department_id, agent=None,
                                   mode="redistributed", explanation={"from": user_id},
                                   created_at=now)
            common.record(t.id, None, "assigned", "assignee_id", user_id, None)
            common.record(t.id, None, "redistributed", "", None, {"from": user_id},
                          internal=True)
            schedule("dispatch_ticket", t.id)
            schedule("index_ticket", t.id)
            moved += 1
    return moved


def _available(user_id: int, now: dt.datetime | None = None) -> bool:
    states = state.agent_states([user_id], None, now)
    return bool(states) and states[0].presence in ("online", "busy") and states[0].on_shift \
        and not states[0].on_break


# --- the tick: idle agents, breaks and shift ends, escalation, safety net ------------------------

def tick(now: dt.datetime | None = None) -> dict:
    """Runs every minute on the worker. Each part is idempotent."""
    now = now or utcnow()
    return {"idle": mark_idle(now), "left": redistribute_absent(now),
            "escalated": escalate(now), "filled": fill_all()}


def mark_idle(now: dt.datetime) -> int:
    limit = now - dt.timedelta(minutes=runtime.settings().presence_idle_minutes)
    idle = [p.user_id for p in AgentProfile.select(AgentProfile.user).where(
        (AgentProfile.presence == "online")
        & (AgentProfile.last_activity_at.is_null() | (AgentProfile.last_activity_at < limit))
        & (AgentProfile.presence_changed_at < limit))]
    return sum(1 for user_id in idle if _go_idle(user_id, limit))


def _go_idle(user_id: int, limit: dt.datetime) -> bool:
    """Away, unless a heartbeat came in since the idle list was read (checked under the
    profile lock, so an agent typing right now is not sent away)."""
    with unit_of_work():
        p = dispatch.lock_profile(user_id)
        active = p.last_activity_at is not None and p.last_activity_at >= limit
        if p.presence != "online" or active or p.presence_changed_at >= limit:
            return False
        _change(user_id, "away", True)
    return True


def redistribute_absent(now: dt.datetime) -> int:
    """Agents still "online" but on a break or off shift lose their unstarted tickets."""
    online = [p.user_id for p in AgentProfile.select(AgentProfile.user).where(
        AgentProfile.presence.in_(("online", "busy")))]
    holding = {t.assignee_id for t in Ticket.select(Ticket.assignee).where(
        Ticket.assignee.in_(online) & Ticket.is_open
        & Ticket.assignment_mode.in_(ROUTED))} if online else set()
    moved = 0
    for a in state.agent_states(sorted(holding), None, now):
        if a.on_break or not a.on_shift:
            moved += redistribute_agent(a.user_id, now)
    return moved


def escalate(now: dt.datetime) -> int:
    """Tickets waiting longer than their department allows: tell the lead, widen the pool."""
    count = 0
    # Lists, not open cursors: on SQLite a write transaction begun while a SELECT is still
    # stepping keeps that read snapshot and fails with "database is locked" (no busy wait)
    # when another connection committed meanwhile.
    for policy in list(DispatchPolicy.select().where(DispatchPolicy.escalate_after_minutes > 0)):
        limit = now - dt.timedelta(minutes=policy.escalate_after_minutes)
        entries = list(QueueEntry.select().where(
            (QueueEntry.department == policy.department_id) & QueueEntry.escalated_at.is_null()
            & (QueueEntry.since <= limit)))
        for e in entries:
            with unit_of_work():
                # The ticket first, as every dispatch writer: _assign holds it and then
                # deletes this entry, so locking the entry first could deadlock.
                if not dispatch.routable(dispatch.lock_ticket(e.ticket_id)):
                    continue  # closed, assigned or merged: dispatch_ticket drops the entry
                n = QueueEntry.update(escalated_at=now).where(
                    (QueueEntry.ticket == e.ticket_id) & QueueEntry.escalated_at.is_null()).execute()
                if n != 1:
                    continue
                waited = int((now - e.since).total_seconds() // 60)
                common.record(e.ticket_id, None, "escalated", "", None,
                              {"waited_minutes": waited}, internal=True)
                for user_id in _leads(policy):
                    Notification.create(user=user_id, kind="queue_escalated", ticket=e.ticket_id,
                                        data={"waited_minutes": waited})
                schedule("dispatch_ticket", e.ticket_id)
            count += 1
    return count


def _leads(policy: DispatchPolicy) -> list[int]:
    """The department lead, or else its supervisors."""
    if policy.lead_id:
        return [policy.lead_id]
    return [u.id for u in User.select(User.id).where(
        (User.department == policy.department_id) & (User.role == "supervisor") & User.active)]


def fill_all() -> int:
    departments = sorted({e.department_id for e in QueueEntry.select(QueueEntry.department)
                          .distinct()})
    return sum(dispatch.dispatch_department(d) for d in departments)


def absences(user_id: int, now: dt.datetime | None = None) -> list[AgentAbsence]:
    now = now or utcnow()
    return list(AgentAbsence.select().where((AgentAbsence.user == user_id)
                                            & (AgentAbsence.ends_at > now))
                .order_by(AgentAbsence.starts_at))
