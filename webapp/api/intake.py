"""POST /api/v1/intake/chat and /intake/call: finished conversations from a chat system or
a PBX/ASR system; GET /intake/conversations/<id>: what became of one.

Authenticated with integration tokens (gdi_…, made by an administrator) whose channel
must match the endpoint: none, unknown or revoked → 401, the other channel's → 403. A
personal API token is never accepted here (webapp/api/auth.py leaves these endpoints to
this module), and an integration token nowhere else. The request only validates and
stores (one transaction); the AI step runs as a background job. Documented in
openapi_intake.py; payload rules in appliance/rules/intake_payload.py.
"""
from __future__ import annotations

from flask import g, request, url_for

from appliance.errors import PayloadTooLarge, PermissionDenied
from appliance.rules.intake_payload import MAX_BODY_BYTES, parse_call, parse_chat
from appliance.services import conversations, integrations
from webapp.api import api_bp
from webapp.api.auth import INTAKE_ENDPOINTS, bearer_token
from webapp.api.errors import Unauthorized
from webapp.api.payload import ID_RULE, read_json, reply

CHANNEL_OF = {"api.intake_chat": "chat", "api.intake_call": "call"}
REPLAY_HEADER = "Idempotent-Replay"


@api_bp.before_request
def authenticate_integration():
    if not (request.endpoint or "").startswith(INTAKE_ENDPOINTS):
        return
    secret = bearer_token(request.headers.get("Authorization", ""))
    caller = integrations.authenticate(secret)
    if caller is None:
        raise Unauthorized("a valid integration token is required (Authorization: Bearer gdi_…)")
    wanted = CHANNEL_OF.get(request.endpoint)
    if wanted is not None and caller.channel != wanted:
        raise PermissionDenied(f"this token may post {caller.channel} conversations only",
                               channel=caller.channel)
    g.integration = caller


def _body():
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body may be at most {MAX_BODY_BYTES} bytes",
                              limit=MAX_BODY_BYTES)
    raw = read_json()
    if len(request.get_data(cache=True)) > MAX_BODY_BYTES:  # sent without a length
        raise PayloadTooLarge(f"the body may be at most {MAX_BODY_BYTES} bytes",
                              limit=MAX_BODY_BYTES)
    return raw


def _answer(accepted: conversations.Accepted, status: int | None = None):
    body = {"id": accepted.id, "status": accepted.status, "outcome": accepted.outcome,
            "ticket_number": accepted.ticket_number, "replay": accepted.replay,
            "url": url_for("api.intake_conversation", conversation_id=accepted.id)}
    headers = {REPLAY_HEADER: "true"} if accepted.replay else {}
    return reply(body, status or (200 if accepted.replay else 202), headers)


@api_bp.post("/intake/chat")
def intake_chat():
    return _answer(conversations.accept(g.integration, parse_chat(_body())))


@api_bp.post("/intake/call")
def intake_call():
    return _answer(conversations.accept(g.integration, parse_call(_body())))


@api_bp.get(f"/intake/conversations/<{ID_RULE}:conversation_id>")
def intake_conversation(conversation_id: int):
    return _answer(conversations.status_for(g.integration, conversation_id), 200)
