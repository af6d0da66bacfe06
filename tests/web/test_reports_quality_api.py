"""GET /api/v1/reports/follow-ups and /api/v1/reports/quality on SQLite and PostgreSQL: the
figures of the agent pages, each body valid by the OpenAPI document, the scope the services
decide (an agent sees only their own quality scores and no follow-up counts; a customer
neither), bad dates and an unknown department named by their query name (400), another
department refused (403)."""
from __future__ import annotations

import jsonschema
import pytest

from appliance import jobs
from appliance.models import FollowUpVisit, Job, QualityInspection, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import (comments, customers, follow_up, follow_up_rules,
                                org as org_service, tickets)
from tests.web.apiclient import ApiClient, token_for
from webapp.api.openapi import DOCUMENT


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def valid(body: dict, schema: str) -> dict:
    jsonschema.validate(body, {"$ref": f"#/components/schemas/{schema}",
                               "components": DOCUMENT["components"]})
    return body


def api(app, username: str) -> ApiClient:
    return ApiClient(app, token_for(username))


@pytest.fixture
def worked(settings, org):
    """A resolved printer ticket of 王芳's whose follow-up visit she recorded as satisfied,
    and her inspected (rule-scored) public reply on it."""
    printers = org_service.save_category(SYSTEM, "打印机", department_id=org.after_sales).id
    follow_up_rules.save_rule(SYSTEM, None, {"name": "打印机回访", "category_ids": [printers],
                                             "delay_minutes": 0, "script": "问题解决了吗？"})
    customers.update_customer(SYSTEM, org.customer.customer_id, {
        "contacts": [{"kind": "phone", "value": "13800001111"}]})
    t = tickets.create_ticket(SYSTEM, tickets.TicketInput(
        subject="打印机卡纸", department_id=org.after_sales, category_id=printers,
        customer_id=org.customer.customer_id, assignee_id=org.agent.user_id), settings).summary
    comments.add_comment(org.agent, t.id, "您好，已为您更换硼鼓。祝您生活愉快！", settings)
    for j in list(Job.select().where(Job.name == "quality_score").order_by(Job.id)):
        jobs.run_job(j.id)
    tickets.transition_ticket(org.agent, t.id, "resolved", settings)
    visit = FollowUpVisit.get()
    follow_up.record_outcome(org.agent, visit.id, "satisfied", "已解决", settings)
    return t, QualityInspection.get()


def test_the_follow_up_counts_answer_supervisors_with_the_pages_figures(app, org, worked):
    today = utcnow().date().isoformat()
    r = api(app, "lead").get(f"/reports/follow-ups?start={today}&end={today}")
    body = valid(r.get_json(), "FollowUpReport")
    assert r.status_code == 200 and body["start"] == body["end"] == today
    assert body["totals"] == {"satisfied": 1, "not_solved": 0, "unreachable": 0,
                              "cancelled": 0, "total": 1}
    assert [(a["agent"]["name"], a["satisfied"]) for a in body["by_agent"]] == [("王芳", 1)]
    assert body["by_department"][0]["department"]["id"] == org.after_sales
    default = valid(api(app, "lead").get("/reports/follow-ups").get_json(), "FollowUpReport")
    assert default["end"] == today and default["totals"]["total"] == 1


def test_the_follow_up_counts_refuse_agents_and_name_a_bad_date(app, org, worked):
    assert api(app, "wangfang").get("/reports/follow-ups").status_code == 403
    r = api(app, "lead").get("/reports/follow-ups?start=2026-02-02&end=2026-02-01")
    assert r.status_code == 400 and "end" in r.get_json()["error"]["details"]["fields"]
    r = api(app, "lead").get("/reports/follow-ups?start=yesterday")
    assert r.status_code == 400 and "start" in r.get_json()["error"]["details"]["fields"]
    r = api(app, "lead").get("/reports/follow-ups?department_id=999999")
    assert r.status_code == 400 and "department_id" in r.get_json()["error"]["details"]["fields"]
    r = api(app, "lead").get(f"/reports/follow-ups?department_id={org.logistics}")
    assert r.status_code == 403          # another department than the supervisor's


def test_the_quality_scores_are_the_agents_own_and_the_supervisors_department(app, org, worked):
    assert api(app, "zhangsan").get("/reports/quality").status_code == 403
    _, inspection = worked
    mine = valid(api(app, "wangfang").get("/reports/quality").get_json(), "QualityReport")
    assert [a["agent"]["id"] for a in mine["agents"]] == [org.agent.user_id]
    assert mine["agents"][0]["inspections"] == 1
    assert mine["agents"][0]["average"] == pytest.approx(float(inspection.score), abs=0.05)
    assert mine["weeks"][0]["week"] <= utcnow().date().isoformat()
    lead = valid(api(app, "lead").get("/reports/quality").get_json(), "QualityReport")
    assert [a["agent"]["name"] for a in lead["agents"]] == ["王芳"]
    r = api(app, "lead").get("/reports/quality?end=2026-13-01")
    assert r.status_code == 400 and "end" in r.get_json()["error"]["details"]["fields"]
    r = api(app, "lead").get("/reports/quality?agent_id=x")
    assert r.status_code == 400 and "agent_id" in r.get_json()["error"]["details"]["fields"]
