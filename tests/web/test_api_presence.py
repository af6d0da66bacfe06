"""REST API for the caller's own dispatch state: presence, take next, notifications and
the dispatch profile; answers are checked against the OpenAPI document."""
from __future__ import annotations

import jsonschema_rs
import pytest

from appliance.models import AgentProfile, AgentStat, Ticket
from appliance.rules.access import SYSTEM
from appliance.services import dispatch
from appliance.services import org as org_service
from tests.factories import ticket
from tests.web.apiclient import api  # noqa: F401
from webapp.api.openapi import DOCUMENT


def conforms(r, name: str) -> dict:
    body = r.get_json()
    schema = {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
    jsonschema_rs.Draft202012Validator(schema).validate(body)
    return body


def queued(settings, department_id: int, who, subject="洗衣机漏水") -> int:
    t = ticket(settings, who, subject, department_id=department_id).summary
    Ticket.update(triage_state="auto").where(Ticket.id == t.id).execute()  # as after triage
    dispatch.dispatch_ticket(t.id)
    return t.id


# --- presence -----------------------------------------------------------------------------

def test_an_agent_reads_and_sets_their_presence(api, org):
    client = api("wangfang")
    r = client.get("/me/presence")
    assert r.status_code == 200 and conforms(r, "Presence")["presence"] == "offline"
    r = client.open("PUT", "/me/presence", json={"presence": "online"})
    assert r.status_code == 200, r.get_json()
    body = conforms(r, "Presence")
    assert body["presence"] == body["effective"] == "online" and body["auto"] is False
    assert body["capacity"] == 10 and body["load"] == 0
    assert AgentProfile.get(AgentProfile.user == org.agent.user_id).presence == "online"


@pytest.mark.parametrize("body, field", [({"presence": "asleep"}, "presence"),
                                         ({}, "presence"),
                                         ({"presence": "away", "user_id": 3}, "user_id")])
def test_a_bad_presence_body_is_a_400_naming_the_field(api, org, body, field):
    r = api("wangfang").open("PUT", "/me/presence", json=body)
    assert r.status_code == 400 and field in r.get_json()["error"]["details"]["fields"]


def test_customers_have_no_presence_to_read_or_set(api, org):
    client = api("zhangsan")
    assert client.get("/me/presence").status_code == 403
    r = client.open("PUT", "/me/presence", json={"presence": "online"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"


# --- take next ----------------------------------------------------------------------------

def test_take_next_gives_the_waiting_ticket_then_says_the_queue_is_empty(settings, api, org):
    t = queued(settings, org.after_sales, org.admin)
    client = api("wangfang")
    r = client.post("/me/take-next")
    assert r.status_code == 200 and conforms(r, "TakeNext") == {"ticket_id": t, "reason": ""}
    assert Ticket.get_by_id(t).assignee_id == org.agent.user_id
    r = client.post("/me/take-next")
    assert r.status_code == 200 and r.get_json() == {"ticket_id": None, "reason": "queue_empty"}


def test_take_next_outside_a_department_is_forbidden(api, org):
    r = api("admin").post("/me/take-next")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"


# --- notifications ------------------------------------------------------------------------

@pytest.fixture
def notified(settings, org):
    empty = org_service.save_department(SYSTEM, "EMPTY", "空部门", "Empty")
    return queued(settings, empty.id, org.admin, "没人管的工单")


def test_notifications_are_listed_and_marked_read_by_id(api, org, notified):
    client = api("admin")
    r = client.get("/me/notifications?unread=true")
    items = conforms(r, "NotificationList")["items"]
    assert [(n["kind"], n["ticket_id"], n["data"]["department"], n["read"]) for n in items] == [
        ("routing_no_agents", notified, "空部门", False)]
    r = client.post("/me/notifications/read", json={"ids": [items[0]["id"]]})
    assert r.status_code == 200 and conforms(r, "NotificationsMarked") == {"marked": 1,
                                                                           "unread": 0}
    assert client.get("/me/notifications?unread=true").get_json()["items"] == []
    assert client.get("/me/notifications").get_json()["items"][0]["read"] is True


def test_mark_all_read_and_other_peoples_ids_are_ignored(api, org, notified):
    theirs = api("admin").get("/me/notifications").get_json()["items"][0]["id"]
    agent = api("wangfang")
    r = agent.post("/me/notifications/read", json={"ids": [theirs]})
    assert r.get_json() == {"marked": 0, "unread": 0}
    assert api("admin").post("/me/notifications/read", json={"all": True}).get_json() == {
        "marked": 1, "unread": 0}


@pytest.mark.parametrize("body", [{}, {"ids": [1], "all": True}, {"all": False},
                                  {"ids": ["1"]}, {"ids": [0]}, {"every": True}])
def test_mark_read_needs_either_ids_or_all(api, org, body):
    r = api("admin").post("/me/notifications/read", json=body)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "validation_error"


def test_a_bad_notifications_query_is_a_400(api, org):
    assert api("admin").get("/me/notifications?limit=0").status_code == 400
    assert api("admin").get("/me/notifications?unread=yes").status_code == 400


# --- dispatch profile ---------------------------------------------------------------------

def test_the_dispatch_profile_matches_the_document(api, org):
    repair = org_service.save_skill(SYSTEM, "售后维修")
    org_service.set_agent_skill(SYSTEM, org.agent.user_id, repair.id, 3)
    printer = org_service.save_category(SYSTEM, "打印机")
    # The statistics job of issue 4 writes these rows; here they are set up directly.
    AgentStat.create(user=org.agent.user_id, category=None, window_days=30, closed=3)
    AgentStat.create(user=org.agent.user_id, category=printer.id, window_days=30, closed=2,
                     median_handle_minutes=12.5, fcr_rate=1.0, reopen_rate=0.0, csat=5.0)
    r = api("wangfang").get("/me/dispatch-profile")
    assert r.status_code == 200, r.get_json()
    body = conforms(r, "MyDispatchProfile")
    assert body["display_name"] == "王芳" and body["department"]["name"] == "售后"
    assert body["skills"] == [{"name": "售后维修", "level": 3}]
    assert [e["category"] for e in body["efficiency"]] == [None, {"id": printer.id,
                                                                   "name": "打印机"}]
    assert api("zhangsan").get("/me/dispatch-profile").status_code == 403
