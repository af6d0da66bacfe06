"""Security headers on every page (SECURITY.md "Input and output"): the exact CSP, nosniff,
Referrer-Policy, framing refused, HSTS only over TLS — including behind nginx, where
gunicorn believes X-Forwarded-Proto only from trusted_proxies — and no page with inline
script or inline event handlers (the CSP has no 'unsafe-inline')."""
from __future__ import annotations

import pytest
import requests

from tests.live_client import start_server, stop_server
from tests.web.htmlcheck import active_markup
from webapp.security_headers import CSP

EXPECTED_CSP = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
    "img-src": "'self' data:", "font-src": "'self'", "connect-src": "'self'",
    "object-src": "'none'", "base-uri": "'none'", "frame-ancestors": "'none'",
    "form-action": "'self'",
}
# Pages that never end (event streams) or are not pages.
SKIP_PREFIXES = ("/live/", "/api/", "/static/")


def directives(csp: str) -> dict:
    return {p.split()[0]: " ".join(p.split()[1:]) for p in (x.strip() for x in csp.split(";")) if p}


def test_the_policy_has_exactly_the_directives_of_security_md():
    assert directives(CSP) == EXPECTED_CSP
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP


def _get_pages(app):
    """Every GET rule without arguments, as a path."""
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or set()) and not rule.arguments \
                and not rule.rule.startswith(SKIP_PREFIXES):
            yield rule.rule


def check_headers(r, path: str) -> None:
    h = r.headers
    if r.status_code in (301, 302, 303, 307, 308) or path.startswith("/forms/"):
        return
    assert directives(h["Content-Security-Policy"]) == EXPECTED_CSP, path
    assert h["X-Content-Type-Options"] == "nosniff", path
    assert h["Referrer-Policy"] == "same-origin", path
    assert h["X-Frame-Options"] == "DENY", path
    assert "Strict-Transport-Security" not in h, f"{path}: HSTS over plain HTTP"


@pytest.mark.parametrize("username", ["admin", "lead", "wangfang", "zhangsan"])
def test_every_page_carries_the_headers_and_no_inline_script(login, username):
    b = login(username)
    seen = 0
    for path in _get_pages(b.client.application):
        r = b.get(path)
        assert r.status_code < 500, f"{path}: {r.status_code}"
        check_headers(r, path)
        if r.mimetype == "text/html" and r.status_code == 200:
            assert active_markup(r.get_data(as_text=True)) == [], path
            seen += 1
    assert seen >= (15 if username != "zhangsan" else 3)


def test_pages_for_visitors_carry_the_headers_too(browser):
    b = browser()
    for path in ("/login", "/portal/signup", "/healthz", "/no-such-page"):
        r = b.get(path)
        check_headers(r, path)
        if r.mimetype == "text/html":
            assert active_markup(r.get_data(as_text=True)) == [], path


def test_hsts_is_sent_over_tls_only(app):
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://gongdan.example").headers
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.slow
@pytest.mark.parametrize("trusted, hsts", [(["127.0.0.1", "::1"], True), (["10.9.9.9"], False)])
def test_behind_nginx_only_a_trusted_proxy_can_say_the_request_came_over_tls(
        settings, org, tmp_path, trusted, hsts):
    base, proc = start_server(settings, tmp_path, trusted_proxies=trusted, web_workers=1)
    leaked = "gd_" + "Q" * 43
    try:
        r = requests.get(base + "/login", timeout=10, headers={"X-Forwarded-Proto": "https"})
        plain = requests.get(base + "/login", timeout=10)
        # gunicorn's access log writes the request line: what a client puts in it is masked.
        requests.get(f"{base}/login?password=Access-Log-Pw&token={leaked}&x=%0d%0aforged",
                     timeout=10)
    finally:
        stop_server(proc)
    assert ("Strict-Transport-Security" in r.headers) is hsts
    assert "Strict-Transport-Security" not in plain.headers
    log = "".join(p.read_text() for p in tmp_path.glob("web-*.log"))
    assert "GET /login?password=***" in log
    assert "Access-Log-Pw" not in log and leaked not in log
