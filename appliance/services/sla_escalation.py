"""Warnings and breaches of SLA clocks: recorded once, told to people, escalated
(docs/decisions/0036).

A crossing (a warning threshold reached or a breach) is a row of sla_event, unique by
ticket, clock, threshold and the clock's start, so the periodic run and the event job
can both see it and only the one that inserts it acts. Acting means, in the same
transaction: an internal timeline entry; a notification to the assignee (or, without
one, the department lead) on a warning, to both on a breach; and the policy's
escalations at that threshold — notify_lead, raise_priority (one step, through
services.tickets so it is versioned and on the timeline), reassign (to an agent, or to
the least-loaded active member of a team). A clock that already stopped (answered late)
records its breach for the reports but tells nobody.

An escalation that fails is not dropped: a conflict (someone changed the ticket at the
same moment) is retried once against the fresh row; any other failure (the target agent
was disabled, the team has nobody active) goes on the timeline and to the department
lead as an `sla_escalation_failed` notification, so a person finishes what the policy
asked for.
"""
from __future__ import annotations

import datetime as dt
import logging

from peewee import fn

from appliance.db import database
from appliance.errors import Conflict, DomainError
from appliance.models import (Department, DispatchPolicy, Notification, SlaEvent, TeamMember,
                              Ticket, User)
from appliance.rules import sla_policy
from appliance.rules.access import SYSTEM
from appliance.services import common

log = logging.getLogger(__name__)


def record(crossings: list[tuple], now: dt.datetime) -> int:
    """Insert the new crossings and act on each; returns how many were new."""
    if not crossings:
        return 0
    ids = sorted({c[0].id for c in crossings})
    seen = set(SlaEvent.select(SlaEvent.ticket, SlaEvent.clock, SlaEvent.threshold,
                               SlaEvent.started_at).where(SlaEvent.ticket.in_(ids)).tuples())
    new, leads, notes = 0, {}, []
    for t, policy, clock, threshold, started, running, due in crossings:
        ticket_id = t.id
        if (ticket_id, clock, threshold, started) in seen:
            continue
        # INSERT … ON CONFLICT DO NOTHING: another worker may have recorded it meanwhile;
        # only the one whose row went in acts (rowcount, on SQLite and PostgreSQL alike).
        inserted = database.execute(SlaEvent.insert(
            ticket=ticket_id, policy=policy.id, clock=clock, threshold=threshold,
            started_at=started, created_at=now).on_conflict_ignore()).rowcount
        if inserted != 1:
            continue
        new += 1
        _act(t, policy, clock, threshold, running, due, leads, notes)
    for i in range(0, len(notes), 200):   # one INSERT per 200 notifications
        Notification.insert_many(notes[i:i + 200]).execute()
    return new


def _act(t: Ticket, policy: sla_policy.Policy, clock: str, threshold: int,
         running: bool, due, leads_cache: dict, notes: list) -> None:
    """`t` is the batch's row (id, department, assignee, priority); re-read when an
    escalation of this threshold may act on it (an earlier one may have changed it)."""
    ticket_id = t.id
    breach = threshold == sla_policy.BREACH
    data = {"clock": clock, "threshold": threshold, "policy": policy.name,
            "due_at": due.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat()
            if due else None}
    common.record(ticket_id, None, "sla_breached" if breach else "sla_warning", "sla",
                  None, data, internal=True)
    if not running:
        return
    actions = [e for e in policy.escalations if e.at == threshold]
    if actions:
        t = Ticket.select(Ticket.id, Ticket.department, Ticket.assignee, Ticket.priority).where(
            Ticket.id == ticket_id).get()
    if t.department_id not in leads_cache:
        leads_cache[t.department_id] = department_leads(t.department_id)
    leads = leads_cache[t.department_id]
    people = [t.assignee_id] if t.assignee_id else []
    if breach or not people:
        people += leads
    notes += _notes(people, "sla_breached" if breach else "sla_warning", t.id, data)
    for e in actions:
        _escalate(t, e, leads, data)


def _notes(user_ids, kind: str, ticket_id: int, data: dict) -> list[dict]:
    return [{"user": u, "kind": kind, "ticket": ticket_id, "data": data}
            for u in dict.fromkeys(u for u in user_ids if u)]


def _notify(user_ids, kind: str, ticket_id: int, data: dict) -> None:
    rows = _notes(user_ids, kind, ticket_id, data)
    if rows:
        Notification.insert_many(rows).execute()


def department_leads(department_id: int | None) -> list[int]:
    """The department's lead, else its dispatch lead, else its active supervisors."""
    if department_id is None:
        return []
    d = Department.get_or_none(Department.id == department_id)
    if d is not None and d.lead_id:
        return [d.lead_id]
    p = DispatchPolicy.get_or_none(DispatchPolicy.department == department_id)
    if p is not None and p.lead_id:
        return [p.lead_id]
    return [u for (u,) in User.select(User.id).where(
        (User.department == department_id) & (User.role == "supervisor") & User.active
    ).order_by(User.id).tuples()]


def _escalate(t: Ticket, e: sla_policy.Escalation, leads: list[int], data: dict) -> None:
    """One escalation action; a conflict is retried once on the fresh row, any other
    failure is on the timeline and told to the leads."""
    try:
        try:
            done = _apply(t, e, leads, data)
        except Conflict:
            t = Ticket.select(Ticket.id, Ticket.department, Ticket.assignee,
                              Ticket.priority).where(Ticket.id == t.id).get()
            done = _apply(t, e, leads, data)
        if done:
            common.record(t.id, None, "sla_escalated", "sla", None,
                          {**data, "action": e.action}, internal=True)
    except DomainError as exc:
        log.warning("SLA escalation %s of ticket %s failed: %s", e.action, t.id,
                    type(exc).__name__)
        failed = {**data, "action": e.action, "reason": exc.message[:200]}
        common.record(t.id, None, "sla_escalation_failed", "sla", None, failed,
                      internal=True)
        _notify(leads or ([t.assignee_id] if t.assignee_id else []),
                "sla_escalation_failed", t.id, failed)


def _apply(t: Ticket, e: sla_policy.Escalation, leads: list[int], data: dict) -> bool:
    """Carry out one escalation; False when there was nothing to do."""
    from appliance import runtime
    from appliance.services import tickets
    if e.action == "notify_lead":
        _notify(leads, "sla_escalated", t.id, data)
    elif e.action == "raise_priority" and t.priority > 1:
        tickets.update_ticket(SYSTEM, t.id, {"priority": t.priority - 1}, runtime.settings())
    elif e.action == "reassign":
        user_id = e.user_id or least_loaded(e.team_id, exclude=t.assignee_id)
        if user_id is None:
            raise DomainError("the team has no active member")
        if user_id != t.assignee_id:
            tickets.update_ticket(SYSTEM, t.id, {"assignee_id": user_id}, runtime.settings())
            _notify([user_id], "sla_escalated", t.id, data)
    else:
        return False
    return True


def least_loaded(team_id: int | None, exclude: int | None = None) -> int | None:
    """The active member of the team with the fewest open tickets (then the lowest id)."""
    if team_id is None:
        return None
    load = (Ticket.select(fn.COUNT(Ticket.id)).where(
        (Ticket.assignee == User.id) & Ticket.is_open))
    q = (User.select(User.id, load.alias("n")).join(TeamMember, on=(TeamMember.user == User.id))
         .where((TeamMember.team == team_id) & User.active
                & User.role.in_(("agent", "supervisor"))))
    if exclude:
        q = q.where(User.id != exclude)
    row = q.order_by(load, User.id).first()
    return row.id if row else None
