"""GET /api/v1/reports/dashboard and /dashboard/tickets: the dashboard as JSON with each
metric's translated label and formula, errors as the API's problem JSON naming the
field, and the roles' scopes (services.reports)."""
from __future__ import annotations

import pytest

from appliance.services import reports_refresh
from tests.factories import make_org, ticket
from tests.web.apiclient import ApiClient, token_for
from webapp import create_app


@pytest.fixture
def org(settings):
    return make_org()


@pytest.fixture
def api(settings, org):
    app = create_app(settings)
    app.config.update(TESTING=True)
    return lambda username: ApiClient(app, token_for(username))


def test_the_dashboard_answers_figures_series_and_formulas(settings, org, api):
    ticket(settings, org.admin, department_id=org.after_sales, channel="email")
    reports_refresh.refresh()
    r = api("admin").get("/reports/dashboard", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 200
    body = r.get_json()
    figures = {f["key"]: f for f in body["figures"]}
    assert figures["volume"] == {"key": "volume", "value": 1.0, "unit": "count",
                                 "numerator": 1.0, "denominator": 1.0}
    assert figures["fcr"]["value"] is None
    channel = next(s for s in body["series"] if s["key"] == "volume_by_channel")
    assert channel["labels"] == ["email"] and channel["values"] == [1]
    assert body["empty"] is False and body["filter"]["department_id"] is None
    assert set(body["metrics"]["aht"]) == {"label", "unit", "formula", "kind"}
    en = api("admin").get("/reports/dashboard", headers={"Accept-Language": "en"}).get_json()
    assert en["metrics"]["aht"]["label"] == "Average handle time"


@pytest.mark.parametrize("query, field", [
    ("from=2026-03-09&to=2026-03-01", "to"), ("from=2026-13-01", "from"),
    ("from=2024-01-01&to=2026-01-01", "from"), ("department=999", "department"),
    ("channel=fax", "channel")])
def test_bad_filters_answer_400_naming_the_field(settings, org, api, query, field):
    r = api("admin").get(f"/reports/dashboard?{query}")
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["code"] == "validation_error" and list(error["details"]["fields"]) == [field]


def test_agents_get_their_own_figures_and_customers_nothing(settings, org, api):
    ticket(settings, org.admin, department_id=org.after_sales, assignee_id=org.agent.user_id)
    ticket(settings, org.admin, department_id=org.after_sales)
    reports_refresh.refresh()
    mine = api("wangfang").get("/reports/dashboard").get_json()
    assert mine["filter"]["agent_id"] == org.agent.user_id
    assert next(f for f in mine["figures"] if f["key"] == "volume")["value"] == 1
    assert api("wangfang").get(f"/reports/dashboard?agent={org.agent2.user_id}").status_code == 403
    assert api("lead").get(f"/reports/dashboard?department={org.logistics}").status_code == 403
    assert api("zhangsan").get("/reports/dashboard").status_code == 403


def test_the_tickets_behind_a_figure_page_by_page(settings, org, api):
    made = [ticket(settings, org.admin, department_id=org.after_sales).summary.id
            for _ in range(3)]
    reports_refresh.refresh()
    r = api("admin").get("/reports/dashboard/tickets?metric=volume&per_page=2")
    assert r.status_code == 200
    body = r.get_json()
    assert body["total"] == 3 and body["pages"] == 2
    assert body["ticket_ids"] == sorted(made, reverse=True)[:2]
    assert body["items"][0]["id"] == body["ticket_ids"][0]
    bad = api("admin").get("/reports/dashboard/tickets?metric=nope")
    assert bad.status_code == 400 and "metric" in bad.get_json()["error"]["details"]["fields"]
    assert api("admin").get("/reports/dashboard/tickets?metric=volume&page=x").status_code == 400
