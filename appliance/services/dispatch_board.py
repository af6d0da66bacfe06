"""What supervisors watch of dispatch (reads only): the agents with their presence and
load, each department's queue with its SLA risk, and the latest routing decisions; and
the routing of one ticket for its side panel.

A supervisor oversees their own department: its agents, queue and decisions. Of the
departments that overflow into it they see only the escalated waiting tickets (the only
ones that can reach their agents), in one queue per such department, and none of those
departments' agents or decisions (they could not open those tickets). Administrators
oversee everything. Each function reads with a fixed number of queries, whatever the
number of agents, departments or tickets (per-department top lists come from one window
query).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from peewee import JOIN, Case, fn

from appliance import dto
from appliance.errors import NotFound, PermissionDenied
from appliance.models import (Department, DispatchPolicy, QueueEntry, RoutingDecision, Ticket,
                              User, utcnow)
from appliance.rules import routing
from appliance.rules.access import Actor, can_view_reports
from appliance.services import common, dispatch_actions
from appliance.services import dispatch_state as state

BOARD_ROLES = ("supervisor", "admin")
TOP_WAITING = 10       # waiting tickets listed per department
RECENT_DECISIONS = 30
RUNNERS_UP = 3         # shown per decision on the board
SLA_RISK_MINUTES = 60  # a waiting ticket due within this long (or overdue) is at risk


@dataclass(frozen=True)
class BoardAgent:
    id: int
    name: str
    role: str
    department: dto.Ref | None
    presence: str            # as stored (set by the agent or the system)
    effective_presence: str  # what routing sees: at capacity -> busy, off shift -> away
    load: float
    capacity: float
    open_tickets: int
    on_break: bool
    off_shift: bool
    last_assigned_at: dt.datetime | None


@dataclass(frozen=True)
class WaitingTicket:
    ticket_id: int
    number: str
    subject: str
    priority: int
    reason: str
    since: dt.datetime
    due_at: dt.datetime | None
    escalated_at: dt.datetime | None


@dataclass(frozen=True)
class BoardQueue:
    department: dto.Ref
    waiting: int
    oldest_since: dt.datetime | None
    sla_risk: int
    escalated: int
    tickets: list[WaitingTicket]
    # A department overflowing into the supervisor's: only its escalated tickets count.
    escalated_only: bool = False


@dataclass(frozen=True)
class DecisionView:
    id: int
    ticket_id: int
    number: str
    mode: str
    agent: dto.Ref | None
    explanation: dict     # facts for the sentence (redistributed: also from_agent, a name)
    runners_up: list[dict]  # candidates other than the chosen agent, best first
    excluded: dict
    latency_ms: int
    created_at: dt.datetime


@dataclass(frozen=True)
class Board:
    agents: list[BoardAgent]
    queues: list[BoardQueue]
    decisions: list[DecisionView]
    generated_at: dt.datetime


@dataclass(frozen=True)
class WaitingState:
    since: dt.datetime
    reason: str
    escalated_at: dt.datetime | None


@dataclass(frozen=True)
class TicketRouting:
    ticket_id: int
    number: str
    assignee: dto.Ref | None
    waiting: WaitingState | None
    decisions: list[DecisionView]   # newest first; runners-up only for supervisors
    can_reassign: bool
    choices: list[dto.Ref] = field(default_factory=list)  # agents a supervisor may pick


# --- scope ---------------------------------------------------------------------------------

def scope(actor: Actor) -> list[int] | None:
    """Ids of the departments the actor oversees in full (their own); None means all
    (administrators)."""
    if not can_view_reports(actor):
        raise PermissionDenied("only supervisors and administrators may see the dispatch board")
    if actor.is_admin:
        return None
    return [] if actor.department_id is None else [actor.department_id]


def overflow_sources(actor: Actor) -> list[int]:
    """Departments that overflow into the supervisor's: of these the board shows only the
    escalated waiting tickets (none for administrators, who see everything anyway)."""
    if actor.is_admin or actor.department_id is None:
        return []
    rows = DispatchPolicy.select(DispatchPolicy.department).where(
        (DispatchPolicy.overflow_department == actor.department_id)
        & (DispatchPolicy.department != actor.department_id))
    return sorted(p.department_id for p in rows)


def _waiting_in(depts: list[int] | None, escalated_from: list[int]):
    """Which queue entries the board shows: all of `depts` (None: every department) and
    the escalated ones of `escalated_from`; None when no filter applies."""
    if depts is None:
        return None
    cond = QueueEntry.department.in_(depts)
    if escalated_from:
        cond |= (QueueEntry.department.in_(escalated_from)
                 & QueueEntry.escalated_at.is_null(False))
    return cond


def _departments(depts: list[int] | None) -> dict[int, str]:
    q = Department.select(Department.id, Department.name)
    q = q.where(Department.active) if depts is None else q.where(Department.id.in_(depts))
    return {d.id: d.name for d in q.order_by(Department.name, Department.id)}


# --- the board -------------------------------------------------------------------------------

def board(actor: Actor, now: dt.datetime | None = None) -> Board:
    depts = scope(actor)
    sources = overflow_sources(actor)
    now = now or utcnow()
    names = _departments(depts)
    return Board(agents=agents(depts, names, now),
                 queues=queues(depts, names, now, sources),
                 decisions=recent_decisions(depts), generated_at=now)


def agents(depts: list[int] | None, names: dict[int, str], now: dt.datetime) -> list[BoardAgent]:
    q = User.select(User.id, User.role, User.department).where(
        User.active & User.role.in_(state.ROUTABLE_ROLES))
    if depts is not None:
        q = q.where(User.department.in_(depts))
    users = {u.id: u for u in q}
    ids = sorted(users)
    open_counts = dict(Ticket.select(Ticket.assignee, fn.COUNT(Ticket.id))
                       .where(Ticket.assignee.in_(ids) & Ticket.is_open)
                       .group_by(Ticket.assignee).tuples()) if ids else {}
    missing = {u.department_id for u in users.values()} - set(names) - {None}
    if missing:  # an administrator's agents in inactive departments
        names = {**names, **_departments(sorted(missing))}
    out = [_agent(a, users[a.user_id], names, open_counts.get(a.user_id, 0))
           for a in state.agent_states(ids, None, now)]
    return sorted(out, key=lambda a: (a.department.name if a.department else "", a.name, a.id))


def _agent(a: routing.AgentState, u: User, names: dict[int, str], open_tickets: int
           ) -> BoardAgent:
    dept = u.department_id
    return BoardAgent(
        id=a.user_id, name=a.name, role=u.role,
        department=dto.Ref(dept, names.get(dept, "")) if dept else None,
        presence=a.presence,
        effective_presence=routing.effective_presence(a.presence, a.load, a.capacity,
                                                      a.on_shift, a.on_break),
        load=round(a.load, 2), capacity=a.capacity, open_tickets=open_tickets,
        on_break=a.on_break, off_shift=not a.on_shift, last_assigned_at=a.last_assigned_at)


def queues(depts: list[int] | None, names: dict[int, str], now: dt.datetime,
           escalated_from: list[int] = ()) -> list[BoardQueue]:
    """One queue per department in scope (also the empty ones), in department order, then
    one per department in `escalated_from` counting only its escalated tickets."""
    escalated_from = [d for d in escalated_from if depts is not None and d not in depts]
    soon = now + dt.timedelta(minutes=SLA_RISK_MINUTES)
    at_risk = Case(None, [(QueueEntry.due_at.is_null(False) & (QueueEntry.due_at <= soon), 1)], 0)
    q = (QueueEntry.select(QueueEntry.department, fn.COUNT(QueueEntry.ticket),
                           fn.MIN(QueueEntry.since), fn.SUM(at_risk),
                           fn.COUNT(QueueEntry.escalated_at))
         .group_by(QueueEntry.department))
    shown = _waiting_in(depts, escalated_from)
    if shown is not None:
        q = q.where(shown)
    stats = {row[0]: row[1:] for row in q.tuples()}
    missing = (set(stats) | set(escalated_from)) - set(names)
    if missing:  # inactive departments with waiting tickets, overflow sources
        names = {**names, **_departments(sorted(missing))}
    top = top_waiting(list(stats), shown)
    out = []
    order = sorted(names, key=lambda d: d in escalated_from)  # own first; each part by name
    for dept_id in order:
        count, oldest, risk, escalated = stats.get(dept_id, (0, None, 0, 0))
        out.append(BoardQueue(dto.Ref(dept_id, names.get(dept_id, "")), count,
                              _as_datetime(oldest), int(risk or 0), escalated,
                              top.get(dept_id, []), dept_id in escalated_from))
    return out


def top_waiting(depts: list[int], shown=None) -> dict[int, list[WaitingTicket]]:
    """The first TOP_WAITING tickets of each department, in dispatch order (one query);
    `shown` limits the entries looked at (see _waiting_in)."""
    if not depts:
        return {}
    rank = fn.ROW_NUMBER().over(
        partition_by=[QueueEntry.department],
        order_by=[QueueEntry.priority, QueueEntry.due_at.is_null(), QueueEntry.due_at,
                  QueueEntry.since, QueueEntry.ticket])
    cond = QueueEntry.department.in_(depts)
    ranked = (QueueEntry.select(QueueEntry.ticket.alias("tid"), rank.alias("rn"))
              .where(cond if shown is None else cond & shown).alias("ranked"))
    rows = (QueueEntry.select(QueueEntry, Ticket.number, Ticket.subject, Ticket.priority)
            .join(Ticket, on=(QueueEntry.ticket == Ticket.id), attr="t")
            .join(ranked, on=(ranked.c.tid == QueueEntry.ticket))
            .where(ranked.c.rn <= TOP_WAITING)
            .order_by(QueueEntry.department, ranked.c.rn))
    out: dict[int, list[WaitingTicket]] = {}
    for e in rows:
        out.setdefault(e.department_id, []).append(WaitingTicket(
            e.ticket_id, e.t.number, e.t.subject, e.t.priority, e.reason, e.since, e.due_at,
            e.escalated_at))
    return out


def _as_datetime(value) -> dt.datetime | None:
    """MIN() over a datetime column comes back as text on SQLite."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def recent_decisions(depts: list[int] | None, limit: int = RECENT_DECISIONS
                     ) -> list[DecisionView]:
    q = (RoutingDecision.select(RoutingDecision, Ticket.number, User.display_name)
         .join(Ticket, on=(RoutingDecision.ticket == Ticket.id), attr="t")
         .switch(RoutingDecision)
         .join(User, JOIN.LEFT_OUTER, on=(RoutingDecision.agent == User.id), attr="a")
         .order_by(RoutingDecision.id.desc()).limit(limit))
    if depts is not None:
        q = q.where(RoutingDecision.department.in_(depts))
    rows = list(q)
    numbers = {r.ticket_id: r.t.number for r in rows}
    agents_ = {r.agent_id: r.a.display_name for r in rows if r.agent_id and r.a}
    return decision_views(rows, numbers, agents_, RUNNERS_UP)


def decision_views(rows: list[RoutingDecision], numbers: dict[int, str],
                   agent_names: dict[int, str], runners_up: int | None) -> list[DecisionView]:
    """DTOs of decisions; names of agents a redistribution took tickets from are read in
    one query."""
    gone = {r.explanation.get("from") for r in rows if r.mode == "redistributed"
            and isinstance(r.explanation, dict)} - {None} - set(agent_names)
    if gone:
        agent_names = {**agent_names, **dict(User.select(User.id, User.display_name)
                                             .where(User.id.in_(sorted(gone))).tuples())}
    return [_decision(r, numbers.get(r.ticket_id, ""), agent_names, runners_up) for r in rows]


def _decision(r: RoutingDecision, number: str, agent_names: dict[int, str],
              runners_up: int | None) -> DecisionView:
    explanation = dict(r.explanation or {})
    if r.mode == "redistributed" and "from" in explanation:
        explanation["from_agent"] = agent_names.get(explanation["from"], "")
    others = [c for c in (r.candidates or []) if c.get("user_id") != r.agent_id]
    agent = dto.Ref(r.agent_id, agent_names.get(r.agent_id) or explanation.get("agent", "")) \
        if r.agent_id else None
    return DecisionView(r.id, r.ticket_id, number, r.mode, agent, explanation,
                        others[:runners_up] if runners_up else others, dict(r.excluded or {}),
                        r.latency_ms, r.created_at)


# --- one ticket ------------------------------------------------------------------------------

def ticket_routing(actor: Actor, ticket_id: int) -> TicketRouting:
    """The ticket's routing for its side panel and the API (staff only: it is internal)."""
    if not actor.is_staff:
        raise PermissionDenied("routing decisions are internal")
    rows = dispatch_actions.decisions(actor, ticket_id)  # checks that the actor may see it
    t = Ticket.select(Ticket.id, Ticket.number, Ticket.assignee, Ticket.department).where(
        Ticket.id == ticket_id).get()
    ids = {r.agent_id for r in rows} | {t.assignee_id}
    names = dict(User.select(User.id, User.display_name).where(
        User.id.in_(sorted(ids - {None}))).tuples()) if ids - {None} else {}
    waiting = dispatch_actions.ticket_state(ticket_id)
    can_reassign = actor.role in BOARD_ROLES
    return TicketRouting(
        ticket_id=t.id, number=t.number,
        assignee=dto.Ref(t.assignee_id, names.get(t.assignee_id, "")) if t.assignee_id else None,
        waiting=WaitingState(waiting["waiting_since"], waiting["reason"],
                             waiting["escalated_at"]) if waiting else None,
        decisions=decision_views(rows, {t.id: t.number}, names, None),
        can_reassign=can_reassign,
        choices=reassign_choices(t.department_id) if can_reassign else [])


def can_see_ticket(actor: Actor, ticket_id: int) -> bool:
    """Whether the actor may still open the ticket (a supervisor who reassigned a ticket
    of another department away from themselves no longer may)."""
    try:
        common.ticket_for(actor, ticket_id)
    except NotFound:
        return False
    return True


def reassign_choices(department_id: int | None) -> list[dto.Ref]:
    """Active agents of the ticket's department and of its overflow department and team
    (every routable agent when the ticket has no department yet)."""
    if department_id is None:
        q = User.select(User.id, User.display_name).where(
            User.active & User.role.in_(state.ROUTABLE_ROLES))
    else:
        ids = state.pool(department_id, state.policy_for(department_id), widened=True)
        q = User.select(User.id, User.display_name).where(User.id.in_(ids))
    return [dto.Ref(u.id, u.display_name) for u in q.order_by(User.display_name, User.id)]
