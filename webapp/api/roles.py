"""Roles over the API: the security administrator's custom roles and role assignment
(services/roles.py decides; docs/decisions/0029-roles-and-permissions.md)."""
from __future__ import annotations

from flask import g

from appliance.errors import NotFound
from appliance.rules.access import CUSTOM_BASES, PERMISSIONS
from appliance.services import roles
from webapp.api import api_bp
from webapp.api.payload import (ID_RULE, choice, if_match, items, json_body, list_of,
                                no_content, reply, text)
from webapp.client import client_address

ROLE_FIELDS = {"name": text(64), "description": text(255), "base_role": choice(*CUSTOM_BASES),
               "permissions": list_of(choice(*PERMISSIONS), len(PERMISSIONS))}


@api_bp.get("/roles")
def list_roles():
    return items(roles.list_roles(g.actor))


@api_bp.post("/roles")
def create_role():
    v = json_body(ROLE_FIELDS, required=("name", "base_role", "permissions"))
    return reply(roles.create_role(g.actor, v["name"], v.get("description", ""),
                                   v["base_role"], v["permissions"], ip=client_address()), 201)


@api_bp.get(f"/roles/<{ID_RULE}:role_id>")
def get_role(role_id: int):
    return reply(roles.get_role(g.actor, role_id))


@api_bp.put(f"/roles/<{ID_RULE}:role_id>")
def update_role(role_id: int):
    v = json_body(ROLE_FIELDS, required=("name", "base_role", "permissions"))
    return reply(roles.update_role(g.actor, role_id, v["name"], v.get("description", ""),
                                   v["base_role"], v["permissions"],
                                   expected_version=if_match("role"), ip=client_address()))


@api_bp.delete(f"/roles/<{ID_RULE}:role_id>")
def delete_role(role_id: int):
    roles.delete_role(g.actor, role_id, ip=client_address())
    return no_content()


@api_bp.put(f"/users/<{ID_RULE}:user_id>/role")
def assign_role(user_id: int):
    v = json_body({"role": text(80)}, required=("role",))
    roles.assign_role(g.actor, user_id, v["role"], ip=client_address())
    person = next((p for p in roles.list_people(g.actor) if p["id"] == user_id), None)
    if person is None:
        raise NotFound("user not found", id=user_id)
    return reply(person)
