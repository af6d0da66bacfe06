"""Users: list and read (staff), create (administrators)."""
from __future__ import annotations

from flask import g

from appliance.models.org import ROLES
from appliance.services import users
from webapp.api import api_bp
from webapp.api.payload import (ID_RULE, boolean, choice, identifier, integer, items, json_body,
                                nullable, query_choice, query_int, reply, text, to_json)

USER_FIELDS = {"username": text(64), "display_name": text(100), "role": choice(*ROLES),
               "password": text(256), "email": text(254), "department_id": nullable(identifier),
               "customer_id": nullable(identifier), "must_change_password": boolean,
               "locale": choice("", "zh_CN", "en"), "capacity": integer(0, 500)}


@api_bp.get("/users")
def list_users():
    return items(users.list_users(g.actor, role=query_choice("role", ROLES),
                                  department_id=query_int("department_id")))


@api_bp.get(f"/users/<{ID_RULE}:user_id>")
def get_user(user_id: int):
    return reply(users.get_user(g.actor, user_id))


@api_bp.post("/users")
def create_user():
    """A generated password (none given) is returned once, and must be changed at first login."""
    values = json_body(USER_FIELDS, required=("username", "display_name", "role"))
    generated = "password" not in values
    values.setdefault("must_change_password", generated)
    view, password = users.create_user(g.actor, values.pop("username"),
                                       values.pop("display_name"), values.pop("role"), **values)
    body = to_json(view)
    if generated:
        body["initial_password"] = password
    return reply(body, 201)
