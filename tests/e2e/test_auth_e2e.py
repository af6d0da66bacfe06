"""Two-step login in a real browser (gunicorn, Chromium): an agent sets up TOTP from the page
(QR code as inline SVG, key in text), logs out, and logs in again with password and code."""
from __future__ import annotations

import re
import time

import pyotp
import pytest

pytestmark = pytest.mark.e2e


def test_an_agent_sets_up_totp_and_logs_in_with_a_code(appliance_site, chromium, screenshots):
    base, passwords = appliance_site
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/login")
    page.fill("input[name=username]", "wangfang")
    page.fill("input[name=password]", passwords["wangfang"])
    page.click("button[type=submit]")
    page.goto(base + "/account/mfa/setup")
    assert page.locator("#totp-qr svg").count() == 1
    secret = page.inner_text("#totp-secret").strip()
    page.screenshot(path=str(screenshots / "auth-totp-setup.png"), full_page=True)
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z0-9]{4}(-[a-z0-9]{4}){3}", c) for c in codes)
    page.click("#continue")
    page.click("#logout")
    page.wait_for_url(re.compile(r".*/login.*"))

    page.fill("input[name=username]", "wangfang")
    page.fill("input[name=password]", passwords["wangfang"])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/login/verify.*"))
    page.screenshot(path=str(screenshots / "auth-second-step.png"), full_page=True)
    page.goto(base + "/agent/")  # nothing else opens before the code
    assert "/login/verify" in page.url
    # The next step's code: the one used at set-up may not serve twice.
    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))
    page.click("button[type=submit]")
    page.goto(base + "/agent/")
    assert page.url.rstrip("/").endswith("/agent")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
