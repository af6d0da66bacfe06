"""OpenAPI paths and schemas of webapp/api/callbacks.py (merged by webapp/api/openapi.py).

Operations are built with openapi_parts; the error responses they name are defined in
openapi.py.
"""
from __future__ import annotations

from appliance.services.callbacks import MAX_NOTE, MAX_OUTCOME, STATUSES
from webapp.api.openapi_parts import json_body, json_response, operation
from webapp.api.openapi_schemas import BOOL, ID, TEXT, TIME, array, nullable, obj, ref

WRITE = (400, 413, 415)
TAG = "callbacks"


def _op(op_id: str, summary: str, ok: dict, errors=(), params=(), body=None,
        description: str = "") -> dict:
    return operation(op_id, TAG, summary, ok, errors, params, body, description=description)


_json, _body = json_response, json_body


def _path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1}}


PHONE = {"type": "string", "maxLength": 40, "description": "5-20 digits; spaces, - and a "
                                                           "leading + allowed"}

SCHEMAS: dict = {
    "Callback": obj({
        "id": ID, "ticket_id": ID, "ticket_number": TEXT, "ticket_subject": TEXT,
        "agent": ref("Ref"), "phone": TEXT, "due_at": TIME, "note": TEXT,
        "status": {"type": "string", "enum": list(STATUSES)}, "outcome": TEXT,
        "created_by": nullable(ref("Ref")), "created_at": TIME, "done_at": nullable(TIME),
        "overdue": BOOL},
        description="A call an agent owes the ticket's customer; overdue: open and due."),
    "CallbackList": obj({"items": array(ref("Callback"))}),
    "CallbackNew": obj({
        "phone": PHONE, "due_at": TIME,
        "agent_id": nullable({"type": "integer", "minimum": 1,
                              "description": "Active staff who can see the ticket; "
                                             "null or absent: you"}),
        "note": {"type": "string", "maxLength": MAX_NOTE}}, required=("phone", "due_at")),
    "CallbackChange": obj({
        "status": {"type": "string", "enum": ["done", "failed", "cancelled"]},
        "outcome": {"type": "string", "maxLength": MAX_OUTCOME},
        "due_at": TIME, "agent_id": {"type": "integer", "minimum": 1}}, required=(),
        description="Only open callbacks change; a status closes it."),
}

PATHS: dict = {
    "/tickets/{ticket_id}/callbacks": {
        "get": _op("listTicketCallbacks", "The ticket's callbacks, open ones first (staff)",
                   _json(200, "CallbackList", "The callbacks"), (403, 404),
                   [_path_id("ticket_id")]),
        "post": _op("scheduleTicketCallback", "Schedule a callback for the ticket (staff who "
                    "can work it)", _json(201, "Callback", "The callback"),
                    (*WRITE, 403, 404), [_path_id("ticket_id")],
                    _body("CallbackNew", {"phone": "+86 138 0000 1111",
                                          "due_at": "2026-03-01T02:00:00Z", "note": "报修回访"}),
                    description="due_at must not be in the past. A timeline event is "
                                "recorded on the ticket.")},
    "/callbacks/{callback_id}": {
        "patch": _op("updateCallback", "Close (done, failed, cancelled), reschedule or "
                     "reassign an open callback", _json(200, "Callback", "The callback now"),
                     (*WRITE, 403, 404), [_path_id("callback_id")],
                     _body("CallbackChange", {"status": "done", "outcome": "已解决"}))},
}
