"""The dispatch API: the supervisor board, reassignment and a ticket's routing decisions,
with their roles (supervisors and admins; agents see decisions without runners-up;
customers see no routing at all)."""
from __future__ import annotations

import pytest

from appliance.models import DispatchPolicy, QueueEntry, Ticket, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import dispatch, dispatch_actions, org as org_services, presence, users
from tests.factories import actor, ticket
from tests.web.apiclient import api  # noqa: F401


@pytest.fixture
def world(settings, org):
    repair = org_services.save_skill(SYSTEM, "售后维修")
    users.create_user(SYSTEM, "qian", "钱进", "agent", department_id=org.after_sales)
    org_services.set_agent_skill(SYSTEM, actor("qian").user_id, repair.id, 5)
    org_services.set_agent_skill(SYSTEM, org.agent.user_id, repair.id, 4)
    for who in (actor("qian"), org.agent):
        presence.set_presence(who, "online")
    return org


def routed(settings, o, subject="洗衣机漏水", department=None):
    t = ticket(settings, o.admin, subject, department_id=department or o.after_sales,
               customer_id=o.customer.customer_id).summary
    Ticket.update(required_skills=["售后维修"] if department is None else [],
                  triage_state="auto").where(Ticket.id == t.id).execute()
    dispatch.dispatch_ticket(t.id)
    return t


def test_a_supervisor_reads_the_board_of_their_department(world, settings, api):
    t = routed(settings, world)
    routed(settings, world, "物流延误", department=world.logistics)
    r = api("lead").get("/supervisor/board", headers={"Accept-Language": "en"})
    assert r.status_code == 200
    body = r.get_json()
    assert [q["department"]["name"] for q in body["queues"]] == ["售后"]
    assert {a["name"] for a in body["agents"]} == {"王芳", "钱进", "陈主管"}
    d = body["decisions"][0]
    assert d["number"] == t.number and d["agent"]["name"] == "钱进"
    assert d["sentence"].startswith("Assigned to 钱进: 售后维修 level 5")
    assert d["runners_up"][0]["name"] == "王芳" and "skill" in d["runners_up"][0]["parts"]


def test_an_administrator_reads_every_department_and_queued_tickets_say_why(world, settings, api):
    routed(settings, world, "物流延误", department=world.logistics)
    body = api("admin").get("/supervisor/board", headers={"Accept-Language": "en"}).get_json()
    logistics = next(q for q in body["queues"] if q["department"]["id"] == world.logistics)
    assert logistics["waiting"] == 1 and logistics["sla_risk"] == 0
    assert logistics["tickets"][0]["reason_text"] == "Waiting: nobody is available"
    assert body["decisions"][0]["sentence"] == "Waiting: nobody is available"


def test_agents_and_customers_may_not_read_the_board(world, api):
    for who in ("wangfang", "zhangsan"):
        r = api(who).get("/supervisor/board")
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"


def test_a_supervisor_reassigns_and_the_manual_decision_comes_back(world, settings, api):
    t = routed(settings, world)
    r = api("lead").post(f"/tickets/{t.id}/reassign", headers={"Accept-Language": "en"},
                         json={"user_id": world.agent.user_id, "note": "客户点名"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["assignee"]["name"] == "王芳" and body["waiting"] is None
    assert body["decisions"][0]["mode"] == "manual"
    assert body["decisions"][0]["sentence"] == "Assigned by hand by 陈主管 to 王芳 Note: 客户点名"
    assert Ticket.get_by_id(t.id).assignee_id == world.agent.user_id


def test_a_reassignment_out_of_the_callers_sight_answers_200_without_the_routing(world, settings,
                                                                                api):
    """The lead saw the logistics ticket only as its assignee: the change is made, and the
    answer says so without the routing the lead may no longer read."""
    t = routed(settings, world, "物流延误", department=world.logistics)
    dispatch_actions.reassign(world.admin, t.id, world.supervisor.user_id)
    r = api("lead").post(f"/tickets/{t.id}/reassign", json={"user_id": world.agent2.user_id})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"ticket_id": t.id, "assignee_id": world.agent2.user_id}
    assert Ticket.get_by_id(t.id).assignee_id == world.agent2.user_id
    seen = api("admin").post(f"/tickets/{t.id}/reassign", json={"user_id": None}).get_json()
    assert (seen["ticket_id"], seen["assignee_id"], seen["assignee"]) == (t.id, None, None)
    assert seen["decisions"][0]["mode"] == "manual"


def test_of_an_overflowing_department_the_board_lists_only_escalated_tickets(world, settings,
                                                                             api):
    DispatchPolicy.create(department=world.logistics, overflow_department=world.after_sales)
    plain = routed(settings, world, "物流延误", department=world.logistics)
    escalated = routed(settings, world, "物流升级", department=world.logistics)
    QueueEntry.update(escalated_at=utcnow()).where(QueueEntry.ticket == escalated.id).execute()
    body = api("lead").get("/supervisor/board").get_json()
    queues = {q["department"]["id"]: q for q in body["queues"]}
    assert not queues[world.after_sales]["escalated_only"]
    logistics = queues[world.logistics]
    assert logistics["escalated_only"] and logistics["waiting"] == 1
    assert [w["ticket_id"] for w in logistics["tickets"]] == [escalated.id]
    assert "李雷" not in {a["name"] for a in body["agents"]}
    assert not {d["ticket_id"] for d in body["decisions"]} & {plain.id, escalated.id}


def test_null_sends_the_ticket_back_to_the_queue(world, settings, api):
    t = routed(settings, world)
    r = api("admin").post(f"/tickets/{t.id}/reassign", json={"user_id": None})
    assert r.status_code == 200 and r.get_json()["assignee"] is None
    assert Ticket.get_by_id(t.id).assignee_id is None


def test_reassign_checks_its_input_and_the_callers_role(world, settings, api):
    t = routed(settings, world)
    lead = api("lead")
    assert lead.post(f"/tickets/{t.id}/reassign", json={"note": "x"}).get_json()[
        "error"]["details"]["fields"] == {"user_id": "required"}
    r = lead.post(f"/tickets/{t.id}/reassign", json={"user_id": world.customer.user_id})
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["fields"] == {"user_id": "must be an active agent"}
    assert lead.post(f"/tickets/{t.id}/reassign", json={"user_id": 1, "x": 1}).status_code == 400
    r = api("wangfang").post(f"/tickets/{t.id}/reassign", json={"user_id": None})
    assert r.status_code == 403
    other = routed(settings, world, "物流延误", department=world.logistics)
    r = lead.post(f"/tickets/{other.id}/reassign", json={"user_id": world.agent.user_id})
    assert r.status_code == 404


def test_agents_read_decisions_without_runners_up(world, settings, api):
    t = routed(settings, world)
    r = api("wangfang").get(f"/tickets/{t.id}/routing", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 200
    d = r.get_json()["decisions"][0]
    assert d["agent"]["name"] == "钱进" and d["runners_up"] == [] and "钱进" in d["sentence"]
    supervisor = api("lead").get(f"/tickets/{t.id}/routing").get_json()
    assert supervisor["decisions"][0]["runners_up"][0]["name"] == "王芳"


def test_customers_see_no_routing_of_their_own_ticket(world, settings, api):
    t = routed(settings, world)
    customer = api("zhangsan")
    assert customer.get(f"/tickets/{t.id}/routing").status_code == 403
    events = customer.get(f"/tickets/{t.id}").get_json()["events"]
    assert not {e["kind"] for e in events} & {"routed", "queued", "escalated", "redistributed",
                                              "assigned"}
    assert customer.get(f"/tickets/{t.id}").status_code == 200
