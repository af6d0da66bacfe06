"""Admin pages for departments (with their teams) and the skill catalogue."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import ValidationError
from appliance.services import org, users
from webapp.views.admin_forms import checked, form_page, values

departments = Blueprint("departments", __name__, url_prefix="/departments")
skills = Blueprint("skills", __name__, url_prefix="/skills")

DEPARTMENT_FIELDS = ("code", "name", "name_en")


@departments.get("/")
def index():
    return form_page("admin/departments.html", departments=org.list_departments(), form={})


@departments.post("/")
def create():
    form = values(*DEPARTMENT_FIELDS)
    try:
        d = org.save_department(g.actor, **form)
    except ValidationError as exc:
        return form_page("admin/departments.html", exc.fields, departments=org.list_departments(),
                         form=form)
    flash(_("Department %(name)s was created.", name=d.name), "success")
    return redirect(url_for("admin.departments.index"))


def _department_page(department_id: int, errors=None, form=None, team_errors=None,
                     team_form=None):
    """The edit page; `errors` belong to the department form, `team_errors` to the team form."""
    d = org.get_department(department_id)
    members = users.list_users(g.actor, department_id=department_id)
    if form is None:
        form = {"code": d.code, "name": d.name, "name_en": d.name_en, "active": d.active,
                "lead_id": org.department_lead(department_id) or ""}
    page = render_template("admin/department.html", d=d, members=members, form=form,
                           errors=errors or {}, team_form=team_form or {},
                           team_errors=team_errors or {}, staff=_staff())
    return page, 400 if errors or team_errors else 200


def _staff() -> list:
    """Who may lead a department (approve as its lead in processes): active staff."""
    return users.list_active_staff(g.actor)


@departments.get("/<int:department_id>")
def edit(department_id: int):
    return _department_page(department_id)


@departments.post("/<int:department_id>")
def update(department_id: int):
    org.get_department(department_id)
    form = {**values(*DEPARTMENT_FIELDS), "active": checked("active"),
            "lead_id": request.form.get("lead_id", "").strip()}
    try:
        d = org.save_department(g.actor, department_id=department_id,
                                **{**form, "lead_id": form["lead_id"] or None})
    except ValidationError as exc:
        return _department_page(department_id, exc.fields, form=form)
    flash(_("Department %(name)s was saved.", name=d.name), "success")
    return redirect(url_for("admin.departments.edit", department_id=department_id))


@departments.post("/<int:department_id>/active")
def set_active(department_id: int):
    d = org.get_department(department_id)
    active = request.form.get("active") == "1"
    org.save_department(g.actor, d.code, d.name, d.name_en, active=active,
                        department_id=department_id)
    flash(_("Department %(name)s was activated.", name=d.name) if active else
          _("Department %(name)s was deactivated.", name=d.name), "success")
    return redirect(url_for("admin.departments.index"))


@departments.post("/<int:department_id>/teams")
def add_team(department_id: int):
    org.get_department(department_id)
    name = request.form.get("name", "").strip()
    member_ids = request.form.getlist("member_ids")
    try:
        team = org.add_team(g.actor, department_id, name, member_ids)
    except ValidationError as exc:
        return _department_page(department_id, team_errors=exc.fields,
                                team_form={"name": name, "member_ids": member_ids})
    flash(_("Team %(name)s was created.", name=team.name), "success")
    return redirect(url_for("admin.departments.edit", department_id=department_id))


def _skill_kinds() -> list[tuple[str, str]]:
    return [("general", _("General")), ("category", _("Category")), ("product", _("Product")),
            ("language", _("Language"))]


@skills.get("/")
def skill_list():
    return form_page("admin/skills.html", skills=org.skill_catalogue(), form={"kind": "general"},
                     kinds=_skill_kinds())


@skills.post("/")
def create_skill():
    form = values("name", "description", "kind", "language")
    form["kind"] = form["kind"] or "general"
    try:
        s = org.save_skill(g.actor, **form)
    except ValidationError as exc:
        return form_page("admin/skills.html", exc.fields, skills=org.skill_catalogue(), form=form,
                         kinds=_skill_kinds())
    flash(_("Skill %(name)s was created.", name=s.name), "success")
    return redirect(url_for("admin.skills.skill_list"))
