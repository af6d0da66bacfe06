"""The supervisor's dispatch board and a ticket's routing, on SQLite and PostgreSQL:
who sees which departments, presence as routing sees it, SLA risk of the queues, and
decisions with their runners-up."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance.errors import NotFound, PermissionDenied
from appliance.models import DispatchPolicy, QueueEntry, Ticket, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import (dispatch, dispatch_actions, dispatch_board, org, presence,
                                users)
from appliance.services import dispatch_state as state
from tests.factories import actor, make_repair_team, ticket


@pytest.fixture
def world(settings):
    return make_repair_team()[0]


def _waiting(settings, o, subject="洗衣机漏水", department=None, **fields):
    """A triaged ticket that needs 售后维修, dispatched (it waits when nobody is online)."""
    t = ticket(settings, o.admin, subject, department_id=department or o.after_sales,
               **fields).summary
    Ticket.update(required_skills=["售后维修"] if not department else [],
                  triage_state="auto").where(Ticket.id == t.id).execute()
    dispatch.dispatch_ticket(t.id)
    return t


def _agent(board, name):
    return next(a for a in board.agents if a.name == name)


def _queue(board, department_id):
    return next(q for q in board.queues if q.department.id == department_id)


def test_a_supervisor_sees_only_their_own_department(settings, world):
    o = world
    _waiting(settings, o)
    _waiting(settings, o, "物流延误", department=o.logistics)
    b = dispatch_board.board(o.supervisor)
    assert {a.name for a in b.agents} == {"王芳", "赵敏", "钱进", "陈主管"}
    assert [q.department.id for q in b.queues] == [o.after_sales]
    assert _queue(b, o.after_sales).waiting == 1
    assert {d.number for d in b.decisions} == {_queue(b, o.after_sales).tickets[0].number}


def test_of_a_department_overflowing_into_theirs_a_supervisor_sees_only_escalated_tickets(
        settings, world):
    """Only those can reach their agents; the others (and that department's agents and
    decisions) are tickets the supervisor cannot open."""
    o = world
    DispatchPolicy.create(department=o.logistics, overflow_department=o.after_sales)
    plain = _waiting(settings, o, "物流延误", department=o.logistics)
    escalated = _waiting(settings, o, "物流升级", department=o.logistics)
    QueueEntry.update(escalated_at=utcnow()).where(QueueEntry.ticket == escalated.id).execute()
    b = dispatch_board.board(o.supervisor)
    assert [q.department.id for q in b.queues] == [o.after_sales, o.logistics]
    logistics = _queue(b, o.logistics)
    assert logistics.escalated_only and not _queue(b, o.after_sales).escalated_only
    assert (logistics.waiting, logistics.escalated) == (1, 1)
    assert [w.ticket_id for w in logistics.tickets] == [escalated.id]
    assert "李雷" not in {a.name for a in b.agents}
    assert not {d.ticket_id for d in b.decisions} & {plain.id, escalated.id}
    everything = _queue(dispatch_board.board(o.admin), o.logistics)
    assert everything.waiting == 2 and not everything.escalated_only


def test_an_administrator_sees_every_department(settings, world):
    o = world
    _waiting(settings, o, "物流延误", department=o.logistics)
    b = dispatch_board.board(o.admin)
    assert {q.department.id for q in b.queues} == {o.after_sales, o.logistics}
    assert "李雷" in {a.name for a in b.agents} and "管理员" not in {a.name for a in b.agents}


def test_an_agent_may_not_see_the_board(settings, world):
    with pytest.raises(PermissionDenied):
        dispatch_board.board(world.agent)


def test_an_online_agent_at_capacity_shows_as_busy_with_load_and_last_assignment(settings, world):
    o = world
    users.update_user(o.admin, actor("qian").user_id, {"capacity": 1})
    presence.set_presence(actor("qian"), "online")
    presence.set_presence(actor("zhao"), "away")
    t = _waiting(settings, o)
    assert Ticket.get_by_id(t.id).assignee_id == actor("qian").user_id
    b = dispatch_board.board(o.supervisor)
    qian, zhao = _agent(b, "钱进"), _agent(b, "赵敏")
    assert (qian.presence, qian.effective_presence) == ("online", "busy")
    assert (qian.load, qian.capacity, qian.open_tickets) == (1.0, 1.0, 1)
    assert qian.last_assigned_at is not None and not qian.on_break and not qian.off_shift
    assert (zhao.presence, zhao.effective_presence, zhao.open_tickets) == ("away", "away", 0)
    assert _agent(b, "王芳").effective_presence == "offline"


def test_queues_count_tickets_overdue_or_due_within_an_hour_as_at_risk(settings, world):
    o = world
    now = utcnow()
    overdue = _waiting(settings, o, "过期", due_at=now - dt.timedelta(minutes=5))
    _waiting(settings, o, "快到期", due_at=now + dt.timedelta(minutes=30))
    _waiting(settings, o, "还早", due_at=now + dt.timedelta(hours=5))
    first = _waiting(settings, o, "无期限", priority=1)
    QueueEntry.update(escalated_at=now).where(QueueEntry.ticket == overdue.id).execute()
    q = _queue(dispatch_board.board(o.supervisor, now), o.after_sales)
    assert (q.waiting, q.sla_risk, q.escalated) == (4, 2, 1)
    assert q.oldest_since == QueueEntry.get(QueueEntry.ticket == overdue.id).since
    assert q.tickets[0].ticket_id == first.id and q.tickets[0].priority == 1
    assert {w.reason for w in q.tickets} == {"no_one_available"}
    assert [w.subject for w in q.tickets[1:]] == ["过期", "快到期", "还早"]


def test_each_department_lists_at_most_ten_waiting_tickets(settings, world):
    o = world
    for i in range(12):
        _waiting(settings, o, f"工单 {i}")
    q = _queue(dispatch_board.board(o.supervisor), o.after_sales)
    assert q.waiting == 12 and len(q.tickets) == 10
    assert [w.subject for w in q.tickets] == [f"工单 {i}" for i in range(10)]


def test_decisions_name_the_agent_and_the_runners_up_newest_first(settings, world):
    o = world
    for who in (o.agent, actor("zhao"), actor("qian")):
        presence.set_presence(who, "online")
    t = _waiting(settings, o)
    b = dispatch_board.board(o.supervisor)
    d = b.decisions[0]
    assert (d.number, d.mode, d.agent.name) == (t.number, "auto", "钱进")
    assert d.explanation["skills"] == [{"name": "售后维修", "level": 5}]
    assert [c["name"] for c in d.runners_up] == ["王芳", "赵敏"]
    assert set(d.runners_up[0]["parts"]) == {"skill", "load", "efficiency", "language",
                                             "continuity", "fairness"}
    assert d.latency_ms >= 0 and d.created_at is not None


def test_a_queued_decision_says_why_the_ticket_waits(settings, world):
    o = world
    _waiting(settings, o)
    d = dispatch_board.board(o.admin).decisions[0]
    assert d.mode == "queued" and d.agent is None
    assert d.explanation == {"reason": "no_one_available"}


def test_the_board_reads_with_a_fixed_number_of_queries(settings, world, queries):
    o = world
    presence.set_presence(actor("qian"), "online")
    for i in range(3):
        _waiting(settings, o, f"工单 {i}")
    counts = []
    for extra in range(2):
        users.create_user(SYSTEM, f"extra{extra}", f"新人{extra}", "agent",
                          department_id=o.after_sales)
        _waiting(settings, o, f"更多 {extra}")
        DispatchPolicy.create(department=org.save_department(
            SYSTEM, f"D{extra}", f"部门{extra}", f"Dept {extra}").id)
        queries.clear()
        dispatch_board.board(o.admin)
        counts.append(len(queries))
    assert counts[0] == counts[1] and counts[0] <= 20, counts


def test_agent_loads_read_every_departments_policy_in_one_query(settings, world, queries):
    """Each open ticket weighs by its own department's policy (or the default)."""
    o = world
    uid = o.agent.user_id
    DispatchPolicy.create(department=o.logistics, channel_weights={"phone": 3})
    counts = []
    for n in range(2):
        dept = org.save_department(SYSTEM, f"L{n}", f"负载{n}", f"Load {n}").id
        DispatchPolicy.create(department=dept, channel_weights={"phone": 2})
        for department in (dept, o.logistics, o.after_sales, None):
            t = ticket(settings, o.admin, "电话", department_id=department, channel="phone")
            Ticket.update(assignee=uid).where(Ticket.id == t.summary.id).execute()
        queries.clear()
        load = state.loads([uid])[uid]
        counts.append(len(queries))
    assert counts == [2, 2]
    assert load == 2 * (2 + 3 + 1 + 1)


def test_a_reassignment_shows_on_the_ticket_with_who_did_it(settings, world):
    o = world
    t = _waiting(settings, o)
    dispatch_actions.reassign(o.supervisor, t.id, o.agent.user_id, "客户点名")
    r = dispatch_board.ticket_routing(o.supervisor, t.id)
    assert r.assignee.name == "王芳" and r.waiting is None and r.can_reassign
    assert r.decisions[0].mode == "manual"
    assert r.decisions[0].explanation == {"agent": "王芳", "by": "陈主管", "note": "客户点名"}
    assert r.decisions[1].mode == "queued"
    assert {c.name for c in r.choices} == {"王芳", "赵敏", "钱进", "陈主管"}


def test_agents_see_a_tickets_decisions_without_runners_up_and_customers_nothing(settings, world):
    o = world
    for who in (o.agent, actor("qian")):
        presence.set_presence(who, "online")
    t = _waiting(settings, o, customer_id=o.customer.customer_id)
    seen_by_agent = dispatch_board.ticket_routing(o.agent, t.id)
    assert seen_by_agent.decisions[0].runners_up == [] and not seen_by_agent.can_reassign
    assert seen_by_agent.choices == []
    assert dispatch_board.ticket_routing(o.supervisor, t.id).decisions[0].runners_up
    with pytest.raises(PermissionDenied):
        dispatch_board.ticket_routing(o.customer, t.id)
    with pytest.raises(NotFound):
        dispatch_board.ticket_routing(o.agent2, t.id)


def test_a_waiting_ticket_reports_since_when_and_why(settings, world):
    o = world
    t = _waiting(settings, o)
    w = dispatch_board.ticket_routing(o.agent, t.id).waiting
    assert w.reason == "no_one_available" and w.since is not None and w.escalated_at is None
