"""The public web form in a real browser: an admin creates a form that one site may embed;
a visitor fills it inside that site's iframe (no Gongdan cookies) and gets a ticket
number; another site's iframe is refused by frame-ancestors."""
from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import re
import threading
import time
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_ticket_round_trip import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@contextlib.contextmanager
def host_site(form_url: str):
    """Another web site (its own origin) whose page embeds the form in an iframe."""
    page = (f'<!doctype html><html><body><h1>Shop</h1>'
            f'<iframe id="gd" src="{form_url}" width="700" height="1100"></iframe>'
            f'</body></html>').encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()


def test_a_visitor_fills_the_embedded_form_and_gets_a_ticket_number(
        appliance_site, chromium, screenshots):
    base, passwords = appliance_site
    form_url = base + "/forms/shop?lang=zh_CN"
    with host_site(form_url) as allowed, host_site(form_url) as other:
        admin = chromium.new_context(locale="en-US").new_page()
        log_in(admin, base, "admin", passwords["admin"])
        admin.goto(base + "/admin/forms/")
        admin.fill("#new-webform input[name=slug]", "shop")
        admin.fill("#new-webform input[name=title]", "商城售后 <i>表单</i>")
        admin.fill("#new-webform textarea[name=embed_origins]", allowed)
        admin.click("#new-webform button[type=submit]")
        admin.wait_for_load_state()
        assert admin.locator("#edit-webform").count() == 1, admin.content()[:2000]
        admin.screenshot(path=str(screenshots / "webform-admin.png"), full_page=True)

        visitor = chromium.new_context(locale="zh-CN").new_page()
        visitor.goto(allowed + "/")
        frame = visitor.frame_locator("#gd")
        frame.locator("#f-name").fill("赵六")
        frame.locator("#f-email").fill("zhao@example.com")
        frame.locator("#f-subject").fill("订单 A-1001 的耳机没有声音")
        frame.locator("#f-description").fill("收到的耳机左边没有声音。")
        assert frame.locator("input[name=website]").is_hidden() or \
            frame.locator("div.hp").bounding_box()["x"] < 0  # the honeypot is off-screen
        visitor.screenshot(path=str(screenshots / "webform-embedded.png"), full_page=True)
        time.sleep(2.2)  # people take longer than the form's minimum fill time
        frame.locator("#f-send").click()
        frame.locator("#form-thanks").wait_for()
        number = frame.locator("#ticket-number").inner_text()
        assert re.fullmatch(r"GD-\d{4}-\d{6}", number)
        visitor.screenshot(path=str(screenshots / "webform-thanks.png"), full_page=True)
        assert not [c for c in visitor.context.cookies() if "gd_" in c["name"]]

        # The ticket is there for the agents of the web channel.
        agent = chromium.new_context(locale="en-US").new_page()
        log_in(agent, base, "wangfang", passwords["wangfang"])
        agent.goto(base + "/agent/search?q=" + number)
        agent.wait_for_load_state()
        assert "耳机" in agent.content()

        # The agent schedules a callback (回拨) from the ticket page; the time is local.
        agent.click(f"text={number}")
        agent.wait_for_load_state()
        agent.click("#callbacks summary:has-text('Schedule a callback')")
        agent.fill("#callback-form input[name=phone]", "138 0000 1111")
        when = dt.datetime.now(ZoneInfo("Asia/Shanghai")) + dt.timedelta(hours=2)
        agent.fill("#callback-form input[name=due_at]", when.strftime("%Y-%m-%dT%H:%M"))
        agent.fill("#callback-form textarea[name=note]", "确认退换货地址")
        agent.click("#callback-schedule")
        agent.wait_for_load_state()
        panel = agent.locator("#callbacks").inner_text()
        assert when.strftime("%Y-%m-%d %H:%M") in panel and "确认退换货地址" in panel
        agent.screenshot(path=str(screenshots / "callbacks-panel.png"), full_page=True)
        agent.goto(base + "/agent/callbacks")
        assert number in agent.inner_text("#callback-list")

        # A site that is not listed cannot frame the form.
        blocked = chromium.new_context().new_page()
        blocked.goto(other + "/")
        blocked.wait_for_timeout(1000)
        inner = [f for f in blocked.frames if f != blocked.main_frame]
        assert inner and all(f.url.startswith("chrome-error://") or "web-form" not in f.content()
                             for f in inner)
