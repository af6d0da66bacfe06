"""SLA in the browser and the API: admin pages for calendars and policies (refusals shown
by field, nothing saved), the SLA panel on the agent's ticket page, the due column in
queues, and the `sla` object of the ticket API (staff only)."""
from __future__ import annotations

import html as html_lib
import re

import pytest

from appliance import jobs
from appliance.models import SlaCalendar, SlaPolicy
from appliance.services import sla_config
from tests.factories import ticket
from tests.web.apiclient import ApiClient, token_for

WEEK = {"monday": "09:00-12:00, 13:30-18:00", "tuesday": "09:00-18:00", "wednesday": "",
        "thursday": "", "friday": "", "saturday": "", "sunday": ""}


@pytest.fixture
def admin(login):
    return login("admin")


def text(r) -> str:
    return html_lib.unescape(r.get_data(as_text=True))


def err(r, name: str) -> str:
    m = re.search(rf'id="err-{re.escape(name)}">([^<]*)<', r.get_data(as_text=True))
    assert m, f"no error shown for {name}"
    return html_lib.unescape(m.group(1))


def test_admin_creates_a_department_calendar_and_a_policy_through_the_forms(admin, org):
    assert admin.get("/admin/sla/").status_code == 200
    r = admin.post("/admin/sla/calendars/new", data={
        "name": "售后", "department_id": str(org.after_sales), "time_zone": "Asia/Shanghai",
        **WEEK, "chinese_holidays": "1", "closures": "2026-12-24 2026-12-25 年会",
        "extra_open_days": "2026-12-27"}, csrf_from="/admin/sla/calendars/new")
    assert r.status_code == 302, text(r)[:2000]
    cal = SlaCalendar.get(SlaCalendar.department == org.after_sales)
    assert cal.week[0] == [["09:00", "12:00"], ["13:30", "18:00"]]
    assert cal.closures == [{"start": "2026-12-24", "end": "2026-12-25", "reason": "年会"}]
    r = admin.post("/admin/sla/policies/new", data={
        "name": "P1 电话", "order": "10", "active": "1", "priorities": ["1"],
        "channels": ["phone"], "first_response_minutes": "15", "resolution_minutes": "240",
        "warn_at": "75, 90", "escalations": "90 notify_lead\n100 raise_priority"},
        csrf_from="/admin/sla/policies/new")
    assert r.status_code == 302, text(r)[:2000]
    p = SlaPolicy.get(SlaPolicy.name == "P1 电话")
    assert (p.priorities, p.channels, p.warn_at) == ([1], ["phone"], [75, 90])
    assert p.escalations == [{"at": 90, "action": "notify_lead"},
                             {"at": 100, "action": "raise_priority"}]
    page = text(admin.get("/admin/sla/"))
    assert "P1 电话" in page and "售后" in page


def test_bad_calendar_and_policy_forms_show_each_problem_and_save_nothing(admin, org):
    calendars = SlaCalendar.select().count()
    r = admin.post("/admin/sla/calendars/new", data={
        "name": "坏", "department_id": str(org.logistics), "time_zone": "Mars/Base",
        **{**WEEK, "monday": "18:00-09:00", "tuesday": "9点到6点"},
        "closures": "2026-12-25 2026-12-20"}, csrf_from="/admin/sla/calendars/new")
    assert r.status_code == 400
    assert "HH:MM+1" in err(r, "monday") and "not a time of day" in err(r, "tuesday")
    assert "Mars/Base" in err(r, "time_zone") or err(r, "time_zone")
    assert SlaCalendar.select().count() == calendars
    r = admin.post("/admin/sla/policies/new", data={
        "name": "反了", "order": "10", "active": "1", "first_response_minutes": "600",
        "resolution_minutes": "60", "warn_at": "75, 150",
        "escalations": "80 notify_lead"}, csrf_from="/admin/sla/policies/new")
    assert r.status_code == 400
    assert "longer than the resolution target" in err(r, "resolution_minutes")
    assert err(r, "warn_at") and err(r, "escalations")
    assert SlaPolicy.select().count() == 0


def test_agents_cannot_open_the_sla_admin_pages(login, org):
    agent = login("wangfang")
    assert agent.get("/admin/sla/").status_code == 403
    assert agent.get("/admin/sla/policies/new").status_code == 403


@pytest.fixture
def sla_ticket(settings, org):
    always = {d: [["00:00", "24:00"]] for d in ("monday", "tuesday", "wednesday", "thursday",
                                                 "friday", "saturday", "sunday")}
    sla_config.save_calendar(org.admin, None, {"name": "24/7", "department_id": org.after_sales,
                                               "time_zone": "UTC", "week": always})
    sla_config.save_policy(org.admin, None, {"name": "Standard", "first_response_minutes": 60,
                                             "resolution_minutes": 480})
    t = ticket(settings, org.agent, "空调不制冷", department_id=org.after_sales,
               customer_id=org.customer.customer_id).summary
    jobs.run_pending_inline()
    return t


def test_the_ticket_page_shows_the_sla_panel_and_the_queue_its_due_column(login, sla_ticket):
    agent = login("wangfang")
    page = text(agent.get(f"/agent/tickets/{sla_ticket.id}"))
    assert 'id="sla"' in page and "Standard" in page
    assert 'id="sla-first_response"' in page and 'id="sla-resolution"' in page
    assert "left" in page
    queue = text(agent.get("/agent/?view=open"))
    assert 'class="col-sla"' in queue and "sla-badge" in queue


def test_the_ticket_api_carries_the_sla_for_staff_and_not_for_customers(app, org, sla_ticket):
    staff = ApiClient(app, token_for("wangfang")).get(f"/tickets/{sla_ticket.id}")
    assert staff.status_code == 200, staff.get_data(as_text=True)[:500]
    sla = staff.get_json()["sla"]
    assert sla["policy"]["name"] == "Standard" and sla["breached"] is False
    assert [c["name"] for c in sla["clocks"]] == ["first_response", "resolution"]
    assert sla["clocks"][0]["target_minutes"] == 60 and sla["clocks"][0]["due_at"]
    customer = ApiClient(app, token_for("zhangsan")).get(f"/tickets/{sla_ticket.id}")
    assert customer.status_code == 200 and customer.get_json()["sla"] is None
    portal_free = ApiClient(app, token_for("zhangsan")).get(f"/tickets/{sla_ticket.id}")
    assert "Standard" not in portal_free.get_data(as_text=True)


def test_a_breach_shows_on_the_panel_the_timeline_and_in_the_leads_notifications(
        settings, login, sla_ticket):
    from appliance.models import Ticket
    from appliance.services import sla_timers
    created = Ticket.get_by_id(sla_ticket.id).created_at
    sla_timers.tick(settings.sla_pause_statuses, 100,
                    now=created + __import__("datetime").timedelta(minutes=61))
    from appliance.models import TicketSla
    assert TicketSla.get_by_id(sla_ticket.id).breached
    lead = login("lead")
    page = text(lead.get(f"/agent/tickets/{sla_ticket.id}"))
    assert "Breached" in page and "overdue by" in page
    assert "SLA breached" in page                       # the timeline entry
    notes = text(lead.get("/agent/notifications"))
    assert f"{sla_ticket.number} breached its first response target." in notes
    queue = text(lead.get("/agent/?view=open"))
    assert "sla-badge breached" in queue


def test_queues_and_the_api_sort_by_sla_due_time(app, login, org, sla_ticket):
    agent = login("wangfang")
    page = text(agent.get("/agent/?view=open&sort=sla_due"))
    assert sla_ticket.number in page and 'value="sla_due" selected' in page
    r = ApiClient(app, token_for("wangfang")).get("/tickets?view=open&sort=sla_due")
    assert r.status_code == 200 and r.get_json()["items"][0]["id"] == sla_ticket.id


def test_every_sla_reason_can_be_translated(app):
    """Each reason the SLA rules give (with sample values) maps to a msgid, so a zh-CN admin
    reads them in Chinese once the catalogue has them."""
    from appliance.rules import business_calendar, sla_policy
    from webapp import messages
    from webapp.views import sla_labels  # noqa: F401  (registers the SLA messages)
    samples = {"value": "Mars/Base", "interval": "18:00–09:00", "first": "monday 09:00–18:00",
               "second": "monday 12:00–13:00", "max": "3660", "day": "2026-12-27",
               "years": "2027", "last": "2026", "longer": "next response", "a": "600",
               "b": "60", "channels": "web, email", "id": "7", "thresholds": "75, 90",
               "other": "P1"}
    texts = [m % samples for code, m in business_calendar.MESSAGES.items()
             if code != "holiday_years_missing"] + [
        m % samples for m in sla_policy.MESSAGES.values()]
    texts.append(business_calendar.MESSAGES["holiday_years_missing"] % {
        "first": "2004", "last": "2026", "years": "2027, 2028"})
    texts.append("“Catch-all”: " + sla_policy.MESSAGES["policy_unreachable"] % samples)
    texts.append(str(_bad_time("9点")))
    for text_ in texts:
        assert text_ in messages.FIXED or any(
            p.match(text_) for p, _ in messages._COMPILED), text_


def _bad_time(value):
    from appliance.rules.business_calendar import Hours
    try:
        Hours.parse(value, "18:00")
    except ValueError as exc:
        return exc


def test_the_sla_object_matches_the_openapi_document(app, org, sla_ticket):
    import jsonschema

    from webapp.api.openapi import DOCUMENT
    body = ApiClient(app, token_for("wangfang")).get(f"/tickets/{sla_ticket.id}").get_json()
    jsonschema.validate(body, {"$ref": "#/components/schemas/TicketDetail",
                               "components": DOCUMENT["components"]})
    assert body["sla"]["clocks"]
