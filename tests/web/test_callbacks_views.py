"""Callbacks through the real app: the ticket page panel and its actions, "My callbacks"
with the due count in the navigation, and the API (GET/POST/PATCH)."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance.models import Callback, TimelineEvent, utcnow
from appliance.services import callbacks, customers, users
from tests.factories import ticket


@pytest.fixture
def tk(settings, org):
    c = customers.create_customer(org.agent, "赵六", contacts=[
        {"kind": "phone", "value": "13800001111"}])
    return ticket(settings, org.agent, "空调不制冷", department_id=org.after_sales,
                  customer_id=c.id).summary


def local(minutes: int) -> str:
    """A datetime-local value in the site's zone (UTC in tests)."""
    return (utcnow() + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


def test_the_panel_prefills_the_customers_phone_and_schedules_a_callback(login, tk, org):
    agent = login("wangfang")
    page = agent.get(f"/agent/tickets/{tk.id}").get_data(as_text=True)
    assert 'id="callbacks"' in page and 'value="13800001111"' in page
    assert "(me)" in page
    r = agent.post(f"/agent/tickets/{tk.id}/callbacks",
                   {"phone": "13800001111", "due_at": local(60), "agent_id": str(org.agent.user_id),
                    "note": "<b>问安装时间</b>"}, csrf_from=f"/agent/tickets/{tk.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith("#callbacks")
    page = agent.get(f"/agent/tickets/{tk.id}").get_data(as_text=True)
    assert "&lt;b&gt;问安装时间&lt;/b&gt;" in page and "scheduled a callback" in page
    assert "Who calls: 王芳" in page and "due_at" not in page.split('id="callbacks"')[0]


def test_a_bad_schedule_shows_messages_per_field_and_keeps_the_input(login, tk):
    agent = login("wangfang")
    r = agent.post(f"/agent/tickets/{tk.id}/callbacks",
                   {"phone": "abc", "due_at": local(-120), "note": "记得带说明书"},
                   csrf_from=f"/agent/tickets/{tk.id}")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="err-phone"' in html and 'id="err-due_at"' in html
    assert "must not be in the past" in html and "记得带说明书" in html
    assert Callback.select().count() == 0


def test_done_failed_with_reschedule_and_cancel_from_the_panel(login, tk, org):
    agent = login("wangfang")
    first = callbacks.schedule_callback(org.agent, tk.id, callbacks.CallbackInput(
        phone="13800001111", due_at=utcnow() + dt.timedelta(hours=1)))
    page = f"/agent/tickets/{tk.id}"
    r = agent.post(f"/agent/callbacks/{first.id}/failed",
                   {"outcome": "无人接听", "reschedule_at": local(180)}, csrf_from=page)
    assert r.status_code == 302
    rows = list(Callback.select().order_by(Callback.id))
    assert [c.status for c in rows] == ["failed", "open"]
    agent.post(f"/agent/callbacks/{rows[1].id}/done", {"outcome": "已约上门"}, csrf_from=page)
    third = callbacks.schedule_callback(org.agent, tk.id, callbacks.CallbackInput(
        phone="13800001111", due_at=utcnow() + dt.timedelta(hours=1)))
    agent.post(f"/agent/callbacks/{third.id}/cancel", {}, csrf_from=page)
    assert [c.status for c in Callback.select().order_by(Callback.id)] == [
        "failed", "done", "cancelled"]
    kinds = [e.kind for e in TimelineEvent.select().where(
        TimelineEvent.kind.startswith("callback_")).order_by(TimelineEvent.id)]
    assert kinds == ["callback_scheduled", "callback_failed", "callback_scheduled",
                     "callback_done", "callback_scheduled", "callback_cancelled"]


def test_actions_need_csrf_and_the_right_to_work_the_ticket(login, tk, org):
    c = callbacks.schedule_callback(org.agent, tk.id, callbacks.CallbackInput(
        phone="13800001111", due_at=utcnow() + dt.timedelta(hours=1)))
    agent = login("wangfang")
    assert agent.client.post(f"/agent/callbacks/{c.id}/cancel").status_code == 400
    other = login("lilei")
    assert other.post(f"/agent/callbacks/{c.id}/cancel", {}).status_code == 404
    assert 'id="callbacks"' not in other.get(f"/agent/tickets/{tk.id}").get_data(as_text=True)
    assert other.post(f"/agent/tickets/{tk.id}/callbacks",
                      {"phone": "13800001111", "due_at": local(60)}).status_code == 404
    customer = login("zhangsan")
    assert customer.post(f"/agent/callbacks/{c.id}/cancel", {},
                         csrf_from="/portal/").status_code == 403
    assert Callback.get_by_id(c.id).status == "open"


def test_my_callbacks_lists_overdue_first_and_the_nav_counts_the_due_ones(login, tk, org):
    later = callbacks.schedule_callback(org.agent, tk.id, callbacks.CallbackInput(
        phone="13800001111", due_at=utcnow() + dt.timedelta(hours=3)))
    late = callbacks.schedule_callback(org.agent, tk.id, callbacks.CallbackInput(
        phone="13900002222", due_at=utcnow() + dt.timedelta(minutes=5)))
    Callback.update(due_at=utcnow() - dt.timedelta(hours=1)).where(
        Callback.id == late.id).execute()
    html = login("wangfang").get("/agent/callbacks").get_data(as_text=True)
    assert html.index(f'id="callback-{late.id}"') < html.index(f'id="callback-{later.id}"')
    assert "overdue" in html and tk.number in html
    assert '<span class="badge" id="callbacks-due"' in html and ">1</span>" in html
    lead = login("lead").get("/agent/callbacks").get_data(as_text=True)
    assert "No open callbacks." in lead and 'id="callbacks-due"' not in lead


# --- API -------------------------------------------------------------------------------------

@pytest.fixture
def token(org):
    return lambda username: users.create_api_token(
        users.actor_of(users.User.get(users.User.username == username)), "t")[1]


def api(app, token_value):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token_value}"}
    return client, headers


def test_the_api_schedules_lists_and_closes_callbacks(app, tk, org, token):
    client, h = api(app, token("wangfang"))
    due = (utcnow() + dt.timedelta(hours=2)).replace(microsecond=0).isoformat() + "Z"
    r = client.post(f"/api/v1/tickets/{tk.id}/callbacks", headers=h,
                    json={"phone": "13800001111", "due_at": due, "note": "回访"})
    assert r.status_code == 201, r.get_json()
    cb = r.get_json()
    assert cb["status"] == "open" and cb["agent"]["id"] == org.agent.user_id
    assert cb["due_at"] == due
    listed = client.get(f"/api/v1/tickets/{tk.id}/callbacks", headers=h).get_json()
    assert [x["id"] for x in listed["items"]] == [cb["id"]]
    r = client.patch(f"/api/v1/callbacks/{cb['id']}", headers=h,
                     json={"status": "done", "outcome": "已解决"})
    assert r.status_code == 200 and r.get_json()["status"] == "done"
    r = client.patch(f"/api/v1/callbacks/{cb['id']}", headers=h, json={"status": "cancelled"})
    assert r.status_code == 400 and "status" in r.get_json()["error"]["details"]["fields"]


def test_the_api_refuses_bad_input_and_other_departments(app, tk, org, token):
    client, h = api(app, token("wangfang"))
    r = client.post(f"/api/v1/tickets/{tk.id}/callbacks", headers=h,
                    json={"phone": "x", "due_at": "2001-01-01T00:00:00Z", "extra": 1})
    assert r.status_code == 400
    assert set(r.get_json()["error"]["details"]["fields"]) == {"extra"}
    r = client.post(f"/api/v1/tickets/{tk.id}/callbacks", headers=h,
                    json={"phone": "x", "due_at": "2001-01-01T00:00:00Z"})
    assert set(r.get_json()["error"]["details"]["fields"]) == {"phone", "due_at"}
    other, h2 = api(app, token("lilei"))
    assert other.get(f"/api/v1/tickets/{tk.id}/callbacks", headers=h2).status_code == 404
    c = callbacks.schedule_callback(org.agent, tk.id, callbacks.CallbackInput(
        phone="13800001111", due_at=utcnow() + dt.timedelta(hours=1)))
    assert other.patch(f"/api/v1/callbacks/{c.id}", headers=h2,
                       json={"status": "cancelled"}).status_code == 404
    customer, h3 = api(app, token("zhangsan"))
    assert customer.patch(f"/api/v1/callbacks/{c.id}", headers=h3,
                          json={"status": "cancelled"}).status_code in (403, 404)
    assert Callback.get_by_id(c.id).status == "open"


def test_a_due_callback_shows_up_in_the_agents_notifications(login, tk, org):
    c = callbacks.schedule_callback(org.agent, tk.id, callbacks.CallbackInput(
        phone="13800001111", due_at=utcnow() + dt.timedelta(minutes=5)))
    Callback.update(due_at=utcnow() - dt.timedelta(minutes=1)).where(
        Callback.id == c.id).execute()
    assert callbacks.remind_due() == 1
    html = login("wangfang").get("/agent/notifications").get_data(as_text=True)
    assert f"A callback for {tk.number} is due" in html


def test_a_ticket_moved_away_leaves_my_callbacks_and_the_due_count(login, settings, tk, org):
    from appliance.rules.access import SYSTEM
    from appliance.services import tickets
    c = callbacks.schedule_callback(org.agent, tk.id, callbacks.CallbackInput(
        phone="13800001111", due_at=utcnow() + dt.timedelta(minutes=5)))
    Callback.update(due_at=utcnow() - dt.timedelta(minutes=1)).where(
        Callback.id == c.id).execute()
    before = login("wangfang").get("/agent/callbacks").get_data(as_text=True)
    assert f'id="callback-{c.id}"' in before and 'id="callbacks-due"' in before
    tickets.update_ticket(SYSTEM, tk.id, {"department_id": org.logistics}, settings)
    html = login("wangfang").get("/agent/callbacks").get_data(as_text=True)
    assert "No open callbacks." in html and 'id="callbacks-due"' not in html
    assert tk.number not in html and "空调不制冷" not in html and "13800001111" not in html
    assert f'id="callback-{c.id}"' in login("lilei").get(
        f"/agent/tickets/{tk.id}").get_data(as_text=True)  # on the ticket, for its new team
