"""API: cross-department processes under /processes (documented in openapi_processes.py).

Definitions, validation, import/export, diff and dry-run are for administrators; staff
start processes and complete task steps on tickets they can work (a parallel step's
holders: that step, docs/decisions/0018); approvers see and decide only their own
approvals (anyone else's are 404); the instance monitor, retry and cancel follow
services/process_engine.py.
"""
from __future__ import annotations

from flask import g

from appliance.services import (process_approvals, process_defs, process_engine,
                                process_tasks, process_views)
from webapp.api import api_bp
from webapp.api.payload import (ID_RULE, choice, identifier, integer, items, json_body,
                                json_object, nullable, query_choice, query_int, query_text,
                                no_content, read_json, reply, text)
from appliance.models.process import INSTANCE_STATUSES

DEFS = "/processes/definitions"
VERSION = DEFS + "/<key>/versions/<int:version>"


# -- definitions ---------------------------------------------------------------------------

@api_bp.get(DEFS)
def list_process_definitions():
    return items(process_defs.list_definitions(g.actor))


@api_bp.post(DEFS)
def create_process_definition():
    values = json_body({"document": json_object}, required=("document",))
    document = values["document"]
    key = document.get("key") if isinstance(document.get("key"), str) else ""
    return reply(process_defs.save_draft(g.actor, key, document), 201)


@api_bp.get(DEFS + "/<key>")
def get_process_definition(key: str):
    version = query_int("version", lo=1)
    return reply(process_defs.get_definition(g.actor, key, version))


@api_bp.put(DEFS + "/<key>/draft")
def save_process_draft(key: str):
    values = json_body({"document": json_object, "expected_version": nullable(integer(1))},
                       required=("document",))
    return reply(process_defs.save_draft(g.actor, key, values["document"],
                                         values.get("expected_version")))


@api_bp.delete(DEFS + "/<key>/draft")
def discard_process_draft(key: str):
    process_defs.discard_draft(g.actor, key)
    return no_content()


@api_bp.get(DEFS + "/<key>/versions")
def list_process_versions(key: str):
    return items(process_defs.list_versions(g.actor, key))


@api_bp.post(VERSION + "/publish")
def publish_process(key: str, version: int):
    return reply(process_defs.publish(g.actor, key, version))


@api_bp.post(VERSION + "/retire")
def retire_process(key: str, version: int):
    return reply(process_defs.retire(g.actor, key, version))


@api_bp.get(VERSION + "/export")
def export_process(key: str, version: int):
    return reply(process_defs.export_definition(g.actor, key, version))


@api_bp.get(DEFS + "/<key>/diff")
def diff_process_versions(key: str):
    old = query_int("from", lo=1) or 1
    new = query_int("to", lo=1) or 1
    return items(process_defs.diff_versions(g.actor, key, old, new))


@api_bp.post("/processes/validate")
def validate_process():
    values = json_body({"document": json_object}, required=("document",))
    return reply({"problems": process_defs.validate_definition(g.actor, values["document"])})


@api_bp.post("/processes/import")
def import_process():
    return reply(process_defs.import_definition(g.actor, read_json()), 201)


@api_bp.post("/processes/dry-run")
def dry_run_process():
    values = json_body({"document": json_object, "fields": json_object,
                        "outcomes": json_object}, required=("document",))
    return reply(process_defs.dry_run(g.actor, values["document"], values.get("fields", {}),
                                      values.get("outcomes")))


# -- instances, approvals, steps -----------------------------------------------------------

@api_bp.get("/processes/instances")
def list_process_instances():
    status = query_choice("status", INSTANCE_STATUSES)
    limit = query_int("limit", 100, lo=1, hi=process_views.MAX_LIST)
    return items(process_views.list_instances(g.actor, status, limit))


@api_bp.get(f"/processes/instances/<{ID_RULE}:instance_id>")
def get_process_instance(instance_id: int):
    return reply(process_views.get_instance(g.actor, instance_id))


@api_bp.post(f"/processes/instances/<{ID_RULE}:instance_id>/retry")
def retry_process_instance(instance_id: int):
    process_engine.retry_instance(g.actor, instance_id)
    return reply(process_views.get_instance(g.actor, instance_id))


@api_bp.post(f"/processes/instances/<{ID_RULE}:instance_id>/cancel")
def cancel_process_instance(instance_id: int):
    process_engine.cancel_instance(g.actor, instance_id)
    return reply(process_views.get_instance(g.actor, instance_id))


@api_bp.get(f"/processes/tickets/<{ID_RULE}:ticket_id>")
def ticket_processes(ticket_id: int):
    return items(process_views.process_history(g.actor, ticket_id))


@api_bp.post(f"/processes/tickets/<{ID_RULE}:ticket_id>/start")
def start_ticket_process(ticket_id: int):
    values = json_body({"key": text(64)}, required=("key",))
    instance_id = process_engine.start_manually(g.actor, ticket_id, values["key"])
    return reply(process_views.get_instance(g.actor, instance_id), 201)


@api_bp.get("/processes/approvals")
def my_process_approvals():
    decided = query_text("include_decided", "false", max_len=5) == "true"
    return items(process_approvals.list_my_approvals(g.actor, include_decided=decided))


@api_bp.post(f"/processes/approvals/<{ID_RULE}:approval_id>/decision")
def decide_process_approval(approval_id: int):
    values = json_body({"decision": choice("approved", "rejected"),
                        "comment": text(process_approvals.MAX_COMMENT)},
                       required=("decision",))
    return reply(process_approvals.decide_approval(g.actor, approval_id, values["decision"],
                                                   values.get("comment", "")))


@api_bp.post(f"/processes/steps/<{ID_RULE}:step_id>/complete")
def complete_process_step(step_id: int):
    values = json_body({"fields": json_object, "expected_version": nullable(identifier)})
    return reply(process_tasks.complete_step(g.actor, step_id, values.get("fields") or {},
                                             values.get("expected_version")))
