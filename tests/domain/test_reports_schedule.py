"""Scheduled e-mail reports on SQLite and PostgreSQL: when a schedule fires and which
period it reports, exactly one mail per (schedule, period) through the real outbox to a
real SMTP relay on loopback with a real XLSX/CSV attachment, the owner's permissions at
send time, and recipients limited to internal users in the owner's scope."""
from __future__ import annotations

import datetime as dt
import io
import threading
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from appliance import jobs
from appliance.db import database
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import AuditRecord, Job, MailMessage, ReportRun, ReportSchedule
from appliance.rules.access import SYSTEM
from appliance.services import mailboxes, reports_refresh, reports_schedule as rs, users
from tests.factories import actor, make_org, ticket
from tests.smtp_relay import relay, relay_settings  # noqa: F401

# --- when (pure) ---------------------------------------------------------------------------


def sched(**kw):
    base = {"frequency": "daily", "weekday": None, "day": None, "hour": 8,
            "time_zone": "Asia/Shanghai"}
    return SimpleNamespace(**{**base, **kw})


def test_a_daily_schedule_fires_at_its_local_hour_and_reports_yesterday():
    s = sched()
    at = rs.next_run(s, dt.datetime(2026, 3, 10, 1, 0))          # 09:00 in Shanghai
    assert at == dt.datetime(2026, 3, 11, 0, 0)                  # 08:00 next day, Shanghai
    assert rs.period(s, at) == ("D:2026-03-10", dt.date(2026, 3, 10), dt.date(2026, 3, 10))
    assert rs.next_run(s, dt.datetime(2026, 3, 10, 23, 59)) == dt.datetime(2026, 3, 11, 0, 0)


def test_a_weekly_schedule_reports_the_seven_days_before_its_weekday():
    s = sched(frequency="weekly", weekday=0, hour=9)              # Mondays 09:00
    at = rs.next_run(s, dt.datetime(2026, 3, 11, 12, 0))          # a Wednesday
    assert at == dt.datetime(2026, 3, 16, 1, 0)
    assert rs.period(s, at) == ("W:2026-03-15", dt.date(2026, 3, 9), dt.date(2026, 3, 15))


def test_a_monthly_schedule_reports_the_previous_calendar_month():
    s = sched(frequency="monthly", day=1, hour=0, time_zone="UTC")
    at = rs.next_run(s, dt.datetime(2026, 2, 14, 0, 0))
    assert at == dt.datetime(2026, 3, 1, 0, 0)
    assert rs.period(s, at) == ("M:2026-02", dt.date(2026, 2, 1), dt.date(2026, 2, 28))


def test_the_form_names_every_bad_field():
    with pytest.raises(ValidationError) as e:
        rs.parse_input({"name": "", "frequency": "hourly", "hour": "24", "time_zone": "Mars/Base",
                        "format": "pdf"}, ["x"])
    assert set(e.value.fields) >= {"name", "frequency", "hour", "time_zone", "format", "recipients"}
    with pytest.raises(ValidationError) as e:
        rs.parse_input({"name": "周报", "frequency": "weekly", "weekday": "7", "hour": "8",
                        "format": "csv"}, [])
    assert set(e.value.fields) == {"weekday", "recipients"}


# --- sending (both databases) ----------------------------------------------------------------

@pytest.fixture
def site(backend, settings, relay):
    s = relay_settings(settings, relay)
    o = make_org()
    for name in ("lead", "wangfang", "lilei", "admin"):
        users.update_user(SYSTEM, actor(name).user_id, {"email": f"{name}@corp.example"})
    mailboxes.add_mailbox(SYSTEM, "reports@gongdan.example", department_code="AS", name="报表")
    ticket(s, SYSTEM, "打印机无法打印", department_id=o.after_sales)
    ticket(s, SYSTEM, "发票抬头错误", department_id=o.after_sales)
    ticket(s, SYSTEM, "物流单号查询", department_id=o.logistics)
    reports_refresh.rebuild()
    return s, o


def weekly(o, fmt="xlsx", recipients=None, **extra):
    raw = {"name": "售后周报", "frequency": "daily", "hour": "8", "time_zone": "UTC",
           "format": fmt, **extra}
    ids = recipients or [o.supervisor.user_id, o.agent.user_id]
    return rs.create_schedule(o.supervisor, rs.parse_input(raw, [str(i) for i in ids]),
                              now=dt.datetime.utcnow() - dt.timedelta(days=1))


def send_all() -> int:
    return sum(jobs.run_job(j.id) for j in list(
        Job.select(Job.id).where((Job.name == "send_mail") & Job.done_at.is_null()).order_by(Job.id)))


def test_a_due_schedule_mails_its_report_once_with_a_real_xlsx(site, relay):
    s, o = site
    view = weekly(o)
    due = view.next_run_at
    assert rs.run_due(due) == 1
    assert rs.run_due(due) == 0 and rs.run_due(due + dt.timedelta(minutes=1)) == 0
    assert send_all() == 1 and send_all() == 0
    (msg,) = relay.messages
    assert sorted(msg.rcpt_tos) == ["lead@corp.example", "wangfang@corp.example"]
    assert "售后周报" in msg.message["Subject"]
    (part,) = list(msg.message.iter_attachments())
    assert part.get_filename().endswith(".xlsx")
    ws = load_workbook(io.BytesIO(part.get_content())).active
    rows = {(r[0].value, r[1].value): r[4].value for r in ws.iter_rows(min_row=2)}
    assert rows[("figure", "volume")] in (0, 2)        # the day before the firing: a real file
    run = ReportRun.get()
    assert run.status == "sent" and MailMessage.get_by_id(run.mail_id).status == "sent"
    assert ReportSchedule.get().next_run_at > due and ReportSchedule.get().last_sent_at is not None
    audit = AuditRecord.get(AuditRecord.action == "report.exported")
    assert audit.actor_id == o.supervisor.user_id and '"kind":"dashboard"' in audit.detail


def test_a_second_worker_holding_a_stale_due_time_sends_nothing_more(site, relay):
    s, o = site
    view = weekly(o, fmt="csv")
    due = view.next_run_at
    assert rs.fire(view.id, due) is True
    # as if another worker had read the schedule before the first one moved it
    ReportSchedule.update(next_run_at=due).where(ReportSchedule.id == view.id).execute()
    assert rs.fire(view.id, due) is False
    assert send_all() == 1 and len(relay.messages) == 1
    (part,) = list(relay.messages[0].message.iter_attachments())
    assert part.get_filename().endswith(".csv") and part.get_payload(decode=True).startswith(b"\xef\xbb\xbf")
    assert ReportRun.select().count() == 1


def test_two_workers_at_once_queue_one_mail(site, relay, settings):
    s, o = site
    due = weekly(o).next_run_at
    results, start = [], threading.Barrier(2)

    def worker():
        with database.connection_context():
            start.wait()
            try:
                results.append(rs.run_due(due))
            except Exception as exc:   # a lock timeout counts as "did not send"
                results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert sum(r for r in results if isinstance(r, int)) == 1
    assert MailMessage.select().where(MailMessage.kind.startswith("report:")).count() == 1


def test_an_owner_who_lost_report_access_sends_nothing_and_the_schedule_pauses(site, relay):
    s, o = site
    due = weekly(o).next_run_at
    users.update_user(SYSTEM, o.supervisor.user_id, {"role": "agent"})
    assert rs.run_due(due) == 0 and send_all() == 0 and relay.messages == []
    sc = ReportSchedule.get()
    assert not sc.active and sc.paused_reason == "the owner may no longer view reports"
    assert rs.run_due(due + dt.timedelta(days=3)) == 0      # paused: never again by itself


def test_access_lost_between_queueing_and_sending_fails_the_mail_and_pauses(site, relay):
    s, o = site
    due = weekly(o).next_run_at
    assert rs.run_due(due) == 1
    users.disable_user(SYSTEM, o.supervisor.user_id)
    send_all()
    assert relay.messages == []
    mail = MailMessage.get(MailMessage.kind.startswith("report:"))
    assert mail.status == "failed" and "disabled" in mail.error
    assert ReportSchedule.get().active is False


def test_recipients_are_internal_users_in_the_owners_scope(site):
    s, o = site
    with pytest.raises(ValidationError) as e:
        weekly(o, recipients=[o.supervisor.user_id, o.agent2.user_id])   # logistics agent
    assert set(e.value.fields) == {"recipients"}
    with pytest.raises(ValidationError):
        weekly(o, recipients=[o.customer.user_id])                       # a customer
    assert {u.id for u in rs.recipient_choices(o.supervisor)} == {o.supervisor.user_id,
                                                                  o.agent.user_id}
    assert o.agent2.user_id in {u.id for u in rs.recipient_choices(o.admin)}


def test_a_recipient_who_left_the_department_is_dropped_at_send_time(site, relay):
    s, o = site
    due = weekly(o).next_run_at
    users.update_user(SYSTEM, o.agent.user_id, {"department_id": o.logistics})
    assert rs.run_due(due) == 1 and send_all() == 1
    assert relay.messages[0].rcpt_tos == ["lead@corp.example"]


def test_schedules_belong_to_their_owner(site):
    s, o = site
    view = weekly(o)
    users.create_user(SYSTEM, "lead2", "第二主管", "supervisor", department_id=o.after_sales)
    other = actor("lead2")
    assert rs.list_schedules(other) == []
    with pytest.raises(NotFound):
        rs.get_schedule(other, view.id)
    with pytest.raises(NotFound):
        rs.delete_schedule(other, view.id)
    with pytest.raises(PermissionDenied):
        rs.list_schedules(o.agent)
    rs.delete_schedule(o.supervisor, view.id)
    assert ReportSchedule.select().count() == 0


def test_the_worker_queues_due_reports_every_minute_as_a_periodic_task(site, relay):
    from appliance import tasks
    s, o = site
    weekly(o)
    huey = tasks.get_huey(s)
    due = {type(task).__name__: task for task in huey.read_periodic(dt.datetime(2026, 3, 2, 3, 18))}
    huey.execute(due["gongdan.report_schedules"])
    assert MailMessage.select().where(MailMessage.kind.startswith("report:")).count() == 1
    assert send_all() == 1 and len(relay.messages) == 1
