"""Dispatch through the real services on SQLite and PostgreSQL: routing, queueing,
capacity, presence, redistribution, take-next and manual reassignment."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance import jobs
from appliance.models import (AgentAbsence, QueueEntry, RoutingDecision, Ticket, TimelineEvent,
                              utcnow)
from appliance.rules.access import SYSTEM
from appliance.services import dispatch, dispatch_actions, org, presence, tickets, users
from tests.factories import actor, make_org, ticket


@pytest.fixture
def world(settings):
    o = make_org()
    repair = org.save_skill(SYSTEM, "售后维修")
    for username, display, level in (("zhao", "赵敏", 2), ("qian", "钱进", 5)):
        users.create_user(SYSTEM, username, display, "agent", department_id=o.after_sales)
        org.set_agent_skill(SYSTEM, actor(username).user_id, repair.id, level)
    org.set_agent_skill(SYSTEM, o.agent.user_id, repair.id, 4)
    return o, repair


def _online(*who):
    for a in who:
        presence.set_presence(a, "online")


def _run_jobs():
    """Run every unfinished job, as the worker would (several rounds: jobs schedule jobs)."""
    from appliance.models import Job
    for _ in range(10):
        ids = [j.id for j in Job.select(Job.id).where(Job.done_at.is_null()).order_by(Job.id)]
        if not ids:
            return
        for i in ids:
            jobs.run_job(i)


def _needing_repair(settings, o, **fields):
    t = ticket(settings, o.admin, "洗衣机漏水", department_id=o.after_sales, **fields).summary
    Ticket.update(required_skills=["售后维修"], triage_state="auto").where(
        Ticket.id == t.id).execute()
    return t


def test_a_triaged_ticket_goes_to_the_best_skilled_available_agent_with_an_explanation(settings, world):
    o, _ = world
    _online(o.agent, actor("zhao"), actor("qian"))
    t = _needing_repair(settings, o)
    assert dispatch.dispatch_ticket(t.id) == actor("qian").user_id
    row = Ticket.get_by_id(t.id)
    assert row.assignment_mode == "auto" and row.assigned_at is not None
    d = RoutingDecision.get(RoutingDecision.ticket == t.id)
    assert d.explanation["agent"] == "钱进"
    assert d.explanation["skills"] == [{"name": "售后维修", "level": 5}]
    assert [c["name"] for c in d.candidates][:1] == ["钱进"] and len(d.candidates) == 3
    kinds = [e.kind for e in TimelineEvent.select().where(TimelineEvent.ticket == t.id)]
    assert "assigned" in kinds and "routed" in kinds


def test_with_nobody_online_the_ticket_waits_and_is_assigned_when_someone_comes_online(settings, world):
    o, _ = world
    t = _needing_repair(settings, o)
    assert dispatch.dispatch_ticket(t.id) is None
    assert QueueEntry.get(QueueEntry.ticket == t.id).reason == "no_one_available"
    _online(actor("zhao"))
    _run_jobs()
    assert Ticket.get_by_id(t.id).assignee_id == actor("zhao").user_id
    assert not QueueEntry.select().where(QueueEntry.ticket == t.id).exists()


def test_capacity_is_never_exceeded_and_the_rest_waits_in_priority_order(settings, world):
    o, _ = world
    users.update_user(o.admin, actor("qian").user_id, {"capacity": 2})
    _online(actor("qian"))
    made = [_needing_repair(settings, o, priority=p) for p in (3, 3, 1, 2)]
    for t in made:
        dispatch.dispatch_ticket(t.id)
    assigned = Ticket.select().where(Ticket.assignee == actor("qian").user_id).count()
    assert assigned == 2
    # The two that got through were the first two dispatched; of the rest, priority 1 first.
    assert dispatch.waiting(o.after_sales, 10) == [made[2].id, made[3].id]
