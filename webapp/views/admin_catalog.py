"""Admin pages for what tickets are filed under: the category tree and custom fields."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, lazy_pgettext

from appliance.errors import ValidationError
from appliance.rules.custom_fields import KINDS
from appliance.services import org
from webapp.views.admin_forms import checked, form_page, values

categories = Blueprint("categories", __name__, url_prefix="/categories")
fields = Blueprint("fields", __name__, url_prefix="/fields")

CATEGORY_FIELDS = ("name", "parent_id", "department_id")
FIELD_FIELDS = ("key", "label", "kind", "options", "position")
KIND_LABELS = {"text": lazy_gettext("Text"), "number": lazy_pgettext("field kind", "Number"),
               "date": lazy_gettext("Date"), "select": lazy_gettext("Choice (one)"),
               "multiselect": lazy_gettext("Choice (several)")}
KIND_ITEMS = [(k, KIND_LABELS.get(k, k)) for k in KINDS]


def _category_args(form: dict) -> dict:
    return {"name": form["name"], "parent_id": form["parent_id"] or None,
            "department_id": form["department_id"] or None}


def _categories_page(errors=None, form=None):
    return form_page("admin/categories.html", errors, categories=org.list_categories(),
                     departments=org.list_departments(), form=form or {})


@categories.get("/")
def index():
    return _categories_page()


@categories.post("/")
def create():
    form = values(*CATEGORY_FIELDS)
    try:
        c = org.save_category(g.actor, **_category_args(form))
    except ValidationError as exc:
        return _categories_page(exc.fields, form)
    flash(_("Category %(path)s was created.", path=c.path), "success")
    return redirect(url_for("admin.categories.index"))


def _category_page(category_id: int, errors=None, form=None):
    c = org.get_category(category_id)
    # A category cannot move under itself or its own descendants (the service checks too).
    parents = [p for p in org.list_categories()
               if p.id != c.id and not p.path.startswith(c.path + " / ")]
    if form is None:
        form = {"name": c.name, "parent_id": str(c.parent_id or ""),
                "department_id": str(c.department_id or ""), "active": c.active}
    return form_page("admin/category.html", errors, c=c, parents=parents, form=form,
                     departments=org.list_departments())


@categories.get("/<int:category_id>")
def edit(category_id: int):
    return _category_page(category_id)


@categories.post("/<int:category_id>")
def update(category_id: int):
    org.get_category(category_id)
    form = {**values(*CATEGORY_FIELDS), "active": checked("active")}
    try:
        c = org.save_category(g.actor, **_category_args(form), active=form["active"],
                              category_id=category_id)
    except ValidationError as exc:
        return _category_page(category_id, exc.fields, form)
    flash(_("Category %(path)s was saved.", path=c.path), "success")
    return redirect(url_for("admin.categories.index"))


@categories.post("/<int:category_id>/active")
def set_active(category_id: int):
    c = org.get_category(category_id)
    active = request.form.get("active") == "1"
    org.save_category(g.actor, c.name, c.parent_id, c.department_id, active=active,
                      category_id=category_id)
    flash(_("Category %(path)s was activated.", path=c.path) if active else
          _("Category %(path)s was deactivated.", path=c.path), "success")
    return redirect(url_for("admin.categories.index"))


def _field_form() -> dict:
    return {**values(*FIELD_FIELDS), "required": checked("required"), "active": checked("active")}


def _fields_page(errors=None, form=None):
    return form_page("admin/fields.html", errors, fields=org.list_custom_fields(), kinds=KIND_ITEMS,
                     form=form or {"kind": "text", "position": "0", "active": True})


@fields.get("/")
def field_list():
    return _fields_page()


@fields.post("/")
def create_field():
    form = _field_form()
    try:
        d = org.save_custom_field(g.actor, **form)
    except ValidationError as exc:
        return _fields_page(exc.fields, form)
    flash(_("Custom field %(label)s was created.", label=d.label), "success")
    return redirect(url_for("admin.fields.field_list"))


def _field_page(field_id: int, errors=None, form=None):
    d = org.get_custom_field(field_id)
    if form is None:
        form = {"key": d.key, "label": d.label, "kind": d.kind, "options": "\n".join(d.options),
                "position": str(d.position), "required": d.required, "active": d.active}
    return form_page("admin/field.html", errors, d=d, form=form, kinds=KIND_ITEMS)


@fields.get("/<int:field_id>")
def edit_field(field_id: int):
    return _field_page(field_id)


@fields.post("/<int:field_id>")
def update_field(field_id: int):
    org.get_custom_field(field_id)
    form = _field_form()
    try:
        d = org.save_custom_field(g.actor, **form, field_id=field_id)
    except ValidationError as exc:
        return _field_page(field_id, exc.fields, form)
    flash(_("Custom field %(label)s was saved.", label=d.label), "success")
    return redirect(url_for("admin.fields.field_list"))
