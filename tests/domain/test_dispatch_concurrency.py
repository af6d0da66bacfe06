"""Two workers or two app nodes never push an agent over capacity nor assign one ticket
twice: dispatch jobs, department fills and "take next" race on SQLite and PostgreSQL,
from threads (one connection each) and from separate processes (two app nodes)."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass

from appliance.db import database
from appliance.jobs import unit_of_work
from appliance.models import (DispatchPolicy, QueueEntry, RoutingDecision, Ticket, TimelineEvent,
                              utcnow)
from appliance.rules.access import SYSTEM
from appliance.services import dispatch, dispatch_actions, dispatch_state, presence, users
from tests.factories import actor, make_org, ticket

AGENTS = ("wangfang", "zhao", "qian")


@dataclass
class Floor:
    department: int
    agents: list[int]
    tickets: list[int]


def _floor(settings, n_tickets: int, capacity: int, channels=("web",), online=AGENTS) -> Floor:
    """Three agents of `capacity` in after-sales (those in `online` online) and `n_tickets`
    triaged tickets that nobody has been offered yet (the supervisor stays offline)."""
    o = make_org()
    for name in AGENTS[1:]:
        users.create_user(SYSTEM, name, name, "agent", department_id=o.after_sales,
                          capacity=capacity)
    users.update_user(o.admin, o.agent.user_id, {"capacity": capacity})
    for name in online:
        presence.set_presence(actor(name), "online")
    ids = []
    for i in range(n_tickets):
        t = ticket(settings, o.admin, f"并发派单 {i}", department_id=o.after_sales,
                   channel=channels[i % len(channels)]).summary
        ids.append(t.id)
    Ticket.update(triage_state="auto").where(Ticket.id.in_(ids)).execute()
    database.close()  # the workers below bring their own connections
    return Floor(o.after_sales, [actor(n).user_id for n in AGENTS], ids)


def run_together(n: int, work) -> list[BaseException]:
    """Run work(i) on n threads released at once; each thread has its own connection."""
    barrier = threading.Barrier(n, timeout=30)
    errors: list[BaseException] = []

    def wrapped(i):
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # collected and asserted by the test
            errors.append(exc)
            traceback.print_exc()
        finally:
            database.close()
    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a dispatcher hung (deadlock?)"
    return errors


def rotated(ids: list[int], i: int) -> list[int]:
    k = (i * 5) % len(ids)
    return ids[k:] + ids[:k] if i % 2 == 0 else list(reversed(ids[k:] + ids[:k]))


def assert_sound(floor: Floor, capacity: float) -> dict[int, int]:
    """No agent over capacity, no ticket assigned twice; returns assignments per agent."""
    loads = dispatch_state.loads(floor.agents)
    assert all(load <= capacity for load in loads.values()), loads
    firsts = Counter(e.ticket_id for e in TimelineEvent.select().where(
        TimelineEvent.ticket.in_(floor.tickets) & (TimelineEvent.kind == "assigned"))
        if e.before is None)
    assert max(firsts.values(), default=0) <= 1, firsts
    decided = Counter(d.ticket_id for d in RoutingDecision.select().where(
        RoutingDecision.ticket.in_(floor.tickets) & RoutingDecision.mode.in_(("auto", "pulled"))))
    assert max(decided.values(), default=0) <= 1, decided
    rows = list(Ticket.select(Ticket.id, Ticket.assignee).where(Ticket.id.in_(floor.tickets)))
    assigned = {t.id for t in rows if t.assignee_id is not None}
    assert assigned == set(firsts) == set(decided)
    return Counter(t.assignee_id for t in rows if t.assignee_id is not None)


# --- threads: two workers ------------------------------------------------------------------------

def test_racing_dispatchers_fill_every_agent_exactly_to_capacity(settings):
    floor = _floor(settings, n_tickets=14, capacity=2)

    def work(i):
        if i % 3 == 2:
            dispatch.dispatch_department(floor.department)
        for ticket_id in rotated(floor.tickets, i):
            dispatch.dispatch_ticket(ticket_id)
    assert run_together(6, work) == []
    per_agent = assert_sound(floor, 2)
    assert sum(per_agent.values()) == min(len(floor.tickets), 2 * len(floor.agents))
    assert set(per_agent.values()) == {2}
    # Everything that did not fit waits in the queue, once.
    waiting = dispatch.waiting(floor.department, 100)
    assert sorted(waiting) == sorted(set(floor.tickets) - set(
        t.id for t in Ticket.select(Ticket.id).where(Ticket.assignee.is_null(False))))


def test_racing_dispatchers_respect_capacity_in_load_units(settings):
    DispatchPolicy.delete().execute()
    floor = _floor(settings, n_tickets=12, capacity=3, channels=("phone", "web", "web"))
    DispatchPolicy.create(department=floor.department, channel_weights={"phone": 2.0})
    database.close()

    def work(i):
        for ticket_id in rotated(floor.tickets, i):
            dispatch.dispatch_ticket(ticket_id)
        dispatch.dispatch_department(floor.department)
    assert run_together(6, work) == []
    assert_sound(floor, 3)
    # Whatever waits does not fit anyone: every agent is within one web ticket of full.
    assert all(load > 2 for load in dispatch_state.loads(floor.agents).values())


def test_take_next_racing_auto_dispatch_assigns_each_ticket_once(settings):
    floor = _floor(settings, n_tickets=12, capacity=3, online=())
    for ticket_id in floor.tickets:
        dispatch.dispatch_ticket(ticket_id)  # nobody online: all 12 wait
    assert len(dispatch.waiting(floor.department, 100)) == 12
    for name in AGENTS[1:]:  # 王芳 stays offline and pulls; the other two get work pushed
        presence.set_presence(actor(name), "online")
    database.close()
    puller = floor.agents[0]
    taken: list = []

    def work(i):
        if i < 3:
            while True:
                result = dispatch_actions.take_next(actor(AGENTS[0]))
                taken.append(result)
                if result.ticket_id is None:
                    return
        else:
            for ticket_id in rotated(floor.tickets, i):
                dispatch.dispatch_ticket(ticket_id)
    assert run_together(6, work) == []
    per_agent = assert_sound(floor, 3)
    assert per_agent[puller] == len([r for r in taken if r.ticket_id])
    assert sum(per_agent.values()) == 9  # 3 agents of capacity 3; 3 tickets still wait
    assert {r.reason for r in taken if r.ticket_id is None} <= {"at_capacity", "queue_empty",
                                                                 "none_qualified"}


def test_redistribution_racing_dispatch_never_double_assigns(settings):
    floor = _floor(settings, n_tickets=10, capacity=3)
    for ticket_id in floor.tickets:
        dispatch.dispatch_ticket(ticket_id)  # 3 each; one waits
    database.close()
    leaving = actor(AGENTS[2])
    stop = threading.Event()

    def work(i):
        if i == 0:
            for _ in range(4):
                presence.set_presence(leaving, "offline")
                presence.redistribute_agent(leaving.user_id)
                presence.set_presence(leaving, "online")
                time.sleep(0.05)  # the dispatchers give them work again meanwhile
            stop.set()
        else:
            while not stop.is_set():
                for ticket_id in rotated(floor.tickets, i):
                    dispatch.dispatch_ticket(ticket_id)
    assert run_together(4, work) == []
    loads = dispatch_state.loads(floor.agents)
    assert all(load <= 3 for load in loads.values()), loads
    # Every assignment but the current one was undone by exactly one redistribution.
    modes = Counter((d.ticket_id, d.mode) for d in RoutingDecision.select())
    assert sum(n for (_, mode), n in modes.items() if mode == "redistributed") > 0
    for t in Ticket.select(Ticket.id, Ticket.assignee).where(Ticket.id.in_(floor.tickets)):
        held = 1 if t.assignee_id is not None else 0
        assert modes[(t.id, "auto")] == modes[(t.id, "redistributed")] + held, t.id


def test_escalation_racing_an_assignment_does_not_deadlock(settings):
    # An assignment locks the ticket and then deletes its queue entry; the escalation
    # clock must take the same locks in the same order (on PostgreSQL the timeline row it
    # writes needs a key-share lock on the ticket).
    floor = _floor(settings, n_tickets=1, capacity=2, online=())
    DispatchPolicy.create(department=floor.department, escalate_after_minutes=1)
    [ticket_id] = floor.tickets
    dispatch.dispatch_ticket(ticket_id)
    database.close()
    locked = threading.Event()

    def work(i):
        if i == 0:
            with unit_of_work():
                dispatch.lock_ticket(ticket_id)
                locked.set()
                time.sleep(0.5)  # the escalation below runs into the lock meanwhile
                QueueEntry.delete().where(QueueEntry.ticket == ticket_id).execute()
                Ticket.update(assignee=floor.agents[1]).where(Ticket.id == ticket_id).execute()
        else:
            locked.wait(10)
            presence.escalate(utcnow() + dt.timedelta(minutes=5))
    assert run_together(2, work) == []
    assert Ticket.get_by_id(ticket_id).assignee_id == floor.agents[1]
    assert not QueueEntry.select().exists()


# --- processes: two app nodes ------------------------------------------------------------------

def _node(settings, department: int, ticket_ids: list[int], i: int, barrier, results) -> None:
    """One app node: its own interpreter, binding the database itself."""
    try:
        from appliance import runtime
        from appliance.db import bind_database
        bind_database(settings.database_url)
        runtime.configure(settings)
        barrier.wait(60)
        if i % 2:
            dispatch.dispatch_department(department)
        for ticket_id in rotated(ticket_ids, i):
            dispatch.dispatch_ticket(ticket_id)
        dispatch.dispatch_department(department)
        results.put((i, "ok"))
    except BaseException:
        results.put((i, traceback.format_exc()))
    finally:
        database.close()


def test_two_app_nodes_never_overfill_an_agent_nor_assign_a_ticket_twice(settings):
    floor = _floor(settings, n_tickets=12, capacity=2)
    ctx = multiprocessing.get_context("spawn")
    nodes = 3
    barrier, results = ctx.Barrier(nodes), ctx.Queue()
    procs = [ctx.Process(target=_node, args=(settings, floor.department, floor.tickets, i,
                                             barrier, results)) for i in range(nodes)]
    for p in procs:
        p.start()
    outcomes = dict(results.get(timeout=90) for _ in procs)
    for p in procs:
        p.join(30)
    assert outcomes == {i: "ok" for i in range(nodes)}, outcomes
    per_agent = assert_sound(floor, 2)
    assert sum(per_agent.values()) == min(len(floor.tickets), 2 * len(floor.agents))
