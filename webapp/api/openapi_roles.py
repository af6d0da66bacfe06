"""OpenAPI paths and schemas of webapp/api/roles.py (merged by webapp/api/openapi.py)."""
from __future__ import annotations

from appliance.models.org import ROLES
from appliance.rules.access import CUSTOM_BASES, PERMISSIONS
from webapp.api.openapi_parts import WRITE, json_body, json_response, operation
from webapp.api.openapi_schemas import BOOL, ID, TEXT, TIME, array, nullable, obj, ref

TAG = "roles"
ROLE_ID = {"name": "role_id", "in": "path", "required": True, "schema": ID}
USER_ID = {"name": "user_id", "in": "path", "required": True, "schema": ID}
PERMISSION = {"type": "string", "enum": sorted(PERMISSIONS)}
BASE = {"type": "string", "enum": list(CUSTOM_BASES)}
SEPARATION = ("Security administrators only (三权分立): others get 403. Administrator roles "
              "and custom roles are assigned only here.")


def _op(op_id, summary, ok, errors=(), params=(), body=None) -> dict:
    return operation(op_id, TAG, summary, ok, (403, *errors), params, body,
                     description=SEPARATION)


SCHEMAS: dict = {
    "Role": obj({
        "key": {"type": "string", "description": 'a built-in role name or "custom:<id>"'},
        "name": TEXT, "description": TEXT, "base_role": {"type": "string", "enum": list(ROLES)},
        "permissions": array(PERMISSION), "builtin": BOOL,
        "holders": {"type": "integer", "description": "active users holding it"},
        "id": nullable(ID), "version": {"type": "integer"}, "updated_at": nullable(TIME)}),
    "RoleList": obj({"items": array(ref("Role"))}),
    "RoleInput": obj({"name": {"type": "string", "minLength": 1, "maxLength": 64},
                      "description": {"type": "string", "maxLength": 255}, "base_role": BASE,
                      "permissions": array(PERMISSION)},
                     required=("name", "base_role", "permissions"),
                     description="permissions must be a subset of the base role's"),
    "RoleAssignment": obj({"role": {"type": "string", "maxLength": 80,
                                    "description": 'a built-in role or "custom:<id>"'}}),
    "RoleHolder": obj({"id": ID, "username": TEXT, "display_name": TEXT,
                       "role": {"type": "string", "enum": list(ROLES)}, "key": TEXT,
                       "custom_name": TEXT, "active": BOOL}),
}

PATHS = {
    "/roles": {
        "get": _op("listRoles", "Built-in and custom roles with their permissions",
                   json_response(200, "RoleList", "The roles")),
        "post": _op("createRole", "Create a custom role",
                    json_response(201, "Role", "Created"), WRITE, body=json_body("RoleInput")),
    },
    "/roles/{role_id}": {
        "get": _op("getRole", "One custom role", json_response(200, "Role", "The role"),
                   (404,), [ROLE_ID]),
        "put": _op("updateRole", "Replace a custom role (If-Match: its version)",
                   json_response(200, "Role", "Saved"), (*WRITE, 404, 409), [ROLE_ID],
                   json_body("RoleInput")),
        "delete": _op("deleteRole", "Delete a custom role nobody holds",
                      {"204": {"description": "Deleted"}}, (400, 404), [ROLE_ID]),
    },
    "/users/{user_id}/role": {
        "put": _op("assignRole", "Give a user a built-in or custom role",
                   json_response(200, "RoleHolder", "The user's role now"), (*WRITE, 404),
                   [USER_ID], json_body("RoleAssignment")),
    },
}
