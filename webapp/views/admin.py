"""Administration pages (admin role only): the landing page and the guard.

Each area lives in its own module as a blueprint nested under this one, so every
endpoint is `admin.<area>.<action>` and the role check below covers them all.
"""
from __future__ import annotations

from flask import Blueprint, render_template

from webapp.auth import login_required
from webapp.views import admin_ai, admin_catalog, admin_dispatch, admin_org, admin_users
from webapp.views import admin_integrations, admin_mailboxes, admin_processes, admin_webforms
from webapp.views import admin_kb

bp = Blueprint("admin", __name__, url_prefix="/admin")
for _area in (admin_org.departments, admin_org.skills, admin_users.bp,
              admin_catalog.categories, admin_catalog.fields, admin_ai.bp, admin_dispatch.bp,
              admin_mailboxes.bp, admin_integrations.bp, admin_webforms.bp, admin_processes.bp,
              admin_kb.bp):
    bp.register_blueprint(_area)


@bp.before_request
@login_required("admin")
def _admins_only():
    """Runs before every admin endpoint, nested ones included; None lets the request on."""
    return None


@bp.get("/")
def index():
    return render_template("admin/index.html")
