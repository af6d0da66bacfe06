"""Bearer-token authentication for the API, the caller's own profile and tokens.

The API takes no cookies: a session cookie sent along is ignored, so CSRF cannot
reach it (the blueprint is CSRF-exempt for that reason). Tokens are created in the
UI (/account/tokens); here a token can list and revoke its user's tokens.
"""
from __future__ import annotations

from flask import g, request

from appliance.errors import NotFound
from appliance.services import users
from webapp.api import api_bp
from webapp.api.errors import Unauthorized
from webapp.api.payload import ID_RULE, MAX_ID, items, no_content, reply

PUBLIC_ENDPOINTS = frozenset({"api.openapi_document"})
INTAKE_ENDPOINTS = "api.intake_"


def bearer_token(header: str) -> str:
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@api_bp.before_request
def authenticate():
    g.user = g.actor = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    if (request.endpoint or "").startswith(INTAKE_ENDPOINTS):
        return  # integration tokens only: webapp/api/intake.py checks them, never a user's
    token = bearer_token(request.headers.get("Authorization", ""))
    user = users.user_for_api_token(token) if token else None
    if user is None:
        raise Unauthorized("a valid API token is required (Authorization: Bearer gd_…)")
    g.user = user
    g.actor = users.actor_of(user)


@api_bp.before_request
def ids_in_range():
    """An id no database row can have is a 404 (before it overflows a database integer)."""
    if any(isinstance(v, int) and v > MAX_ID for v in (request.view_args or {}).values()):
        raise NotFound("not found")


@api_bp.get("/me")
def me():
    return reply(users.get_user(g.actor, g.actor.user_id))


@api_bp.get("/tokens")
def list_tokens():
    return items(users.list_api_tokens(g.actor))


@api_bp.delete(f"/tokens/<{ID_RULE}:token_id>")
def revoke_token(token_id: int):
    users.revoke_api_token(g.actor, token_id)
    return no_content()
