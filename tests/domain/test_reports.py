"""The reports dashboard service: filters and their errors, who sees what, empty ranges,
drill-down, the site time zone, the periodic task, concurrent refreshes and the rolling
re-check (services.reports, services.reports_refresh; docs/metrics.md)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest

from appliance import runtime, tasks
from appliance.db import database
from appliance.errors import PermissionDenied, ValidationError
from appliance.models import ArticleTicket, ReportFact, Ticket, utcnow
from appliance.services import (comments, knowledge, knowledge_review, reports,
                                reports_refresh, reports_verify, tickets)
from tests.factories import make_org, ticket

TODAY = dt.date(2026, 3, 10)


@pytest.fixture
def org(settings):
    return make_org()


def new(settings, org, who=None, **fields):
    fields.setdefault("department_id", org.after_sales)
    return ticket(settings, who or org.admin, **fields).summary


def last_days(n: int = 30, **dims) -> reports.ReportFilter:
    today = reports.site_today()
    return reports.ReportFilter(today - dt.timedelta(days=n - 1), today, **dims)


# --------------------------------------------------------------------------- filters

def test_the_filter_defaults_to_the_last_thirty_days_up_to_today(settings, org):
    flt = reports.parse_filter({}, TODAY)
    assert (flt.date_from, flt.date_to) == (dt.date(2026, 2, 9), TODAY)
    flt = reports.parse_filter({"from": "2026-01-01", "to": "2026-01-31", "channel": "email",
                                "department": str(org.after_sales)}, TODAY)
    assert flt == reports.ReportFilter(dt.date(2026, 1, 1), dt.date(2026, 1, 31),
                                       department_id=org.after_sales, channel="email")


@pytest.mark.parametrize("raw, field, message", [
    ({"from": "2026-03-09", "to": "2026-03-01"}, "to", "must not be before the start date"),
    ({"from": "2026-02-30"}, "from", "must be a date YYYY-MM-DD"),
    ({"to": "yesterday"}, "to", "must be a date YYYY-MM-DD"),
    ({"from": "2024-01-01", "to": "2026-01-01"}, "from", "the range may span at most 366 days"),
    ({"department": "999"}, "department", "does not exist"),
    ({"department": "-1"}, "department", "must be an id"),
    ({"agent": "999"}, "agent", "does not exist"),
    ({"category": "x"}, "category", "must be an id"),
    ({"channel": "fax"}, "channel", "must be one of: web, email, phone, chat, api"),
])
def test_bad_filters_are_refused_naming_the_field(settings, org, raw, field, message):
    with pytest.raises(ValidationError) as exc:
        reports.parse_filter(raw, TODAY)
    assert exc.value.fields == {field: message}


def test_a_customer_is_no_agent_to_filter_by(settings, org):
    with pytest.raises(ValidationError) as exc:
        reports.parse_filter({"agent": str(org.customer.user_id)}, TODAY)
    assert exc.value.fields == {"agent": "does not exist"}


# --------------------------------------------------------------------------- scope

def test_each_role_sees_its_own_scope(settings, org):
    mine = new(settings, org, assignee_id=org.agent.user_id)
    new(settings, org)                                       # after-sales, unassigned
    new(settings, org, department_id=org.logistics, assignee_id=org.agent2.user_id)
    reports_refresh.refresh()
    volume = {who: reports.dashboard(a, last_days()).figure("volume").value
              for who, a in (("admin", org.admin), ("lead", org.supervisor), ("agent", org.agent))}
    assert volume == {"admin": 3, "lead": 2, "agent": 1}
    page = reports.drill_down(org.agent, last_days(), "volume", None)
    assert page.ticket_ids == [mine.id]


def test_supervisors_and_agents_cannot_widen_their_scope_and_customers_see_nothing(settings, org):
    reports_refresh.refresh()
    with pytest.raises(PermissionDenied):
        reports.dashboard(org.supervisor, last_days(department_id=org.logistics))
    with pytest.raises(PermissionDenied):
        reports.dashboard(org.agent, last_days(agent_id=org.agent2.user_id))
    with pytest.raises(PermissionDenied):
        reports.dashboard(org.customer, last_days())
    board = reports.dashboard(org.supervisor, last_days(department_id=org.after_sales))
    assert board.filter.department_id == org.after_sales


# --------------------------------------------------------------------------- figures

def test_an_empty_range_says_so_and_divides_by_nothing(settings, org):
    new(settings, org)
    reports_refresh.refresh()
    old = reports.ReportFilter(dt.date(2020, 1, 1), dt.date(2020, 1, 31))
    board = reports.dashboard(org.admin, old)
    assert board.figure("volume").value == 0 and board.figure("fcr").value is None
    assert board.figure("backlog").value == 1        # the backlog is now, whatever the range
    assert not board.empty
    board = reports.dashboard(org.admin, dataclasses.replace(old, department_id=org.logistics))
    assert board.empty
    assert all(f.value in (None, 0) for f in board.figures)


def test_resolution_figures_follow_the_tickets(settings, org):
    a = new(settings, org, assignee_id=org.agent.user_id, customer_id=org.customer.customer_id)
    b = new(settings, org, assignee_id=org.agent.user_id, customer_id=org.customer.customer_id)
    comments.add_comment(org.agent, a.id, "请重启打印机", settings)
    comments.add_comment(org.agent, b.id, "请重启打印机", settings)
    comments.add_comment(org.customer, b.id, "还是不行", settings)
    for t in (a, b):
        tickets.transition_ticket(org.agent, t.id, "resolved", settings)
    reports_refresh.refresh()
    board = reports.dashboard(org.admin, last_days())
    assert board.figure("resolved").value == 2
    assert board.figure("fcr").value == 50.0          # b had a customer follow-up
    assert board.figure("reopen_rate").value == 0.0
    tickets.transition_ticket(org.agent, a.id, "open", settings)
    tickets.transition_ticket(org.agent, a.id, "resolved", settings)
    reports_refresh.refresh()
    board = reports.dashboard(org.admin, last_days())
    assert board.figure("reopen_rate").value == 50.0 and board.figure("fcr").value == 0.0
    page = reports.drill_down(org.admin, last_days(), "reopen_rate", "numerator")
    assert page.ticket_ids == [a.id] and page.total == 1
    assert reports.drill_down(org.admin, last_days(), "fcr", None).total == 2


def test_drill_down_refuses_unknown_metrics_and_bars(settings, org):
    reports_refresh.refresh()
    for metric, bucket, field in (("nope", None, "metric"), ("volume_by_day", "x", "bucket"),
                                  ("volume_by_department", "abc", "bucket"),
                                  ("backlog_by_age", "2d", "bucket")):
        with pytest.raises(ValidationError) as exc:
            reports.drill_down(org.admin, last_days(), metric, bucket)
        assert set(exc.value.fields) == {field}
    with pytest.raises(ValidationError) as exc:
        reports.drill_down(org.admin, last_days(), "volume", None, per_page=500)
    assert set(exc.value.fields) == {"per_page"}


def test_drill_down_pages_through_a_bar(settings, org):
    made = [new(settings, org, channel="phone").id for _ in range(5)]
    new(settings, org, channel="web")
    reports_refresh.refresh()
    first = reports.drill_down(org.admin, last_days(), "volume_by_channel", "phone", 1, 2)
    last = reports.drill_down(org.admin, last_days(), "volume_by_channel", "phone", 3, 2)
    assert (first.total, first.pages) == (5, 3)
    assert first.ticket_ids == sorted(made, reverse=True)[:2] and last.ticket_ids == [made[0]]
    assert first.items[0].number and first.items[0].channel == "phone"


# --------------------------------------------------------------------------- time zone

def test_days_and_hours_are_the_site_time_zone_and_a_zone_change_rebuilds(settings, org):
    t = new(settings, org)
    late = dt.datetime(2026, 3, 1, 20, 30)            # 04:30 on 2 March in Shanghai
    Ticket.update(created_at=late, updated_at=utcnow()).where(Ticket.id == t.id).execute()
    reports_refresh.refresh()
    march = reports.ReportFilter(dt.date(2026, 3, 1), dt.date(2026, 3, 2))
    day = reports.dashboard(org.admin, march).one_series("volume_by_day")
    assert day.values == [1, 0]                         # UTC in tests
    runtime.configure(dataclasses.replace(settings, timezone="Asia/Shanghai"))
    try:
        assert reports_refresh.refresh().rebuilt
        board = reports.dashboard(org.admin, march)
        assert board.one_series("volume_by_day").values == [0, 1]
        assert board.one_series("volume_by_hour").values[4] == 1
    finally:
        runtime.configure(settings)


# --------------------------------------------------------------------------- refresh

def test_the_worker_refreshes_every_five_minutes(settings, org):
    new(settings, org)
    huey = tasks.get_huey(settings)
    due = {type(task).__name__: task
           for task in huey.read_periodic(dt.datetime(2026, 3, 2, 3, 15))}
    huey.execute(due["gongdan.reports_refresh"])
    assert ReportFact.select().count() == 1
    later = {type(task).__name__ for task in huey.read_periodic(dt.datetime(2026, 3, 2, 3, 16))}
    assert "gongdan.reports_refresh" not in later


def test_two_refreshes_at_once_leave_exact_aggregates(settings, org, backend):
    reports_refresh.refresh()
    for _ in range(12):
        new(settings, org, channel="email")
    errors = []

    def run():
        try:
            with database.connection_context():
                reports_refresh.refresh()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert reports_verify.verify() == []
    assert reports.dashboard(org.admin, last_days()).figure("volume").value == 12


def test_the_rolling_recheck_finds_changes_no_feed_shows(settings, org):
    """Unlinking an article from a ticket leaves no trace but the missing row."""
    t = new(settings, org)
    a = knowledge.create_article(org.agent, knowledge.ArticleInput(title="卡纸", body="打开前盖"))
    for action in ("submit", "approve"):
        knowledge_review.transition(org.admin, a.id, action)
    knowledge_review.link_ticket(org.admin, a.id, t.id)
    tickets.transition_ticket(org.admin, t.id, "resolved", settings)
    reports_refresh.refresh()
    assert reports.dashboard(org.admin, last_days()).figure("kb_coverage").value == 100.0
    ArticleTicket.delete().where(ArticleTicket.ticket == t.id).execute()
    reports_refresh.refresh()      # the re-check passes every ticket (fewer than SWEEP here)
    assert reports.dashboard(org.admin, last_days()).figure("kb_coverage").value == 0.0
    assert reports_verify.verify() == []


def test_refreshes_wait_while_a_rebuild_runs_and_a_second_rebuild_is_refused(settings, org):
    from appliance.errors import Conflict
    from appliance.models import ReportState
    reports_refresh.refresh()
    ReportState.update(rebuilding_since=utcnow()).where(ReportState.id == 1).execute()
    new(settings, org)
    assert reports_refresh.refresh() == reports_refresh.Refreshed(0, 0, 0)
    assert ReportFact.select().count() == 0
    with pytest.raises(Conflict):
        reports_refresh.rebuild()
    # a rebuild marked running for longer than STALE_REBUILD crashed: the next one runs
    ReportState.update(rebuilding_since=utcnow() - reports_refresh.STALE_REBUILD).where(
        ReportState.id == 1).execute()
    assert reports_refresh.rebuild().changed == 1
    assert ReportState.get_by_id(1).rebuilding_since is None
    assert reports_verify.verify() == []
