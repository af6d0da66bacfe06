"""Administration pages (admin role only): the landing page and the guard.

Each area lives in its own module as a blueprint nested under this one, so every
endpoint is `admin.<area>.<action>` and the role check below covers them all.
"""
from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request

from webapp.auth import login_required
from webapp.permission_matrix import permits, requirement
from webapp.views import admin_ai, admin_catalog, admin_dispatch, admin_org, admin_users
from webapp.views import admin_integrations, admin_mailboxes, admin_processes, admin_webforms
from webapp.views import admin_backups, admin_kb, admin_roles, admin_security, admin_sla
from webapp.views import admin_followups
from webapp.views import admin_quality

bp = Blueprint("admin", __name__, url_prefix="/admin")
for _area in (admin_org.departments, admin_org.skills, admin_users.bp,
              admin_catalog.categories, admin_catalog.fields, admin_ai.bp, admin_dispatch.bp,
              admin_mailboxes.bp, admin_integrations.bp, admin_webforms.bp, admin_processes.bp,
              admin_kb.bp, admin_roles.bp, admin_security.bp, admin_sla.bp, admin_backups.bp, admin_followups.bp,
              admin_quality.bp):
    bp.register_blueprint(_area)


@bp.before_request
@login_required()
def _admins_only():
    """Runs before every admin endpoint, nested ones included; None lets the request on.
    Each area is one administrator's job (三权分立): the rule in webapp.permission_matrix
    names its permission (the app-wide gate checks it first; this is the second lock)."""
    if not permits(g.actor.permissions, requirement(request.endpoint)):
        abort(403)
    return None


@bp.get("/")
def index():
    return render_template("admin/index.html")
