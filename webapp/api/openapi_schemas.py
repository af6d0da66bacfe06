"""components/schemas of the OpenAPI document: what each DTO looks like as JSON, and the
request bodies the API accepts. Response objects are closed (additionalProperties: false)
so that the contract test notices when a DTO grows a field the document does not name.
"""
from __future__ import annotations

from appliance.models.org import ROLES
from appliance.rules import states
from appliance.rules.custom_fields import KINDS
from appliance.services.links import LINK_KINDS
from webapp.api.payload import MAX_ID

LINK_VIEW_KINDS = ("parent", "child", "related", "duplicate", "duplicate_of", "merged_into")


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict, required: tuple[str, ...] | None = None, **extra) -> dict:
    """A closed object; every property is required unless `required` says otherwise."""
    return {"type": "object", "properties": properties,
            "required": list(properties if required is None else required),
            "additionalProperties": False, **extra}


def array(items: dict, **extra) -> dict:
    return {"type": "array", "items": items, **extra}


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
TEXT = {"type": "string"}
BOOL = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
ANY: dict = {}


def _text(max_len: int, min_len: int = 0) -> dict:
    return {"type": "string", "maxLength": max_len, **({"minLength": min_len} if min_len else {})}


STATUS = {"type": "string", "enum": list(states.STATUSES)}

RESPONSES = {
    "Ref": obj({"id": {"type": "integer"}, "name": TEXT},
               description="A related object: its id and what to show for it."),
    "Error": obj({"error": obj({"code": TEXT, "message": TEXT,
                                "details": {"type": "object"}})},
                 description="Every failure: a stable code, a message and details "
                             "(for validation errors, details.fields names each bad field)."),
    "Ticket": obj({
        "id": {"type": "integer"}, "number": TEXT, "subject": TEXT, "status": STATUS,
        "priority": {"type": "integer", "enum": list(states.PRIORITIES)},
        "urgency": {"type": "string", "enum": list(states.URGENCIES)},
        "channel": {"type": "string", "enum": list(states.CHANNELS)},
        "department": nullable(ref("Ref")), "assignee": nullable(ref("Ref")),
        "customer": nullable(ref("Ref")), "category": nullable(ref("Ref")),
        "created_at": TIME, "updated_at": TIME, "due_at": nullable(TIME),
        "version": {"type": "integer"}}, description="A ticket summary (list rows)."),
    "Attachment": obj({"id": {"type": "integer"}, "filename": TEXT, "content_type": TEXT,
                       "size": {"type": "integer"}, "internal": BOOL,
                       "comment_id": nullable({"type": "integer"}), "created_at": TIME}),
    "Comment": obj({"id": {"type": "integer"}, "author": nullable(ref("Ref")),
                    "author_kind": TEXT, "internal": BOOL, "body": TEXT, "channel": TEXT,
                    "created_at": TIME, "attachments": array(ref("Attachment"))},
                   description="A public reply or an internal note (staff only)."),
    "Event": obj({"id": {"type": "integer"}, "actor": nullable(ref("Ref")), "kind": TEXT,
                  "field": TEXT, "before": ANY, "after": ANY, "internal": BOOL,
                  "created_at": TIME}, description="One timeline entry (append-only)."),
    "Link": obj({"kind": {"type": "string", "enum": list(LINK_VIEW_KINDS)},
                 "ticket_id": {"type": "integer"}, "number": TEXT, "subject": TEXT,
                 "status": STATUS, "visible": BOOL},
                description="A related ticket, named from this ticket's point of view; "
                            "subject is empty when the caller may not open it."),
    "TicketDetail": obj({
        "summary": ref("Ticket"), "description": TEXT, "tags": array(TEXT),
        "custom_fields": {"type": "object"}, "requester": nullable(ref("Ref")),
        "first_response_at": nullable(TIME), "resolved_at": nullable(TIME),
        "closed_at": nullable(TIME), "merged_into": nullable(ref("Ref")),
        "comments": array(ref("Comment")), "events": array(ref("Event")),
        "attachments": array(ref("Attachment")), "links": array(ref("Link")),
        "allowed_transitions": array(STATUS),
        "children_progress": array({"type": "integer"}, minItems=2, maxItems=2,
                                   description="[done, total] sub-tickets"),
        "can_reply": {"type": "boolean",
                      "description": "whether the caller may add to the conversation now"},
        "sla": nullable(ref("TicketSla"))},
        description="One ticket with what the caller may see of its conversation and history."),
    "SlaClock": obj({
        "name": {"type": "string", "enum": ["first_response", "next_response", "resolution"]},
        "due_at": nullable(TIME), "target_minutes": {"type": "integer"},
        "remaining_seconds": {"type": "integer",
                              "description": "at computed_at; negative once overdue"},
        "breached": BOOL, "warning": nullable({"type": "integer"}), "paused": BOOL,
        "done": BOOL}, description="One SLA clock in business time (null due_at while "
                                   "paused)."),
    "TicketSla": obj({
        "policy": nullable(ref("Ref")), "next_due_at": nullable(TIME), "breached": BOOL,
        "warning": nullable({"type": "integer"}), "paused": BOOL,
        "clocks": array(ref("SlaClock")), "computed_at": TIME},
        description="The ticket's SLA clocks as last computed (staff only; null for "
                    "customers and tickets no policy matches)."),
    "Page": obj({"items": array(ANY), "next_cursor": nullable(TEXT),
                 "count_hint": nullable(TEXT)},
                description="One page of a list; pass next_cursor as `cursor` for the next."),
    "TicketPage": {"allOf": [ref("Page"), {"properties": {"items": array(ref("Ticket"))}}]},
    "Contact": obj({"id": {"type": "integer"}, "kind": {"type": "string",
                                                        "enum": ["phone", "email", "external"]},
                    "value": {"type": "string", "description": "Normalised; masked "
                              "(138****5678, z***@example.com) when contacts_masked"},
                    "label": TEXT}),
    "Customer": obj({"id": {"type": "integer"}, "name": TEXT, "company": TEXT,
                     "tags": array(TEXT), "notes": TEXT, "contacts": array(ref("Contact")),
                     "created_at": TIME, "version": {"type": "integer"},
                     "contacts_masked": {"type": "boolean", "description": (
                         "Agents see contacts in full only for customers with an open ticket "
                         "assigned to them or in their department")},
                     "merged_into": nullable({"type": "integer"}),
                     "merged_at": nullable(TIME),
                     "id_number": {"type": "string", "description": (
                         "Identity document number, encrypted at rest; masked "
                         "(110105**********2X) when contacts_masked")},
                     "address": {"type": "string", "description": (
                         "Encrypted at rest; masked (first characters) when contacts_masked")},
                     "erased_at": {**nullable(TIME), "description": (
                         "When the personal data was erased on request (PIPL); null if never")}}),
    "CustomerPage": {"allOf": [ref("Page"), {"properties": {"items": array(ref("Customer"))}}]},
    "User": obj({
        "id": {"type": "integer"}, "username": TEXT, "display_name": TEXT, "email": TEXT,
        "role": {"type": "string", "enum": list(ROLES)}, "department": nullable(ref("Ref")),
        "customer_id": nullable({"type": "integer"}), "active": BOOL, "locale": TEXT,
        "capacity": {"type": "integer"},
        "skills": array({"type": "array", "prefixItems": [TEXT, {"type": "integer"}],
                         "minItems": 2, "maxItems": 2}, description="[skill name, level 1-5]"),
        "created_at": nullable(TIME), "last_login_at": nullable(TIME)}),
    "Department": obj({"id": {"type": "integer"}, "code": TEXT, "name": TEXT, "name_en": TEXT,
                       "active": BOOL, "teams": array(ref("Ref"))}),
    "Category": obj({"id": {"type": "integer"}, "name": TEXT, "path": TEXT,
                     "parent_id": nullable({"type": "integer"}),
                     "department_id": nullable({"type": "integer"}), "active": BOOL}),
    "CustomField": obj({"id": {"type": "integer"}, "key": TEXT, "label": TEXT,
                        "kind": {"type": "string", "enum": list(KINDS)},
                        "options": array(TEXT), "required": BOOL, "active": BOOL,
                        "position": {"type": "integer"}}),
    "Token": obj({"id": {"type": "integer"}, "name": TEXT, "prefix": TEXT, "created_at": TIME,
                  "last_used_at": nullable(TIME), "revoked": BOOL},
                 description="An API token (the secret is shown only once, in the UI)."),
    "SearchResult": obj({"ticket": ref("Ticket"), "score": {"type": "number"},
                         "highlights": {"type": "object", "additionalProperties": TEXT}}),
}
for _name in ("User", "Department", "Category", "CustomField", "Token"):
    RESPONSES[_name + "List"] = obj({"items": array(ref(_name))})
RESPONSES["SearchResults"] = obj({"items": array(ref("SearchResult")),
                                  "total": {"type": "integer", "minimum": 0}})
_user = RESPONSES["User"]
RESPONSES["NewUser"] = obj({**_user["properties"], "initial_password": {
    "type": "string", "description": "Only when no password was given: shown once; it must be "
                                     "changed at first login."}}, required=tuple(_user["required"]))

TICKET_FIELDS = {
    "subject": _text(255, 1), "description": _text(100_000),
    "channel": {"type": "string", "enum": list(states.CHANNELS), "default": "api"},
    "priority": {"type": "integer", "minimum": 1, "maximum": 4, "description": "1 is most urgent"},
    "urgency": {"type": "string", "enum": list(states.URGENCIES)},
    "category_id": nullable(ID), "department_id": nullable(ID), "assignee_id": nullable(ID),
    "customer_id": nullable(ID), "tags": array(_text(64), maxItems=20),
    "custom_fields": {"type": "object", "description": "Values keyed by custom field key"},
    "due_at": nullable(TIME),
}
_EDITABLE = ("subject", "priority", "urgency", "category_id", "department_id", "assignee_id",
             "customer_id", "tags", "custom_fields", "due_at")
VERSION = {"type": "integer", "minimum": 1, "maximum": MAX_ID,
           "description": "The version you read; 409 if the object changed since "
                          "(or send If-Match)."}
CONTACT_IN = obj({"kind": {"type": "string", "enum": ["phone", "email", "external"]},
                  "value": _text(254),
                  "label": _text(64)}, required=("kind", "value"))
CUSTOMER_FIELDS = {"name": _text(200, 1), "company": _text(200),
                   "tags": array(_text(64), maxItems=20),
                   "notes": _text(10_000), "contacts": array(CONTACT_IN, maxItems=20),
                   "id_number": _text(32), "address": _text(500)}

REQUESTS = {
    "TicketCreate": obj(TICKET_FIELDS, required=("subject",),
                        description="Customers may send only subject, description, category_id, "
                                    "tags and custom_fields; other fields are ignored for them."),
    "TicketChange": obj({**{k: TICKET_FIELDS[k] for k in _EDITABLE}, "status": STATUS,
                         "expected_version": VERSION}, required=()),
    "Transition": obj({"status": STATUS, "expected_version": VERSION}, required=("status",)),
    "CommentCreate": obj({"body": _text(100_000, 1),
                          "internal": {"type": "boolean", "default": False}},
                         required=("body",)),
    "AttachmentUpload": obj({
        "file": array({"type": "string", "format": "binary"}, minItems=1, maxItems=10),
        "body": _text(100_000), "internal": {"type": "string", "enum": ["true", "false"]}},
        required=("file",)),
    "LinkCreate": obj({"target_id": ID, "kind": {"type": "string", "enum": list(LINK_KINDS)}}),
    "Merge": obj({"target_id": ID}),
    "Split": obj({"comment_id": ID, "subject": nullable(_text(255))}, required=("comment_id",)),
    "CustomerCreate": obj(CUSTOMER_FIELDS, required=("name",)),
    "CustomerChange": obj({**CUSTOMER_FIELDS, "expected_version": VERSION}, required=()),
    "CustomerMerge": obj({"into": ID, "expected_version": VERSION}, required=("into",)),
    "UserCreate": obj({
        "username": {"type": "string", "pattern": "^[A-Za-z0-9_.@-]{2,64}$"},
        "display_name": _text(100, 1), "role": {"type": "string", "enum": list(ROLES)},
        "password": _text(256), "email": _text(254), "department_id": nullable(ID),
        "customer_id": nullable(ID), "must_change_password": BOOL,
        "locale": {"type": "string", "enum": ["", "zh_CN", "en"]},
        "capacity": {"type": "integer", "minimum": 0, "maximum": 500}},
        required=("username", "display_name", "role")),
    "DepartmentCreate": obj({"code": _text(32, 1), "name": _text(100, 1), "name_en": _text(100),
                             "active": BOOL}, required=("code", "name")),
    "CategoryCreate": obj({"name": _text(100, 1), "parent_id": nullable(ID),
                           "department_id": nullable(ID), "active": BOOL}, required=("name",)),
}

# AI triage (webapp/api/triage.py): suggestions with confidence, runs with versions, undo.
_NUMBER_OR_NULL = nullable({"type": "number"})
RESPONSES["TriageSuggestion"] = obj({
    "field": TEXT, "value": ANY, "label": TEXT, "confidence": _NUMBER_OR_NULL,
    "threshold": _NUMBER_OR_NULL, "applied": BOOL,
    "status": {"type": "string", "description": "applied | confirmed | human | review | info"},
    "reason": TEXT,
    "alternatives": array(obj({"value": TEXT, "label": TEXT, "confidence": _NUMBER_OR_NULL})),
    "current_value": ANY, "current_label": TEXT},
    description="One field as AI triage saw it: value (a label: department or category id "
                "as text, priority, urgency, language, ...), calibrated confidence in [0, 1], "
                "and whether it was applied (confidence at least the threshold).")
RESPONSES["TriageRun"] = obj({
    "id": {"type": "integer"}, "stage": {"type": "string", "enum": ["fast", "enrich"]},
    "status": TEXT, "created_at": TIME, "model": TEXT, "model_sha256": TEXT,
    "classifier_versions": {"type": "object", "additionalProperties": TEXT},
    "prompt_version": TEXT, "rules_version": TEXT, "error": TEXT,
    "duration_ms": {"type": "integer"},
    "applied": {"type": "object", "description": "field -> {before, after}"},
    "undone_at": nullable(TIME), "undone_by": nullable(ref("Ref")), "can_undo": BOOL},
    description="One triage run with the model, classifier and prompt versions it used.")
RESPONSES["Triage"] = obj({
    "ticket_id": {"type": "integer"}, "number": TEXT, "version": {"type": "integer"},
    "triage_state": {"type": "string", "enum": ["", "pending", "auto", "review", "done"]},
    "language": TEXT, "sentiment": TEXT, "summary": TEXT, "entities": {"type": "object"},
    "required_skills": array(TEXT), "suggestions": array(ref("TriageSuggestion")),
    "runs": array(ref("TriageRun")), "can_edit": BOOL},
    description="AI triage of a ticket: what it found, suggested and changed (runs newest first).")
RESPONSES["TriageUndone"] = obj({"reverted": array(TEXT, description="fields put back"),
                                 "triage": ref("Triage")})
REQUESTS["TriageUndo"] = obj({"run_id": ID}, required=(),
                             description="Without run_id every run with changes left is undone.")

SCHEMAS = {**RESPONSES, **REQUESTS}
