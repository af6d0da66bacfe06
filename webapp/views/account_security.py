"""The second login step, TOTP set-up, recovery codes, own sessions and email change
(routes of the `account` blueprint; decision 0027)."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import AuthenticationFailed, ValidationError
from appliance.services import mfa, rate_limits, user_emails, user_sessions, users
from webapp.auth import login_required, safe_next
from webapp.client import client_address
from webapp.views.account import bp


def _settings():
    return current_app.config["GONGDAN"]


def _next() -> str:
    return safe_next(request.args.get("next"), url_for("home.index"))


def _confirmed() -> bool:
    return user_sessions.recently_confirmed(g.actor, g.session_id)


@bp.route("/login/verify", methods=["GET", "POST"])
def second_step():
    user = g.get("pending_user")
    if user is None or not mfa.enabled(user):
        return redirect(url_for("account.login"))
    error = None
    if request.method == "POST":
        rate_limits.hit("mfa", _settings(), ip=client_address(), account=user.username)
        try:
            mfa.second_step(user, g.session_id, request.form.get("code", ""), _settings(),
                            ip=client_address())
        except AuthenticationFailed:
            error = _("The code is not valid. Try the next code, or a recovery code.")
        else:
            users.login_completed(user, client_address())
            return redirect(url_for("account.password") if user.must_change_password
                            else _next())
    return render_template("auth/second_step.html", error=error), 401 if error else 200


@bp.route("/account/mfa/setup", methods=["GET", "POST"])
def mfa_setup():
    """Enrolment: for a logged-in user, or forced for a half-authenticated one."""
    user = g.get("user") or g.get("pending_user")
    if user is None:
        return redirect(url_for("account.login", next=request.full_path))
    actor = users.actor_of(user)
    forced = g.get("pending_user") is not None
    errors, codes = {}, None
    if request.method == "POST":
        try:
            user_sessions.confirm_identity(actor, g.session_id,
                                           request.form.get("current_password", ""),
                                           _settings(), ip=client_address())
            codes = mfa.confirm_enrolment(actor, request.form.get("code", ""), _settings(),
                                          session_hash=g.session_id, ip=client_address())
        except ValidationError as exc:
            errors = exc.fields
        else:
            if forced:
                users.login_completed(user, client_address())
            return render_template("auth/recovery_codes.html", codes=codes,
                                   next=url_for("account.password")
                                   if user.must_change_password else _next())
    return render_template("auth/mfa_setup.html", errors=errors, forced=forced,
                           pending=mfa.pending_secret(actor, _settings()),
                           confirmed=user_sessions.recently_confirmed(actor, g.session_id)
                           ), 400 if errors else 200


@bp.get("/account/mfa")
@login_required()
def mfa_page():
    return render_template("auth/mfa.html", status=mfa.status(g.actor, _settings()),
                           confirmed=_confirmed(), errors={})


def _mfa_change(change):
    """Run `change` after re-authentication; the MFA page with the errors otherwise."""
    try:
        user_sessions.confirm_identity(g.actor, g.session_id,
                                       request.form.get("current_password", ""), _settings(),
                                       ip=client_address())
        return change()
    except ValidationError as exc:
        return render_template("auth/mfa.html", status=mfa.status(g.actor, _settings()),
                               confirmed=_confirmed(), errors=exc.fields), 400


@bp.post("/account/mfa/disable")
@login_required()
def mfa_disable():
    def change():
        mfa.disable(g.actor, _settings(), ip=client_address())
        flash(_("The second factor was turned off."), "success")
        return redirect(url_for("account.mfa_page"))
    return _mfa_change(change)


@bp.post("/account/mfa/recovery-codes")
@login_required()
def mfa_codes():
    def change():
        codes = mfa.regenerate_codes(g.actor, ip=client_address())
        return render_template("auth/recovery_codes.html", codes=codes,
                               next=url_for("account.mfa_page"))
    return _mfa_change(change)


@bp.get("/account/sessions")
@login_required()
def sessions():
    return render_template("auth/sessions.html",
                           sessions=user_sessions.list_own(g.actor, _settings(), g.session_id))


@bp.post("/account/sessions/revoke")
@login_required()
def revoke_session():
    user_sessions.revoke_own(g.actor, request.form.get("session_id", ""), ip=client_address())
    flash(_("The session was ended."), "success")
    return redirect(url_for("account.sessions"))


@bp.post("/account/sessions/revoke-others")
@login_required()
def revoke_other_sessions():
    n = user_sessions.revoke_others(g.actor, g.session_id, ip=client_address())
    flash(_("%(n)s other sessions were ended.", n=n), "success")
    return redirect(url_for("account.sessions"))


@bp.route("/account/email", methods=["GET", "POST"])
@login_required()
def email():
    errors = {}
    if request.method == "POST":
        try:
            user_sessions.change_own_email(g.actor, g.session_id,
                                           request.form.get("current_password", ""),
                                           request.form.get("email", ""), _settings(), ip=client_address())
        except ValidationError as exc:
            errors = exc.fields
        else:
            flash(_("Your email address was saved."), "success")
            return redirect(url_for("account.email"))
    shown = request.form["email"] if "email" in request.form else user_emails.email_of(g.user)
    return render_template("auth/email.html", errors=errors, confirmed=_confirmed(),
                           email=shown), 400 if errors else 200
