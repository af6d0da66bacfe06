"""A cross-department process end to end in real browsers (gunicorn, Huey worker, SQLite,
Chromium): an administrator builds after-sales intake → supervisors' sign-off (quorum
"all") → logistics pickup → security check in the designer and publishes it; tickets
run through it on the queue while someone else keeps the ticket page open.

The first ticket is approved by one supervisor and rejected by the other: the rejection
edge ends the process and closes the ticket. The second is approved by both and is
worked in logistics and security until the process resolves it. Each watcher's page must
follow every step without a reload (live updates); the steps' own progress is how the
test waits, so nothing here sleeps."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_board_live import log_in, site_db  # noqa: F401 (a fixture)
from tests.e2e.test_process_designer import problems

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KEY = "cross_dept_complaint"
INTAKE, SIGN_OFF, PICKUP, CHECK = ("售后受理 Intake", "主管审批 Sign-off", "物流取件 Pickup",
                                   "安保核查 Security check")
LIVE_S = 15_000  # ms: a step runs on the worker (polling at most every second), then reaches pages


def add_security_and_second_supervisor() -> dict:
    """The third department (安保 Security, with one agent) and a second after-sales
    supervisor, so that "all supervisors of the ticket's department" are two people."""
    from appliance.models import Department
    from appliance.rules.access import SYSTEM
    from appliance.services import org, users
    sec = org.save_department(SYSTEM, "SEC", "安保", "Security")
    after_sales = Department.get(Department.code == "AS").id
    _, zhouli = users.create_user(SYSTEM, "zhouli", "周丽", "supervisor", department_id=after_sales)
    _, zhaoqiang = users.create_user(SYSTEM, "zhaoqiang", "赵强", "agent", department_id=sec.id)
    return {"zhouli": zhouli, "zhaoqiang": zhaoqiang}


def ids(username: str) -> tuple[int, int]:
    """The user's id and their department's (for the new-ticket form's selects)."""
    from appliance.models import User
    u = User.get(User.username == username)
    return u.id, u.department_id


def browser_page(chromium, base, username, password, errors: list | None = None):
    page = chromium.new_context(locale="en-US", viewport={"width": 1500, "height": 1000}).new_page()
    if errors is not None:
        page.on("console", lambda m: errors.append(f"{username}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{username}: {e}"))
    log_in(page, base, username, password)
    return page


# -- the designer --------------------------------------------------------------------------

def select_node(page, node_id: str) -> None:
    page.locator(f'[data-node="{node_id}"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("#dz-panel")).to_contain_text(node_id)


def link(page, source: str, target: str) -> None:
    select_node(page, source)
    page.select_option('[data-key="connect.to"]', target)
    page.click('[data-key="connect.add"]')


def build_and_publish(page, base, screenshots) -> None:
    page.goto(base + "/admin/processes/new")
    page.wait_for_selector("html[data-designer-ready]")
    page.fill('[data-key="key"]', KEY)
    page.fill('[data-key="name.zh"]', "跨部门投诉处理")
    page.fill('[data-key="name.en"]', "Cross-department complaint")
    for kind, node_id in (("task", "task_1"), ("approval", "approval_1"), ("task", "task_2"),
                          ("task", "task_3"), ("end", "end_1")):
        page.focus(f"#palette-{kind}")
        page.keyboard.press("Enter")
        page.wait_for_selector(f'[data-node="{node_id}"]')
    for source, target in (("start", "task_1"), ("task_1", "approval_1"), ("approval_1", "task_2"),
                           ("approval_1", "end_1"), ("task_2", "task_3"), ("task_3", "end")):
        link(page, source, target)
    page.click('[data-dz-action="layout"]')

    for node_id, label, department in (("task_1", INTAKE, "AS"), ("task_2", PICKUP, "LOG"),
                                       ("task_3", CHECK, "SEC")):
        select_node(page, node_id)
        page.fill('[data-key="label"]', label)
        page.select_option('[data-key="assignee.kind"]', "department")
        page.select_option('[data-key="assignee.value"]', department)
    # Approvers: every supervisor of the ticket's department (two in after-sales); with
    # quorum "all" one rejection is enough to reject.
    select_node(page, "approval_1")
    page.fill('[data-key="label"]', SIGN_OFF)
    page.select_option('[data-key="approvers.kind"]', "role")
    page.select_option('[data-key="approvers.value"]', "supervisor")
    page.select_option('[data-key="quorum.mode"]', "all")
    select_node(page, "end_1")
    page.fill('[data-key="label"]', "驳回 Refused")
    page.select_option('[data-key="outcome"]', "rejected")
    select_node(page, "end")
    page.fill('[data-key="label"]', "办结 Done")

    assert problems(page) == []  # waits until the last change was checked
    assert page.inner_text("#dz-problem-count") == "No problems"
    # The first edge out of the approval is taken on approval, the second on rejection.
    assert page.locator("[data-edge]").count() == 6
    rejected = page.locator("[data-edge]", has_text="rejected")
    assert rejected.count() == 1 and "驳回 Refused" in rejected.get_attribute("aria-label")
    page.click('[data-dz-action="fit"]')
    page.screenshot(path=str(screenshots / "process-flow-01-designer.png"), full_page=True)

    page.click("#dz-save")
    page.wait_for_selector("#dz-message.success")
    assert "Saved as draft version 1" in page.inner_text("#dz-message")
    expect(page.locator("#dz-publish")).to_be_enabled()
    page.click("#dz-publish")
    expect(page.locator("#dz-message")).to_contain_text("Version 1 is published")


# -- tickets, steps and approvals ----------------------------------------------------------

def create_and_start(page, base, subject: str, assignee: str) -> tuple[int, str]:
    """A phone ticket in the assignee's department, filed from the agent UI; the process
    started on it from the ticket's process panel. Returns (id, number); the page stays
    on the ticket. (An assignee keeps dispatch away from the ticket: nothing but the
    process moves it.)"""
    user, department = ids(assignee)
    page.goto(base + "/agent/tickets/new")
    page.fill("input[name=subject]", subject)
    page.select_option("select[name=department_id]", str(department))
    page.select_option("select[name=assignee_id]", str(user))
    page.click("#create-ticket")
    page.wait_for_url(re.compile(r"/agent/tickets/\d+"))
    ticket_id = int(re.search(r"/agent/tickets/(\d+)", page.url).group(1))
    number = page.inner_text(".ticket-head .number").strip()
    page.select_option("#start-process select[name=key]", KEY)
    page.click("#start-process button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("The process was started.")
    page.wait_for_load_state()
    page.evaluate("window.__samePage = true")  # gone if the page reloads
    return ticket_id, number


def complete_task(page, base, ticket_id: int, label: str) -> None:
    page.goto(f"{base}/agent/tickets/{ticket_id}")
    task = page.locator("#processes form.process-task", has_text=label)
    expect(task).to_have_count(1)
    task.locator("button[type=submit]").click()
    expect(page.locator(".flash.success")).to_contain_text("The step was completed.")


def decide(page, base, number: str, decision: str, comment: str, screenshot=None) -> None:
    """From "My approvals" in the navigation: open the ticket's approval and decide it."""
    page.goto(base + "/agent/approvals")
    expect(page.locator("#approvals-open")).to_have_text("1")
    row = page.locator("#approval-list tr.open", has_text=number)
    expect(row).to_contain_text(SIGN_OFF)
    row.locator("a.button").click()
    expect(page.locator("#approval-ticket")).to_contain_text(number)
    page.fill("#decide-form textarea[name=comment]", comment)
    if screenshot:
        page.screenshot(path=str(screenshot), full_page=True)
    page.click("#approve" if decision == "approved" else "#reject")
    expect(page.locator(".flash.success")).to_contain_text(
        "Your decision was recorded." if decision == "approved" else "Your rejection was recorded.")
    expect(page.locator("#approval-list tr.decided", has_text=number)).to_contain_text(comment)


def sees(watcher, text: str, where: str = "section.timeline-box") -> None:
    """The watcher's open page shows `text` without a reload."""
    expect(watcher.locator(where)).to_contain_text(text, timeout=LIVE_S)


def panel_follows(watcher, expected: list[tuple[str, str]], missing: list[str]) -> None:
    """The process panel on the watcher's page holds, in the element `selector`, the
    text (attached, not visible: an ended process is folded). Checked after the timeline
    showed the same change, and collected rather than asserted at once: the run goes on,
    and the end names everything the panel missed."""
    for selector, text in expected:
        part = watcher.locator(selector).filter(has_text=text).first
        try:
            expect(part).to_be_attached(timeout=500 if missing else 3_000)
        except AssertionError:
            missing.append(f"{selector}: {text}")


# -- the test ------------------------------------------------------------------------------

def test_a_three_department_flow_built_in_the_designer_runs_approvals_while_pages_follow_live(
        appliance_site, chromium, screenshots, site_db):  # noqa: F811
    base, passwords = appliance_site
    passwords = {**passwords, **add_security_and_second_supervisor()}
    errors: list[str] = []
    admin = browser_page(chromium, base, "admin", passwords["admin"], errors)
    build_and_publish(admin, base, screenshots)

    # Ticket 1: 陈主管 approves, 周丽 rejects. 王芳 filed it, started the process and keeps
    # the ticket page open; every step reaches her page live.
    missing: list[str] = []  # what the process panel did not show without a reload
    watcher = browser_page(chromium, base, "wangfang", passwords["wangfang"], errors)
    first, first_number = create_and_start(watcher, base, "游客投诉：索道排队过长", "wangfang")
    sees(watcher, f"Process {KEY} started")
    sees(watcher, f"Step {INTAKE} is open")
    panel_follows(watcher, [("#processes form.process-task", INTAKE)], missing)
    lead = browser_page(chromium, base, "lead", passwords["lead"])
    complete_task(lead, base, first, INTAKE)
    sees(watcher, f"Step {SIGN_OFF} is open")
    decide(lead, base, first_number, "approved", "同意，转物流处理",
           screenshots / "process-flow-02-approval-page.png")
    sees(watcher, f"{SIGN_OFF}: voted to approve — 同意，转物流处理")
    panel_follows(watcher, [("#processes", "陈主管: Approved — 同意，转物流处理"),
                            ("#processes", "周丽: Waiting")], missing)
    watcher.screenshot(path=str(screenshots / "process-flow-03-live-one-vote.png"), full_page=True)
    zhouli = browser_page(chromium, base, "zhouli", passwords["zhouli"])
    decide(zhouli, base, first_number, "rejected", "不属实，驳回")
    sees(watcher, f"{SIGN_OFF}: voted to reject — 不属实，驳回")
    sees(watcher, f"Step {SIGN_OFF} was rejected")
    sees(watcher, f"Process {KEY} ended: rejected")
    sees(watcher, "Closed", ".ticket-head")
    sees(watcher, "以“拒绝”结束，工单已关闭", "section.conversation")
    panel_follows(watcher, [("#processes", "周丽: Rejected — 不属实，驳回"),
                            ("#processes .process-instance > summary", "Rejected")], missing)
    assert watcher.evaluate("window.__samePage") is True
    watcher.screenshot(path=str(screenshots / "process-flow-04-live-rejected.png"), full_page=True)

    # Ticket 2: both approve; logistics, then security complete their tasks. The
    # administrator watches this one: only staff of all three departments could.
    second, second_number = create_and_start(admin, base, "游客投诉：寄存物品丢失", "wangfang")
    sees(admin, f"Step {INTAKE} is open")
    complete_task(lead, base, second, INTAKE)
    sees(admin, f"Step {SIGN_OFF} is open")
    decide(lead, base, second_number, "approved", "同意")
    sees(admin, f"{SIGN_OFF}: voted to approve — 同意")
    decide(zhouli, base, second_number, "approved", "同意，请物流取件")
    sees(admin, f"Step {SIGN_OFF} was approved")
    sees(admin, f"Step {PICKUP} is open")
    panel_follows(admin, [("#processes li.process-step.state-active", PICKUP)], missing)
    lilei = browser_page(chromium, base, "lilei", passwords["lilei"])
    complete_task(lilei, base, second, PICKUP)
    lilei.context.close()  # the ticket leaves logistics now: its page would lose it
    sees(admin, f"Step {CHECK} is open")
    guard = browser_page(chromium, base, "zhaoqiang", passwords["zhaoqiang"])
    complete_task(guard, base, second, CHECK)
    sees(admin, f"Process {KEY} ended: resolved")
    sees(admin, "Resolved", ".ticket-head")
    panel_follows(admin, [("#processes li.process-step.state-completed", CHECK),
                          ("#processes .process-instance > summary", "Completed")], missing)
    assert admin.evaluate("window.__samePage") is True
    admin.screenshot(path=str(screenshots / "process-flow-05-live-resolved.png"), full_page=True)

    assert not missing, ("the process panel (#processes) did not update without a reload; "
                         f"missing: {missing}")
    assert not errors, errors
    for page in (admin, watcher, lead, zhouli, guard):
        page.context.close()
