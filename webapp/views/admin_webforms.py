"""Admin: public web forms (list, create, edit, delete). Nested under the admin
blueprint, so every endpoint is admin.webforms.* and needs the admin role."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import ValidationError
from appliance.services import org, webforms
from webapp.views.admin_forms import checked, values
from webapp.views.forms_labels import translated

bp = Blueprint("webforms", __name__, url_prefix="/forms")

TEXT_FIELDS = ("slug", "title", "intro", "department_id", "category_id", "embed_origins")
FLAGS = ("allow_attachments", "send_confirmation", "active")


def _page(template: str, errors=None, **context):
    errors = translated(errors or {})
    html = render_template(template, errors=errors, departments=org.list_departments(),
                           categories=org.list_categories(), **context)
    return html, 400 if errors else 200


def _posted() -> dict:
    form = values(*TEXT_FIELDS)
    form.update({flag: checked(flag) for flag in FLAGS})
    return form


def _input(form: dict) -> webforms.WebFormInput:
    return webforms.WebFormInput(**form)


def _as_form(f: webforms.WebFormView) -> dict:
    return {"slug": f.slug, "title": f.title, "intro": f.intro,
            "department_id": f.department_id or "", "category_id": f.category_id or "",
            "embed_origins": "\n".join(f.embed_origins), "allow_attachments": f.allow_attachments,
            "send_confirmation": f.send_confirmation, "active": f.active}


@bp.get("/")
def index():
    new = {"allow_attachments": True, "send_confirmation": True, "active": True}
    return _page("admin/webforms.html", forms=webforms.list_forms(g.actor), form=new)


@bp.post("/")
def create():
    form = _posted()
    try:
        f = webforms.save_form(g.actor, _input(form))
    except ValidationError as exc:
        return _page("admin/webforms.html", exc.fields, forms=webforms.list_forms(g.actor),
                     form=form)
    flash(_("Web form %(title)s was created.", title=f.title), "success")
    return redirect(url_for("admin.webforms.edit", form_id=f.id))


@bp.get("/<int:form_id>")
def edit(form_id: int):
    f = webforms.get_form(g.actor, form_id)
    return _page("admin/webform.html", f=f, form=_as_form(f))


@bp.post("/<int:form_id>")
def update(form_id: int):
    f = webforms.get_form(g.actor, form_id)
    form = _posted()
    try:
        f = webforms.save_form(g.actor, _input(form), form_id=form_id)
    except ValidationError as exc:
        return _page("admin/webform.html", exc.fields, f=f, form=form)
    flash(_("Web form %(title)s was saved.", title=f.title), "success")
    return redirect(url_for("admin.webforms.edit", form_id=form_id))


@bp.post("/<int:form_id>/delete")
def delete(form_id: int):
    f = webforms.get_form(g.actor, form_id)
    if request.form.get("confirm") != "1":
        return redirect(url_for("admin.webforms.edit", form_id=form_id))
    webforms.delete_form(g.actor, form_id)
    flash(_("Web form %(title)s was deleted.", title=f.title), "success")
    return redirect(url_for("admin.webforms.index"))
