"""The process designer in a real browser (gunicorn, Chromium): an admin drags a task
onto the canvas, connects start → task → approval → end by dragging from ports, sets
properties, watches a validation problem disappear when it is fixed, uses undo/redo and
auto-layout, saves, runs a dry-run step by step and publishes. No console errors (a CSP
violation would be one)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.test_ticket_round_trip import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def centre(page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    assert box, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page, source: str, target: tuple[float, float]) -> None:
    x, y = centre(page, source)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y + 5, steps=2)
    page.mouse.move(*target, steps=8)
    page.mouse.up()


def connect(page, source: str, target: str) -> None:
    drag(page, f'[data-port="{source}"]', centre(page, f'[data-node="{target}"]'))
    page.locator(f'[data-edge]:not([data-edge=""])').last.wait_for()


def node_ids(page) -> list[str]:
    return page.eval_on_selector_all("[data-node]", "els => els.map(e => e.dataset.node)")


def problems(page) -> list[str]:
    page.wait_for_function("() => !document.getElementById('dz-publish-why').textContent.includes('…')")
    return page.eval_on_selector_all("#dz-problems li", "els => els.map(e => e.dataset.code)")


def wait_checked(page) -> None:
    """Validation is debounced: wait until the last change was checked."""
    page.wait_for_timeout(450)
    page.wait_for_function("() => document.getElementById('dz-problem-count').textContent !== ''")
    page.wait_for_function("() => !['Checking…', '正在检查…'].includes("
                           "document.getElementById('dz-publish-why').textContent)")


def test_an_admin_builds_validates_saves_dry_runs_and_publishes_a_flow(appliance_site, chromium,
                                                                        screenshots):
    base, passwords = appliance_site
    context = chromium.new_context(locale="en-US", viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, base, "admin", passwords["admin"])
    page.goto(base + "/admin/processes/new")
    page.wait_for_selector("html[data-designer-ready]")
    assert node_ids(page) == ["start", "end"]

    # The process itself: key and names (nothing selected shows its properties).
    page.fill('[data-key="key"]', "dept_repair")
    page.fill('[data-key="name.zh"]', "跨部门维修")
    page.fill('[data-key="name.en"]', "Cross-department repair")

    # Drag a task from the palette onto the canvas; add an approval and a second end
    # with the keyboard (Enter on a palette button adds it in the middle of the view).
    canvas = page.locator("#dz-canvas").bounding_box()
    drag(page, "#palette-task", (canvas["x"] + 330, canvas["y"] + 420))
    page.wait_for_selector('[data-node="task_1"]')
    page.focus("#palette-approval")
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-node="approval_1"]')
    page.focus("#palette-end")
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-node="end_1"]')
    assert node_ids(page) == ["start", "end", "task_1", "approval_1", "end_1"]

    # Undo takes the last node away, redo brings it back (Ctrl+Z / Ctrl+Shift+Z).
    page.locator("#dz-canvas").focus()
    page.keyboard.press("Control+z")
    assert "end_1" not in node_ids(page)
    page.keyboard.press("Control+Shift+z")
    assert "end_1" in node_ids(page)

    # Lay the flow out, then connect by dragging from each node's port.
    page.click('[data-dz-action="layout"]')
    connect(page, "start", "task_1")
    connect(page, "task_1", "approval_1")
    page.click('[data-dz-action="layout"]')
    connect(page, "approval_1", "end")
    connect(page, "approval_1", "end_1")
    page.click('[data-dz-action="layout"]')
    edges = page.eval_on_selector_all("[data-edge]", "els => els.map(e => e.dataset.edge)")
    assert len(edges) == 4
    page.screenshot(path=str(screenshots / "designer-connected.png"), full_page=True)

    # The approval has no approvers yet: the problem is listed and marked on the node.
    page.click('[data-node="task_1"] .dz-shape')
    page.fill('[data-key="label"]', "售后诊断 Diagnose")
    page.select_option('[data-key="assignee.value"]', "AS")
    page.click('[data-key="form.add"]')
    page.check('[data-key="form.0.required"]')
    page.click('[data-node="end_1"] .dz-shape')
    page.select_option('[data-key="outcome"]', "rejected")
    wait_checked(page)
    assert "approval_without_approvers" in problems(page)
    assert page.locator('[data-node="approval_1"].has-problem').count() == 1
    assert page.locator("#dz-publish").is_disabled()
    page.screenshot(path=str(screenshots / "designer-problem.png"), full_page=True)

    # Fix it from the problem list: "Show" selects the node, the panel edits it.
    page.locator('#dz-problems li[data-code="approval_without_approvers"] button').click()
    assert "approval_1" in page.inner_text("#dz-panel")
    page.select_option('[data-key="approvers.kind"]', "role")
    page.select_option('[data-key="approvers.value"]', "supervisor")
    page.fill('[data-key="label"]', "主管审批 Approve")
    wait_checked(page)
    assert problems(page) == []
    assert page.inner_text("#dz-problem-count") == "No problems"
    assert page.locator(".has-problem").count() == 0

    # Dragging a node moves it; Delete removes the selected connection; undo brings back both.
    before = page.locator('[data-node="task_1"] .dz-shape').bounding_box()
    drag(page, '[data-node="task_1"] .dz-label', (before["x"] + 75, before["y"] + 128))
    moved = page.locator('[data-node="task_1"] .dz-shape').bounding_box()
    assert moved["y"] > before["y"] + 50
    page.locator("[data-edge]").first.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Delete")
    assert page.locator("[data-edge]").count() == 3
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    assert page.locator("[data-edge]").count() == 4
    assert page.locator('[data-node="task_1"] .dz-shape').bounding_box()["y"] == before["y"]
    transform = page.get_attribute(".dz-viewport", "transform")
    page.click('[data-dz-action="zoom-in"]')
    assert page.get_attribute(".dz-viewport", "transform") != transform
    page.click('[data-dz-action="fit"]')

    # The rejected edge carries its outcome; the layout is left to right.
    xs = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-node]')]
        .map(g => [g.dataset.node, g.querySelector('.dz-shape').getBBox().x]))""")
    assert xs["start"] < xs["task_1"] < xs["approval_1"] < xs["end"]
    rejected = page.locator("[data-edge]", has_text="rejected")
    assert rejected.count() == 1

    # Save: a draft, version 1; publish needs a saved draft.
    page.click("#dz-save")
    page.wait_for_selector("#dz-message.success")
    assert "Saved as draft version 1" in page.inner_text("#dz-message")
    assert page.url.endswith("/admin/processes/dept_repair/edit?version=1")
    page.locator("#dz-canvas").focus()
    page.keyboard.press("Escape")  # nothing selected: the panel shows the process itself
    assert page.locator('[data-key="key"]').get_attribute("readonly") is not None

    # Dry-run: a rejection ends at end_1, shown step by step on the canvas.
    page.click(".dz-more-fields summary")
    page.fill('#dz-dryrun input[name="priority"]', "2")
    page.select_option('#dz-dryrun select[name="approval_1"]', "rejected")
    page.click("#dz-dry-run")
    page.wait_for_selector("#dz-steps li")
    steps = page.eval_on_selector_all("#dz-steps li", "els => els.map(e => e.dataset.stepNode)")
    assert steps == ["start", "task_1", "approval_1", "end_1"]
    assert page.locator(".current-step").get_attribute("data-node") == "start"
    page.click("#dz-step-next")
    page.click("#dz-step-next")
    assert page.locator(".current-step").get_attribute("data-node") == "approval_1"
    page.click("#dz-step-next")
    assert page.locator('[data-node="end_1"].on-path').count() == 1
    assert page.locator('[data-node="end"].on-path').count() == 0
    assert "ends at" in page.inner_text(".dz-result")
    page.screenshot(path=str(screenshots / "designer-dry-run.png"), full_page=True)

    # Publish.
    assert page.locator("#dz-publish").is_enabled()
    page.click("#dz-publish")
    page.wait_for_function("() => document.getElementById('dz-message').textContent.includes('published')")
    assert re.search(r"Version 1 is published", page.inner_text("#dz-message"))
    # A change after publishing is saved as version 2; the history shows what changed.
    page.locator('[data-node="task_1"]').focus()
    page.keyboard.press("Enter")
    page.fill('[data-key="label"]', "售后复检 Recheck")
    page.click("#dz-save")
    page.wait_for_function("() => document.getElementById('dz-message').textContent.includes('version 2')")
    page.goto(base + "/admin/processes/dept_repair/history")
    assert "Published" in page.inner_text('#versions tr[data-version="1"]')
    assert "Draft" in page.inner_text('#versions tr[data-version="2"]')
    change = page.inner_text('#diff li[data-kind="node"][data-id="task_1"]')
    assert "售后诊断 Diagnose" in change and "售后复检 Recheck" in change
    page.screenshot(path=str(screenshots / "designer-history.png"), full_page=True)
    assert not errors, errors
    context.close()


def test_a_stale_save_shows_a_conflict_and_keeps_the_work(appliance_site, chromium, screenshots):
    base, passwords = appliance_site
    pages = []
    for _ in range(2):
        context = chromium.new_context(locale="zh-CN", viewport={"width": 1500, "height": 950})
        page = context.new_page()
        log_in(page, base, "admin", passwords["admin"])
        pages.append(page)
    first, second = pages
    first.goto(base + "/admin/processes/new")
    first.wait_for_selector("html[data-designer-ready]")
    first.fill('[data-key="key"]', "conflict_demo")
    first.fill('[data-key="name.zh"]', "冲突演示")
    first.click("#dz-save")
    first.wait_for_selector("#dz-message.success")
    second.goto(base + "/admin/processes/conflict_demo/edit")
    second.wait_for_selector("html[data-designer-ready]")
    for page, name in ((first, "第一"), (second, "第二")):
        page.fill('[data-key="name.zh"]', name)
    second.click("#dz-save")
    second.wait_for_selector("#dz-message.success")
    first.click("#dz-save")
    first.wait_for_selector("#dz-message.error")
    assert first.locator("#dz-message a").count() == 1  # a link to the latest version
    assert first.input_value('[data-key="name.zh"]') == "第一"  # the work is still there
    with first.expect_download() as download:
        first.click('[data-dz-action="download"]')
    assert download.value.suggested_filename == "conflict_demo.json"
    kept = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert kept["name"]["zh"] == "第一" and kept["key"] == "conflict_demo"
    first.screenshot(path=str(screenshots / "designer-conflict-zh.png"), full_page=True)

    # A session that ended answers with the login page: never taken for "no problems".
    first.context.clear_cookies()
    first.fill('[data-key="name.zh"]', "第三")
    first.wait_for_selector('#dz-problems li[data-code="unavailable"]')
    assert first.locator("#dz-publish").is_disabled()
    first.click("#dz-save")
    first.wait_for_function("() => document.getElementById('dz-message').textContent.includes('JSON')")
    for page in pages:
        page.context.close()


def test_a_gateway_chooses_by_a_condition_built_with_and_or_groups(appliance_site, chromium,
                                                                   screenshots):
    """Keyboard only for the structure: palette buttons with Enter, "Connect to" in the
    panel; then the condition builder on the gateway's edge, checked by two dry-runs."""
    base, passwords = appliance_site
    context = chromium.new_context(locale="en-US", viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, base, "admin", passwords["admin"])
    page.goto(base + "/admin/processes/new")
    page.wait_for_selector("html[data-designer-ready]")
    page.fill('[data-key="key"]', "gateway_demo")
    page.fill('[data-key="name.en"]', "Gateway demo")
    for kind in ("gateway", "task"):
        page.focus(f"#palette-{kind}")
        page.keyboard.press("Enter")
        page.wait_for_selector(f'[data-node="{kind}_1"]')

    def link(source: str, target: str) -> None:
        page.locator(f'[data-node="{source}"]').focus()
        page.keyboard.press("Enter")
        page.select_option('[data-key="connect.to"]', target)
        page.click('[data-key="connect.add"]')

    link("start", "gateway_1")
    link("gateway_1", "task_1")
    link("gateway_1", "end")
    link("task_1", "end")
    page.click('[data-dz-action="layout"]')
    page.locator('[data-node="task_1"]').focus()
    page.keyboard.press("Enter")
    page.select_option('[data-key="assignee.kind"]', "role")
    page.select_option('[data-key="assignee.value"]', "agent")

    # priority < 3 and (channel == phone or urgency == high) on gateway → task.
    page.locator('[data-edge="e_2"]').focus()
    page.keyboard.press("Enter")
    page.click('[data-key="cond.add"]')
    page.select_option('[data-key="cond.0.field"]', "priority")
    page.select_option('[data-key="cond.0.op"]', "<")
    page.fill('[data-key="cond.0.value"]', "3")
    page.click('[data-key="cond.addgroup"]')
    page.select_option('[data-key="cond.1.mode"]', "any")
    page.select_option('[data-key="cond.1.0.field"]', "channel")
    page.fill('[data-key="cond.1.0.value"]', "phone")
    page.click('[data-key="cond.1.add"]')
    page.select_option('[data-key="cond.1.1.field"]', "urgency")
    page.fill('[data-key="cond.1.1.value"]', "high")
    label = page.text_content('[data-edge="e_2"] .dz-edge-label')
    assert label.startswith("priority < 3 and (") and label.endswith("…")  # shortened on the canvas
    assert "priority < 3 and (channel == phone or urgency == high)" in \
        page.get_attribute('[data-edge="e_2"]', "aria-label")
    wait_checked(page)
    assert problems(page) == []
    page.screenshot(path=str(screenshots / "designer-condition.png"), full_page=True)

    def dry_run(fields: dict) -> list[str]:
        page.evaluate("() => document.querySelectorAll('.dz-more-fields').forEach(d => d.open = true)")
        for name in ("priority", "channel", "urgency"):
            page.fill(f'#dz-dryrun input[name="{name}"]', fields.get(name, ""))
        page.click("#dz-dry-run")
        page.wait_for_function("() => document.querySelector('.dz-result').textContent.includes('ends')")
        nodes = page.eval_on_selector_all("#dz-steps li", "els => els.map(e => e.dataset.stepNode)")
        page.evaluate("() => { document.querySelector('.dz-result').textContent = ''; }")
        return nodes

    assert dry_run({"priority": "2", "channel": "phone"}) == ["start", "gateway_1", "task_1", "end"]
    assert dry_run({"priority": "2", "urgency": "high"}) == ["start", "gateway_1", "task_1", "end"]
    assert dry_run({"priority": "4", "channel": "phone"}) == ["start", "gateway_1", "end"]
    assert not errors, errors
    context.close()
