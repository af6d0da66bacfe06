"""SLA in a real browser against a real gunicorn + Huey worker: the administrator adds a
policy through the form, an agent creates a ticket, the worker's SLA job stores its
clocks, and the open ticket page gets the SLA panel live, the queue the due column."""
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def log_in(page, base, username, password):
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_a_policy_made_in_the_admin_form_shows_on_a_new_ticket(appliance_site, chromium,
                                                                screenshots):
    base, passwords = appliance_site
    admin = chromium.new_context(locale="en-US").new_page()
    log_in(admin, base, "admin", passwords["admin"])
    admin.goto(base + "/admin/sla/policies/new")
    admin.fill("input[name=name]", "E2E standard")
    admin.fill("input[name=first_response_minutes]", "600")
    admin.fill("input[name=resolution_minutes]", "60")        # out of order: refused
    admin.click("#sla-policy-form button[type=submit]")
    admin.wait_for_load_state()
    assert "longer than the resolution target" in admin.inner_text("#err-resolution_minutes")
    admin.fill("input[name=resolution_minutes]", "2400")
    admin.click("#sla-policy-form button[type=submit]")
    admin.wait_for_load_state()
    assert "E2E standard" in admin.inner_text("#sla-policies")
    admin.screenshot(path=str(screenshots / "sla-01-admin.png"), full_page=True)

    agent = chromium.new_context(locale="zh-CN").new_page()
    log_in(agent, base, "wangfang", passwords["wangfang"])
    agent.goto(base + "/agent/tickets/new")
    agent.fill("input[name=subject]", "空调不制冷")
    agent.select_option("select[name=department_id]", index=1)
    agent.click("#create-ticket")
    agent.wait_for_load_state()
    # The worker computes the clocks after commit; the open page gets the panel by its
    # live event (sla_changed), without a reload.
    agent.wait_for_selector("#sla-first_response", timeout=30000)
    assert agent.locator("#sla[data-sla-running]").count() == 1
    assert "E2E standard" in agent.inner_text("#sla")
    agent.screenshot(path=str(screenshots / "sla-02-ticket-panel.png"), full_page=True)
    agent.goto(base + "/agent/?view=open&sort=sla_due")
    assert agent.locator(".sla-badge").count() >= 1
    agent.screenshot(path=str(screenshots / "sla-03-queue.png"), full_page=True)
