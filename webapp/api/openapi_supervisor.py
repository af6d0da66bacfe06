"""OpenAPI paths and schemas of webapp/api/supervisor.py.

Operations are built with openapi_parts, schemas with openapi_schemas; the error
responses they name are defined in openapi.py.
"""
from __future__ import annotations

from appliance.models.dispatch import PRESENCES
from appliance.rules.routing import COMPONENTS
from webapp.api.openapi_parts import json_body, json_response, operation
from webapp.api.openapi_schemas import BOOL, ID, TEXT, TIME, array, nullable, obj, ref

WRITE = (400, 413, 415)
MODES = ("auto", "pulled", "manual", "queued", "redistributed")
INT = {"type": "integer"}
NUMBER = {"type": "number"}
TID = [{"$ref": "#/components/parameters/TicketId"}]


def op(op_id: str, summary: str, ok: dict, errors=(), params=(), body=None) -> dict:
    return operation(op_id, "dispatch", summary, ok, errors, params, body)


def _json(schema: str, description: str) -> dict:
    return json_response(200, schema, description)


_body = json_body


PRESENCE = {"type": "string", "enum": list(PRESENCES)}

SCHEMAS = {
    "BoardAgent": obj({
        "id": INT, "name": TEXT, "role": TEXT, "department": nullable(ref("Ref")),
        "presence": PRESENCE, "effective_presence": PRESENCE, "load": NUMBER,
        "capacity": NUMBER, "open_tickets": INT, "on_break": BOOL, "off_shift": BOOL,
        "last_assigned_at": nullable(TIME)},
        description="An agent as routing sees them: presence as set and as effective "
                    "(online at capacity is busy; off shift or on a break is away)."),
    "WaitingTicket": obj({
        "ticket_id": INT, "number": TEXT, "subject": TEXT, "priority": INT,
        "reason": TEXT, "reason_text": TEXT, "since": TIME, "due_at": nullable(TIME),
        "escalated_at": nullable(TIME)},
        description="A ticket waiting in a department's queue; reason_text says why."),
    "BoardQueue": obj({
        "department": ref("Ref"), "waiting": INT, "oldest_since": nullable(TIME),
        "sla_risk": INT, "escalated": INT, "tickets": array(ref("WaitingTicket")),
        "escalated_only": BOOL},
        description="One department's queue: sla_risk counts tickets overdue or due within "
                    "60 minutes; tickets lists the first 10 in dispatch order. escalated_only: "
                    "a department that overflows into the supervisor's, of which only the "
                    "escalated tickets are counted and listed."),
    "RoutingCandidate": obj({
        "user_id": INT, "name": TEXT, "score": NUMBER,
        "parts": {"type": "object", "additionalProperties": NUMBER,
                  "propertyNames": {"enum": list(COMPONENTS)}},
        "load": NUMBER, "capacity": NUMBER},
        description="An eligible agent who was not chosen, with the parts of their score."),
    "RoutingDecision": obj({
        "id": INT, "ticket_id": INT, "number": TEXT,
        "mode": {"type": "string", "enum": list(MODES)}, "agent": nullable(ref("Ref")),
        "explanation": {"type": "object"}, "runners_up": array(ref("RoutingCandidate")),
        "excluded": {"type": "object", "additionalProperties": INT},
        "latency_ms": INT, "created_at": TIME, "sentence": TEXT},
        description="Why a ticket went to whom, or waits: the facts (explanation), the "
                    "sentence written from them in the caller's language, the runners-up "
                    "(supervisors and administrators only) and why others were excluded."),
    "SupervisorBoard": obj({
        "agents": array(ref("BoardAgent")), "queues": array(ref("BoardQueue")),
        "decisions": array(ref("RoutingDecision")), "generated_at": TIME},
        description="What the caller oversees: a supervisor's own department (agents, "
                    "queue, decisions) and, of departments that overflow into it, only the "
                    "escalated waiting tickets; administrators see all."),
    "WaitingState": obj({"since": TIME, "reason": TEXT, "reason_text": TEXT,
                         "escalated_at": nullable(TIME)}),
    "TicketRouting": obj({
        "ticket_id": INT, "number": TEXT, "assignee": nullable(ref("Ref")),
        "waiting": nullable(ref("WaitingState")), "decisions": array(ref("RoutingDecision"))},
        description="A ticket's routing decisions, newest first, and its place in the queue."),
    "ReassignResult": obj({
        "ticket_id": INT, "assignee_id": nullable(INT), "number": TEXT,
        "assignee": nullable(ref("Ref")), "waiting": nullable(ref("WaitingState")),
        "decisions": array(ref("RoutingDecision"))}, required=("ticket_id", "assignee_id"),
        description="The ticket and its new assignee (null: back in the queue), with its "
                    "routing as in TicketRouting while the caller may still see the ticket; "
                    "only ticket_id and assignee_id when the reassignment took it out of "
                    "the caller's sight (they saw it only as its assignee)."),
    "Reassign": obj({"user_id": nullable(ID), "note": {"type": "string", "maxLength": 500}},
                    required=("user_id",),
                    description="user_id: the agent to assign, or null to send the ticket "
                                "back to the queue."),
}

PATHS = {
    "/supervisor/board": {
        "get": op("getSupervisorBoard",
                  "Agents, queues and recent routing decisions (supervisors, administrators)",
                  _json("SupervisorBoard", "The dispatch board"), (403,))},
    "/tickets/{ticket_id}/reassign": {
        "post": op("reassignTicket",
                   "Assign a ticket by hand, or send it back to the queue (supervisors, "
                   "administrators); recorded as a manual routing decision",
                   _json("ReassignResult", "Reassigned; the ticket's routing now if the "
                                           "caller may still see it"),
                   (*WRITE, 403, 404, 409), TID,
                   _body("Reassign", {"user_id": 2, "note": "客户指定"}))},
    "/tickets/{ticket_id}/routing": {
        "get": op("getTicketRouting", "A ticket's routing decisions (staff)",
                  _json("TicketRouting", "The decisions, newest first"), (403, 404), TID)},
}
