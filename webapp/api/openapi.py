"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json without a token.

It is written by hand next to the routes and checked against them: every URL rule is
documented (and nothing else), and schemathesis drives the app from this document
(tests/contracts/test_openapi.py), so a mismatch fails the build.
"""
from __future__ import annotations

from appliance import __version__
from appliance.models.org import ROLES
from appliance.rules import states
from appliance.services.links import LINK_KINDS
from appliance.services.queues import SORTS, VIEWS
from webapp.api import api_bp
from webapp.api.openapi_parts import json_body, json_response, operation
from webapp.api.openapi_schemas import ID, SCHEMAS, array, ref
from webapp.api import openapi_dispatch_admin, openapi_presence, openapi_supervisor
from webapp.api import openapi_roles
from webapp.api import openapi_callbacks
from webapp.api import openapi_intake
from webapp.api import openapi_processes
from webapp.api import openapi_knowledge
from webapp.api import openapi_reports
from webapp.api import openapi_reports_dashboard
from webapp.api import openapi_reports_quality
from webapp.api.payload import reply

ERRORS = {400: ("BadRequest", "Invalid input: validation_error (details.fields names each "
                              "field), invalid_json or bad_request"),
          401: ("Unauthorized", "Missing, invalid or revoked token (unauthorized)"),
          403: ("Forbidden", "The caller's role may not do this (forbidden)"),
          404: ("NotFound", "No such object, or one the caller may not see (not_found)"),
          409: ("Conflict", "conflict: changed since read (expected_version/If-Match), or "
                            "illegal_transition: details.allowed lists the allowed statuses"),
          413: ("PayloadTooLarge", "The body or a file is too large (payload_too_large)"),
          415: ("UnsupportedMediaType", "Wrong content type or file type (unsupported_media_type)")}
ETAG = {"ETag": {"description": "The object's version, for If-Match",
                 "schema": {"type": "string"}}}


def _param(name: str, where: str, schema: dict, description: str = "", **extra) -> dict:
    return {"name": name, "in": where, "required": where == "path", "schema": schema,
            **({"description": description} if description else {}), **extra}


def _p(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _int(lo: int = 1, hi: int = ID["maximum"]) -> dict:
    return {"type": "integer", "minimum": lo, "maximum": hi}


PARAMETERS = {
    "TicketId": _param("ticket_id", "path", ID, example=1),
    "AttachmentId": _param("attachment_id", "path", ID, example=1),
    "CustomerId": _param("customer_id", "path", ID, example=1),
    "UserId": _param("user_id", "path", ID, example=1),
    "TokenId": _param("token_id", "path", ID, example=2),
    "TargetId": _param("target_id", "path", ID, example=2),
    "LinkKind": _param("kind", "path", {"type": "string", "enum": list(LINK_KINDS)},
                       "The link as stored: /tickets/A/links/parent/B means A is B's parent"),
    "Cursor": _param("cursor", "query", {"type": "string", "maxLength": 200},
                     "next_cursor of the previous page"),
    "Limit": _param("limit", "query", _int(1, 200)),
    "Active": _param("active", "query", {"type": "string", "enum": ["true", "false"]},
                     "Only active ones"),
    "IfMatch": _param("If-Match", "header", {"type": "string"},
                      'The ETag you read ("3"); 409 if the object changed since'),
}
STATUSES = _param("status", "query", array({"type": "string", "enum": list(states.STATUSES)}),
                  "Repeat it or separate with commas", style="form", explode=True)
TICKET_FILTERS = [
    _param("view", "query", {"type": "string", "enum": list(VIEWS), "default": "all"}),
    STATUSES,
    _param("priority", "query", array({"type": "integer", "enum": list(states.PRIORITIES)}),
           "Repeat it or separate with commas", style="form", explode=True),
    _param("department_id", "query", ID),
    _param("assignee_id", "query", {"anyOf": [ID, {"type": "string", "enum": ["me", "none"]}]}),
    _param("customer_id", "query", ID), _param("category_id", "query", ID),
    _param("channel", "query", {"type": "string", "enum": list(states.CHANNELS)}),
    _param("tag", "query", {"type": "string", "maxLength": 64}),
    _param("created_from", "query", {"type": "string", "format": "date-time"}, "Inclusive"),
    _param("created_to", "query", {"type": "string", "format": "date-time"}, "Exclusive"),
    _param("sort", "query", {"type": "string", "enum": list(SORTS), "default": "newest"}),
    _p("Cursor"), _p("Limit"),
]


_json, _body = json_response, json_body


def op(op_id: str, tag: str, summary: str, ok: dict, errors=(), params=(), body=None,
       public: bool = False) -> dict:
    return operation(op_id, tag, summary, ok, errors, params, body,
                     always=() if public else (401,), security=[] if public else None)


WRITE = (400, 413, 415)
DETAIL = "The ticket as the caller may see it"


TID = [_p("TicketId")]
TICKET_PATHS = {
    "/tickets": {
        "get": op("listTickets", "tickets", "Tickets the caller may see, filtered",
                  _json(200, "TicketPage", "One page of tickets"), (400,), TICKET_FILTERS),
        "post": op("createTicket", "tickets", "Open a ticket",
                   _json(201, "TicketDetail", "The new ticket", ETAG), WRITE,
                   body=_body("TicketCreate", {"subject": "打印机无法打印", "priority": 2}))},
    "/tickets/{ticket_id}": {
        "get": op("getTicket", "tickets", "One ticket with its conversation and history",
                  _json(200, "TicketDetail", DETAIL, ETAG), (404,), TID),
        "patch": op("updateTicket", "tickets", "Change fields (and status) of a ticket",
                    _json(200, "TicketDetail", DETAIL, ETAG), (*WRITE, 403, 404, 409),
                    [*TID, _p("IfMatch")],
                    _body("TicketChange", {"priority": 1, "tags": ["打印机"]}))},
    "/tickets/{ticket_id}/transitions": {
        "post": op("transitionTicket", "tickets", "Move a ticket to another status",
                   _json(200, "TicketDetail", DETAIL, ETAG), (*WRITE, 403, 404, 409),
                   [*TID, _p("IfMatch")], _body("Transition", {"status": "open"}))},
    "/tickets/{ticket_id}/comments": {
        "post": op("addComment", "conversation", "Reply, or write an internal note (staff)",
                   _json(201, "Comment", "The new comment"), (*WRITE, 403, 404, 409), TID,
                   _body("CommentCreate", {"body": "您好，请重启打印机。"}))},
    "/tickets/{ticket_id}/attachments": {
        "post": op("addAttachments", "conversation",
                   "Attach files (field `file`, repeatable) with an optional comment; "
                   "nothing is stored unless every file is accepted",
                   _json(201, "Comment", "The comment holding the files"),
                   (*WRITE, 403, 404, 409), TID,
                   _body("AttachmentUpload", media="multipart/form-data"))},
    "/tickets/{ticket_id}/links": {
        "post": op("linkTicket", "relations", "Link this ticket to another",
                   _json(201, "TicketDetail", DETAIL, ETAG), (*WRITE, 403, 404, 409), TID,
                   _body("LinkCreate", {"target_id": 3, "kind": "duplicate"}))},
    "/tickets/{ticket_id}/links/{kind}/{target_id}": {
        "delete": op("unlinkTicket", "relations", "Remove a link made from this ticket",
                     _json(200, "TicketDetail", DETAIL, ETAG), (403, 404),
                     [*TID, _p("LinkKind"), _p("TargetId")])},
    "/tickets/{ticket_id}/merge": {
        "post": op("mergeTicket", "relations",
                   "Merge this ticket into target_id (this one is closed)",
                   _json(200, "TicketDetail", "The target ticket", ETAG),
                   (*WRITE, 403, 404, 409), TID, _body("Merge", {"target_id": 2}))},
    "/tickets/{ticket_id}/subtickets": {
        "post": op("createSubticket", "relations", "Open a sub-ticket of this ticket",
                   _json(201, "TicketDetail", "The new sub-ticket", ETAG),
                   (*WRITE, 403, 404), TID,
                   _body("TicketCreate", {"subject": "物流取件"}))},
    "/tickets/{ticket_id}/split": {
        "post": op("splitTicket", "relations", "Turn one comment into a new, related ticket",
                   _json(201, "TicketDetail", "The new ticket", ETAG),
                   (*WRITE, 403, 404, 409), TID, _body("Split", {"comment_id": 1}))},
    "/attachments/{attachment_id}": {
        "get": op("downloadAttachment", "conversation",
                  "Download an attachment (always as a download, never rendered)",
                  {"200": {"description": "The file, with its stored content type",
                           "content": {"*/*": {"schema": {"type": "string",
                                                          "format": "binary"}}}}},
                  (404,), [_p("AttachmentId")])},
}


PEOPLE_PATHS = {
    "/customers": {
        "get": op("listCustomers", "customers",
                  "Customers (staff), by whole name, contact or ID number",
                  _json(200, "CustomerPage", "One page of customers"), (400, 403),
                  [_param("name", "query", {"type": "string", "maxLength": 200},
                          "A whole name (case and spacing aside), phone, e-mail, "
                          "external id or ID number; never a part (encrypted)"),
                   _param("cursor", "query", _int(0), "next_cursor of the previous page"),
                   _p("Limit")]),
        "post": op("createCustomer", "customers", "Create a customer (staff)",
                   _json(201, "Customer", "The new customer"), (*WRITE, 403),
                   body=_body("CustomerCreate", {"name": "华为采购部", "contacts": [
                       {"kind": "email", "value": "buy@example.com"}]}))},
    "/customers/{customer_id}": {
        "get": op("getCustomer", "customers", "One customer",
                  _json(200, "Customer", "The customer", ETAG), (404,), [_p("CustomerId")]),
        "patch": op("updateCustomer", "customers", "Change a customer (staff)",
                    _json(200, "Customer", "The customer", ETAG), (*WRITE, 403, 404, 409),
                    [_p("CustomerId"), _p("IfMatch")], _body("CustomerChange", {"notes": "大客户"}))},
    "/customers/{customer_id}/merge": {
        "post": {**op("mergeCustomer", "customers",
                      "Merge this customer into another (supervisors, administrators)",
                      _json(200, "Customer", "The surviving customer", ETAG),
                      (*WRITE, 403, 404, 409), [_p("CustomerId"), _p("IfMatch")],
                      _body("CustomerMerge", {"into": 2})),
                 "description": "Tickets, contacts, conversations and portal logins move to "
                               "`into`; tags are united and notes appended; this customer "
                               "keeps pointing there (merged_into). expected_version or "
                               "If-Match is the version of the customer in the path. "
                               "Repeating a done merge returns the survivor again."}},
    "/customers/{customer_id}/tickets": {
        "get": op("customerTickets", "customers", "The customer's tickets, newest first",
                  _json(200, "TicketPage", "One page of tickets"), (400, 404),
                  [_p("CustomerId"), _p("Cursor")])},
    "/users": {
        "get": op("listUsers", "users", "Users (staff)",
                  _json(200, "UserList", "The users"), (400, 403),
                  [_param("role", "query", {"type": "string", "enum": list(ROLES)}),
                   _param("department_id", "query", ID)]),
        "post": op("createUser", "users", "Create a user (administrators)",
                   _json(201, "NewUser", "The new user"), (*WRITE, 403),
                   body=_body("UserCreate", {"username": "zhaoliu", "display_name": "赵六",
                                              "role": "agent", "department_id": 1}))},
    "/users/{user_id}": {
        "get": op("getUser", "users", "One user", _json(200, "User", "The user"), (404,), [_p("UserId")])},
    "/me": {"get": op("getMe", "users", "The token's user", _json(200, "User", "You"))},
    "/tokens": {"get": op("listTokens", "users", "The token user's API tokens",
                          _json(200, "TokenList", "The tokens"))},
    "/tokens/{token_id}": {
        "delete": op("revokeToken", "users", "Revoke one of your tokens (admins: any)",
                     {"204": {"description": "Revoked"}}, (404,), [_p("TokenId")])},
}


ORG_PATHS = {
    "/departments": {
        "get": op("listDepartments", "organisation", "Departments",
                  _json(200, "DepartmentList", "The departments"), (400,), [_p("Active")]),
        "post": op("createDepartment", "organisation", "Create a department (administrators)",
                   _json(201, "Department", "The new department"), (*WRITE, 403),
                   body=_body("DepartmentCreate", {"code": "IT", "name": "信息部"}))},
    "/categories": {
        "get": op("listCategories", "organisation", "Categories, by path",
                  _json(200, "CategoryList", "The categories"), (400,), [_p("Active")]),
        "post": op("createCategory", "organisation", "Create a category (administrators)",
                   _json(201, "Category", "The new category"), (*WRITE, 403),
                   body=_body("CategoryCreate", {"name": "打印机", "parent_id": 1}))},
    "/custom-fields": {
        "get": op("listCustomFields", "organisation", "Custom field definitions",
                  _json(200, "CustomFieldList", "The definitions"), (400,), [_p("Active")])},
    "/search": {
        "get": op("searchTickets", "search", "Full-text search; results with highlights",
                  _json(200, "SearchResults", "Ranked results the caller may see"), (400,),
                  [_param("q", "query", {"type": "string", "minLength": 1, "maxLength": 500},
                          "Words, or a ticket number", required=True),
                   STATUSES, _param("department_id", "query", ID),
                   _param("created_from", "query", {"type": "string", "format": "date-time"}),
                   _param("created_to", "query", {"type": "string", "format": "date-time"}),
                   _param("limit", "query", _int(1, 100)),
                   _param("offset", "query", _int(0, 10_000))])},
    "/openapi.json": {
        "get": op("getOpenApi", "meta", "This document",
                  {"200": {"description": "The OpenAPI document",
                           "content": {"application/json": {"schema": {"type": "object"}}}}},
                  public=True)},
}


TRIAGE_PATHS = {
    "/tickets/{ticket_id}/triage": {
        "get": op("getTriage", "triage",
                  "AI triage of a ticket (staff): suggestions, confidence, versions",
                  _json(200, "Triage", "What AI triage found and did"), (403, 404), TID)},
    "/tickets/{ticket_id}/triage/undo": {
        "post": op("undoTriage", "triage",
                   "Undo what AI triage changed (fields nobody changed since); staff",
                   _json(200, "TriageUndone", "The fields put back and the triage now"),
                   (*WRITE, 403, 404, 409), TID, _body("TriageUndo", {"run_id": 1}))},
}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Gongdan (工单) API", "version": __version__,
                 "description": "Tickets, customers and organisation data. Authenticate with a "
                                "personal API token (create it under Account → API tokens): "
                                "`Authorization: Bearer gd_…`. Errors are "
                                '`{"error": {"code", "message", "details"}}`.'},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {**TICKET_PATHS, **PEOPLE_PATHS, **ORG_PATHS, **TRIAGE_PATHS,
                  **openapi_presence.PATHS, **openapi_supervisor.PATHS,
                  **openapi_dispatch_admin.PATHS, **openapi_callbacks.PATHS,
                  **openapi_intake.PATHS, **openapi_processes.PATHS, **openapi_knowledge.PATHS,
                  **openapi_roles.PATHS, **openapi_reports.PATHS,
                  **openapi_reports_dashboard.PATHS, **openapi_reports_quality.PATHS},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A personal API token (gd_…)"},
                                "integration": openapi_intake.SECURITY_SCHEME},
            "schemas": {**SCHEMAS, **openapi_presence.SCHEMAS, **openapi_supervisor.SCHEMAS,
                        **openapi_dispatch_admin.SCHEMAS, **openapi_callbacks.SCHEMAS,
                        **openapi_intake.SCHEMAS, **openapi_processes.SCHEMAS,
                        **openapi_knowledge.SCHEMAS, **openapi_roles.SCHEMAS,
                        **openapi_reports.SCHEMAS, **openapi_reports_dashboard.SCHEMAS,
                        **openapi_reports_quality.SCHEMAS},
            "parameters": PARAMETERS,
            "responses": {name: _error_response(code, name, text)
                          for code, (name, text) in ERRORS.items()},
        },
    }


def _error_response(code: int, name: str, description: str) -> dict:
    response = {"description": description,
                "content": {"application/json": {"schema": ref("Error")}}}
    if code == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"},
                                                    "description": 'Bearer realm="gongdan"'}}
    return response


DOCUMENT = document()


@api_bp.get("/openapi.json")
def openapi_document():
    return reply(DOCUMENT)
