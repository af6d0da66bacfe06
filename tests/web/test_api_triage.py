"""REST API for AI triage: read a ticket's triage with versions, undo what AI changed."""
from __future__ import annotations

from appliance.models import Ticket
from tests.web.aifakes import ai, fresh_model_status  # noqa: F401
from tests.web.apiclient import api  # noqa: F401

CONFIDENT = "printer jammed 打印机"


def test_staff_read_suggestions_confidence_and_versions(api, ai, org):
    t = ai(CONFIDENT)
    r = api("wangfang").get(f"/tickets/{t}/triage")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["ticket_id"] == t and body["triage_state"] == "auto"
    dept = next(s for s in body["suggestions"] if s["field"] == "department")
    assert dept["value"] == str(org.after_sales) and dept["label"] == "售后"
    assert dept["confidence"] == 0.9 and dept["applied"] is True
    fast = next(run for run in body["runs"] if run["stage"] == "fast")
    assert fast["classifier_versions"]["department"] == "cold:1" and fast["can_undo"]
    enrich = next(run for run in body["runs"] if run["stage"] == "enrich")
    assert enrich["model"] == "fake-0.5b" and enrich["prompt_version"]


def test_customers_may_not_read_triage_and_unknown_tickets_are_404(api, ai, org):
    t = ai(CONFIDENT)
    r = api("zhangsan").get(f"/tickets/{t}/triage")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert api("wangfang").get("/tickets/999/triage").status_code == 404


def test_undo_without_a_run_puts_back_everything_ai_changed(api, ai, org):
    t = ai(CONFIDENT, "order <b>SO-1</b>")
    r = api("wangfang").post(f"/tickets/{t}/triage/undo", json={})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert "department_id" in body["reverted"] and "summary" in body["reverted"]
    assert all(not run["can_undo"] for run in body["triage"]["runs"])
    row = Ticket.get_by_id(t)
    assert row.department_id is None and row.summary == ""
    again = api("wangfang").post(f"/tickets/{t}/triage/undo", json={})
    assert again.get_json()["reverted"] == []


def test_undo_of_one_run_and_of_an_unknown_run(api, ai, org):
    t = ai(CONFIDENT)
    client = api("wangfang")
    fast = next(run for run in client.get(f"/tickets/{t}/triage").get_json()["runs"]
                if run["stage"] == "fast")
    r = client.post(f"/tickets/{t}/triage/undo", json={"run_id": fast["id"]})
    assert r.status_code == 200 and "department_id" in r.get_json()["reverted"]
    assert Ticket.get_by_id(t).summary != ""  # the enrichment run was left alone
    r = client.post(f"/tickets/{t}/triage/undo", json={"run_id": 99999})
    assert r.status_code == 404
    r = client.post(f"/tickets/{t}/triage/undo", json={"run": 1})
    assert r.status_code == 400 and "run" in r.get_json()["error"]["details"]["fields"]


def test_answers_match_the_openapi_document(api, ai, org):
    """The contract test's seed has no triage runs; here the runs exist."""
    import jsonschema_rs
    from webapp.api.openapi import DOCUMENT
    t = ai(CONFIDENT, "order <b>SO-1</b>")
    client = api("wangfang")
    for name, r in (("Triage", client.get(f"/tickets/{t}/triage")),
                    ("TriageUndone", client.post(f"/tickets/{t}/triage/undo", json={}))):
        schema = {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
        assert r.status_code == 200, r.get_json()
        jsonschema_rs.Draft202012Validator(schema).validate(r.get_json())
