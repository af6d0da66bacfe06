"""The security administrator's pages: roles (built-in and custom, built from the
permission catalogue) and who holds which role. Who may open each page is the rule in
webapp.permission_matrix; the services in appliance.services.roles decide the rest."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from appliance.errors import ValidationError
from appliance.rules.access import CUSTOM_BASES, PERMISSIONS
from appliance.services import roles, user_sessions
from webapp.client import client_address
from webapp.filters import ROLE_LABELS
from webapp.views.admin_forms import form_page, values

bp = Blueprint("roles", __name__, url_prefix="/roles")

# The catalogue's descriptions, translated (the rule module holds the English).
PERMISSION_LABELS = {
    "portal.use": lazy_gettext("use the customer portal (own tickets only)"),
    "ticket.view": lazy_gettext("view tickets in one's department scope"),
    "ticket.view_all": lazy_gettext("view and work tickets of every department"),
    "ticket.edit": lazy_gettext("work tickets: reply, change fields, status, attachments"),
    "ticket.assign": lazy_gettext("assign tickets within the ticket's department"),
    "ticket.assign_any": lazy_gettext("assign tickets to anyone, any department"),
    "ticket.view_internal": lazy_gettext("see internal notes and internal fields"),
    "customer.view": lazy_gettext("view customer profiles"),
    "customer.edit": lazy_gettext("create and edit customer profiles"),
    "customer.view_pii_worked": lazy_gettext("see contacts in full for customers one works on"),
    "customer.view_pii": lazy_gettext("see every customer's contacts in full (unmasked)"),
    "customer.merge": lazy_gettext("merge duplicate customers"),
    "customer.erase": lazy_gettext("erase a customer's personal data on request (PIPL)"),
    "customer.export": lazy_gettext("export customer data"),
    "kb.view": lazy_gettext("read internal knowledge articles"),
    "kb.edit": lazy_gettext("write knowledge drafts"),
    "kb.review": lazy_gettext("review knowledge drafts: approve (publish), reject, archive"),
    "kb.admin": lazy_gettext("knowledge settings: synonyms, category reviewers"),
    "report.view": lazy_gettext("supervisor board, statistics and knowledge metrics"),
    "org.manage": lazy_gettext("departments, skills, categories and custom fields"),
    "user.manage": lazy_gettext("create, edit, disable users; non-administrator roles"),
    "config.manage": lazy_gettext("mailboxes, integrations, web forms, dispatch settings"),
    "ai.admin": lazy_gettext("AI triage rules, profiles and classifiers"),
    "process.admin": lazy_gettext("process definitions and the process monitor"),
    "backup.run": lazy_gettext("backups and restores"),
    "role.manage": lazy_gettext("create, edit and delete custom roles and their permissions"),
    "role.assign": lazy_gettext("assign any role, administrator roles included"),
    "security.policy": lazy_gettext("password, lockout and session policies"),
    "session.manage": lazy_gettext("unlock accounts and end other users' sessions"),
    "audit.read": lazy_gettext("read and export the audit log"),
}
# tests/web/test_admin_roles.py checks that every permission has its label here.


def _bases():
    return [(b, ROLE_LABELS[b]) for b in CUSTOM_BASES]


@bp.get("/")
def index():
    return render_template("admin/roles.html", roles=roles.list_roles(g.actor),
                           labels=PERMISSION_LABELS, can_manage=g.actor.can("role.manage"),
                           can_assign=g.actor.can("role.assign"))


def _form_page(template, errors=None, form=None, **context):
    return form_page(template, errors, form=form or {"base_role": "agent", "permissions": []},
                     bases=_bases(), labels=PERMISSION_LABELS, **context)


def _posted() -> dict:
    form = values("name", "description", "base_role", "version")
    form["permissions"] = [p for p in request.form.getlist("permissions") if p in PERMISSIONS]
    return form


@bp.get("/new")
def new():
    return _form_page("admin/role.html")


@bp.post("/new")
def create():
    form = _posted()
    try:
        r = roles.create_role(g.actor, form["name"], form["description"], form["base_role"],
                              form["permissions"], ip=client_address())
    except ValidationError as exc:
        return _form_page("admin/role.html", exc.fields, form)
    flash(_("Role %(name)s was created.", name=r.name), "success")
    return redirect(url_for("admin.roles.index"))


@bp.get("/<int:role_id>")
def edit(role_id: int):
    r = roles.get_role(g.actor, role_id)
    form = {"name": r.name, "description": r.description, "base_role": r.base_role,
            "permissions": list(r.permissions), "version": r.version}
    return _form_page("admin/role.html", form=form, role=r)


@bp.post("/<int:role_id>")
def update(role_id: int):
    r = roles.get_role(g.actor, role_id)
    form = _posted()
    try:
        r = roles.update_role(g.actor, role_id, form["name"], form["description"],
                              form["base_role"], form["permissions"],
                              expected_version=form["version"] or None, ip=client_address())
    except ValidationError as exc:
        return _form_page("admin/role.html", exc.fields, form, role=r)
    flash(_("Role %(name)s was saved.", name=r.name), "success")
    return redirect(url_for("admin.roles.edit", role_id=role_id))


@bp.post("/<int:role_id>/delete")
def delete(role_id: int):
    r = roles.get_role(g.actor, role_id)
    try:
        roles.delete_role(g.actor, role_id, ip=client_address())
    except ValidationError as exc:
        return _form_page("admin/role.html", exc.fields, {
            "name": r.name, "description": r.description, "base_role": r.base_role,
            "permissions": list(r.permissions), "version": r.version}, role=r)
    flash(_("Role %(name)s was deleted.", name=r.name), "success")
    return redirect(url_for("admin.roles.index"))


def _people_page(errors=None, status: int = 200):
    choices = [(r.key, ROLE_LABELS.get(r.key, r.name)) for r in roles.list_roles(g.actor)]
    return render_template("admin/role_people.html", people=roles.list_people(g.actor),
                           choices=choices, errors=errors or {},
                           can_sessions=g.actor.can("session.manage")), status


@bp.get("/people")
def people():
    return _people_page()


@bp.post("/people/<int:user_id>")
def assign(user_id: int):
    try:
        roles.assign_role(g.actor, user_id, request.form.get("role", ""), ip=client_address())
    except ValidationError as exc:
        return _people_page({user_id: exc.fields.get("role", "")}, 400)
    flash(_("The role was changed."), "success")
    return redirect(url_for("admin.roles.people"))


@bp.post("/people/<int:user_id>/unlock")
def unlock(user_id: int):
    """The security administrator lifts a lockout (services/user_sessions.py decides)."""
    user_sessions.unlock(g.actor, user_id, ip=client_address())
    flash(_("The account was unlocked."), "success")
    return redirect(url_for("admin.roles.people"))


@bp.post("/people/<int:user_id>/sessions/end")
def end_sessions(user_id: int):
    n = user_sessions.end_for_user(g.actor, user_id, ip=client_address())
    flash(_("%(n)s sessions were ended.", n=n), "success")
    return redirect(url_for("admin.roles.people"))
