"""Login state: a server-side session whose random id lives in an HttpOnly cookie.

The cookie holds nothing but the id; revocation, idle and absolute timeouts are
decided by `appliance.services.users.resume_login`. A session whose second factor is
still missing (mfa_pending, or a role in mfa_required_roles without TOTP) opens only the
second step (decision 0027).
"""
from __future__ import annotations

import functools

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_wtf.csrf import CSRFProtect

from appliance.services import mfa, security_policy, users

csrf = CSRFProtect()


def cookie_name() -> str:
    # The __Host- prefix requires Secure, no Domain and Path=/ (set behind TLS).
    return "__Host-gd_session" if current_app.config["GONGDAN"].secure_cookies else "gd_session"


def set_session_cookie(response, token: str) -> None:
    s = security_policy.effective(current_app.config["GONGDAN"])
    response.set_cookie(cookie_name(), token, httponly=True, secure=s.secure_cookies,
                        samesite="Lax", path="/", max_age=s.session_absolute_hours * 3600)


def clear_session_cookie(response) -> None:
    response.delete_cookie(cookie_name(), path="/")


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=app.config["GONGDAN"].secure_cookies,
                      SESSION_COOKIE_NAME="gd_csrf")

    @app.before_request
    def _load_user():
        g.user = None
        g.actor = None
        g.pending_user = None  # password passed, second factor (or enrolment) not yet
        g.session_id = ""
        # /live/ loads its user without touching the session (webapp/live.py): a page that
        # only listens must not keep its session from idling out.
        if request.path.startswith(("/static/", "/api/", "/live/")):
            return None
        settings = current_app.config["GONGDAN"]
        found = users.resume_login(request.cookies.get(cookie_name(), ""), settings)
        if found is None:
            return None
        user, session = found
        g.session_id = session.id_hash
        if session.mfa_pending or (mfa.required_for(user, settings) and not mfa.enabled(user)):
            return _second_step_only(user)
        g.user = user
        g.actor = users.actor_of(user)
        return None


def _second_step_only(user):
    """A half-authenticated session reaches the second step (or, for a required role
    without TOTP, the enrolment), login (as someone else) and logout, nothing else;
    g.user stays None everywhere."""
    g.pending_user = user
    step = "account.second_step" if mfa.enabled(user) else "account.mfa_setup"
    if request.endpoint in (step, "account.login", "account.logout", "static"):
        return None
    if request.method == "GET":
        return redirect(url_for(step, next=request.full_path if request.endpoint else None))
    abort(403)


def login_required(*roles: str):
    """Require a logged-in user (with one of `roles`, if given); customers go to the portal."""
    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if g.get("user") is None:
                return redirect(url_for("account.login", next=request.full_path))
            if g.user.must_change_password and request.endpoint != "account.password":
                return redirect(url_for("account.password"))
            if roles and g.user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


STAFF = ("agent", "supervisor", "admin")


def safe_next(target: str | None, fallback: str) -> str:
    """A same-site path to go to after a form, or `fallback`.

    Browsers ignore tabs and newlines in URLs and treat backslashes as slashes, so
    "/\t/evil.example" would leave the site: only plain printable paths pass.
    """
    from urllib.parse import urlsplit
    if not target or not target.startswith("/") or len(target) > 2000:
        return fallback
    if any(ord(ch) <= 0x20 or ch == "\\" for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return fallback
    return target
