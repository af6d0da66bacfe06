"""OpenAPI paths and schemas of webapp/api/presence.py (merged by webapp/api/openapi.py).

Operations are built with openapi_parts; the error responses they name are defined in
openapi.py.
"""
from __future__ import annotations

from appliance.models.dispatch import PRESENCES
from appliance.services.notifications import MAX_IDS, MAX_LIMIT
from webapp.api.openapi_parts import json_body, json_response, operation
from webapp.api.openapi_schemas import BOOL, ID, TEXT, TIME, array, nullable, obj, ref

WRITE = (400, 413, 415)
TAG = "dispatch (me)"
TAKE_REASONS = ("", "queue_empty", "at_capacity", "none_qualified")


def _op(op_id: str, summary: str, ok: dict, errors=(), params=(), body=None,
        description: str = "") -> dict:
    return operation(op_id, TAG, summary, ok, errors, params, body, description=description)


_json, _body = json_response, json_body


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


PRESENCE = {"type": "string", "enum": list(PRESENCES)}
NUMBER_OR_NULL = nullable({"type": "number"})
INT = {"type": "integer"}
HHMM = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$",
        "description": "Local time; an end not after the start runs past midnight"}

SCHEMAS: dict = {
    "Presence": obj({
        "presence": PRESENCE, "effective": PRESENCE, "auto": BOOL,
        "changed_at": nullable(TIME), "load": {"type": "number"}, "capacity": INT},
        description="presence is what the agent (or, when auto, the system) set; effective is "
                    "what routing sees: busy at capacity, away off shift or on a break."),
    "PresenceChange": obj({"presence": PRESENCE}),
    "TakeNext": obj({
        "ticket_id": nullable(INT),
        "reason": {"type": "string", "enum": list(TAKE_REASONS),
                   "description": "Why nothing was taken ('' when a ticket was)"}},
        description="The ticket now assigned to the caller, or null and the reason."),
    "Notification": obj({
        "id": INT, "kind": {"type": "string", "description": "routing_no_agents, "
                            "routing_nobody_qualified (data.department), queue_escalated "
                            "(data.waited_minutes), sla_warning, sla_breached or "
                            "sla_escalated (data.clock, data.threshold, data.policy, "
                            "data.due_at); more kinds may come"},
        "ticket_id": nullable(INT), "ticket_number": TEXT, "data": {"type": "object"},
        "created_at": nullable(TIME), "read": BOOL}),
    "NotificationList": obj({"items": array(ref("Notification"))}),
    "NotificationsRead": obj({"ids": array(ID, maxItems=MAX_IDS), "all": BOOL}, required=(),
                             description='Either "ids" or "all": true.'),
    "NotificationsMarked": obj({"marked": INT, "unread": INT},
                               description="How many were marked read now, and how many "
                                           "unread ones are left."),
    "MyDispatchProfile": obj({
        "user_id": INT, "display_name": TEXT, "department": nullable(ref("Ref")),
        "presence": ref("Presence"), "on_shift": BOOL, "on_break": BOOL,
        "skills": array(obj({"name": TEXT, "level": INT})), "languages": array(TEXT),
        "allowed_categories": array(ref("Ref"), description="empty: any category"),
        "allowed_customers": array(ref("Ref"), description="empty: any customer"),
        "vip_tiers": array(TEXT, description='"*": every tier'),
        "shifts": array(obj({"weekday": {"type": "integer", "minimum": 0, "maximum": 6},
                             "start": HHMM, "end": HHMM}),
                        description="Weekly, in the appliance's time zone; none: always"),
        "absences": array(obj({"kind": TEXT, "starts_at": TIME, "ends_at": TIME,
                               "note": TEXT}), description="Current and upcoming"),
        "efficiency": array(obj({
            "category": nullable(ref("Ref")), "window_days": INT, "closed": INT,
            "median_handle_minutes": NUMBER_OR_NULL, "fcr_rate": NUMBER_OR_NULL,
            "reopen_rate": NUMBER_OR_NULL, "csat": NUMBER_OR_NULL,
            "updated_at": nullable(TIME)}),
            description="category null: all categories together")},
        description="What routing knows about the caller."),
}

PATHS: dict = {
    "/me/presence": {
        "get": _op("getMyPresence", "Your presence, as set and as routing sees it (staff)",
                   _json(200, "Presence", "Your presence"), (403,)),
        "put": _op("setMyPresence", "Set your presence: online, busy, away or offline (staff)",
                   _json(200, "Presence", "Your presence now"), (*WRITE, 403),
                   body=_body("PresenceChange", {"presence": "online"}))},
    "/me/take-next": {
        "post": _op("takeNextTicket",
                    "Take the most urgent waiting ticket of your department you may handle",
                    _json(200, "TakeNext", "The ticket taken, or null and the reason"), (403,),
                    description="200 whether or not a ticket was taken: reason is queue_empty "
                                "(nothing waits), at_capacity (you are full) or none_qualified "
                                "(tickets wait, but none you may take). 403 when you are not "
                                "staff of a department.")},
    "/me/notifications": {
        "get": _op("listMyNotifications", "Your notifications, newest first",
                   _json(200, "NotificationList", "The notifications"), (400,),
                   [_query("unread", {"type": "string", "enum": ["true", "false"]},
                           "Only unread ones"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                           "At most this many (default 50)")])},
    "/me/notifications/read": {
        "post": _op("markMyNotificationsRead", "Mark your notifications read",
                    _json(200, "NotificationsMarked", "How many changed"), WRITE,
                    body=_body("NotificationsRead", {"ids": [1, 2]}),
                    description='Name them with "ids", or send {"all": true}. Ids of other '
                                "people's notifications are ignored.")},
    "/me/dispatch-profile": {
        "get": _op("getMyDispatchProfile",
                   "What routing knows about you: presence, load, skills, languages, "
                   "permissions, shifts, breaks and efficiency (staff)",
                   _json(200, "MyDispatchProfile", "Your dispatch profile"), (403,))},
}
