"""Follow-up visits (回访) on SQLite and PostgreSQL: one visit per matching resolution, the
call recorded as a phone note, "not solved" reopening within the window and opening a
related ticket after it, retries for an unreachable customer, who may see and record,
due reminders, and the outcome counts for reports."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.models import (Comment, FollowUpVisit, Notification, Ticket, TicketLink,
                              TimelineEvent, utcnow)
from appliance.rules.access import SYSTEM
from appliance.services import (customers, follow_up, follow_up_due, follow_up_report, follow_up_rules, org,
                                sla_config, tickets, users)
from tests.factories import actor, make_org

SCRIPT = "您好，这里是售后回访。**问题解决了吗？** / Is the problem solved?"


@pytest.fixture
def world(settings):
    o = make_org()
    printers = org.save_category(SYSTEM, "打印机", department_id=o.after_sales).id
    other = org.save_category(SYSTEM, "其他", department_id=o.after_sales).id
    customers.update_customer(o.agent, o.customer.customer_id, {"tags": ["vip"]})
    return settings, o, printers, other


def rule(**changes):
    data = {"name": "打印机回访", "category_ids": [], "delay_minutes": 60, "script": SCRIPT,
            "assign_to": "resolver", "max_attempts": 2, "retry_minutes": 30, **changes}
    return follow_up_rules.save_rule(SYSTEM, None, data)


def resolved_ticket(s, o, category, customer=None, subject="打印机卡纸"):
    customer = o.customer.customer_id if customer is None else customer
    t = tickets.create_ticket(SYSTEM, tickets.TicketInput(
        subject=subject, department_id=o.after_sales, category_id=category,
        customer_id=customer, assignee_id=o.agent.user_id), s).summary.id
    tickets.transition_ticket(o.agent, t, "resolved", s)
    return t


def test_a_matching_resolution_gets_exactly_one_visit_and_a_new_resolution_another(
        backend, world):
    s, o, printers, other = world
    rule(category_ids=[printers])
    t = resolved_ticket(s, o, printers)
    [v] = FollowUpVisit.select()
    ticket = Ticket.get_by_id(t)
    assert (v.agent_id, v.department_id, v.status, v.script) == (
        o.agent.user_id, o.after_sales, "scheduled", SCRIPT)
    assert v.due_at == ticket.resolved_at + dt.timedelta(minutes=60)
    # The same resolution again (a second call of the hook): no second visit.
    assert follow_up.on_resolved(ticket, ticket.resolved_at, s) is None
    tickets.transition_ticket(o.agent, t, "closed", s)          # same resolution
    assert FollowUpVisit.select().count() == 1
    tickets.transition_ticket(o.agent, t, "open", s)
    tickets.transition_ticket(o.agent, t, "resolved", s)
    assert FollowUpVisit.select().count() == 2
    # Another category, or no customer: nothing to schedule.
    resolved_ticket(s, o, other, subject="别的问题")
    t3 = tickets.create_ticket(SYSTEM, tickets.TicketInput(
        subject="内部", department_id=o.after_sales, category_id=printers,
        assignee_id=o.agent.user_id), s).summary.id
    tickets.transition_ticket(o.agent, t3, "resolved", s)
    assert FollowUpVisit.select().count() == 2


def test_tags_and_business_hours_decide_the_due_time(backend, world):
    s, o, printers, other = world
    office = [["09:00", "12:00"], ["13:30", "18:00"]]
    sla_config.save_calendar(SYSTEM, None, {
        "name": "售后", "department_id": o.after_sales, "time_zone": "Asia/Shanghai",
        "week": [office] * 5 + [[], []], "chinese_holidays": False})
    rule(name="VIP", customer_tags=["VIP"], delay_minutes=120, business_time=True,
         assign_to="department")
    t = resolved_ticket(s, o, other)
    v = FollowUpVisit.get(FollowUpVisit.ticket == t)
    assert v.agent_id is None and v.department_id == o.after_sales   # the pool
    resolved = Ticket.get_by_id(t).resolved_at
    # Two business hours on the department's calendar (Mon-Fri 09:00-12:00, 13:30-18:00
    # Shanghai) are at least two plain hours and land inside opening hours.
    assert v.due_at >= resolved + dt.timedelta(hours=2)
    local = (v.due_at.replace(tzinfo=dt.timezone.utc)
             .astimezone(dt.timezone(dt.timedelta(hours=8))))
    assert local.weekday() < 5 and dt.time(9) <= local.time() <= dt.time(18)
    # Resolved at noon on a Saturday in Shanghai: due at 11:00 on Monday.
    saturday = dt.datetime(2026, 11, 28, 4, 0)
    visit_id = follow_up.on_resolved(Ticket.get_by_id(t), saturday, s)
    assert FollowUpVisit.get_by_id(visit_id).due_at == dt.datetime(2026, 11, 30, 3, 0)
    lisi = o.other_customer.customer_id            # no vip tag
    resolved_ticket(s, o, other, customer=lisi)
    assert FollowUpVisit.select().count() == 2


def test_satisfied_is_recorded_as_a_phone_note_and_a_closed_visit_refuses_more(backend, world):
    s, o, printers, _ = world
    rule(category_ids=[printers])
    t = resolved_ticket(s, o, printers)
    v = FollowUpVisit.get()
    view = follow_up.record_outcome(o.agent, v.id, "satisfied", "客户说已经好了", s)
    assert (view.status, view.outcome, view.attempts) == ("closed", "satisfied", 1)
    note = Comment.get_by_id(FollowUpVisit.get_by_id(v.id).call_note_id)
    assert (note.channel, note.internal, note.author_id) == ("phone", True, o.agent.user_id)
    assert "客户说已经好了" in note.body
    event = TimelineEvent.get(TimelineEvent.kind == "follow_up_recorded")
    assert event.internal and event.after["outcome"] == "satisfied"
    assert Ticket.get_by_id(t).status == "resolved"
    with pytest.raises(follow_up.VisitClosed) as err:
        follow_up.record_outcome(o.agent, v.id, "not_solved", "", s)
    assert err.value.http_status == 409
    assert Ticket.get_by_id(t).status == "resolved"


def test_not_solved_reopens_within_the_window(backend, world):
    s, o, printers, _ = world
    rule(category_ids=[printers])
    t = resolved_ticket(s, o, printers)
    view = follow_up.record_outcome(o.agent, FollowUpVisit.get().id, "not_solved", "还是卡纸", s)
    assert view.outcome == "not_solved" and view.follow_up_ticket_id == t
    ticket = Ticket.get_by_id(t)
    assert (ticket.status, ticket.resolved_at) == ("open", None)
    assert TimelineEvent.select().where((TimelineEvent.ticket == t)
                                        & (TimelineEvent.kind == "reopened")).exists()


def test_not_solved_after_the_window_opens_a_related_follow_up_ticket(backend, world):
    s, o, printers, _ = world
    rule(category_ids=[printers])
    t = resolved_ticket(s, o, printers)
    tickets.transition_ticket(o.agent, t, "closed", s)
    old = utcnow() - dt.timedelta(days=s.reopen_window_days + 1)
    Ticket.update(closed_at=old, resolved_at=old).where(Ticket.id == t).execute()
    view = follow_up.record_outcome(o.agent, FollowUpVisit.get().id, "not_solved", "还是坏", s)
    assert view.follow_up_ticket_id != t
    new = Ticket.get_by_id(view.follow_up_ticket_id)
    assert Ticket.get_by_id(t).status == "closed"
    assert (new.customer_id, new.department_id, new.channel, new.assignee_id) == (
        o.customer.customer_id, o.after_sales, "phone", o.agent.user_id)
    assert "还是坏" in new.description
    assert TicketLink.select().where((TicketLink.source == t) & (TicketLink.target == new.id)
                                     & (TicketLink.kind == "related")).exists()


def test_unreachable_is_tried_again_later_then_closes_as_unreachable(backend, world):
    s, o, printers, _ = world
    rule(category_ids=[printers], max_attempts=2, retry_minutes=30)
    resolved_ticket(s, o, printers)
    v = FollowUpVisit.get()
    before = utcnow()
    first = follow_up.record_outcome(o.agent, v.id, "unreachable", "无人接听", s)
    assert (first.status, first.attempts, first.outcome) == ("scheduled", 1, "")
    assert before + dt.timedelta(minutes=29) <= first.due_at <= utcnow() + dt.timedelta(minutes=31)
    with pytest.raises(Conflict):            # the page's version is stale now
        follow_up.record_outcome(o.agent, v.id, "unreachable", "", s, expected_version=1)
    last = follow_up.record_outcome(o.agent, v.id, "unreachable", "", s,
                                    expected_version=first.version)
    assert (last.status, last.outcome, last.attempts) == ("closed", "unreachable", 2)
    assert Comment.select().where(Comment.channel == "phone").count() == 2


def test_only_staff_who_may_work_the_ticket_see_or_record_the_visit(backend, world):
    s, o, printers, _ = world
    rule(category_ids=[printers])
    resolved_ticket(s, o, printers)
    v = FollowUpVisit.get()
    for who in (o.agent2, o.customer):       # another department; a customer
        with pytest.raises(NotFound):
            follow_up.get_visit(who, v.id)
        with pytest.raises(NotFound):
            follow_up.record_outcome(who, v.id, "satisfied", "", s)
    for bad in (v.id + 999, "x", None):
        with pytest.raises(NotFound):
            follow_up.get_visit(o.agent, bad)
    with pytest.raises(ValidationError) as err:
        follow_up.record_outcome(o.agent, v.id, "happy", "", s)
    assert "outcome" in err.value.fields
    assert FollowUpVisit.get_by_id(v.id).attempts == 0          # nothing half-written
    assert follow_up.mine(o.agent2) == [] and follow_up.department_queue(o.agent2) == []
    with pytest.raises(PermissionDenied):
        follow_up.department_queue(o.customer)
    assert [x.id for x in follow_up.mine(o.agent)] == [v.id]


def test_queues_agents_see_their_pool_supervisors_their_whole_department(backend, world):
    s, o, printers, other = world
    rule(category_ids=[printers])
    rule(name="其他回访", category_ids=[other], assign_to="department")
    resolved_ticket(s, o, printers)
    resolved_ticket(s, o, other, subject="其他")
    pool = FollowUpVisit.get(FollowUpVisit.agent.is_null())
    assert [v.id for v in follow_up.department_queue(o.agent)] == [pool.id]
    assert len(follow_up.department_queue(o.supervisor)) == 2
    assert follow_up.department_queue(o.agent2) == []
    users.create_user(SYSTEM, "zhao", "赵敏", "agent", department_id=o.after_sales)
    zhao = actor("zhao")
    assert follow_up.claim(zhao, pool.id).agent.id == zhao.user_id
    assert [v.id for v in follow_up.mine(zhao)] == [pool.id]
    assert follow_up.department_queue(o.agent) == []


def test_due_visits_notify_once_and_a_reopened_ticket_cancels_its_visit(backend, world):
    s, o, printers, other = world
    rule(category_ids=[printers])
    t1 = resolved_ticket(s, o, printers)
    t2 = resolved_ticket(s, o, printers, subject="又卡纸")
    later = utcnow() + dt.timedelta(hours=2)
    assert follow_up_due.remind_due(utcnow()) == 0              # not due yet
    tickets.transition_ticket(o.agent, t2, "open", s)       # the customer came back
    assert follow_up_due.remind_due(later) == 1
    assert follow_up_due.remind_due(later) == 0                 # safe to run twice
    [n] = Notification.select().where(Notification.kind == "follow_up_due")
    assert (n.user_id, n.ticket_id) == (o.agent.user_id, t1)
    assert FollowUpVisit.get(FollowUpVisit.ticket == t2).status == "cancelled"
    assert follow_up.due_count(o.agent) == 0                # due only from its due time on


def test_outcome_counts_per_agent_and_department_for_reports(backend, world):
    s, o, printers, _ = world
    rule(category_ids=[printers], max_attempts=1, delay_minutes=0)
    ids = [resolved_ticket(s, o, printers, subject=f"卡纸 {i}") for i in range(3)]
    visits = {v.ticket_id: v.id for v in FollowUpVisit.select()}
    follow_up.record_outcome(o.agent, visits[ids[0]], "satisfied", "", s)
    follow_up.record_outcome(o.supervisor, visits[ids[1]], "unreachable", "", s)
    today = utcnow().date()
    summary = follow_up_report.follow_up_summary(o.supervisor, today, today)
    assert (summary.totals.satisfied, summary.totals.unreachable, summary.totals.total) == (
        1, 1, 2)
    assert summary.scheduled == 1          # the third, due today, not called yet
    by_agent = {ref.id: c for ref, c in summary.by_agent}
    assert by_agent[o.agent.user_id].satisfied == 1
    assert by_agent[o.supervisor.user_id].unreachable == 1
    [(dept, counts)] = summary.by_department
    assert dept.id == o.after_sales and counts.total == 2
    admin = follow_up_report.follow_up_summary(o.admin, today, today, o.logistics)
    assert admin.totals.total == 0
    with pytest.raises(PermissionDenied):
        follow_up_report.follow_up_summary(o.agent, today, today)
    with pytest.raises(PermissionDenied):
        follow_up_report.follow_up_summary(o.supervisor, today, today, o.logistics)
    with pytest.raises(ValidationError) as err:
        follow_up_report.follow_up_summary(o.supervisor, today, "yesterday")
    assert "date_to" in err.value.fields


def test_a_list_of_visits_costs_the_same_few_queries_at_any_length(backend, world, queries):
    s, o, printers, _ = world
    rule(category_ids=[printers])
    resolved_ticket(s, o, printers)
    queries.clear()
    assert len(follow_up.mine(o.agent)) == 1
    one = len(queries)
    for i in range(3):
        c = customers.create_customer(o.agent, f"客户{i}")
        resolved_ticket(s, o, printers, customer=c.id, subject=f"卡纸 {i}")
    queries.clear()
    assert len(follow_up.mine(o.agent)) == 4
    assert len(queries) == one


def test_the_caller_sees_the_number_in_full_a_colleague_masked(backend, world):
    s, o, printers, _ = world
    customers.update_customer(SYSTEM, o.customer.customer_id, {"contacts": [
        {"kind": "email", "value": "zhangsan@example.com"},
        {"kind": "phone", "value": "13800001111"}]})
    rule(category_ids=[printers])
    resolved_ticket(s, o, printers)
    v = FollowUpVisit.get()
    assert follow_up.phone_numbers(o.agent, v.id) == ["13800001111"]
    users.create_user(SYSTEM, "zhao", "赵敏", "agent", department_id=o.after_sales)
    [masked] = follow_up.phone_numbers(actor("zhao"), v.id)
    assert masked != "13800001111" and "*" in masked
    assert follow_up.phone_numbers(o.supervisor, v.id) == ["13800001111"]   # sees PII


def test_a_teams_pool_is_worked_by_its_members(backend, world):
    s, o, printers, _ = world
    users.create_user(SYSTEM, "zhao", "赵敏", "agent", department_id=o.after_sales)
    zhao = actor("zhao")
    team = org.add_team(SYSTEM, o.after_sales, "回访组", [zhao.user_id])
    with pytest.raises(ValidationError) as err:
        rule(category_ids=[printers], assign_to="team")
    assert "pool_team_id" in err.value.fields
    with pytest.raises(ValidationError) as err:
        rule(category_ids=[printers], pool_team_id=team.id)     # the resolver calls
    assert "pool_team_id" in err.value.fields
    rule(category_ids=[printers], assign_to="team", pool_team_id=team.id)
    resolved_ticket(s, o, printers)
    v = FollowUpVisit.get()
    assert (v.agent_id, v.team_id, v.department_id) == (None, team.id, o.after_sales)
    assert [x.team.name for x in follow_up.department_queue(zhao)] == ["回访组"]
    assert follow_up.department_queue(o.agent) == []            # not in the team
    assert len(follow_up.department_queue(o.supervisor)) == 1
    assert follow_up.record_outcome(zhao, v.id, "satisfied", "", s).status == "closed"


def test_the_worker_runs_the_due_reminders_every_minute(backend, world):
    from huey import MemoryHuey

    from appliance import periodic
    s, o, printers, _ = world
    rule(category_ids=[printers], delay_minutes=0)
    resolved_ticket(s, o, printers)
    huey = MemoryHuey("follow-up-test", immediate=False)
    periodic.register(huey, 60)
    [task] = [t for name, t in huey._registry._registry.items()
              if name.endswith("gongdan.follow_ups_due")]
    assert task().validate_datetime(dt.datetime(2026, 1, 1, 9, 17))   # every minute
    task().execute()
    assert Notification.select().where(Notification.kind == "follow_up_due").count() == 1


def test_erasing_the_customer_cancels_the_scheduled_visit(backend, world):
    s, o, printers, other = world
    rule(category_ids=[printers])
    resolved_ticket(s, o, printers)
    [v] = FollowUpVisit.select()
    customers.erase(o.admin, o.customer.customer_id)
    v = FollowUpVisit.get_by_id(v.id)
    assert v.status == "cancelled" and v.done_at is not None
    assert follow_up_due.remind_due() == 0
