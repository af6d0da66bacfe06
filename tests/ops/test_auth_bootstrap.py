"""`gongdan init`'s first administrator, served by real gunicorn workers (decision 0027):
no way past the set-up of the second factor and the change of the one-time password, and
the login rate limit holds across workers."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pyotp
import pytest
import requests

from tests.live_client import free_port

GONGDAN = [sys.executable, "-m", "appliance.cli"]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def served(site):
    """(base URL, one-time password) of a site made by `gongdan init`, served on loopback."""
    out = site("init").stdout
    password = re.search(r"admin user: admin  one-time password: (\S+)", out).group(1)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGDAN_")}
    env.update(GONGDAN_CONFIG=str(site.path / "gongdan.toml"), GONGDAN_BIND=f"127.0.0.1:{port}",
               GONGDAN_WEB_WORKERS="2", GONGDAN_AUTH_RATE_PER_ACCOUNT="6")
    log = open(site.path / "web.log", "w")
    proc = subprocess.Popen(GONGDAN + ["serve"], env=env, cwd=site.path, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            assert proc.poll() is None, (site.path / "web.log").read_text()[-2000:]
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.time() < deadline, "server did not start"
            time.sleep(0.3)
        yield base, password
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def _post(s: requests.Session, base: str, path: str, data: dict, form_page: str):
    token = _csrf(s.get(base + form_page, timeout=10).text)
    return s.post(base + path, data={**data, "csrf_token": token}, timeout=30,
                  allow_redirects=False)


def test_the_init_admin_sets_up_totp_and_changes_the_password_before_anything_else(served):
    base, password = served
    s = requests.Session()
    r = _post(s, base, "/login", {"username": "admin", "password": password}, "/login")
    assert r.status_code == 302 and "/account/mfa/setup" in r.headers["Location"]
    for path in ("/admin/", "/agent/", "/account/tokens"):
        r = s.get(base + path, allow_redirects=False, timeout=10)
        assert "/account/mfa/setup" in r.headers["Location"], path
    page = s.get(base + "/account/mfa/setup", timeout=10).text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    r = _post(s, base, "/account/mfa/setup", {"code": pyotp.TOTP(secret).now()},
              "/account/mfa/setup")
    assert r.status_code == 200 and "/account/password" in r.text  # codes, then onwards
    for path in ("/admin/", "/agent/", "/account/tokens"):
        r = s.get(base + path, allow_redirects=False, timeout=10)
        assert r.headers["Location"].startswith("/account/password"), path
    new = "Root-chooses-a-long-one-7"
    r = _post(s, base, "/account/password", {"current_password": password,
                                             "new_password": new, "confirm_password": new},
              "/account/password")
    assert r.status_code == 302
    assert s.get(base + "/admin/", allow_redirects=False, timeout=10).status_code == 200
    # The one-time password is gone; the new one needs the second step.
    fresh = requests.Session()
    r = _post(fresh, base, "/login", {"username": "admin", "password": password}, "/login")
    assert r.status_code == 401
    r = _post(fresh, base, "/login", {"username": "admin", "password": new}, "/login")
    assert "/login/verify" in r.headers["Location"]


def test_the_login_limit_per_account_holds_across_gunicorn_workers(served):
    base, _ = served
    answers = []
    for _ in range(8):
        s = requests.Session()  # a new connection each time: any worker may answer
        r = _post(s, base, "/login", {"username": "admin", "password": "not-it-at-all"},
                  "/login")
        answers.append(r.status_code)
    assert answers == [401] * 6 + [429] * 2
