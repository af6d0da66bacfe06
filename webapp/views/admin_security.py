"""The security administrator's policy page (/admin/security-policy): password policy,
lockout, session lifetimes and who must use a second factor. The rule in
webapp.permission_matrix lets only `security.policy` in; appliance.services.security_policy
checks again, validates and audits."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import ValidationError
from appliance.services import security_policy
from webapp import messages
from webapp.client import client_address
from webapp.messages import N_

bp = Blueprint("security", __name__, url_prefix="/security-policy")

LABELS = {
    "password_policy": _l("Password policy"),
    "password_max_age_days": _l("Maximum password age (days, mlps policy)"),
    "password_history": _l("Previous passwords that may not return (mlps policy)"),
    "lockout_threshold": _l("Failed logins before the account is locked"),
    "lockout_minutes": _l("Lockout duration (minutes)"),
    "session_idle_minutes": _l("Session idle timeout (minutes)"),
    "session_absolute_hours": _l("Session absolute lifetime (hours)"),
    "mfa_required_roles": _l("Roles that must use a second factor"),
}
POLICY_LABELS = {"asvs": _l("ASVS: at least 12 characters, no composition rules, no forced "
                            "rotation"),
                 "mlps": _l("MLPS: at least 8 characters of 3 of 4 kinds, maximum age, "
                            "history")}

messages.FIXED.update({m: _l(m) for m in (
    N_("must be asvs or mlps"), N_("only supervisor and agent can be added"),
    N_("you may not change security policies"))})
messages._COMPILED.append((re.compile(r"^a whole number from (?P<low>\d+) to (?P<high>\d+)$"),
                           N_("a whole number from %(low)s to %(high)s")))


def _page(errors=None, form=None):
    s = current_app.config["GONGDAN"]
    values = security_policy.current(g.actor, s)
    if form is None:
        form = {v.key: v.value for v in values if v.overridden}
    return render_template("admin/security_policy.html", values=values, form=form,
                           errors=errors or {}, labels=LABELS, policy_labels=POLICY_LABELS,
                           optional_roles=security_policy.MFA_OPTIONAL_ROLES,
                           mfa_override="mfa_required_roles" in form), 400 if errors else 200


@bp.get("/")
def index():
    return _page()


def _posted() -> dict:
    form = {k: request.form.get(k, "").strip() for k in security_policy.KEYS
            if k != "mfa_required_roles"}
    if request.form.get("mfa_override") == "1":
        form["mfa_required_roles"] = request.form.getlist("mfa_required_roles")
    return form


@bp.post("/")
def save():
    form = _posted()
    try:
        security_policy.save(g.actor, current_app.config["GONGDAN"], form, ip=client_address())
    except ValidationError as exc:
        return _page(exc.fields, form)
    flash(_("The security policies were saved."), "success")
    return redirect(url_for("admin.security.index"))
