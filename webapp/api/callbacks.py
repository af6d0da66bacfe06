"""API: callbacks (回拨) of a ticket (documented in openapi_callbacks.py). Staff who can
work the ticket list, schedule and change them; times are ISO 8601 (UTC unless an offset
is given)."""
from __future__ import annotations

from flask import g

from appliance.services import callbacks
from webapp.api import api_bp
from webapp.api.payload import (ID_RULE, choice, identifier, items, json_body, nullable, reply,
                                text, timestamp)

CLOSING = ("done", "failed", "cancelled")


@api_bp.get(f"/tickets/<{ID_RULE}:ticket_id>/callbacks")
def list_ticket_callbacks(ticket_id: int):
    return items(callbacks.for_ticket(g.actor, ticket_id))


@api_bp.post(f"/tickets/<{ID_RULE}:ticket_id>/callbacks")
def schedule_ticket_callback(ticket_id: int):
    values = json_body({"phone": text(40), "due_at": timestamp, "agent_id": nullable(identifier),
                        "note": text(callbacks.MAX_NOTE)}, required=("phone", "due_at"))
    data = callbacks.CallbackInput(**values)
    return reply(callbacks.schedule_callback(g.actor, ticket_id, data), 201)


@api_bp.patch(f"/callbacks/<{ID_RULE}:callback_id>")
def update_callback(callback_id: int):
    values = json_body({"status": choice(*CLOSING), "outcome": text(callbacks.MAX_OUTCOME),
                        "due_at": timestamp, "agent_id": identifier})
    return reply(callbacks.update_callback(g.actor, callback_id, values))
