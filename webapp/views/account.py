"""Log in, log out, change password, personal API tokens."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import AuthenticationFailed, ValidationError
from appliance.services import users
from webapp.auth import (clear_session_cookie, cookie_name, login_required, safe_next,
                          set_session_cookie)

bp = Blueprint("account", __name__)


def _safe_next(target: str | None) -> str:
    return safe_next(target, url_for("home.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        try:
            user = users.authenticate(request.form.get("username", ""),
                                      request.form.get("password", ""))
        except AuthenticationFailed:
            error = _("Invalid user name or password.")
        else:
            users.end_session(request.cookies.get(cookie_name(), ""))
            token = users.start_session(user, request.remote_addr or "",
                                        request.headers.get("User-Agent", ""))
            target = url_for("account.password") if user.must_change_password else \
                _safe_next(request.args.get("next"))
            response = redirect(target)
            set_session_cookie(response, token)
            return response
    return render_template("auth/login.html", error=error), 401 if error else 200


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
            try:
                users.change_own_password(g.actor, request.form.get("current_password", ""), new)
            except ValidationError as exc:
                errors = exc.fields
            else:
                # Changing the password ended every session; start a fresh one.
                token = users.start_session(g.user, request.remote_addr or "",
                                            request.headers.get("User-Agent", ""))
                response = redirect(url_for("home.index"))
                set_session_cookie(response, token)
                return response
    return render_template("auth/password.html", errors=errors,
                           forced=g.user.must_change_password), 400 if errors else 200


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required()
def tokens():
    new_token = None
    errors = {}
    if request.method == "POST":
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
