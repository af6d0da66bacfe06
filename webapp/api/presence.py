"""API: the caller's own dispatch state: presence, take next, notifications and the
dispatch profile (documented in openapi_presence.py).

"Take next" answers 200 whether or not a ticket was taken: an empty queue, a full
agent or no ticket the agent may handle are ordinary answers to "give me the next
one", told by `reason`, not failures of the request (4xx would make clients treat
a quiet queue as an error). 403 is for callers outside any department.

Endpoint names carry "my" because other modules register on the same blueprint
(webapp/api/dispatch_admin.py has get_dispatch_profile for any user).
"""
from __future__ import annotations

from flask import g

from appliance.errors import ValidationError
from appliance.models.dispatch import PRESENCES
from appliance.services import agent_dispatch, dispatch_actions, notifications
from appliance.services.notifications import MAX_IDS
from webapp.api import api_bp
from webapp.api.payload import (boolean, choice, identifier, items, json_body, list_of,
                                query_choice, query_int, reply)


@api_bp.get("/me/presence")
def get_my_presence():
    return reply(agent_dispatch.presence_of(g.actor))


@api_bp.put("/me/presence")
def put_my_presence():
    values = json_body({"presence": choice(*PRESENCES)}, required=("presence",))
    return reply(agent_dispatch.change_presence(g.actor, values["presence"]))


@api_bp.post("/me/take-next")
def take_my_next_ticket():
    result = dispatch_actions.take_next(g.actor)
    return reply({"ticket_id": result.ticket_id, "reason": result.reason})


@api_bp.get("/me/notifications")
def list_my_notifications():
    unread = query_choice("unread", ("true", "false"), "false") == "true"
    limit = query_int("limit", 50, 1, notifications.MAX_LIMIT)
    return items(notifications.list_notifications(g.actor, unread_only=unread, limit=limit))


@api_bp.post("/me/notifications/read")
def read_my_notifications():
    """Either {"ids": [...]} or {"all": true}; other people's ids are ignored."""
    values = json_body({"ids": list_of(identifier, MAX_IDS), "all": boolean})
    if values.get("all") is True and "ids" not in values:
        marked = notifications.mark_read(g.actor, None)
    elif "ids" in values and not values.get("all"):
        marked = notifications.mark_read(g.actor, values["ids"])
    else:
        raise ValidationError({"ids": 'give either "ids" or "all": true'})
    return reply({"marked": marked, "unread": notifications.unread_count(g.actor)})


@api_bp.get("/me/dispatch-profile")
def get_my_dispatch_profile():
    return reply(agent_dispatch.profile(g.actor))
