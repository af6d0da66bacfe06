"""Process definitions on SQLite and PostgreSQL: drafts and their revisions, publishing
(refused with every problem's path), retiring, import/export, diff, dry-run, the
organisation refusing to drop what published processes use, department leads and
managers as approvers, and the shipped examples."""
from __future__ import annotations

import pytest

from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.models import ProcessDefinition, ProcessInstance
from appliance.rules.access import SYSTEM
from appliance.services import org as org_service
from appliance.services import (process_approvals, process_defs, process_engine, users)
from appliance.services.process_defs import DefinitionProblems
from tests import process_helpers as ph


@pytest.fixture
def po(settings):
    ph.configure(settings)
    return ph.make_process_org()


def simple(key="simple", department="AS", field="custom.amount") -> dict:
    return ph.doc(key, [ph.start(), ph.task("work", department, form=[
        {"field": field, "required": True, "default": None, "shown": True}]), ph.end()],
        [("start", "work"), ("work", "end")])


def test_a_draft_is_saved_again_and_again_as_one_version_with_revisions(po):
    admin = po.base.admin
    first = process_defs.save_draft(admin, "simple", simple())
    assert (first.version, first.status, first.revision, first.name) == (1, "draft", 1, "测试流程")
    second = process_defs.save_draft(admin, "simple", simple(), expected_version=first.revision)
    assert (second.version, second.revision) == (1, 2)
    with pytest.raises(Conflict):  # saved by someone else since revision 1 was read
        process_defs.save_draft(admin, "simple", simple(), expected_version=first.revision)
    with pytest.raises(PermissionDenied):
        process_defs.save_draft(po.base.supervisor, "simple", simple())
    with pytest.raises(ValidationError) as exc:
        process_defs.save_draft(admin, "other", simple())
    assert exc.value.fields == {"key": "differs from the document's key"}
    with pytest.raises(ValidationError):
        process_defs.save_draft(admin, "Bad Key", {})
    assert ProcessDefinition.select().count() == 1


def test_publishing_refuses_problems_with_their_paths_and_nothing_changes(po):
    admin = po.base.admin
    broken = simple(department="NOPE", field="custom.nope")
    broken["nodes"].append({"id": "lost", "type": "task",
                            "assignee": {"kind": "department", "value": "AS"}})
    draft = process_defs.save_draft(admin, "simple", broken)
    paths = {p.path for p in draft.problems}
    assert {"nodes[1].assignee.value", "nodes[1].form[0].field", "nodes[3]"} <= paths
    with pytest.raises(DefinitionProblems) as exc:
        process_defs.publish(admin, "simple", draft.version)
    assert exc.value.fields["nodes[1].assignee.value"] == "unknown department NOPE"
    assert {p["path"] for p in exc.value.details["problems"]} == paths
    assert ProcessDefinition.get().status == "draft"


def test_publishing_a_new_version_retires_the_old_and_running_tickets_stay_on_it(settings, po):
    admin = po.base.admin
    v1 = ph.publish(simple(), admin)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    process_engine.start_manually(po.base.agent, t.id, "simple")
    ph.drain()
    changed = simple()
    changed["nodes"][1]["label"] = "新的"
    v2 = process_defs.save_draft(admin, "simple", changed)
    assert v2.version == 2
    process_defs.publish(admin, "simple", 2)
    versions = {v.version: v.status for v in process_defs.list_versions(admin, "simple")}
    assert versions == {1: "retired", 2: "published"}
    assert ProcessInstance.get().version == v1.version == 1
    lines = process_defs.diff_versions(admin, "simple", 1, 2)
    assert [(d.kind, d.id, d.change) for d in lines] == [("node", "work", "changed")]
    with pytest.raises(Conflict):
        process_defs.publish(admin, "simple", 2)
    [summary] = process_defs.list_definitions(admin)
    assert (summary.published_version, summary.draft_version, summary.live_instances) == (
        2, None, 1)
    process_defs.retire(admin, "simple", 2)
    with pytest.raises(Conflict):
        process_defs.retire(admin, "simple", 2)
    with pytest.raises(NotFound):
        process_engine.start_manually(po.base.agent, t.id, "simple")  # nothing published


def test_import_refuses_an_invalid_file_with_the_path_and_takes_a_valid_one_as_draft(po):
    admin = po.base.admin
    with pytest.raises(DefinitionProblems) as exc:
        process_defs.import_definition(admin, {"format": 1, "key": "x1", "name": {"zh": "坏"},
                                               "nodes": [{"id": "a", "type": "teleport"}],
                                               "edges": []})
    assert "nodes[0].type" in exc.value.fields
    with pytest.raises(DefinitionProblems) as exc:
        process_defs.import_definition(admin, ["not", "an", "object"])
    assert list(exc.value.fields) == ["document"]
    imported = process_defs.import_definition(admin, simple())
    assert (imported.status, imported.version) == ("draft", 1)
    with pytest.raises(Conflict):
        process_defs.import_definition(admin, simple())
    exported = process_defs.export_definition(admin, "simple", 1)
    assert exported == simple()
    assert ProcessDefinition.select().count() == 1


def test_a_dry_run_shows_the_path_for_given_values(po):
    document = ph.doc("gw", [
        ph.start(), {"id": "gw", "type": "gateway"}, ph.end("big"), ph.end("small")],
        [("start", "gw"), ("gw", "big", {"order": 0, "condition": {
            "field": "custom.amount", "op": ">", "value": 500}}), ("gw", "small", {"order": 1})])
    run = process_defs.dry_run(po.base.admin, document, {"custom.amount": 800})
    assert [s.node_id for s in run.steps] == ["start", "gw", "big"] and run.status == "ended"
    run = process_defs.dry_run(po.base.admin, document, {"custom": {"amount": 100}})
    assert run.end_node == "small"
    with pytest.raises(ValidationError) as exc:
        process_defs.dry_run(po.base.admin, document, "amount=5")
    assert exc.value.fields == {"fields": "must be an object"}
    with pytest.raises(PermissionDenied):
        process_defs.dry_run(po.base.agent, document, {})


def test_a_department_or_field_a_process_uses_cannot_be_dropped_or_renamed(po):
    ph.publish(simple(department="LOG"))
    with pytest.raises(ValidationError) as exc:
        org_service.save_department(SYSTEM, "LOG", "物流", active=False,
                                    department_id=po.base.logistics)
    assert exc.value.fields["active"].startswith("used by published processes: 测试流程 (simple v1)")
    with pytest.raises(ValidationError) as exc:
        org_service.save_department(SYSTEM, "LOG2", "物流", department_id=po.base.logistics)
    assert "code" in exc.value.fields
    org_service.save_department(SYSTEM, "LOG", "物流中心", department_id=po.base.logistics)
    amount = next(f for f in org_service.list_custom_fields() if f.key == "amount")
    with pytest.raises(ValidationError) as exc:
        org_service.save_custom_field(SYSTEM, "amount", "金额", "number", active=False,
                                      field_id=amount.id)
    assert "simple" in exc.value.fields["active"]
    process_defs.retire(SYSTEM, "simple", 1)  # nothing runs on it: both may go now
    org_service.save_department(SYSTEM, "LOG", "物流", active=False,
                                department_id=po.base.logistics)
    org_service.save_custom_field(SYSTEM, "amount", "金额", "number", active=False,
                                  field_id=amount.id)


def test_known_fields_are_the_ticket_fields_and_active_custom_fields(po):
    fields = process_defs.known_fields()
    assert fields["custom.amount"] == "number" and fields["priority"] == "number"
    assert "custom.order_no" in fields


def test_the_requesters_manager_and_a_department_lead_approve(settings, po):
    with pytest.raises(ValidationError) as exc:
        users.update_user(SYSTEM, po.base.agent.user_id, {"manager_id": po.base.agent.user_id})
    assert "manager_id" in exc.value.fields
    with pytest.raises(ValidationError):
        org_service.save_department(SYSTEM, "AS", "售后", department_id=po.base.after_sales,
                                    lead_id=po.base.customer.user_id)  # not staff
    users.update_user(SYSTEM, po.base.agent.user_id, {"manager_id": po.base.supervisor.user_id})
    assert users.manager_of(po.base.agent.user_id) == po.base.supervisor.user_id
    assert org_service.department_lead(po.finance) == po.fin_lead.user_id
    document = ph.doc("mgr", [ph.start(), ph.approval("approve", {"kind": "requester_manager"}),
                              ph.end(), ph.end("no", "rejected")],
                      [("start", "approve"), ("approve", "end", {"on": "approved"}),
                       ("approve", "no", {"on": "rejected"})])
    ph.publish(document)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    process_engine.start_manually(po.base.agent, t.id, "mgr")
    ph.drain()
    [mine] = process_approvals.list_my_approvals(po.base.supervisor)
    assert mine.ticket_id == t.id


def test_the_shipped_examples_install_once(po):
    installed = process_defs.install_examples(SYSTEM)
    assert sorted(k for k, _ in installed) == ["after_sales_repair", "refund_approval",
                                               "scenic_peak_complaint"]
    for key, status in installed:
        view = process_defs.get_definition(SYSTEM, key)
        if status == "draft":  # this organisation lacks a department or field it names
            assert {p.code for p in view.problems} <= {"unknown_department", "unknown_field"}
        else:
            assert status == "published" and view.problems == []
    assert process_defs.install_examples(SYSTEM) == []
