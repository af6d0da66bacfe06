"""The scheduled e-mail reports pages: a supervisor adds, changes and deletes their own
schedules; bad input is a 400 naming each field; recipients are internal users in the
owner's scope; other owners' schedules are not found; agents may not schedule."""
from __future__ import annotations

import re

from appliance.models import AuditRecord, ReportSchedule
from appliance.rules.access import SYSTEM
from appliance.services import users
from tests.factories import actor


def _emails(org):
    for name in ("lead", "wangfang", "lilei"):
        users.update_user(SYSTEM, actor(name).user_id, {"email": f"{name}@corp.example"})


def form(org, **kw):
    data = {"name": "售后周报", "frequency": "weekly", "weekday": "0", "day": "1", "hour": "8",
            "time_zone": "Asia/Shanghai", "format": "xlsx",
            "recipients": [str(org.supervisor.user_id), str(org.agent.user_id)]}
    data.update(kw)
    return data


def test_a_supervisor_adds_changes_and_deletes_a_schedule(login, org):
    _emails(org)
    lead = login("lead")
    page = lead.get("/agent/reports/schedules").get_data(as_text=True)
    people = page.split('id="schedule-recipients"')[1].split("</fieldset>")[0]
    assert "王芳" in people and "李雷" not in people                 # own department only
    r = lead.post("/agent/reports/schedules", data=form(org), csrf_from="/agent/reports/schedules")
    assert r.status_code == 302
    s = ReportSchedule.get()
    assert (s.frequency, s.weekday, s.hour, s.format) == ("weekly", 0, 8, "xlsx")
    assert sorted(s.recipients) == sorted([org.supervisor.user_id, org.agent.user_id])
    assert s.next_run_at is not None and s.next_run_at.weekday() in (6, 0)   # Monday 08:00 +08:00
    html = lead.get("/agent/reports/schedules").get_data(as_text=True)
    assert f'id="schedule-{s.id}"' in html and "售后周报" in html
    version = re.search(r'name="version" value="(\d+)"',
                        lead.get(f"/agent/reports/schedules/{s.id}").get_data(as_text=True)).group(1)
    r = lead.post(f"/agent/reports/schedules/{s.id}",
                  data=form(org, frequency="monthly", day="5", format="csv", version=version),
                  csrf_from="/agent/reports/schedules")
    assert r.status_code == 302
    s = ReportSchedule.get()
    assert (s.frequency, s.day, s.format, s.version) == ("monthly", 5, "csv", 2)
    r = lead.post(f"/agent/reports/schedules/{s.id}",
                  data=form(org, version=version), csrf_from="/agent/reports/schedules")
    assert r.status_code == 409                                  # a stale version
    r = lead.post(f"/agent/reports/schedules/{s.id}/delete", data={},
                  csrf_from="/agent/reports/schedules")
    assert r.status_code == 302 and ReportSchedule.select().count() == 0
    actions = [a for (a,) in AuditRecord.select(AuditRecord.action)
               .where(AuditRecord.action.startswith("report.schedule")).order_by(AuditRecord.seq).tuples()]
    assert actions == ["report.schedule_created", "report.schedule_updated",
                       "report.schedule_deleted"]


def test_bad_input_is_a_400_naming_each_field(login, org):
    _emails(org)
    lead = login("lead")
    r = lead.post("/agent/reports/schedules",
                  data=form(org, name="", hour="25", time_zone="Mars/Base", recipients=[]),
                  csrf_from="/agent/reports/schedules")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    for name in ("name", "hour", "time_zone", "recipients"):
        assert f'id="schedule-error-{name}"' in html
    assert ReportSchedule.select().count() == 0


def test_a_recipient_outside_the_owners_department_is_refused(login, org):
    _emails(org)
    r = login("lead").post("/agent/reports/schedules",
                           data=form(org, recipients=[str(org.agent2.user_id)]),
                           csrf_from="/agent/reports/schedules")
    assert r.status_code == 400 and 'id="schedule-error-recipients"' in r.get_data(as_text=True)
    r = login("lead").post("/agent/reports/schedules",
                           data=form(org, department=str(org.logistics)),
                           csrf_from="/agent/reports/schedules")
    assert r.status_code == 400 and 'id="schedule-error-department"' in r.get_data(as_text=True)
    assert ReportSchedule.select().count() == 0


def test_another_owners_schedule_is_not_found_and_agents_may_not_schedule(login, org):
    _emails(org)
    login("lead").post("/agent/reports/schedules", data=form(org),
                       csrf_from="/agent/reports/schedules")
    s = ReportSchedule.get()
    admin = login("admin")
    assert admin.get(f"/agent/reports/schedules/{s.id}").status_code == 404
    assert admin.post(f"/agent/reports/schedules/{s.id}/delete", data={},
                      csrf_from="/agent/reports/schedules").status_code == 404
    assert login("wangfang").get("/agent/reports/schedules").status_code == 403
    assert ReportSchedule.select().count() == 1
