"""Login, second step, TOTP set-up, sessions and re-authentication through the real Flask app
(decision 0027). TOTP codes are computed with pyotp from the secret the page shows."""
from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest

from appliance.models import AuditRecord, User, UserSession, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import user_emails, users
from tests.conftest import with_settings
from tests.web.conftest import Browser
from webapp import create_app

STEP_ROLES = ("admin", "security_admin", "audit_admin")


@pytest.fixture
def strict_app(settings):
    """The app with the default second-factor rule: the admin roles must use TOTP."""
    s = with_settings(settings, mfa_required_roles=STEP_ROLES)
    app = create_app(s)
    app.config.update(TESTING=True)
    return app


def _form_post(b: Browser, path: str, data: dict, csrf_from: str):
    return b.post(path, data, csrf_from=csrf_from)


def _secret(html: str) -> str:
    return re.search(r'id="totp-secret">([A-Z2-7]+)<', html).group(1)


def _enrol(b: Browser, password: str | None = None) -> tuple[str, list[str]]:
    page = b.get("/account/mfa/setup").get_data(as_text=True)
    secret = _secret(page)
    data = {"code": pyotp.TOTP(secret).now()}
    if password:
        data["current_password"] = password
    r = _form_post(b, "/account/mfa/setup", data, "/account/mfa/setup")
    assert r.status_code == 200, r.get_data(as_text=True)[:400]
    codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", r.get_data(as_text=True))
    return secret, codes


def _code_after(secret: str, user_id: int) -> str:
    """A code of a time step not used yet (the one after the last used), as a phone shows a
    new code every 30 s; the test does not wait for it."""
    last = User.get_by_id(user_id).totp_last_step
    return pyotp.TOTP(secret).at((last + 1) * 30)


# --- one answer for every failure -----------------------------------------------------------

def test_unknown_user_wrong_password_locked_and_disabled_get_the_same_page(app, org, settings):
    users.update_user(org.admin, org.agent2.user_id, {"active": False})
    User.update(locked_until=utcnow() + dt.timedelta(minutes=30)).where(
        User.username == "lead").execute()
    answers = []
    for username, password in (("no-such-user", "whatever-pw-123"),
                               ("wangfang", "wrong-password-1"),
                               ("lead", org.passwords["lead"]),      # locked, right password
                               ("lilei", org.passwords["lilei"])):   # disabled, right password
        b = Browser(app)
        r = b.login(username, password)
        html = r.get_data(as_text=True)
        alert = re.search(r'<div class="flash error" role="alert" id="login-error">([^<]*)<',
                          html).group(1)
        answers.append((r.status_code, alert, "gd_session" in r.headers.get("Set-Cookie", "")))
    assert answers == [(401, "Invalid user name or password.", False)] * 4


def test_the_fifth_wrong_password_locks_the_account_through_the_login_page(app, org):
    b = Browser(app)
    for _ in range(5):
        assert b.login("wangfang", "wrong-password-1").status_code == 401
    assert b.login("wangfang", org.passwords["wangfang"]).status_code == 401
    assert AuditRecord.select().where(AuditRecord.action == "auth.locked").count() == 1


@pytest.mark.real_hashing
# Equal timing of the failure cases (unknown, wrong, locked, disabled) is measured once, by
# tests/web/test_vuln_classes.py::test_user_enumeration_by_timing.


def test_too_many_login_attempts_get_429_with_retry_after(settings, org):
    app = create_app(with_settings(settings, auth_rate_per_account=3))
    app.config.update(TESTING=True)
    b = Browser(app)
    for _ in range(3):
        assert b.login("wangfang", "wrong-password-1").status_code == 401
    r = b.login("wangfang", org.passwords["wangfang"])
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 900
    assert Browser(app).login("lilei", org.passwords["lilei"]).status_code == 302


# --- the second step --------------------------------------------------------------------------

def test_an_admin_must_enrol_before_anything_else_then_logs_in_with_two_steps(strict_app, org):
    b = Browser(strict_app)
    r = b.login("admin", org.passwords["admin"])
    assert r.status_code == 302 and "/account/mfa/setup" in r.headers["Location"]
    for path in ("/admin/", "/agent/", "/account/tokens", "/account/sessions"):
        r = b.get(path)
        assert r.status_code == 302 and "/account/mfa/setup" in r.headers["Location"], path
    token = b.csrf("/account/mfa/setup")
    r = b.client.post("/account/tokens", data={"name": "x", "csrf_token": token})
    assert r.status_code == 403
    assert b.get("/api/v1/me").status_code == 401  # the API never takes the cookie
    page = b.get("/account/mfa/setup").get_data(as_text=True)
    qr = re.search(r'id="totp-qr">(.*?)</div>', page, re.S).group(1)
    assert qr.startswith("<svg") and "script" not in qr and "data:" not in qr
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script (CSP)
    r = _form_post(b, "/account/mfa/setup", {"code": "123456"}, "/account/mfa/setup")
    assert r.status_code == 400 and "invalid code" in r.get_data(as_text=True)
    secret, codes = _enrol(b)
    assert len(codes) == 10
    assert b.get("/admin/").status_code == 200

    second = Browser(strict_app)
    r = second.login("admin", org.passwords["admin"])
    assert "/login/verify" in r.headers["Location"]
    assert second.get("/admin/").headers["Location"].startswith("/login/verify")
    r = _form_post(second, "/login/verify", {"code": "000000"}, "/login/verify")
    assert r.status_code == 401 and "The code is not valid" in r.get_data(as_text=True)
    code = _code_after(secret, org.admin.user_id)
    r = _form_post(second, "/login/verify?next=/admin/", {"code": code}, "/login/verify")
    assert r.status_code == 302 and r.headers["Location"] == "/admin/"
    assert second.get("/admin/").status_code == 200

    replay = Browser(strict_app)
    replay.login("admin", org.passwords["admin"])
    r = _form_post(replay, "/login/verify", {"code": code}, "/login/verify")
    assert r.status_code == 401  # the same code, its step used
    r = _form_post(replay, "/login/verify", {"code": codes[0]}, "/login/verify")
    assert r.status_code == 302 and replay.get("/admin/").status_code == 200
    actions = [a.action for a in AuditRecord.select().where(
        AuditRecord.action.startswith("auth.")).order_by(AuditRecord.seq)]
    assert actions.count("auth.login") == 3 and "auth.recovery_code_used" in actions
    assert "auth.mfa_enrolled" in actions and actions.count("auth.mfa_failed") == 3


def test_an_agent_may_turn_totp_on_and_off_with_the_password(app, org):
    b = Browser(app)
    b.login("wangfang", org.passwords["wangfang"])
    UserSession.update(reauth_at=utcnow() - dt.timedelta(minutes=10)).execute()
    page = b.get("/account/mfa/setup").get_data(as_text=True)
    r = _form_post(b, "/account/mfa/setup", {"code": pyotp.TOTP(_secret(page)).now()},
                   "/account/mfa/setup")
    assert r.status_code == 400 and "enter your password to confirm" in r.get_data(as_text=True)
    secret, codes = _enrol(b, org.passwords["wangfang"])
    assert len(codes) == 10
    UserSession.update(reauth_at=utcnow() - dt.timedelta(minutes=10)).execute()
    r = _form_post(b, "/account/mfa/recovery-codes", {}, "/account/mfa")
    assert r.status_code == 400
    r = _form_post(b, "/account/mfa/disable", {}, "/account/mfa")
    assert r.status_code == 400 and User.get_by_id(org.agent.user_id).totp_secret
    r = _form_post(b, "/account/mfa/recovery-codes",
                   {"current_password": org.passwords["wangfang"]}, "/account/mfa")
    assert r.status_code == 200 and r.get_data(as_text=True).count("<li><code>") == 10
    r = _form_post(b, "/account/mfa/disable", {}, "/account/mfa")  # confirmed a moment ago
    assert r.status_code == 302 and not User.get_by_id(org.agent.user_id).totp_secret
    assert Browser(app).login("wangfang", org.passwords["wangfang"]).headers[
        "Location"] == "/"  # one step again


def test_the_bootstrap_admin_enrols_then_must_change_the_password_before_anything_else(
        strict_app, settings):
    _, password = users.create_user(SYSTEM, "root", "Administrator", "admin",
                                     must_change_password=True)  # as `gongdan init` does
    b = Browser(strict_app)
    b.login("root", password)
    _enrol(b)
    for path in ("/admin/", "/agent/", "/account/tokens"):
        r = b.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/account/password")
    r = _form_post(b, "/account/password", {"current_password": password,
                                            "new_password": "A-new-admin-pw-2026",
                                            "confirm_password": "A-new-admin-pw-2026"},
                   "/account/password")
    assert r.status_code == 302
    assert b.get("/admin/").status_code == 200
    assert not User.get(User.username == "root").must_change_password


# --- sessions -----------------------------------------------------------------------------------

def test_my_sessions_lists_marks_ends_one_and_logs_out_everywhere_else(app, org):
    here, there, third = (Browser(app) for _ in range(3))
    for b in (here, there, third):
        b.login("wangfang", org.passwords["wangfang"])
    page = here.get("/account/sessions").get_data(as_text=True)
    ids = re.findall(r'name="session_id" value="([0-9a-f]{64})"', page)
    assert len(ids) == 2 and page.count("This session") == 1
    r = _form_post(here, "/account/sessions/revoke", {"session_id": ids[0]}, "/account/sessions")
    assert r.status_code == 302
    alive = [b.get("/agent/").status_code for b in (there, third)]
    assert sorted(alive) == [200, 302]
    _form_post(here, "/account/sessions/revoke-others", {}, "/account/sessions")
    assert [b.get("/agent/").status_code for b in (there, third)] == [302, 302]
    assert here.get("/agent/").status_code == 200


def test_an_admin_sees_and_ends_a_users_sessions_on_the_user_page(app, org, login):
    agent = login("wangfang")
    admin = login("admin")
    page = admin.get(f"/admin/users/{org.agent.user_id}").get_data(as_text=True)
    assert 'id="user-sessions"' in page and len(re.findall(r'name="session_id"', page)) == 1
    r = _form_post(admin, f"/admin/users/{org.agent.user_id}/sessions/end", {},
                   f"/admin/users/{org.agent.user_id}")
    assert r.status_code == 302 and agent.get("/agent/").status_code == 302
    assert login("wangfang").get("/agent/").status_code == 200
    assert agent.get(f"/admin/users/{org.agent.user_id}").status_code in (302, 403)


def test_disabling_a_user_on_the_admin_page_ends_their_open_session(app, org, login):
    agent = login("wangfang")
    assert agent.get("/agent/").status_code == 200
    admin = login("admin")
    _form_post(admin, f"/admin/users/{org.agent.user_id}/disable", {},
               f"/admin/users/{org.agent.user_id}")
    assert agent.get("/agent/").status_code == 302


# --- re-authentication ------------------------------------------------------------------------

def test_changing_the_email_needs_the_password_after_five_minutes(app, org, login):
    b = login("wangfang")
    UserSession.update(reauth_at=utcnow() - dt.timedelta(minutes=6)).execute()
    page = b.get("/account/email").get_data(as_text=True)
    assert 'name="current_password"' in page
    r = _form_post(b, "/account/email", {"email": "new@example.com"}, "/account/email")
    assert r.status_code == 400 and "enter your password to confirm" in r.get_data(as_text=True)
    r = _form_post(b, "/account/email", {"email": "new@example.com",
                                         "current_password": org.passwords["wangfang"]},
                   "/account/email")
    assert r.status_code == 302 and user_emails.email_of(User.get_by_id(org.agent.user_id)) == "new@example.com"
    assert 'name="current_password"' not in b.get("/account/email").get_data(as_text=True)


def test_changing_the_password_always_needs_the_current_one(app, org, login):
    b = login("wangfang")
    r = _form_post(b, "/account/password", {"current_password": "",
                                            "new_password": "Another-good-pw-7",
                                            "confirm_password": "Another-good-pw-7"},
                   "/account/password")
    assert r.status_code == 400 and User.get_by_id(org.agent.user_id).password_hash
    r = _form_post(b, "/account/password", {"current_password": org.passwords["wangfang"],
                                            "new_password": "Another-good-pw-7",
                                            "confirm_password": "Another-good-pw-7"},
                   "/account/password")
    assert r.status_code == 302
    assert Browser(app).login("wangfang", "Another-good-pw-7").status_code == 302


def test_api_token_creation_is_rate_limited(settings, org):
    app = create_app(with_settings(settings, auth_rate_per_account=2))
    app.config.update(TESTING=True)
    b = Browser(app)
    b.login("wangfang", org.passwords["wangfang"])
    for n in range(2):
        assert b.post("/account/tokens", {"name": f"t{n}"}).status_code == 200
    r = b.post("/account/tokens", {"name": "t3"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_an_admin_unlocks_a_locked_account_and_logout_is_audited(app, org, login):
    b = Browser(app)
    for _ in range(5):
        b.login("wangfang", "wrong-password-1")
    admin = login("admin")
    page = admin.get(f"/admin/users/{org.agent.user_id}").get_data(as_text=True)
    assert 'id="unlock-user"' in page
    _form_post(admin, f"/admin/users/{org.agent.user_id}/unlock", {},
               f"/admin/users/{org.agent.user_id}")
    assert 'id="unlock-user"' not in admin.get(
        f"/admin/users/{org.agent.user_id}").get_data(as_text=True)
    agent = Browser(app)
    assert agent.login("wangfang", org.passwords["wangfang"]).status_code == 302
    _form_post(agent, "/logout", {}, "/agent/")
    assert agent.get("/agent/").status_code == 302
    actions = [r.action for r in AuditRecord.select().order_by(AuditRecord.seq)]
    assert "auth.unlocked" in actions and actions[-1] == "auth.logout"


def test_behind_the_proxy_sessions_and_audit_name_the_client_not_nginx(app, org):
    """nginx on the box is a trusted proxy: the session row, the audit record and the
    per-IP limits see the X-Forwarded-For client, never 127.0.0.1 for everyone. A header
    from an untrusted peer is not believed."""
    b = Browser(app)
    token = b.csrf("/login")
    r = b.client.post("/login", data={"username": "wangfang", "csrf_token": token,
                                      "password": org.passwords["wangfang"]},
                      headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"},
                      environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert r.status_code == 302
    user = User.get(User.username == "wangfang")
    assert UserSession.get(UserSession.user == user.id).ip == "203.0.113.9"
    login = AuditRecord.select().where((AuditRecord.action == "auth.login")
                                       & (AuditRecord.actor_id == user.id)).get()
    assert login.ip == "203.0.113.9"

    spoof = Browser(app)
    token = spoof.csrf("/login")
    spoof.client.post("/login", data={"username": "lilei", "csrf_token": token,
                                      "password": org.passwords["lilei"]},
                      headers={"X-Forwarded-For": "203.0.113.66"},
                      environ_base={"REMOTE_ADDR": "192.0.2.50"})
    lilei = User.get(User.username == "lilei")
    assert UserSession.get(UserSession.user == lilei.id).ip == "192.0.2.50"
