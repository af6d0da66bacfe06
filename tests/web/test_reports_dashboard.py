"""The reports dashboard page through the Flask test client: figure tiles with formulas,
charts as JSON plus data tables, filters and their errors (400 naming the field), and the
drill-down scoped to what the reader may see."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from appliance.rules.access import SYSTEM
from appliance.services import reports_refresh
from tests.factories import ticket

TODAY = dt.date.today().isoformat()


@pytest.fixture
def world(settings, org):
    """Two after-sales tickets and one logistics ticket, aggregated for the reports."""
    ids = {"as1": ticket(settings, SYSTEM, "打印机无法打印", department_id=org.after_sales,
                         customer_id=org.customer.customer_id).summary.id,
           "as2": ticket(settings, SYSTEM, "发票抬头错误", department_id=org.after_sales).summary.id,
           "log": ticket(settings, SYSTEM, "物流单号查询", department_id=org.logistics).summary.id}
    reports_refresh.rebuild()
    return ids


def test_the_dashboard_shows_tiles_charts_with_tables_and_drill_links(login, world):
    r = login("lead").get("/agent/reports")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'id="nav-reports"' in html
    tile = re.search(r'id="figure-volume-value">([^<]*)<', html)
    assert tile and tile.group(1).strip() == "2"            # after-sales only: the lead's department
    assert 'id="figure-volume-formula"' in html and "Tickets created in the range" in html
    # a chart: canvas + JSON data (no inline script) + its data table with drill links
    assert '<canvas data-chart="chart-volume_by_channel"' in html
    data = json.loads(re.search(r'<script type="application/json" id="chart-volume_by_channel">(.*?)</script>',
                                html, re.S).group(1))
    assert data["values"] == [2] and data["links"][0].startswith("/agent/reports/drill?")
    assert 'id="chart-volume_by_channel-table"' in html
    assert re.search(r"<script>(?!</script>)", html) is None   # no inline script anywhere
    assert "vendor/chart.umd.js" in html and "charts.js" in html


def test_a_reversed_range_is_a_400_naming_the_to_field(login, world):
    r = login("lead").get("/agent/reports?from=2026-03-10&to=2026-03-01")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert 'id="report-error-to"' in html and "must not be before the start date" in html
    assert 'id="report-figures"' not in html


def test_a_malformed_date_and_an_unknown_department_name_their_fields(login, world):
    r = login("lead").get("/agent/reports?from=10/03/2026&department=99999")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert 'id="report-error-from"' in html and "Enter a date like 2026-01-31." in html
    assert 'id="report-error-department"' in html


def test_an_empty_range_says_so(login, world):
    r = login("lead").get("/agent/reports?from=2001-01-01&to=2001-01-31")
    assert r.status_code == 200 and 'id="report-empty"' in r.get_data(as_text=True)


def test_agents_and_customers_cannot_open_the_reports(login, world):
    assert login("wangfang").get("/agent/reports").status_code == 403
    assert login("wangfang").get("/agent/reports/drill?metric=volume").status_code == 403
    assert login("zhangsan").get("/agent/reports").status_code in (302, 403)


def test_a_supervisor_drills_into_own_department_only(login, world):
    lead = login("lead")
    html = lead.get(f"/agent/reports/drill?metric=volume&to={TODAY}").get_data(as_text=True)
    assert f'/agent/tickets/{world["as1"]}"' in html and f'/agent/tickets/{world["as2"]}"' in html
    assert f'/agent/tickets/{world["log"]}"' not in html
    # asking for the other department is refused, on the page and the drill-down
    assert lead.get("/agent/reports?department=%d" % _dept(world, "log")).status_code == 403
    assert lead.get("/agent/reports/drill?metric=volume&department=%d"
                    % _dept(world, "log")).status_code == 403


def test_the_administrator_drills_into_every_department(login, world):
    html = login("admin").get("/agent/reports/drill?metric=volume").get_data(as_text=True)
    for key in ("as1", "as2", "log"):
        assert f'/agent/tickets/{world[key]}"' in html


def test_an_unknown_drill_down_metric_is_a_400_naming_it(login, world):
    r = login("lead").get("/agent/reports/drill?metric=nonsense")
    assert r.status_code == 400 and 'id="report-error-metric"' in r.get_data(as_text=True)


def test_the_dashboard_speaks_chinese(login, world):
    b = login("lead")
    b.post("/lang", data={"lang": "zh_CN", "next": "/agent/reports"}, csrf_from="/agent/reports")
    html = b.get("/agent/reports?from=2026-03-10&to=2026-03-01").get_data(as_text=True)
    assert "结束日期不能早于开始日期" in html


def _dept(world, key):
    from appliance.models import Ticket
    return Ticket.get_by_id(world[key]).department_id


def test_figures_are_shown_in_their_units(app):
    from webapp.views.agent_reports import report_count, report_value
    with app.test_request_context("/"):
        assert report_value(3900, "seconds") == "1 h 05 min"
        assert report_value(600.0, "seconds") == "10 min"
        assert report_value(87.54, "percent") == "87.5 %"
        assert report_value(-12.0, "score") == "-12.0"
        assert report_value(1234.0, "count") == "1,234"
        assert report_value(None, "percent") == "—"
        assert report_count(40.0) == "40"
