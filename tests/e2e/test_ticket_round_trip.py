"""The whole loop in a real browser against a real gunicorn + Huey worker:
a customer submits a ticket in the portal, an agent finds it in the queue and by
search, replies, the customer sees the reply, the agent resolves it."""
import re
import time

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SUBJECT = "打印机无法打印 <b>urgent</b>"


def log_in(page, base, username, password):
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_customer_and_agent_work_a_ticket_end_to_end(appliance_site, chromium, screenshots, tmp_path):
    base, passwords = appliance_site
    customer = chromium.new_context(locale="zh-CN").new_page()
    agent = chromium.new_context(locale="en-US").new_page()
    console_errors = []
    for p in (customer, agent):
        p.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

    # 1. The customer submits a ticket with an attachment from the portal (Chinese UI).
    log_in(customer, base, "zhangsan", passwords["zhangsan"])
    assert "/portal/" in customer.url
    customer.goto(base + "/portal/new")
    customer.fill("input[name=subject]", SUBJECT)
    customer.fill("textarea[name=description]", "办公室的打印机昨天开始无法打印，显示卡纸。")
    log = tmp_path / "printer.log"
    log.write_text("error 0x4A: paper jam\n", encoding="utf-8")
    customer.set_input_files("input[type=file]", str(log))
    customer.screenshot(path=str(screenshots / "01-portal-new-ticket.png"), full_page=True)
    customer.click("form button[type=submit].primary")
    customer.wait_for_load_state()
    heading = customer.inner_text("h1")
    number = re.search(r"GD-\d{4}-\d{6}", heading).group(0)
    assert "<b>urgent</b>" in heading  # shown as text, not markup
    assert customer.locator("b", has_text="urgent").count() == 0
    customer.screenshot(path=str(screenshots / "02-portal-ticket-submitted.png"), full_page=True)
    ticket_url = customer.url

    # 2. The agent finds it in the "all open" queue (English UI).
    log_in(agent, base, "wangfang", passwords["wangfang"])
    agent.goto(base + "/agent/?view=open")
    row = agent.locator("tr", has_text=number)
    assert row.count() == 1
    agent.screenshot(path=str(screenshots / "03-agent-queue.png"), full_page=True)

    # 3. ...and by full-text search once the worker has indexed it.
    found = False
    for _ in range(40):
        agent.goto(base + "/agent/search?q=" + "打印机 卡纸")
        if agent.locator("a", has_text=number).count():
            found = True
            break
        time.sleep(0.5)
    assert found, "the worker did not index the ticket within 20 s"
    assert agent.locator("mark").count() >= 1
    agent.screenshot(path=str(screenshots / "04-agent-search.png"), full_page=True)

    # 4. The agent opens the ticket and replies publicly.
    agent.locator("a", has_text=number).first.click()
    agent.wait_for_load_state()
    agent.fill("#reply-body", "您好，请打开前盖取出卡住的纸张，然后重试。")
    agent.click("#reply-submit")
    agent.wait_for_load_state()
    assert agent.locator("text=取出卡住的纸张").count() >= 1
    agent.screenshot(path=str(screenshots / "05-agent-replied.png"), full_page=True)

    # 5. The customer sees the reply.
    customer.goto(ticket_url)
    assert customer.locator("text=取出卡住的纸张").count() == 1
    customer.screenshot(path=str(screenshots / "06-portal-sees-reply.png"), full_page=True)

    # 6. The agent resolves the ticket; the customer sees it resolved.
    agent.select_option("#properties select[name=status]", "resolved")
    agent.click("#save-properties")
    agent.wait_for_load_state()
    customer.goto(ticket_url)
    assert customer.inner_text("#ticket-status") in ("已解决", "Resolved")
    customer.screenshot(path=str(screenshots / "07-portal-resolved.png"), full_page=True)
    agent.screenshot(path=str(screenshots / "08-agent-resolved.png"), full_page=True)
    assert console_errors == [], console_errors  # e.g. CSP violations would show here
