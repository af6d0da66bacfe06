"""The dispatch board follows routing live: a supervisor keeps the board open while a
ticket is created and dispatched through the real services in this test process (on the
server's own database); the decision shows up within seconds, without a reload."""
import re
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def site_config(base: str, tmp_path_factory) -> Path:
    """The running appliance's config file (tests/e2e/conftest.py writes it next to the site)."""
    bind = "bind = " + '"' + base.removeprefix("http://") + '"'
    for cfg in Path(tmp_path_factory.getbasetemp()).glob("site*/gongdan.toml"):
        if bind in cfg.read_text(encoding="utf-8"):
            return cfg
    raise AssertionError(f"no site config for {base}")


@pytest.fixture
def site_db(appliance_site, tmp_path_factory, monkeypatch):
    """This process bound to the server's database, as a CLI command would be."""
    from appliance import jobs
    from appliance.bootstrap import boot
    from appliance.db import database
    monkeypatch.setenv("GONGDAN_CONFIG", str(site_config(appliance_site[0], tmp_path_factory)))
    boot(queue=False)  # jobs stay in the outbox; the site's worker sweeps them up
    jobs.set_enqueuer(None)
    yield
    database.close()


def dispatch_new_ticket(subject: str) -> str:
    """An after-sales ticket, triaged and dispatched by the real services."""
    from appliance import runtime
    from appliance.models import Department, Ticket
    from appliance.services import dispatch, tickets
    from tests.factories import actor
    after_sales = Department.get(Department.code == "AS").id
    t = tickets.create_ticket(actor("admin"), tickets.TicketInput(
        subject=subject, department_id=after_sales, channel="phone"), runtime.settings()).summary
    Ticket.update(triage_state="auto").where(Ticket.id == t.id).execute()
    dispatch.dispatch_ticket(t.id)
    return t.number


def log_in(page, base, username, password):
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_a_new_routing_decision_appears_on_the_open_board_without_a_reload(
        appliance_site, chromium, screenshots, site_db):
    base, passwords = appliance_site
    page = chromium.new_context(locale="en-US").new_page()
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    log_in(page, base, "lead", passwords["lead"])  # logging in puts the supervisor online
    page.click("#nav-board")
    page.wait_for_load_state()
    assert page.locator("h1", has_text="Dispatch board").count() == 1
    page.evaluate("window.__sameBoard = true")  # gone if the page reloads
    page.screenshot(path=str(screenshots / "board-01-open.png"), full_page=True)

    number = dispatch_new_ticket("冰箱不制冷")

    decision = page.locator("#board-decisions li", has_text=number)
    deadline = time.time() + 12
    while decision.count() == 0 and time.time() < deadline:
        time.sleep(0.25)
    assert decision.count() == 1, "the decision did not appear within 12 s"
    assert page.evaluate("window.__sameBoard") is True
    text = decision.first.inner_text()
    assert re.search(r"Assigned to (陈主管|王芳)", text), text
    page.screenshot(path=str(screenshots / "board-02-live-decision.png"), full_page=True)
    assert console_errors == [], console_errors  # CSP violations would show here
