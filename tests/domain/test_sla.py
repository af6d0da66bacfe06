"""SLA calendars, policies, timers, warnings and escalations on SQLite and PostgreSQL
(services.sla_config, sla_timers, sla_escalation). The after-sales department works 24/7
in UTC unless a test says otherwise, so due times are plain sums."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance import jobs
from appliance.errors import Conflict, PermissionDenied, ValidationError
from appliance.models import (Job, Notification, SlaEvent, Team, TeamMember, Ticket,
                              TicketSla, TimelineEvent, utcnow)
from appliance.rules.access import SYSTEM
from appliance.services import comments, customers, sla_config, sla_timers, tickets
from tests.factories import actor, make_org, ticket

ALWAYS = {d: [["00:00", "24:00"]] for d in ("monday", "tuesday", "wednesday", "thursday",
                                            "friday", "saturday", "sunday")}
OFFICE = {d: [["09:00", "12:00"], ["13:30", "18:00"]]
          for d in ("monday", "tuesday", "wednesday", "thursday", "friday")}
MIN = dt.timedelta(minutes=1)


@pytest.fixture
def org(settings):
    o = make_org()
    sla_config.save_calendar(o.admin, None, {"name": "售后 24/7", "department_id": o.after_sales,
                                             "time_zone": "UTC", "week": ALWAYS,
                                             "chinese_holidays": False})
    return o


def policy(admin, **fields):
    data = {"name": "Standard", "order": 50, "first_response_minutes": 60,
            "next_response_minutes": 120, "resolution_minutes": 480, "warn_at": [75, 90]}
    data.update(fields)
    return sla_config.save_policy(admin, None, data)


def new_ticket(settings, org, who=None, **fields):
    fields.setdefault("department_id", org.after_sales)
    t = ticket(settings, who or org.agent, "空调不制冷", **fields).summary
    return Ticket.get_by_id(t.id)


def state(ticket_id) -> TicketSla:
    return TicketSla.get_by_id(ticket_id)


def tick(settings, now):
    return sla_timers.tick(settings.sla_pause_statuses, 2, now=now)


# ---------------------------------------------------------------- calendars

def test_a_calendar_with_mistakes_is_refused_with_every_field_and_nothing_is_saved(org):
    before = len(sla_config.list_calendars(org.admin))
    with pytest.raises(ValidationError) as exc:
        sla_config.save_calendar(org.admin, None, {
            "name": "", "department_id": org.logistics, "time_zone": "Mars/Olympus",
            "week": {"monday": [["18:00", "09:00"]], "tuesday": [["09:00", "13:00"],
                                                                   ["12:00", "18:00"]],
                     "funday": []},
            "closures": [{"start": "2026-12-24", "end": "2026-12-20"},
                         {"start": "soon", "end": "2026-12-31"}],
            "extra_open_days": ["2026-13-01"]})
    fields = exc.value.fields
    assert {"name", "week.funday", "closures[1].start", "extra_open_days[0]"} <= set(fields)
    assert len(sla_config.list_calendars(org.admin)) == before
    # once the unreadable parts are fixed, the maths' own checks answer with their paths
    with pytest.raises(ValidationError) as exc:
        sla_config.save_calendar(org.admin, None, {
            "name": "物流", "department_id": org.logistics, "time_zone": "Mars/Olympus",
            "week": {"monday": [["18:00", "09:00"]], "tuesday": [["09:00", "13:00"],
                                                                   ["12:00", "18:00"]]},
            "closures": [{"start": "2026-12-24", "end": "2026-12-20"}]})
    assert set(exc.value.fields) == {"time_zone", "week.monday[0]", "closures[0]"}
    assert "HH:MM+1" in exc.value.fields["week.monday[0]"]
    with pytest.raises(ValidationError) as exc:
        sla_config.save_calendar(org.admin, None, {
            "name": "物流", "department_id": org.logistics, "time_zone": "Asia/Shanghai",
            "week": {"tuesday": [["09:00", "13:00"], ["12:00", "18:00"]]}})
    assert set(exc.value.fields) == {"week"} and "overlaps" in exc.value.fields["week"]
    assert len(sla_config.list_calendars(org.admin)) == before


def test_a_department_calendar_with_a_night_shift_closures_and_open_days_round_trips(org):
    cal = sla_config.save_calendar(org.admin, None, {
        "name": "物流夜班", "department_id": org.logistics, "time_zone": "Asia/Shanghai",
        "week": {"monday": [["22:00", "06:00+1"]], "saturday": [["09:00", "12:00"]]},
        "chinese_holidays": True, "closures": [
            {"start": "2026-12-24", "end": "2026-12-25", "reason": "搬迁"},
            {"start": "2026-12-28T14:00:00+08:00", "end": "2026-12-28T16:00:00+08:00"}],
        "extra_open_days": ["2026-12-27"]})
    assert cal.week["monday"] == [["22:00", "06:00+1"]] and cal.department.id == org.logistics
    assert cal.warnings and "2027" in cal.warnings[0]    # no holiday data beyond 2026
    again = sla_config.save_calendar(org.admin, cal.id, {
        "name": "物流夜班", "department_id": org.logistics, "time_zone": "Asia/Shanghai",
        "week": cal.week, "chinese_holidays": True, "closures": cal.closures,
        "extra_open_days": cal.extra_open_days}, expected_version=cal.version)
    assert again.version == cal.version + 1 and again.closures == cal.closures
    with pytest.raises(Conflict):
        sla_config.save_calendar(org.admin, cal.id, {"name": "x", "department_id": org.logistics,
                                                     "time_zone": "UTC", "week": ALWAYS},
                                 expected_version=cal.version)
    with pytest.raises(ValidationError) as exc:   # one calendar per department
        sla_config.save_calendar(org.admin, None, {"name": "second", "time_zone": "UTC",
                                                   "department_id": org.logistics,
                                                   "week": ALWAYS})
    assert "department_id" in exc.value.fields


def test_only_administrators_manage_calendars_and_policies(org):
    for who in (org.agent, org.supervisor):
        with pytest.raises(PermissionDenied):
            sla_config.list_calendars(who)
        with pytest.raises(PermissionDenied):
            policy(who)


# ---------------------------------------------------------------- policies

def test_contradictory_and_unreachable_policies_are_refused_with_reasons(org):
    policy(org.admin, name="Catch-all", order=90)
    with pytest.raises(ValidationError) as exc:
        policy(org.admin, name="Backwards", order=10, first_response_minutes=600,
               resolution_minutes=300)
    assert "resolution_minutes" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        policy(org.admin, name="Too late", order=95, priorities=[1])
    assert "never used" in exc.value.fields["order"]
    policy(org.admin, name="P1", order=10, priorities=[1], first_response_minutes=15)
    with pytest.raises(ValidationError) as exc:
        policy(org.admin, name="Mail", order=10, channels=["email"], first_response_minutes=20)
    assert "same order" in exc.value.fields["order"]
    with pytest.raises(ValidationError) as exc:   # hides an existing one: named in the reason
        policy(org.admin, name="Everything first", order=5)
    assert "Catch-all" in exc.value.fields["order"] or "P1" in exc.value.fields["order"]
    with pytest.raises(ValidationError) as exc:
        policy(org.admin, name="Esc", order=20, priorities=[2],
               escalations=[{"at": 80, "action": "notify_lead"},
                            {"at": 100, "action": "reassign", "user_id": 999999}])
    assert set(exc.value.fields) == {"escalations[0].at", "escalations[1].user_id"}
    assert [p.name for p in sla_config.list_policies(org.admin)] == ["P1", "Catch-all"]


# ---------------------------------------------------------------- timers

def test_a_new_ticket_gets_its_policy_and_clocks_through_the_event_job(settings, org):
    policy(org.admin)
    t = new_ticket(settings, org)
    assert Job.select().where((Job.name == "sla_ticket") & (Job.object_id == t.id)).exists()
    jobs.run_pending_inline()
    s = state(t.id)
    assert s.policy_id is not None and s.is_open and not s.breached and not s.paused
    first = s.clocks["first_response"]
    assert first["target_s"] == 3600 and not first["done"]
    assert abs(s.next_due_at - (t.created_at + 60 * MIN)) < dt.timedelta(seconds=5)
    assert set(s.clocks) == {"first_response", "resolution"}   # nothing waits for a reply


def test_without_policies_nothing_is_scheduled_or_stored(settings, org):
    t = new_ticket(settings, org)
    assert not Job.select().where(Job.name == "sla_ticket").exists()
    assert tick(settings, utcnow()) == 0 and TicketSla.select().count() == 0
    assert t.id


def test_the_periodic_run_warns_once_per_threshold_and_breaches_once(settings, org):
    policy(org.admin)
    t = new_ticket(settings, org, assignee_id=org.agent.user_id)
    c = t.created_at
    assert tick(settings, c + 30 * MIN) == 1
    assert SlaEvent.select().count() == 0
    tick(settings, c + 46 * MIN)
    tick(settings, c + 47 * MIN)                      # the same minute again: nothing new
    assert [(e.clock, e.threshold) for e in SlaEvent.select()] == [("first_response", 75)]
    assert state(t.id).warning == 75
    tick(settings, c + 61 * MIN)
    tick(settings, c + 62 * MIN)
    events = sorted((e.clock, e.threshold) for e in SlaEvent.select())
    assert events == [("first_response", 75), ("first_response", 100)]  # 90 skipped: breached
    s = state(t.id)
    assert s.breached and s.clocks["first_response"]["remaining_s"] < 0
    kinds = [n.kind for n in Notification.select().where(Notification.ticket == t.id)
             .order_by(Notification.id)]
    assert kinds == ["sla_warning", "sla_breached", "sla_breached"]   # agent; agent + lead
    assert {n.user_id for n in Notification.select().where(Notification.kind == "sla_breached")
            } == {org.agent.user_id, org.supervisor.user_id}
    timeline = [e.kind for e in TimelineEvent.select().where(
        (TimelineEvent.ticket == t.id) & TimelineEvent.kind.startswith("sla_"))]
    assert timeline == ["sla_warning", "sla_breached"]


def test_the_reply_stops_the_first_response_clock_and_a_customer_message_starts_next_response(
        settings, org):
    policy(org.admin)
    t = new_ticket(settings, org)
    comments.add_comment(org.agent, t.id, "您好，我们马上处理", settings)
    jobs.run_pending_inline()
    s = state(t.id)
    assert s.clocks["first_response"]["done"] and "next_response" not in s.clocks
    Ticket.update(customer=_customer_of(org)).where(Ticket.id == t.id).execute()
    comments.add_inbound_comment(t.id, "还是不制冷", [], settings)
    jobs.run_pending_inline()
    s = state(t.id)
    nxt = s.clocks["next_response"]
    assert nxt["target_s"] == 7200 and not nxt["done"]
    later = utcnow() + 121 * MIN
    tick(settings, later)
    assert [(e.clock, e.threshold) for e in SlaEvent.select()] == [("next_response", 100)]
    # a new customer message after the next agent reply is a new cycle, warned anew
    comments.add_comment(org.agent, t.id, "已派师傅", settings)
    jobs.run_pending_inline()
    assert state(t.id).clocks["next_response"]["done"]


def _customer_of(org):
    c = customers.create_customer(org.agent, "张三", contacts=[
        {"kind": "email", "value": "zs@example.com"}])
    return c.id


def test_pending_on_the_customer_pauses_the_clocks_from_the_status_history(settings, org):
    policy(org.admin)
    t = new_ticket(settings, org)
    tickets.transition_ticket(org.agent, t.id, "pending_customer", settings)
    jobs.run_pending_inline()
    s = state(t.id)
    assert s.paused and s.next_due_at is None and s.clocks["resolution"]["due_at"] is None
    # history: created 10:00, pending 10:20–12:20, open again; now 12:50 → 50 min used
    c = dt.datetime(2026, 11, 23, 10, 0)
    Ticket.update(created_at=c).where(Ticket.id == t.id).execute()
    TimelineEvent.update(created_at=c + 20 * MIN).where(
        (TimelineEvent.ticket == t.id) & (TimelineEvent.field == "status")).execute()
    tickets.transition_ticket(org.agent, t.id, "open", settings)
    TimelineEvent.update(created_at=c + 140 * MIN).where(
        (TimelineEvent.ticket == t.id) & (TimelineEvent.field == "status")
        & (TimelineEvent.before == "pending_customer")).execute()
    tick(settings, c + 170 * MIN)
    s = state(t.id)
    first = s.clocks["first_response"]
    assert not s.paused and first["elapsed_s"] == 50 * 60 and first["remaining_s"] == 10 * 60
    assert s.next_due_at == c + 180 * MIN          # 60 min target + the 2 h pause
    assert first["warning"] == 75


def test_statuses_that_pause_are_a_setting(settings, org):
    policy(org.admin)
    t = new_ticket(settings, org)
    tickets.transition_ticket(org.agent, t.id, "pending_internal", settings)
    sla_timers.recompute([t.id], ("pending_customer",))
    assert not state(t.id).paused
    sla_timers.recompute([t.id], ("pending_customer", "pending_internal"))
    assert state(t.id).paused


def test_resolving_stops_every_clock_and_the_row_leaves_the_open_queue(settings, org):
    policy(org.admin)
    t = new_ticket(settings, org)
    tickets.transition_ticket(org.agent, t.id, "resolved", settings)
    jobs.run_pending_inline()
    s = state(t.id)
    assert not s.is_open and s.next_due_at is None
    assert all(c["done"] for c in s.clocks.values())


def test_priority_category_and_tier_choose_the_policy_and_a_change_recomputes(settings, org):
    policy(org.admin, name="Default", order=90)
    policy(org.admin, name="P1", order=10, priorities=[1], first_response_minutes=15,
           resolution_minutes=120)
    policy(org.admin, name="VIP", order=5, tiers=["vip"], first_response_minutes=10,
           next_response_minutes=30,
           resolution_minutes=60)
    t = new_ticket(settings, org, priority=3)
    jobs.run_pending_inline()
    assert state(t.id).policy.name == "Default"
    tickets.update_ticket(org.agent, t.id, {"priority": 1}, settings)
    jobs.run_pending_inline()
    assert state(t.id).policy.name == "P1"
    vip = customers.create_customer(org.agent, "王总", contacts=[
        {"kind": "phone", "value": "13900001111"}])
    from appliance.models import Customer
    Customer.update(tags=["vip"]).where(Customer.id == vip.id).execute()
    tickets.update_ticket(org.agent, t.id, {"customer_id": vip.id}, settings)
    jobs.run_pending_inline()
    assert state(t.id).policy.name == "VIP"


def test_escalations_notify_the_lead_raise_priority_and_reassign_to_a_team(settings, org):
    team = Team.create(department=org.after_sales, name="二线")
    users = []
    for name in ("zhao", "qian"):
        from appliance.services import users as user_service
        user_service.create_user(SYSTEM, name, name, "agent", department_id=org.after_sales)
        users.append(actor(name).user_id)
        TeamMember.create(team=team.id, user=users[-1])
    policy(org.admin, escalations=[{"at": 90, "action": "notify_lead"},
                                   {"at": 100, "action": "raise_priority"},
                                   {"at": 100, "action": "reassign", "team_id": team.id}])
    t = new_ticket(settings, org, priority=3, assignee_id=org.agent.user_id)
    c = t.created_at
    tick(settings, c + 55 * MIN)
    assert Notification.select().where((Notification.kind == "sla_escalated")
                                       & (Notification.user == org.supervisor.user_id)).exists()
    tick(settings, c + 61 * MIN)
    t = Ticket.get_by_id(t.id)
    assert t.priority == 2 and t.assignee_id == users[0]   # both have no load: lowest id
    tick(settings, c + 62 * MIN)                           # nothing runs twice
    assert Ticket.get_by_id(t.id).priority == 2
    escalated = [e.after["action"] for e in TimelineEvent.select().where(
        (TimelineEvent.ticket == t.id) & (TimelineEvent.kind == "sla_escalated"))]
    assert sorted(escalated) == ["notify_lead", "raise_priority", "reassign"]


def test_a_failed_escalation_is_on_the_timeline_and_told_to_the_lead(settings, org):
    empty = Team.create(department=org.after_sales, name="夜班")    # nobody active in it
    policy(org.admin, escalations=[{"at": 100, "action": "reassign", "team_id": empty.id}])
    t = new_ticket(settings, org, assignee_id=org.agent.user_id)
    tick(settings, t.created_at + 61 * MIN)
    assert Ticket.get_by_id(t.id).assignee_id == org.agent.user_id
    failed = TimelineEvent.get((TimelineEvent.ticket == t.id)
                               & (TimelineEvent.kind == "sla_escalation_failed"))
    assert failed.after["action"] == "reassign"
    assert failed.after["reason"] == "the team has no active member"
    told = Notification.get((Notification.kind == "sla_escalation_failed")
                            & (Notification.ticket == t.id))
    assert told.user_id == org.supervisor.user_id and told.data["action"] == "reassign"
    tick(settings, t.created_at + 62 * MIN)                       # told once
    assert Notification.select().where(Notification.kind == "sla_escalation_failed").count() == 1


def test_open_pages_hear_of_a_changed_panel_but_not_of_the_minute(settings, org):
    from appliance.models import LiveEvent
    policy(org.admin)
    t = new_ticket(settings, org)
    c = t.created_at

    def heard():
        return LiveEvent.select().where((LiveEvent.ticket_id == t.id)
                                        & (LiveEvent.kind == "sla_changed")).count()
    tick(settings, c + 5 * MIN)
    first = heard()
    assert first >= 1
    tick(settings, c + 6 * MIN)                  # only the countdown moved
    assert heard() == first
    tick(settings, c + 61 * MIN)                 # breached: the panel reads differently
    assert heard() == first + 1
    assert LiveEvent.get((LiveEvent.ticket_id == t.id)
                         & (LiveEvent.kind == "sla_changed")).internal


def test_the_periodic_run_covers_every_open_ticket_in_batches_and_is_idempotent(settings, org):
    policy(org.admin)
    made = [new_ticket(settings, org) for _ in range(5)]
    tickets.transition_ticket(org.agent, made[0].id, "closed", settings)
    now = utcnow() + 10 * MIN
    assert tick(settings, now) == 4                        # batches of 2
    first = {r.ticket_id: (r.next_due_at, r.clocks) for r in TicketSla.select()}
    assert tick(settings, now) == 4
    assert {r.ticket_id: (r.next_due_at, r.clocks) for r in TicketSla.select()} == first
    assert made[0].id not in first
    # deleting the last policy clears the stored clocks
    for p in sla_config.list_policies(org.admin):
        sla_config.delete_policy(org.admin, p.id)
    assert tick(settings, now) == 0 and TicketSla.select().count() == 0


def test_an_office_calendar_puts_the_due_time_into_business_hours(settings, org):
    sla_config.save_calendar(org.admin, None, {"name": "物流", "department_id": org.logistics,
                                               "time_zone": "Asia/Shanghai", "week": OFFICE,
                                               "chinese_holidays": True})
    policy(org.admin, first_response_minutes=240, resolution_minutes=480)
    t = new_ticket(settings, org, org.admin, department_id=org.logistics)
    # Friday 2026-11-27 17:00 Shanghai = 09:00 UTC: 1 h today, 3 h on Monday
    Ticket.update(created_at=dt.datetime(2026, 11, 27, 9, 0)).where(Ticket.id == t.id).execute()
    tick(settings, dt.datetime(2026, 11, 27, 9, 30))
    due = state(t.id).clocks["first_response"]["due_at"]
    assert due == "2026-11-30T04:00:00"      # Monday 12:00 Shanghai


def test_the_worker_runs_the_sla_run_every_minute_as_a_periodic_task(settings, org):
    from appliance import tasks
    policy(org.admin)
    t = new_ticket(settings, org)
    huey = tasks.get_huey(settings)
    due = {type(task).__name__: task for task in huey.read_periodic(dt.datetime(2026, 3, 2, 3, 18))}
    huey.execute(due["gongdan.sla_tick"])
    assert state(t.id).policy_id is not None


def test_queues_sort_by_the_stored_sla_due_time_page_by_page(settings, org):
    from appliance.services import queues
    policy(org.admin, name="Fast", order=10, priorities=[1], first_response_minutes=10,
           next_response_minutes=None, resolution_minutes=60)
    policy(org.admin, name="Slow", order=20, priorities=[2, 3], first_response_minutes=600,
           next_response_minutes=None, resolution_minutes=6000)
    made = [new_ticket(settings, org, priority=p) for p in (3, 1, 4, 2, 1, 3)]   # P4: no policy
    tick(settings, utcnow())
    seen, cursor = [], None
    while True:
        page = queues.list_tickets(org.supervisor, queues.TicketQuery(
            view="open", sort="sla_due", limit=2, cursor=cursor))
        seen += [t.id for t in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    due = {r.ticket_id: r.next_due_at for r in TicketSla.select()}
    expected = sorted((t.id for t in made if t.id in due), key=lambda i: (due[i], i)) + [
        t.id for t in made if t.id not in due]
    assert seen == expected and len(seen) == 6
    assert [Ticket.get_by_id(i).priority for i in seen[:2]] == [1, 1]


def test_a_calendar_that_never_opens_again_skips_its_tickets_not_the_run(settings, org):
    sla_config.save_calendar(org.admin, None, {"name": "一天", "department_id": org.logistics,
                                               "time_zone": "UTC", "week": {},
                                               "extra_open_days": ["2020-01-06"]})
    policy(org.admin)
    stuck = new_ticket(settings, org, org.admin, department_id=org.logistics)
    fine = new_ticket(settings, org)
    assert tick(settings, utcnow()) == 1
    assert TicketSla.get_or_none(TicketSla.ticket == stuck.id) is None
    assert state(fine.id).policy_id is not None
