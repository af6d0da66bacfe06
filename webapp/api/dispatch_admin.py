"""API: dispatch policies, agents' dispatch profiles and absences, the skills categories
need, and the dispatch health check (administrators; 403 for everyone else).

Bodies are checked for shape here; what the values mean (weights that sum to 0, an
overflow cycle, overlapping shifts, ...) is decided by the services, whose 400 names
each offending field in details.fields.
"""
from __future__ import annotations

from flask import g, request

from appliance.rules import dispatch_config
from appliance.services import dispatch_admin as admin
from webapp.api import api_bp
from webapp.api.payload import (ID_RULE, MAX_ID, boolean, choice, identifier, if_match, integer,
                                items, json_body, json_object, list_of, no_content, nullable,
                                record, reply, text, text_list, timestamp)

POLICY_FIELDS = {"auto_assign": boolean, "strategy": text(32), "weights": json_object,
                 "channel_weights": json_object, "priority_weights": json_object,
                 "escalate_after_minutes": integer(0, MAX_ID),
                 "lead_id": nullable(identifier), "overflow_department_id": nullable(identifier),
                 "overflow_team_id": nullable(identifier), "expected_version": integer(0, MAX_ID)}
SHIFT = record({"weekday": integer(0, 6), "start": text(5), "end": text(5)},
               required=("weekday", "start", "end"))
PROFILE_FIELDS = {"allowed_category_ids": list_of(identifier, 500),
                  "allowed_customer_ids": list_of(identifier, 500),
                  "vip_tiers": text_list(dispatch_config.MAX_LIST, 64),
                  "languages": text_list(dispatch_config.MAX_LIST, 16),
                  "capacity": integer(0, 500),
                  "shifts": list_of(SHIFT, dispatch_config.MAX_SHIFTS),
                  "expected_version": integer(1, MAX_ID)}
ABSENCE_FIELDS = {"kind": choice(*dispatch_config.ABSENCE_KINDS), "starts_at": timestamp,
                  "ends_at": timestamp, "note": text(200)}
REQUIRED_SKILL = record({"skill_id": identifier, "min_level": integer(1, 5)},
                        required=("skill_id", "min_level"))


def _policy_if_match() -> int | None:
    """As payload.if_match, and "0": the ETag of a policy never saved."""
    if request.headers.get("If-Match", "").strip().removeprefix("W/") == '"0"':
        return 0
    return if_match("dispatch policy")


def _with_etag(view):
    return reply(view, 200, {"ETag": f'"{view.version}"'})


@api_bp.get(f"/departments/<{ID_RULE}:department_id>/dispatch-policy")
def admin_get_dispatch_policy(department_id: int):
    return _with_etag(admin.get_policy(g.actor, department_id))


@api_bp.put(f"/departments/<{ID_RULE}:department_id>/dispatch-policy")
def admin_put_dispatch_policy(department_id: int):
    """Fields left out keep their value; version 0 (never saved) may be expected too."""
    values = json_body(POLICY_FIELDS)
    version = values.pop("expected_version", None)
    if version is None:
        version = _policy_if_match()
    return _with_etag(admin.save_policy(g.actor, department_id, values,
                                        expected_version=version))


@api_bp.get(f"/users/<{ID_RULE}:user_id>/dispatch-profile")
def admin_get_dispatch_profile(user_id: int):
    return _with_etag(admin.get_profile(g.actor, user_id))


@api_bp.put(f"/users/<{ID_RULE}:user_id>/dispatch-profile")
def admin_put_dispatch_profile(user_id: int):
    """Fields left out keep their value; expected_version or If-Match: 409 if changed."""
    values = json_body(PROFILE_FIELDS)
    version = values.pop("expected_version", None)
    if version is None:
        version = if_match("dispatch profile")
    return _with_etag(admin.save_profile(g.actor, user_id, values, expected_version=version))


@api_bp.post(f"/users/<{ID_RULE}:user_id>/absences")
def admin_add_absence(user_id: int):
    values = json_body(ABSENCE_FIELDS, required=("kind", "starts_at", "ends_at"))
    return reply(admin.add_absence(g.actor, user_id, values["kind"], values["starts_at"],
                                   values["ends_at"], values.get("note", "")), 201)


@api_bp.delete(f"/users/<{ID_RULE}:user_id>/absences/<{ID_RULE}:absence_id>")
def admin_delete_absence(user_id: int, absence_id: int):
    admin.delete_absence(g.actor, user_id, absence_id)
    return no_content()


@api_bp.get(f"/categories/<{ID_RULE}:category_id>/skills")
def admin_get_category_skills(category_id: int):
    return reply(admin.category_skills(g.actor, category_id))


@api_bp.put(f"/categories/<{ID_RULE}:category_id>/skills")
def admin_put_category_skills(category_id: int):
    """Replace the skills the category needs (an empty list removes them all)."""
    values = json_body({"skills": list_of(REQUIRED_SKILL, 100)}, required=("skills",))
    return reply(admin.set_category_skills(g.actor, category_id, values["skills"]))


@api_bp.get("/dispatch/health")
def admin_dispatch_health():
    return items(admin.health(g.actor))
