"""OpenAPI paths and schemas of webapp/api/processes.py (merged by webapp/api/openapi.py).

Operations are built with openapi_parts; the error responses they name are defined in
openapi.py. A definition document is described by docs/decisions/0018; here it is an
object, checked by the service (POST /processes/validate lists its problems).
"""
from __future__ import annotations

from appliance.models.process import DEFINITION_STATUSES, INSTANCE_STATUSES, STEP_STATES
from appliance.services.process_approvals import MAX_COMMENT
from webapp.api.openapi_parts import json_body, json_response, operation
from webapp.api.openapi_schemas import BOOL, ID, TEXT, TIME, array, nullable, obj, ref

TAG = "processes"
WRITE = (400, 413, 415)
INT = {"type": "integer"}
OBJECT = {"type": "object"}


def _op(op_id: str, summary: str, ok: dict, errors=(), params=(), body=None,
        description: str = "") -> dict:
    return operation(op_id, TAG, summary, ok, errors, params, body, description=description)


_json, _body = json_response, json_body


def _path(name: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            **({"description": description} if description else {})}


KEY = _path("key", {"type": "string", "pattern": "^[a-z0-9_]{2,64}$"})
VERSION = _path("version", {"type": "integer", "minimum": 1, "maximum": ID["maximum"]})
ID_PARAMS = {name: _path(name, {"type": "integer", "minimum": 1})
             for name in ("instance_id", "ticket_id", "approval_id", "step_id")}
EXAMPLE = {"format": 1, "key": "refund_approval", "name": {"zh": "退款审批", "en": "Refund"},
           "nodes": [{"id": "start", "type": "start"}, {"id": "end", "type": "end",
                                                         "outcome": "resolved"}],
           "edges": [{"id": "e1", "from": "start", "to": "end"}]}

SCHEMAS: dict = {
    "ProcessProblem": obj({"path": TEXT, "code": TEXT, "message": TEXT, "params": OBJECT},
                          description="One problem: where (a JSON path such as "
                                      "nodes[3].approvers), a stable code and a message."),
    "ProcessProblems": obj({"problems": array(ref("ProcessProblem"))}),
    "ProcessDefinition": obj({
        "key": TEXT, "version": INT,
        "status": {"type": "string", "enum": list(DEFINITION_STATUSES)}, "name": TEXT,
        "revision": {"type": "integer", "description": "Pass as expected_version when "
                                                       "saving this draft again"},
        "document": OBJECT, "problems": array(ref("ProcessProblem")),
        "created_by": nullable(ref("Ref")), "created_at": nullable(TIME),
        "updated_at": nullable(TIME), "published_by": nullable(ref("Ref")),
        "published_at": nullable(TIME), "retired_at": nullable(TIME)},
        description="One version of a process; problems: what publishing would refuse."),
    "ProcessSummary": obj({
        "key": TEXT, "name": TEXT, "latest_version": INT,
        "latest_status": {"type": "string", "enum": list(DEFINITION_STATUSES)},
        "published_version": nullable(INT), "draft_version": nullable(INT),
        "updated_at": TIME, "live_instances": INT, "error_instances": INT}),
    "ProcessDraftNew": obj({"document": OBJECT}, required=("document",)),
    "ProcessDraft": obj({"document": OBJECT, "expected_version": nullable(
        {"type": "integer", "minimum": 1})}, required=("document",)),
    "ProcessDocument": {"type": "object", "description": "A whole definition document "
                                                          "(docs/decisions/0018)"},
    "ProcessDiffLine": obj({
        "kind": TEXT, "id": TEXT,
        "change": {"type": "string", "enum": ["added", "removed", "changed", "moved"]},
        "keys": array(TEXT), "before": OBJECT, "after": OBJECT, "text": TEXT}),
    "ProcessDryRun": obj({"document": OBJECT, "fields": OBJECT, "outcomes": {
        "type": "object", "additionalProperties": {"type": "string",
                                                   "enum": ["approved", "rejected"]}}},
        required=("document",)),
    "ProcessSimStep": obj({
        "number": INT, "node_id": TEXT, "node_type": TEXT, "label": TEXT, "branch": TEXT,
        "decided_by": TEXT, "next_nodes": array(TEXT), "waits": TEXT, "action": TEXT,
        "sets": OBJECT, "texts": {"type": "object", "description": (
            "decided_by / waits / action as [code, params] pairs, for translation")}}),
    "ProcessSimulation": obj({
        "steps": array(ref("ProcessSimStep")),
        "status": {"type": "string", "enum": ["ended", "stopped", "stuck"]},
        "reason": TEXT, "end_node": nullable(TEXT),
        "outcome": nullable({"type": "string", "enum": ["resolved", "rejected"]}),
        "fields": OBJECT, "reason_text": {"type": "array", "description": (
            "[code, params] of reason, for translation")}}),
    "ProcessApprovalRow": obj({"id": INT, "approver": ref("Ref"), "decision": TEXT,
                               "comment": TEXT, "escalated": BOOL,
                               "decided_at": nullable(TIME)}),
    "ProcessStep": obj({
        "id": INT, "instance_id": INT, "node_id": TEXT, "type": TEXT, "label": TEXT,
        "branch": TEXT, "visit": INT, "state": {"type": "string", "enum": list(STEP_STATES)},
        "outcome": TEXT, "attempts": INT, "entered_at": TIME, "due_at": nullable(TIME),
        "next_attempt_at": nullable(TIME), "completed_at": nullable(TIME),
        "completed_by": nullable(ref("Ref")), "error": TEXT, "overdue": BOOL,
        "approvals": array(ref("ProcessApprovalRow"))}),
    "ProcessInstance": obj({
        "id": INT, "ticket_id": INT, "ticket_number": TEXT, "key": TEXT, "version": INT,
        "name": TEXT, "status": {"type": "string", "enum": list(INSTANCE_STATUSES)},
        "started_at": TIME, "ended_at": nullable(TIME), "started_by": nullable(ref("Ref")),
        "error": TEXT, "steps": array(ref("ProcessStep"))},
        description="A process on a ticket; steps are empty in the monitor's list."),
    "ProcessStart": obj({"key": {"type": "string", "maxLength": 64}}),
    "ProcessApproval": obj({
        "id": INT, "step_id": INT, "instance_id": INT, "process": TEXT, "step": TEXT,
        "ticket_id": INT, "ticket_number": TEXT, "ticket_subject": TEXT, "decision": TEXT,
        "comment": TEXT, "escalated": BOOL, "open": BOOL, "created_at": TIME,
        "decided_at": nullable(TIME), "due_at": nullable(TIME)}),
    "ProcessDecision": obj({"decision": {"type": "string", "enum": ["approved", "rejected"]},
                            "comment": {"type": "string", "maxLength": MAX_COMMENT}},
                           required=("decision",)),
    "ProcessStepComplete": obj({
        "fields": {"type": "object", "description": "Values of the step's form fields: "
                                                    "priority, custom.<key>, …"},
        "expected_version": nullable({"type": "integer", "minimum": 1,
                                      "description": "The ticket's version you read"})},
        required=()),
}
for _name in ("ProcessSummary", "ProcessDefinition", "ProcessDiffLine", "ProcessInstance",
              "ProcessApproval"):
    SCHEMAS[_name + "List"] = obj({"items": array(ref(_name))})

ADMIN = "Administrators only."
DEF_PATHS: dict = {
    "/processes/definitions": {
        "get": _op("listProcessDefinitions", "Processes, one row per key (administrators)",
                   _json(200, "ProcessSummaryList", "The processes"), (403,)),
        "post": _op("createProcessDefinition", "Save a document as a new draft version",
                    _json(201, "ProcessDefinition", "The draft"), (*WRITE, 403, 409),
                    body=_body("ProcessDraftNew", {"document": EXAMPLE}), description=ADMIN)},
    "/processes/definitions/{key}": {
        "get": _op("getProcessDefinition", "One version (default: the latest)",
                   _json(200, "ProcessDefinition", "The version"), (400, 403, 404),
                   [KEY, _query("version", {"type": "integer", "minimum": 1})])},
    "/processes/definitions/{key}/draft": {
        "put": _op("saveProcessDraft", "Change the draft (or start one)",
                   _json(200, "ProcessDefinition", "The draft"), (*WRITE, 403, 404, 409), [KEY],
                   _body("ProcessDraft", {"document": EXAMPLE, "expected_version": 1}),
                   description="expected_version is the draft's revision you read; 409 when "
                               "it was saved since. " + ADMIN),
        "delete": _op("discardProcessDraft", "Delete the draft (published versions stay)",
                      {"204": {"description": "Deleted"}}, (403, 404), [KEY])},
    "/processes/definitions/{key}/versions": {
        "get": _op("listProcessVersions", "Every version, newest first",
                   _json(200, "ProcessDefinitionList", "The versions"), (403, 404), [KEY])},
    "/processes/definitions/{key}/versions/{version}/publish": {
        "post": _op("publishProcess", "Publish a draft; the version published before retires",
                    _json(200, "ProcessDefinition", "The published version"),
                    (400, 403, 404, 409), [KEY, VERSION],
                    description="400 lists every problem in details.problems (path, code, "
                                "message) and details.fields. " + ADMIN)},
    "/processes/definitions/{key}/versions/{version}/retire": {
        "post": _op("retireProcess", "Retire a published version (running tickets finish on it)",
                    _json(200, "ProcessDefinition", "The retired version"), (403, 404, 409),
                    [KEY, VERSION])},
    "/processes/definitions/{key}/versions/{version}/export": {
        "get": _op("exportProcess", "The version's document, as import takes it",
                   _json(200, "ProcessDocument", "The document"), (403, 404), [KEY, VERSION])},
    "/processes/definitions/{key}/diff": {
        "get": _op("diffProcessVersions", "What changed between two versions",
                   _json(200, "ProcessDiffLineList", "One line per node, edge or setting"),
                   (400, 403, 404),
                   [KEY, _query("from", {"type": "integer", "minimum": 1}, "Older version"),
                    _query("to", {"type": "integer", "minimum": 1}, "Newer version")])},
    "/processes/validate": {
        "post": _op("validateProcess", "The problems publishing would refuse",
                    _json(200, "ProcessProblems", "Empty when it can be published"),
                    (*WRITE, 403), body=_body("ProcessDraftNew", {"document": EXAMPLE}))},
    "/processes/import": {
        "post": _op("importProcess", "Import a whole document as a new draft",
                    _json(201, "ProcessDefinition", "The draft"), (*WRITE, 403, 409),
                    body=_body("ProcessDocument", EXAMPLE),
                    description="Refused (400) with the path of every problem; 409 when the "
                                "key has a draft already. " + ADMIN)},
    "/processes/dry-run": {
        "post": _op("dryRunProcess", "The path a ticket with these values would take",
                    _json(200, "ProcessSimulation", "The simulated steps"), (*WRITE, 403),
                    body=_body("ProcessDryRun", {"document": EXAMPLE,
                                                 "fields": {"custom.amount": 800}}))},
}

RUN_PATHS: dict = {
    "/processes/instances": {
        "get": _op("listProcessInstances", "The monitor: processes on tickets, newest first",
                   _json(200, "ProcessInstanceList", "The instances (without steps)"),
                   (400, 403),
                   [_query("status", {"type": "string", "enum": list(INSTANCE_STATUSES)}),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 500})],
                   description=ADMIN + " status=error lists the stuck ones.")},
    "/processes/instances/{instance_id}": {
        "get": _op("getProcessInstance", "One process with its steps",
                   _json(200, "ProcessInstance", "The instance"), (404,),
                   [ID_PARAMS["instance_id"]])},
    "/processes/instances/{instance_id}/retry": {
        "post": _op("retryProcessInstance", "Resume a process in error (administrators)",
                    _json(200, "ProcessInstance", "The instance"), (403, 404, 409),
                    [ID_PARAMS["instance_id"]])},
    "/processes/instances/{instance_id}/cancel": {
        "post": _op("cancelProcessInstance", "Stop a process (supervisors, administrators)",
                    _json(200, "ProcessInstance", "The instance"), (403, 404, 409),
                    [ID_PARAMS["instance_id"]])},
    "/processes/tickets/{ticket_id}": {
        "get": _op("ticketProcesses", "A ticket's process history (staff who can see it)",
                   _json(200, "ProcessInstanceList", "Its processes, newest first"), (404,),
                   [ID_PARAMS["ticket_id"]])},
    "/processes/tickets/{ticket_id}/start": {
        "post": _op("startTicketProcess", "Start a published process on the ticket",
                    _json(201, "ProcessInstance", "The new instance"), (*WRITE, 403, 404, 409),
                    [ID_PARAMS["ticket_id"]], _body("ProcessStart", {"key": "refund_approval"}))},
    "/processes/approvals": {
        "get": _op("myProcessApprovals", "Your approvals to decide (and decided ones)",
                   _json(200, "ProcessApprovalList", "Open ones first"), (400,),
                   [_query("include_decided", {"type": "string", "enum": ["true", "false"]})])},
    "/processes/approvals/{approval_id}/decision": {
        "post": _op("decideProcessApproval", "Approve or reject (the approver only)",
                    _json(200, "ProcessApproval", "The approval"), (*WRITE, 404, 409),
                    [ID_PARAMS["approval_id"]],
                    _body("ProcessDecision", {"decision": "approved", "comment": "同意"}),
                    description="Someone else's approval is 404; a decided one is 409.")},
    "/processes/steps/{step_id}/complete": {
        "post": _op("completeProcessStep", "Complete a task step after filling its form",
                    _json(200, "ProcessStep", "The step"), (*WRITE, 403, 404, 409),
                    [ID_PARAMS["step_id"]],
                    _body("ProcessStepComplete", {"fields": {"custom.order_no": "DD2026"}}),
                    description="400 names each required field still empty.")},
}
PATHS: dict = {**DEF_PATHS, **RUN_PATHS}
