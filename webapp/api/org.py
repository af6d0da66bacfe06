"""Organisation set-up: departments, categories and custom field definitions.

Anyone with a token may read them (a customer picks a category); only
administrators create departments and categories.
"""
from __future__ import annotations

from flask import g

from appliance.services import org
from webapp.api import api_bp
from webapp.api.payload import (boolean, identifier, items, json_body, nullable, query_choice,
                                reply, text)


def _active_only() -> bool:
    return query_choice("active", ("true", "false"), "false") == "true"


@api_bp.get("/departments")
def list_departments():
    return items(org.list_departments(active_only=_active_only()))


@api_bp.post("/departments")
def create_department():
    values = json_body({"code": text(32), "name": text(100), "name_en": text(100),
                        "active": boolean}, required=("code", "name"))
    return reply(org.save_department(g.actor, **values), 201)


@api_bp.get("/categories")
def list_categories():
    return items(org.list_categories(active_only=_active_only()))


@api_bp.post("/categories")
def create_category():
    values = json_body({"name": text(100), "parent_id": nullable(identifier),
                        "department_id": nullable(identifier), "active": boolean},
                       required=("name",))
    return reply(org.save_category(g.actor, **values), 201)


@api_bp.get("/custom-fields")
def list_custom_fields():
    return items(org.list_custom_fields(active_only=_active_only()))
