"""Log in (the password step), log out, change password, personal API tokens; the second
step, TOTP, sessions and email pages are in account_security (same blueprint)."""
from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import AuthenticationFailed, ValidationError
from appliance.services import mfa, rate_limits, security_policy, users
from security.passwords import POLICIES
from webapp.auth import (clear_session_cookie, cookie_name, login_required, safe_next,
                          set_session_cookie)
from webapp.client import client_address

bp = Blueprint("account", __name__)


def _safe_next(target: str | None) -> str:
    return safe_next(target, url_for("home.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        settings, ip = current_app.config["GONGDAN"], client_address()
        username = request.form.get("username", "")
        rate_limits.hit("login", settings, ip=ip, account=username)  # 429 + Retry-After
        try:
            user = users.authenticate(username, request.form.get("password", ""), settings,
                                      ip=ip)
        except AuthenticationFailed:
            error = _("Invalid user name or password.")
        else:
            return _logged_in(user, settings, ip)
    return render_template("auth/login.html", error=error), 401 if error else 200


def _logged_in(user, settings, ip: str):
    """A new session (a new id, never the old one); half-authenticated if a second factor
    or its enrolment comes next."""
    users.end_session(request.cookies.get(cookie_name(), ""))
    pending = mfa.needs_second_step(user, settings)
    token = users.start_session(user, ip, request.headers.get("User-Agent", ""),
                                mfa_pending=pending)
    next_page = _safe_next(request.args.get("next"))
    if pending:
        step = "account.second_step" if mfa.enabled(user) else "account.mfa_setup"
        target = url_for(step, next=next_page)
    else:
        target = url_for("account.password") if user.must_change_password else next_page
    response = redirect(target)
    set_session_cookie(response, token)
    return response


@bp.post("/logout")
def logout():
    users.end_session(request.cookies.get(cookie_name(), ""))
    response = redirect(url_for("account.login"))
    clear_session_cookie(response)
    return response


@bp.route("/account/password", methods=["GET", "POST"])
@login_required()
def password():
    errors = {}
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            errors["confirm_password"] = _("The two passwords differ.")
        else:
            settings, ip = current_app.config["GONGDAN"], client_address()
            rate_limits.hit("password", settings, ip=ip, account=g.user.username)
            try:
                users.change_own_password(g.actor, request.form.get("current_password", ""), new,
                                          ip=ip)
            except ValidationError as exc:
                errors = exc.fields
            else:
                # Changing the password ended every session; start a fresh one.
                token = users.start_session(g.user, client_address(),
                                            request.headers.get("User-Agent", ""),
                                            fresh_login=False)
                response = redirect(url_for("home.index"))
                set_session_cookie(response, token)
                return response
    return render_template("auth/password.html", errors=errors,
                           forced=g.user.must_change_password,
                           min_length=POLICIES[security_policy.effective(
                               current_app.config["GONGDAN"]).password_policy]
                           .min_length), 400 if errors else 200


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required()
def tokens():
    new_token = None
    errors = {}
    if request.method == "POST":
        rate_limits.hit("token", current_app.config["GONGDAN"], ip=client_address(),
                        account=g.user.username)
        try:
            _, new_token = users.create_api_token(g.actor, request.form.get("name", ""))
        except ValidationError as exc:
            errors = exc.fields
    return render_template("auth/tokens.html", tokens=users.list_api_tokens(g.actor),
                           new_token=new_token, errors=errors), 400 if errors else 200


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required()
def revoke_token(token_id: int):
    users.revoke_api_token(g.actor, token_id)
    return redirect(url_for("account.tokens"))


from webapp.views import account_security  # noqa: E402,F401  (its routes join this blueprint)
