"""REST API /api/v1/processes: administrators manage definitions (the same problems the
designer shows), staff start and complete steps on tickets they can work, approvers decide
only their own approvals; every refusal has its status."""
from __future__ import annotations

import pytest

from appliance.models import ProcessDefinition, ProcessInstance
from tests import process_helpers as ph
from tests.web.apiclient import api  # noqa: F401

TASK_THEN_APPROVAL = ph.doc("api_flow", [
    ph.start(), ph.task("work", "AS", form=[{"field": "custom.order_no", "required": True,
                                             "default": None, "shown": True}]),
    ph.approval("approve", {"kind": "department_lead", "value": "FIN"}),
    ph.end(), ph.end("no", "rejected")],
    [("start", "work"), ("work", "approve"), ("approve", "end", {"on": "approved"}),
     ("approve", "no", {"on": "rejected"})])


@pytest.fixture
def po(settings, org):
    ph.configure(settings)
    return ph.add_finance(org)


def error(r) -> dict:
    return r.get_json()["error"]


def test_an_administrator_drafts_validates_publishes_and_exports(api, po):
    admin = api("admin")
    bad = {**TASK_THEN_APPROVAL, "key": "api_flow",
           "nodes": TASK_THEN_APPROVAL["nodes"] + [{"id": "x", "type": "teleport"}]}
    r = admin.post("/processes/validate", json={"document": bad})
    assert r.status_code == 200
    assert [p["path"] for p in r.get_json()["problems"]] == ["nodes[5].type"]
    r = admin.post("/processes/definitions", json={"document": bad})
    assert r.status_code == 201 and r.get_json()["status"] == "draft"
    draft = r.get_json()
    r = admin.post("/processes/definitions/api_flow/versions/1/publish")
    assert r.status_code == 400
    assert error(r)["details"]["problems"][0]["path"] == "nodes[5].type"
    assert "nodes[5].type" in error(r)["details"]["fields"]
    r = admin.open("PUT", "/processes/definitions/api_flow/draft",
                   json={"document": TASK_THEN_APPROVAL, "expected_version": draft["revision"]})
    assert r.status_code == 200 and r.get_json()["problems"] == []
    r = admin.open("PUT", "/processes/definitions/api_flow/draft",
                   json={"document": TASK_THEN_APPROVAL, "expected_version": draft["revision"]})
    assert r.status_code == 409
    r = admin.post("/processes/definitions/api_flow/versions/1/publish")
    assert r.status_code == 200 and r.get_json()["status"] == "published"
    r = admin.get("/processes/definitions/api_flow/versions/1/export")
    assert r.get_json() == TASK_THEN_APPROVAL
    assert admin.get("/processes/definitions").get_json()["items"][0]["published_version"] == 1
    assert admin.get("/processes/definitions/nope").status_code == 404
    r = admin.post("/processes/dry-run", json={"document": TASK_THEN_APPROVAL, "fields": {},
                                               "outcomes": {"approve": "rejected"}})
    assert r.get_json()["end_node"] == "no"


def test_import_refuses_a_bad_file_with_its_path_and_stores_nothing(api, po):
    admin = api("admin")
    r = admin.post("/processes/import", json={"format": 1, "key": "imp", "name": {"zh": "x"},
                                              "nodes": "nope", "edges": []})
    assert r.status_code == 400 and "nodes" in error(r)["details"]["fields"]
    r = admin.post("/processes/import", data="{not json", content_type="application/json")
    assert r.status_code == 400 and error(r)["code"] == "invalid_json"
    assert ProcessDefinition.select().count() == 0
    r = admin.post("/processes/import", json={**TASK_THEN_APPROVAL, "key": "imported"})
    assert r.status_code == 201 and r.get_json()["key"] == "imported"


def test_only_administrators_manage_definitions(api, po):
    for username in ("wangfang", "lead"):
        client = api(username)
        assert client.get("/processes/definitions").status_code == 403
        assert client.post("/processes/definitions",
                           json={"document": TASK_THEN_APPROVAL}).status_code == 403
        assert client.post("/processes/validate",
                           json={"document": TASK_THEN_APPROVAL}).status_code == 403
        assert client.post("/processes/import", json=TASK_THEN_APPROVAL).status_code == 403
        assert client.get("/processes/instances").status_code == 403
    assert api("zhangsan").get("/processes/definitions").status_code == 403
    assert api("admin").post("/processes/definitions", json={"documnt": {}}).status_code == 400


def test_agents_run_a_ticket_through_and_approvers_decide_only_theirs(api, settings, po):
    ph.publish(TASK_THEN_APPROVAL)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    agent = api("wangfang")
    assert api("lilei").post(f"/processes/tickets/{t.id}/start",
                             json={"key": "api_flow"}).status_code == 404
    r = agent.post(f"/processes/tickets/{t.id}/start", json={"key": "api_flow"})
    assert r.status_code == 201
    instance_id = r.get_json()["id"]
    assert agent.post(f"/processes/tickets/{t.id}/start",
                      json={"key": "api_flow"}).status_code == 409
    ph.drain()
    history = agent.get(f"/processes/tickets/{t.id}").get_json()["items"]
    work = next(s for s in history[0]["steps"] if s["node_id"] == "work")
    assert work["state"] == "active"
    r = agent.post(f"/processes/steps/{work['id']}/complete", json={"fields": {}})
    assert r.status_code == 400 and error(r)["details"]["fields"] == {
        "custom.order_no": "required"}
    assert api("lilei").post(f"/processes/steps/{work['id']}/complete",
                             json={}).status_code == 404
    r = agent.post(f"/processes/steps/{work['id']}/complete",
                   json={"fields": {"custom.order_no": "DD-1"}})
    assert r.status_code == 200 and r.get_json()["state"] == "completed"
    assert agent.post(f"/processes/steps/{work['id']}/complete", json={}).status_code == 409
    ph.drain()
    assert agent.get("/processes/approvals").get_json()["items"] == []
    lead = api("zhoujing")
    [mine] = lead.get("/processes/approvals").get_json()["items"]
    for other in ("wangfang", "admin", "sunli"):
        r = api(other).post(f"/processes/approvals/{mine['id']}/decision",
                            json={"decision": "approved"})
        assert r.status_code == 404
    r = lead.post(f"/processes/approvals/{mine['id']}/decision", json={"decision": "maybe"})
    assert r.status_code == 400
    r = lead.post(f"/processes/approvals/{mine['id']}/decision",
                  json={"decision": "rejected", "comment": "不符合"})
    assert r.status_code == 200 and r.get_json()["decision"] == "rejected"
    assert lead.post(f"/processes/approvals/{mine['id']}/decision",
                     json={"decision": "approved"}).status_code == 409
    ph.drain()
    assert ProcessInstance.get_by_id(instance_id).status == "rejected"
    decided = lead.get("/processes/approvals?include_decided=true").get_json()["items"]
    assert [d["decision"] for d in decided] == ["rejected"]


def test_the_monitor_retries_and_cancels(api, settings, po):
    document = ph.doc("broken", [ph.start(), ph.approval(
        "approve", {"kind": "department_lead", "value": "LOG"}), ph.end(),
        ph.end("no", "rejected")], [("start", "approve"), ("approve", "end", {"on": "approved"}),
                                    ("approve", "no", {"on": "rejected"})])
    ph.publish(document)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    api("wangfang").post(f"/processes/tickets/{t.id}/start", json={"key": "broken"})
    ph.drain()
    admin = api("admin")
    [row] = admin.get("/processes/instances?status=error").get_json()["items"]
    assert row["ticket_number"] == t.number and "nobody" in row["error"]
    assert api("lead").post(f"/processes/instances/{row['id']}/retry").status_code == 403
    assert admin.post(f"/processes/instances/{row['id']}/retry").status_code == 200
    ph.drain()
    assert admin.get("/processes/instances?status=bogus").status_code == 400
    assert api("wangfang").post(f"/processes/instances/{row['id']}/cancel").status_code == 403
    r = api("lead").post(f"/processes/instances/{row['id']}/cancel")
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert api("lilei").get(f"/processes/instances/{row['id']}").status_code == 404


def test_a_draft_can_be_discarded_but_published_versions_stay(api, po):
    admin = api("admin")
    ph.publish(TASK_THEN_APPROVAL)
    assert admin.delete("/processes/definitions/api_flow/draft").status_code == 404
    admin.open("PUT", "/processes/definitions/api_flow/draft",
               json={"document": TASK_THEN_APPROVAL})
    assert api("wangfang").delete("/processes/definitions/api_flow/draft").status_code == 403
    assert admin.delete("/processes/definitions/api_flow/draft").status_code == 204
    versions = admin.get("/processes/definitions/api_flow/versions").get_json()["items"]
    assert [(v["version"], v["status"]) for v in versions] == [(1, "published")]
