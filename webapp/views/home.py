"""The root URL sends each role to its home; the language switch."""
from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, request, url_for

from appliance.services import users
from webapp.auth import safe_next
from webapp.i18n import LANGUAGES

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    if g.user is None:
        return redirect(url_for("account.login"))
    if g.user.role == "customer":
        return redirect(url_for("portal.tickets"))
    if g.user.role == "security_admin":
        return redirect(url_for("admin.roles.index"))
    if g.user.role == "audit_admin":  # the audit log's pages, where installed
        return redirect(url_for("audit.index") if "audit.index" in current_app.view_functions
                        else url_for("account.password"))
    return redirect(url_for("agent.queue"))


@bp.post("/lang")
def set_language():
    lang = request.form.get("lang", "")
    response = redirect(safe_next(request.form.get("next"), url_for("home.index")))
    if lang in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 86400, httponly=True, samesite="Lax")
        if g.actor is not None:
            users.set_locale(g.actor, lang)
    return response
