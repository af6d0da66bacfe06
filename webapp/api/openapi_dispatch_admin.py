"""OpenAPI paths and schemas of webapp/api/dispatch_admin.py.

Operations are built with openapi_parts; the error responses they name are defined in
openapi.py."""
from __future__ import annotations

from appliance.models.org import ROLES
from appliance.rules import dispatch_config, routing, states
from webapp.api.openapi_parts import json_body, json_response, operation
from webapp.api.openapi_schemas import BOOL, ID, TEXT, TIME, array, nullable, obj, ref

WRITE = (400, 403, 404, 413, 415)
INT = {"type": "integer"}
NUMBER = {"type": "number"}
ETAG = {"ETag": {"description": "The policy's version (0: never saved), for If-Match",
                 "schema": {"type": "string"}}}
PROFILE_ETAG = {"ETag": {"description": "The profile's version, for If-Match",
                         "schema": {"type": "string"}}}


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID, "example": 1}


def op(op_id: str, summary: str, ok: dict, errors=(), params=(), body=None) -> dict:
    return operation(op_id, "dispatch administration", summary, ok, errors, params, body,
                     always=(401, 403), list_params=True)


_json, _body = json_response, json_body


DEPT, USER, CATEGORY = [_path("department_id")], [_path("user_id")], [_path("category_id")]
IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": 'The ETag you read ("3"); 409 if the policy changed since'}
PROFILE_IF_MATCH = {**IF_MATCH,
                    "description": 'The ETag you read ("3"); 409 if the profile changed since'}
POLICY = "The department's routing policy"

PATHS = {
    "/departments/{department_id}/dispatch-policy": {
        "get": op("getDispatchPolicy", "A department's routing policy (defaults if never saved)",
                  _json(200, "DispatchPolicy", POLICY, ETAG), (404,), DEPT),
        "put": op("putDispatchPolicy", "Change a department's routing policy; fields left out "
                                       "keep their value. Waiting tickets are tried again.",
                  _json(200, "DispatchPolicy", POLICY, ETAG), (*WRITE, 409),
                  [*DEPT, IF_MATCH],
                  _body("DispatchPolicyChange", {"strategy": "skills", "weights": {
                      "skill": 0.5, "load": 0.3, "fairness": 0.2},
                      "escalate_after_minutes": 30, "expected_version": 1}))},
    "/users/{user_id}/dispatch-profile": {
        "get": op("getDispatchProfile", "A staff member's dispatch profile",
                  _json(200, "DispatchProfileAdmin", "The profile", PROFILE_ETAG), (404,), USER),
        "put": op("putDispatchProfile", "Change a dispatch profile; fields left out keep their "
                                        "value, shifts replace the whole week",
                  _json(200, "DispatchProfileAdmin", "The profile", PROFILE_ETAG),
                  (*WRITE, 409), [*USER, PROFILE_IF_MATCH],
                  _body("DispatchProfileChange", {"languages": ["zh", "en"], "capacity": 8,
                                                  "shifts": [{"weekday": 0, "start": "09:00",
                                                              "end": "24:00"}],
                                                  "expected_version": 1}))},
    "/users/{user_id}/absences": {
        "post": op("addAbsence", "Plan a break, leave or training (at most 60 days)",
                   _json(201, "DispatchAbsence", "The new absence"), WRITE, USER,
                   _body("DispatchAbsenceCreate", {"kind": "leave",
                                                   "starts_at": "2026-05-01T00:00:00Z",
                                                   "ends_at": "2026-05-05T00:00:00Z"}))},
    "/users/{user_id}/absences/{absence_id}": {
        "delete": op("deleteAbsence", "Cancel an absence", {"204": {"description": "Removed"}},
                     (404,), [*USER, _path("absence_id")])},
    "/categories/{category_id}/skills": {
        "get": op("getCategorySkills", "The skills a category's tickets need",
                  _json(200, "CategorySkills", "The category and its skills"), (404,), CATEGORY),
        "put": op("putCategorySkills", "Replace the skills a category's tickets need (the "
                                       "category must be active unless the list is empty)",
                  _json(200, "CategorySkills", "The category and its skills"), WRITE, CATEGORY,
                  _body("CategorySkillsChange", {"skills": [{"skill_id": 1, "min_level": 3}]}))},
    "/dispatch/health": {
        "get": op("getDispatchHealth", "Set-up problems that keep tickets from agents",
                  _json(200, "DispatchHealth", "The problems, errors first"))},
}


def _weights(keys, description: str) -> dict:
    return {"type": "object", "propertyNames": {"enum": list(keys)},
            "additionalProperties": NUMBER, "description": description}


WEIGHTS = _weights(routing.COMPONENTS, "Relative weights 0-100 of the best-match score; at "
                                       "least one above 0")
CHANNEL_WEIGHTS = _weights(states.CHANNELS, "Load units of a ticket by channel (0-10, default 1)")
PRIORITY_WEIGHTS = _weights([str(p) for p in states.PRIORITIES],
                            "Load units of a ticket by priority (0-10, default 1)")
POLICY_INPUT = {"auto_assign": BOOL, "strategy": {"type": "string",
                                                  "enum": list(routing.STRATEGIES)},
                "weights": WEIGHTS, "channel_weights": CHANNEL_WEIGHTS,
                "priority_weights": PRIORITY_WEIGHTS,
                "escalate_after_minutes": {"type": "integer", "minimum": 0,
                                           "maximum": dispatch_config.MAX_ESCALATE_MINUTES,
                                           "description": "0 = never"},
                "lead_id": nullable(ID), "overflow_department_id": nullable(ID),
                "overflow_team_id": nullable(ID)}
SHIFT = obj({"weekday": {"type": "integer", "minimum": 0, "maximum": 6,
                         "description": "0 = Monday"},
             "start": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
             "end": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$",
                     "description": "Not after start: the shift runs past midnight; "
                                    "24:00 is the end of the day (00:00-24:00: all day)"}},
            description="A weekly shift in the appliance's local time.")
ID_LIST = array(ID, maxItems=500)
KIND = {"type": "string", "enum": list(dispatch_config.ABSENCE_KINDS)}
PROBLEM_CODES = ("agent_without_department", "department_without_agents",
                 "required_skill_missing", "skill_on_inactive_category", "overflow_cycle",
                 "tickets_waiting_unroutable")

SCHEMAS = {
    "DispatchPolicy": obj({**{k: v for k, v in POLICY_INPUT.items() if "_id" not in k},
                           "department": ref("Ref"), "lead_id": nullable(INT),
                           "overflow_department_id": nullable(INT),
                           "overflow_team_id": nullable(INT),
                           "escalate_after_minutes": INT, "strategy": TEXT,
                           "version": {"type": "integer", "minimum": 0}},
                          description="How a department routes; version 0: never saved."),
    "DispatchPolicyChange": obj({**POLICY_INPUT, "expected_version": {
        "type": "integer", "minimum": 0, "description": "The version you read (0: never saved)"}},
        required=()),
    "DispatchShift": SHIFT,
    "DispatchAbsence": obj({"id": INT, "kind": KIND, "starts_at": TIME, "ends_at": TIME,
                            "note": TEXT}),
    "DispatchAbsenceCreate": obj({"kind": KIND, "starts_at": TIME, "ends_at": TIME,
                                  "note": {"type": "string", "maxLength": 200}},
                                 required=("kind", "starts_at", "ends_at")),
    "DispatchProfileAdmin": obj({
        "user": ref("Ref"), "username": TEXT, "role": {"type": "string", "enum": list(ROLES)},
        "department": nullable(ref("Ref")), "capacity": INT,
        "allowed_category_ids": array(INT, description="Empty: every category (may "
                                                       "include categories since made inactive)"),
        "allowed_customer_ids": array(INT, description="Empty: every customer"),
        "vip_tiers": array(TEXT, description='"*": every tier; empty: no VIP customers'),
        "languages": array(TEXT), "shifts": array(ref("DispatchShift")),
        "absences": array(ref("DispatchAbsence"), description="Current and planned"),
        "version": INT}),
    "DispatchProfileChange": obj({
        "allowed_category_ids": array(ID, maxItems=500, description=(
            "Active categories; one already allowed may stay after it was made inactive")),
        "allowed_customer_ids": ID_LIST,
        "vip_tiers": array({"type": "string", "maxLength": 32},
                           maxItems=dispatch_config.MAX_LIST),
        "languages": array({"type": "string", "pattern": "^[a-z][a-z-]{1,7}$"},
                           maxItems=dispatch_config.MAX_LIST),
        "capacity": {"type": "integer", "minimum": 0, "maximum": 500},
        "shifts": array(ref("DispatchShift"), maxItems=dispatch_config.MAX_SHIFTS),
        "expected_version": {"type": "integer", "minimum": 1,
                             "description": "The version you read; 409 if it changed since"}},
        required=()),
    "RequiredSkill": obj({"skill_id": INT, "skill": TEXT,
                          "min_level": {"type": "integer", "minimum": 1, "maximum": 5}}),
    "CategorySkills": obj({"category": ref("Category"), "skills": array(ref("RequiredSkill"))}),
    "CategorySkillsChange": obj({"skills": array(obj({
        "skill_id": ID, "min_level": {"type": "integer", "minimum": 1, "maximum": 5}}),
        maxItems=100)}),
    "DispatchProblem": obj({"code": {"type": "string", "enum": list(PROBLEM_CODES)},
                            "severity": {"type": "string", "enum": ["error", "warning"]},
                            "params": {"type": "object", "description": "What the problem is "
                                                                        "about: ids and names"}}),
    "DispatchHealth": obj({"items": array(ref("DispatchProblem"))}),
}
