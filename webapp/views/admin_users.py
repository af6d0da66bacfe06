"""Admin pages for users: list, create, edit, disable, reset password, skill levels.

A generated password is shown once, in the response to the POST that made it,
and never stored anywhere else (not in a flash message, which lives in a cookie).
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from appliance.errors import PermissionDenied, ValidationError
from appliance.models.org import ROLES, STAFF_ROLES
from appliance.services import org, user_sessions, users
from webapp.client import client_address
from webapp.filters import ROLE_LABELS
from webapp.views.admin_forms import form_page, values

bp = Blueprint("users", __name__, url_prefix="/users")

EDIT_FIELDS = ("display_name", "email", "role", "department_id", "capacity", "locale")
LOCALES = (("", lazy_gettext("Follow the browser")), ("zh_CN", "中文"), ("en", "English"))
LEVELS = tuple((str(n), str(n)) for n in range(1, 6))


def _roles(roles) -> list[tuple[str, str]]:
    return [(r, ROLE_LABELS[r]) for r in roles]


@bp.get("/")
def index():
    role = request.args.get("role") if request.args.get("role") in ROLES else None
    department_id = request.args.get("department_id", type=int)
    return render_template("admin/users.html", departments=org.list_departments(),
                           users=users.list_users(g.actor, role=role, department_id=department_id),
                           roles=_roles(ROLES), form={"role": role or "",
                                                      "department_id": department_id or ""})


def _new_page(errors=None, form=None):
    return form_page("admin/user_new.html", errors, form=form or {"capacity": "10"},
                     departments=org.list_departments(active_only=True),
                     roles=_roles(STAFF_ROLES), locales=LOCALES)


@bp.get("/new")
def new():
    return _new_page()


@bp.post("/new")
def create():
    form = values("username", *EDIT_FIELDS)
    if form["role"] not in STAFF_ROLES:
        return _new_page({"role": "must be one of " + ", ".join(STAFF_ROLES)}, form)
    try:
        u, password = users.create_user(
            g.actor, form["username"], form["display_name"], form["role"], email=form["email"],
            department_id=form["department_id"] or None, capacity=form["capacity"] or 10,
            locale=form["locale"], must_change_password=True)
    except ValidationError as exc:
        return _new_page(exc.fields, form)
    return render_template("admin/one_time_password.html", u=u, password=password, created=True)


def _edit_page(user_id: int, errors=None, form=None):
    u = users.get_user(g.actor, user_id)
    if form is None:
        form = {"display_name": u.display_name, "email": u.email, "role": u.role,
                "department_id": str(u.department.id) if u.department else "",
                "capacity": str(u.capacity), "locale": u.locale,
                "manager_id": users.manager_of(user_id) or ""}
    skills = org.list_skills()
    managers = [m for role in STAFF_ROLES for m in users.list_users(g.actor, role=role)
                if m.active and m.id != user_id]
    return form_page("admin/user.html", errors, u=u, form=form, roles=_roles(ROLES),
                     sessions=_sessions(user_id), locked_until=_locked_until(user_id),
                     locales=LOCALES, levels=LEVELS, departments=org.list_departments(),
                     skills=skills, skill_ids={s.name: s.id for s in skills},
                     managers=managers)


def _sessions(user_id: int):
    """The user's open sessions, for an administrator who may end them (else None)."""
    try:
        return user_sessions.list_for_user(g.actor, user_id, current_app.config["GONGDAN"])
    except PermissionDenied:
        return None


def _locked_until(user_id: int):
    try:
        return user_sessions.locked_until(g.actor, user_id)
    except PermissionDenied:
        return None


@bp.post("/<int:user_id>/unlock")
def unlock(user_id: int):
    users.get_user(g.actor, user_id)
    user_sessions.unlock(g.actor, user_id, ip=client_address())
    flash(_("The account was unlocked."), "success")
    return redirect(url_for("admin.users.edit", user_id=user_id))


@bp.post("/<int:user_id>/sessions/end")
def end_sessions(user_id: int):
    """End one session (form field session_id) or, without it, all of the user's."""
    users.get_user(g.actor, user_id)
    n = user_sessions.end_for_user(g.actor, user_id, request.form.get("session_id") or None,
                                   ip=client_address())
    flash(_("%(n)s sessions were ended.", n=n), "success")
    return redirect(url_for("admin.users.edit", user_id=user_id))


@bp.get("/<int:user_id>")
def edit(user_id: int):
    return _edit_page(user_id)


@bp.post("/<int:user_id>")
def update(user_id: int):
    users.get_user(g.actor, user_id)
    form = {**values(*EDIT_FIELDS), "manager_id": request.form.get("manager_id", "").strip()}
    changes = {**form, "department_id": form["department_id"] or None,
               "manager_id": form["manager_id"] or None}
    try:
        u = users.update_user(g.actor, user_id, changes)
    except ValidationError as exc:
        return _edit_page(user_id, exc.fields, form)
    flash(_("User %(name)s was saved.", name=u.username), "success")
    return redirect(url_for("admin.users.edit", user_id=user_id))


@bp.post("/<int:user_id>/disable")
def disable(user_id: int):
    users.get_user(g.actor, user_id)
    try:
        u = users.disable_user(g.actor, user_id)
    except ValidationError as exc:
        return _edit_page(user_id, exc.fields)
    flash(_("User %(name)s was disabled and logged out everywhere.", name=u.username), "success")
    return redirect(url_for("admin.users.edit", user_id=user_id))


@bp.post("/<int:user_id>/enable")
def enable(user_id: int):
    users.get_user(g.actor, user_id)
    u = users.update_user(g.actor, user_id, {"active": True})
    flash(_("User %(name)s was enabled.", name=u.username), "success")
    return redirect(url_for("admin.users.edit", user_id=user_id))


@bp.post("/<int:user_id>/reset-password")
def reset_password(user_id: int):
    u = users.get_user(g.actor, user_id)
    password = users.reset_password(g.actor, user_id)
    return render_template("admin/one_time_password.html", u=u, password=password, created=False)


@bp.post("/<int:user_id>/skills")
def set_skill(user_id: int):
    users.get_user(g.actor, user_id)
    try:
        org.set_agent_skill(g.actor, user_id, request.form.get("skill_id", ""),
                            request.form.get("level", ""))
    except ValidationError as exc:
        return _edit_page(user_id, exc.fields)
    flash(_("Skill levels were saved."), "success")
    return redirect(url_for("admin.users.edit", user_id=user_id))
