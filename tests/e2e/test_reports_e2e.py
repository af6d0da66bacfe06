"""The reports dashboard in a real Chromium against a real gunicorn: Chart.js (built from
npm into webapp/static/vendor) draws every chart from the page's JSON, under the app's
Content-Security-Policy with no violation reported, and a bar's table row leads to the
tickets behind it."""
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CHART_JS = Path(__file__).resolve().parents[2] / "webapp" / "static" / "vendor" / "chart.umd.js"

# Collects CSP violations the page reports (an init script is injected by the browser's
# debugging protocol, not by the page, so the CSP does not govern it).
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""

DRAWN = """(id) => {
  const canvas = document.querySelector(`canvas[data-chart="${id}"]`);
  const chart = window.Chart && window.Chart.getChart(canvas);
  const ctx = canvas.getContext("2d");
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) painted++;
  return {chart: !!chart, painted: painted, width: canvas.width};
}"""


def log_in(page, base, username, password):
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_the_dashboard_draws_its_charts_under_the_csp(appliance_site, chromium, screenshots):
    assert CHART_JS.is_file(), "webapp/static/vendor/chart.umd.js is missing: run `make assets`"
    base, passwords = appliance_site
    page = chromium.new_context(locale="zh-CN").new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" or "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.add_init_script(WATCH_CSP)
    log_in(page, base, "lead", passwords["lead"])
    page.click("#nav-reports")
    page.wait_for_selector("canvas[data-chart-ready]", timeout=15000)
    ids = page.eval_on_selector_all("canvas[data-chart]", "cs => cs.map(c => c.dataset.chart)")
    assert "chart-volume_by_hour" in ids and "chart-backlog_by_age" in ids
    for chart_id in ids:
        drawn = page.evaluate(DRAWN, chart_id)
        assert drawn["chart"] and drawn["width"] > 0 and drawn["painted"] > 100, (chart_id, drawn)
    assert page.evaluate("window.__csp") == []
    assert [p for p in problems if "favicon" not in p] == []
    csp = page.request.get(base + "/agent/reports").headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp
    page.screenshot(path=str(screenshots / "reports-01-dashboard.png"), full_page=True)

    # a reversed range: the field named, no crash
    page.fill("#report-from", "2026-03-10")
    page.fill("#report-to", "2026-03-01")
    page.click("#report-show")
    page.wait_for_load_state()
    assert page.locator("#report-error-to").count() == 1
    # the data table's links lead to the tickets behind a bar
    page.goto(base + "/agent/reports")
    page.click("#section-chart-backlog_by_age summary")
    page.click("#chart-backlog_by_age-table tbody a >> nth=0")
    page.wait_for_load_state()
    assert page.locator("#drill-tickets").count() == 1
    page.screenshot(path=str(screenshots / "reports-02-drill.png"), full_page=True)
