"""OpenAPI paths and schemas of webapp/api/intake.py (merged by webapp/api/openapi.py).

These operations take an integration token (securityScheme "integration"), not a
personal API token. Operations are built with openapi_parts; the error responses
they name are defined in openapi.py.
"""
from __future__ import annotations

from appliance.rules.intake_payload import MAX_BODY_BYTES, MAX_MESSAGES, MAX_SHORT, MAX_TEXT
from webapp.api.openapi_parts import json_body, json_response, operation
from webapp.api.openapi_schemas import BOOL, TEXT, array, nullable, obj

TAG = "intake"
SECURITY = [{"integration": []}]
SECURITY_SCHEME = {"type": "http", "scheme": "bearer",
                   "description": "An integration token (gdi_…), made by an administrator "
                                  "under Administration → Integrations or with `gongdan "
                                  "integration add`; it may post one channel (chat or call)."}
TIME = {"type": "string", "format": "date-time",
        "description": "ISO 8601 with an offset (2026-05-01T09:30:00+08:00); none means UTC"}


def _op(op_id: str, summary: str, ok: dict, errors=(), params=(), body=None,
        description: str = "") -> dict:
    return operation(op_id, TAG, summary, ok, errors, params, body, description=description,
                     security=SECURITY)


_json, _body = json_response, json_body


def _s(max_len: int) -> dict:
    return {"type": "string", "maxLength": max_len}


CUSTOMER = obj({"name": _s(MAX_SHORT), "phone": _s(MAX_SHORT), "email": _s(MAX_SHORT),
                "external_id": _s(MAX_SHORT)}, required=(),
               description="Identifiers to find the customer by (external id, then e-mail, "
                           "then phone); a new customer is made when none matches")
SPEAKER = {"type": "string", "maxLength": 40,
           "description": "customer, agent, bot or system; also 客户/访客/用户, 坐席/客服/人工, "
                          "机器人, 系统. Calls also take caller/主叫/A and callee/被叫/B: the "
                          "caller is the customer unless direction is outbound."}
REPLAY = {"Idempotent-Replay": {"description": "true when this delivery repeats a stored one",
                                "schema": {"type": "string"}}}
ACCEPT_NOTE = ("Only validates and stores; the AI step (ticket or not) runs in the background. "
               "Idempotent by the conversation's id: the same payload again answers 200 with "
               "the stored conversation (replay: true, header Idempotent-Replay), a different "
               "payload under the same id is 409. At most %d messages of %d characters, %d "
               "bytes in all. Validation errors name each field path, e.g. "
               '"messages.3.text": "required".' % (MAX_MESSAGES, MAX_TEXT, MAX_BODY_BYTES))

SCHEMAS: dict = {
    "IntakeChat": obj({
        "id": {"anyOf": [_s(200), {"type": "integer"}],
               "description": "The chat system's conversation id"},
        "channel": {**_s(40), "description": "Where it happened: wechat, web-chat, app…"},
        "customer": CUSTOMER, "agent": _s(MAX_SHORT), "started_at": TIME, "ended_at": TIME,
        "messages": array(obj({"speaker": SPEAKER, "text": _s(MAX_TEXT), "at": TIME},
                              required=("speaker", "text")), minItems=1, maxItems=MAX_MESSAGES)},
        required=("id", "messages"), description="A finished chat conversation"),
    "IntakeCall": obj({
        "call_id": {"anyOf": [_s(200), {"type": "integer"}]},
        "caller": {"anyOf": [_s(40), {"type": "integer"}]},
        "callee": {"anyOf": [_s(40), {"type": "integer"}]},
        "agent": {**_s(MAX_SHORT), "description": "Agent name or extension"},
        "direction": {"type": "string", "enum": ["inbound", "outbound"],
                      "description": "inbound (default): the caller is the customer"},
        "start": TIME, "end": TIME, "recording_ref": _s(500), "customer": CUSTOMER,
        "transcript": array(obj({
            "speaker": SPEAKER, "text": _s(MAX_TEXT),
            "start": {"type": "number", "minimum": 0, "maximum": 86400,
                      "description": "Seconds from the start of the call"},
            "end": {"type": "number", "minimum": 0, "maximum": 86400}},
            required=("speaker", "text")), minItems=1, maxItems=MAX_MESSAGES)},
        required=("call_id", "caller", "callee", "start", "end", "transcript"),
        description="A finished call with its ASR transcript"),
    "IntakeAccepted": obj({
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": ["received", "analysed", "failed"]},
        "outcome": {"type": "string", "enum": ["", "ticket", "appended", "resolved"],
                    "description": "ticket: a new ticket; appended: added to the customer's "
                                   "open ticket on the same issue; resolved: no ticket"},
        "ticket_number": nullable(TEXT), "replay": BOOL,
        "url": {"type": "string", "description": "Where to ask for the outcome"}},
        description="A stored conversation and what became of it"),
}

PATHS: dict = {
    "/intake/chat": {
        "post": _op("postChatConversation", "Post a finished chat conversation (integration token)",
                    {**_json(202, "IntakeAccepted", "Accepted; analysed in the background"),
                     **_json(200, "IntakeAccepted", "Already posted: the stored conversation",
                             REPLAY)},
                    (400, 403, 409, 413, 415), description=ACCEPT_NOTE,
                    body=_body("IntakeChat", {
                        "id": "wx-1001", "channel": "wechat",
                        "customer": {"name": "张三", "phone": "13800138000"},
                        "started_at": "2026-05-01T09:30:00+08:00",
                        "messages": [{"speaker": "客户", "text": "洗衣机不脱水"},
                                     {"speaker": "agent", "text": "我们安排师傅上门"}]}))},
    "/intake/call": {
        "post": _op("postCallRecord", "Post a finished call and its transcript (integration token)",
                    {**_json(202, "IntakeAccepted", "Accepted; analysed in the background"),
                     **_json(200, "IntakeAccepted", "Already posted: the stored conversation",
                             REPLAY)},
                    (400, 403, 409, 413, 415), description=ACCEPT_NOTE,
                    body=_body("IntakeCall", {
                        "call_id": "pbx-77", "caller": "13800138000", "callee": "4008001234",
                        "start": "2026-05-01T09:30:00+08:00", "end": "2026-05-01T09:34:10+08:00",
                        "recording_ref": "rec/pbx-77.wav",
                        "transcript": [{"speaker": "A", "text": "冰箱不制冷", "start": 1.5}]}))},
    "/intake/conversations/{conversation_id}": {
        "get": _op("getIntakeConversation", "What became of a posted conversation (integration "
                   "token of the same channel)",
                   _json(200, "IntakeAccepted", "The conversation's state"), (404,),
                   [{"name": "conversation_id", "in": "path", "required": True,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 2_147_483_647}}])},
}
