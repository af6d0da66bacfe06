import re

import pytest

from appliance.rules.process_definition import MESSAGES, Problem, validate
from tests.unit.process_samples import (CUSTOM_FIELDS, DEPARTMENTS, EXAMPLES, document, edge,
                                        edge_index, example, index, node, parallel, sample,
                                        with_action)

KNOWN = {"custom.amount": "number", "custom.tags": "multiselect", "custom.reason": "text"}
HOSTS = ("hooks.example.com", "erp.example.com:8443")


def found(doc, known=None, hosts=HOSTS, departments=DEPARTMENTS):
    return {(p.path, p.code) for p in validate(doc, KNOWN if known is None else known, hosts,
                                               departments)}


# -- the samples and examples are valid ----------------------------------------------------

def test_the_sample_and_the_parallel_sample_are_valid():
    assert validate(sample(), KNOWN, HOSTS, DEPARTMENTS) == []
    assert validate(parallel(), {}, (), DEPARTMENTS) == []


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_shipped_example_validates_cleanly(name):
    assert validate(example(name), CUSTOM_FIELDS, (), DEPARTMENTS) == []


def test_the_scenic_example_needs_the_park_dispatch_and_security_departments():
    problems = found(example("scenic_peak_complaint"), CUSTOM_FIELDS,
                     departments=DEPARTMENTS - {"PARK", "SEC"})
    assert problems == {("nodes[3].assignee.value", "unknown_department"),
                        ("nodes[4].assignee.value", "unknown_department")}


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_has_both_names_and_a_left_to_right_layout(name):
    doc = example(name)
    assert doc["key"] == name and doc["name"]["zh"] and doc["name"]["en"]
    xs = {n["id"]: n["x"] for n in doc["nodes"]}
    start = next(n["id"] for n in doc["nodes"] if n["type"] == "start")
    assert xs[start] == min(xs.values())
    forward = [e for e in doc["edges"] if xs[e["to"]] > xs[e["from"]]]
    assert len(forward) >= len(doc["edges"]) - 1  # only the quality-check loop goes back


# -- shape and types -----------------------------------------------------------------------

def test_a_document_that_is_not_an_object_is_refused():
    assert found([1, 2]) == {("", "not_object")}


def test_the_top_level_is_checked_key_by_key():
    doc = sample()
    doc.update(format=2, key="Bad Key", name={"zh": "", "fr": "x"}, description=3, extra=1)
    assert found(doc) == {("extra", "unknown_key"), ("format", "unsupported_format"),
                          ("key", "bad_key"), ("name.fr", "unknown_key"),
                          ("name", "name_missing"), ("description", "not_text")}


def test_missing_lists_and_oversized_documents_are_refused_before_anything_else():
    assert found({"format": 1, "key": "k1", "name": {"en": "x"}, "nodes": {}}) == \
        {("nodes", "not_list"), ("edges", "missing")}
    big = document([node(f"n{i}", "task") for i in range(201)], [])
    assert found(big) == {("nodes", "too_many")}
    many = document([], [edge(f"e{i}", "a", "b") for i in range(401)])
    assert found(many) == {("edges", "too_many")}


def test_labels_are_bounded():
    doc = sample()
    doc["nodes"][1]["label"] = "长" * 201
    doc["edges"][0]["label"] = "x" * 201
    assert found(doc) == {("nodes[1].label", "too_long"), ("edges[0].label", "too_long")}


def test_ids_must_be_well_formed_and_unique():
    doc = sample()
    doc["nodes"][2]["id"] = "review"
    doc["edges"][1]["id"] = "e 2"
    problems = found(doc)
    assert ("nodes[2].id", "duplicate_id") in problems
    assert ("edges[1].id", "bad_id") in problems


def test_an_unknown_node_type_is_reported_at_its_type():
    doc = sample()
    doc["nodes"][1]["type"] = "robot"
    assert ("nodes[1].type", "unknown_node_type") in found(doc)


def test_unknown_keys_on_nodes_and_edges_are_reported():
    doc = sample()
    doc["nodes"][1]["colour"] = "red"
    doc["edges"][0]["weight"] = 2
    assert found(doc) == {("nodes[1].colour", "unknown_key"), ("edges[0].weight", "unknown_key")}


def test_an_end_says_how_it_ends():
    doc = sample()
    doc["nodes"][index(doc, "end_ok")]["outcome"] = "done"
    assert found(doc) == {("nodes[5].outcome", "not_one_of")}


def test_a_task_names_a_known_assignee():
    doc = sample()
    doc["nodes"][1]["assignee"] = {"kind": "department", "value": "NOPE"}
    doc["nodes"][4]["assignee"] = {"kind": "role", "value": "boss"}
    assert found(doc) == {("nodes[1].assignee.value", "unknown_department"),
                          ("nodes[4].assignee.value", "not_one_of")}
    del doc["nodes"][1]["assignee"]
    assert ("nodes[1].assignee", "missing") in found(doc)


def test_task_forms_name_fields_a_task_may_fill_with_fitting_defaults():
    doc = sample()
    doc["nodes"][1]["form"] = [{"field": "custom.amount", "required": True, "default": "lots"},
                               {"field": "channel", "required": "yes"},
                               {"field": "custom.nope"}]
    assert found(doc) == {("nodes[1].form[0].default", "value_not_number"),
                          ("nodes[1].form[1].field", "field_not_writable"),
                          ("nodes[1].form[1].required", "not_boolean"),
                          ("nodes[1].form[2].field", "unknown_field")}


def test_minutes_are_whole_and_positive():
    doc = sample()
    doc["nodes"][1]["sla_minutes"] = 0
    doc["nodes"][index(doc, "approve")]["due_minutes"] = 1.5
    assert found(doc) == {("nodes[1].sla_minutes", "out_of_range"),
                          ("nodes[3].due_minutes", "not_integer")}


# -- approvals -----------------------------------------------------------------------------

@pytest.mark.parametrize("approvers", [None, {}, {"kind": ""}, {"kind": "user", "value": ""},
                                       {"kind": "role"}])
def test_an_approval_without_approvers_is_refused(approvers):
    doc = sample()
    doc["nodes"][3]["approvers"] = approvers
    assert found(doc) == {("nodes[3].approvers", "approval_without_approvers")}


def test_approvers_of_an_unknown_kind_or_department_are_refused():
    doc = sample()
    doc["nodes"][3]["approvers"] = {"kind": "everyone", "value": ""}
    assert found(doc) == {("nodes[3].approvers.kind", "not_one_of")}
    doc["nodes"][3]["approvers"] = {"kind": "department_lead", "value": "NOPE"}
    assert found(doc) == {("nodes[3].approvers.value", "unknown_department")}
    doc["nodes"][3]["approvers"] = {"kind": "department_lead", "value": ""}  # the ticket's own
    assert found(doc) == set()


@pytest.mark.parametrize("approvers, n, ok", [
    ({"kind": "role", "value": "supervisor"}, 3, True),
    ({"kind": "role", "value": "supervisor"}, 0, False),
    ({"kind": "role", "value": "supervisor"}, 51, False),
    ({"kind": "department_lead", "value": "FIN"}, 1, True),
    ({"kind": "department_lead", "value": "FIN"}, 2, False),
    ({"kind": "user", "value": "zhangwei"}, 2, False),
    ({"kind": "role", "value": "supervisor"}, "2", False),
])
def test_a_quorum_of_n_must_be_reachable_by_the_approvers(approvers, n, ok):
    doc = sample()
    doc["nodes"][3].update(approvers=approvers, quorum={"mode": "n_of_m", "n": n})
    assert found(doc) == (set() if ok else {("nodes[3].quorum.n", "quorum_out_of_range")})


def test_a_quorum_mode_must_be_known():
    doc = sample()
    doc["nodes"][3]["quorum"] = {"mode": "most"}
    assert found(doc) == {("nodes[3].quorum.mode", "not_one_of")}


def test_each_approval_outcome_needs_an_edge():
    doc = sample()
    doc["edges"] = [e for e in doc["edges"] if e["id"] != "e6"]
    assert ("nodes[3]", "approval_outcome_unrouted") in found(doc)


def test_edges_from_an_approval_say_their_outcome_and_others_do_not():
    doc = sample()
    del doc["edges"][edge_index(doc, "e5")]["on"]
    doc["edges"][edge_index(doc, "e1")]["on"] = "approved"
    problems = found(doc)
    assert ("edges[4].on", "on_required") in problems
    assert ("edges[0].on", "on_not_allowed") in problems


def test_an_approval_outcome_with_conditions_needs_a_default_edge():
    doc = sample()
    doc["edges"][edge_index(doc, "e5")]["condition"] = {"field": "priority", "op": "==",
                                                        "value": 1}
    assert found(doc) == {("nodes[3]", "gateway_without_default")}


# -- actions -------------------------------------------------------------------------------

@pytest.mark.parametrize("action, params, problems", [
    ("set_fields", {"fields": {"priority": 1, "custom.amount": "12.5", "department": "LOG"}},
     set()),
    ("set_fields", {"fields": {"priority": "high"}},
     {('nodes[7].params.fields.priority', "value_not_number")}),
    ("set_fields", {"fields": {"channel": "email"}},
     {('nodes[7].params.fields.channel', "field_not_writable")}),
    ("set_fields", {"fields": {"department": "NOPE"}},
     {('nodes[7].params.fields.department', "unknown_department")}),
    ("set_fields", {"fields": {}}, {("nodes[7].params.fields", "missing")}),
    ("add_note", {"text": "已转财务", "internal": True}, set()),
    ("add_note", {}, {("nodes[7].params.text", "missing")}),
    ("notify", {"to": {"kind": "department_lead", "value": ""}, "message": "请处理"}, set()),
    ("notify", {"to": {"kind": "customer"}}, {("nodes[7].params.to.kind", "not_one_of")}),
    ("create_subticket", {"department": "LOG", "subject": "取件 {number}", "wait": True}, set()),
    ("create_subticket", {"department": "NOPE"},
     {("nodes[7].params.department", "unknown_department")}),
    ("wait_timer", {"minutes": 30}, set()),
    ("wait_timer", {"minutes": 0}, {("nodes[7].params.minutes", "out_of_range")}),
    ("wait_event", {"event": "customer_reply"}, set()),
    ("wait_event", {"event": "status_change", "status": "resolvd"},
     {("nodes[7].params.status", "not_one_of")}),
    ("wait_event", {"event": "lunch"}, {("nodes[7].params.event", "not_one_of")}),
    ("webhook", {"url": "https://hooks.example.com/gongdan"}, set()),
    ("webhook", {"url": "https://HOOKS.example.com:443/x"}, set()),
    ("webhook", {"url": "https://erp.example.com:8443/x"}, set()),
    ("webhook", {"url": "https://erp.example.com/x"},
     {("nodes[7].params.url", "webhook_host_not_allowed")}),
    ("webhook", {"url": "https://evil.example.net/x"},
     {("nodes[7].params.url", "webhook_host_not_allowed")}),
    ("webhook", {"url": "https://user:pw@hooks.example.com/x"},
     {("nodes[7].params.url", "bad_url")}),
    ("webhook", {"url": "ftp://hooks.example.com/x"}, {("nodes[7].params.url", "bad_url")}),
    ("webhook", {"url": "https://hooks.example.com/x", "method": "GET"},
     {("nodes[7].params.method", "unknown_key")}),
    ("teleport", {}, {("nodes[7].action", "not_one_of")}),
])
def test_action_parameters_are_checked_for_each_action(action, params, problems):
    assert found(with_action(action, params)) == problems


def test_webhooks_are_refused_when_the_allow_list_is_empty():
    doc = with_action("webhook", {"url": "https://hooks.example.com/x"})
    assert found(doc, hosts=()) == {("nodes[7].params.url", "webhook_host_not_allowed")}


# -- conditions on edges and start rules ---------------------------------------------------

def test_edge_conditions_are_checked_with_their_path():
    doc = sample()
    doc["edges"][2]["condition"] = {"all": [{"field": "custom.nope", "op": "==", "value": 1},
                                            {"field": "priority", "op": "contains", "value": 1}]}
    assert found(doc) == {("edges[2].condition.all[0].field", "unknown_field"),
                          ("edges[2].condition.all[1].op", "operator_not_for_type")}


def test_a_later_condition_may_read_an_approval_outcome_but_not_a_task_outcome():
    doc = sample()
    doc["edges"][2]["condition"] = {"field": "process.approve.outcome", "op": "==",
                                    "value": "approved"}
    assert found(doc) == set()
    doc["edges"][2]["condition"]["field"] = "process.review.outcome"
    assert found(doc) == {("edges[2].condition.field", "unknown_field")}


def test_only_gateways_and_approvals_put_conditions_on_their_edges():
    doc = sample()
    doc["edges"][0]["condition"] = {"field": "priority", "op": "==", "value": 1}
    assert found(doc) == {("edges[0].condition", "condition_not_allowed")}


def test_start_rules_are_checked():
    doc = sample()
    doc["start_rules"] = [{"category": "支付/退款", "channel": "fax", "department": "NOPE",
                           "custom": {"field": "custom.nope", "op": "==", "value": 1},
                           "when": "now"}, "x"]
    assert found(doc) == {("start_rules[0].when", "unknown_key"),
                          ("start_rules[0].channel", "not_one_of"),
                          ("start_rules[0].department", "unknown_department"),
                          ("start_rules[0].custom.field", "unknown_field"),
                          ("start_rules[1]", "not_object")}


def test_departments_are_not_checked_when_none_are_given():
    doc = sample()
    doc["nodes"][1]["assignee"]["value"] = "ANYTHING"
    assert found(doc, departments=None) == set()


def test_problems_carry_message_and_params_and_every_code_has_a_message():
    doc = sample()
    doc["nodes"][1]["assignee"]["value"] = "NOPE"
    [p] = validate(doc, KNOWN, HOSTS, DEPARTMENTS)
    assert p == Problem("nodes[1].assignee.value", "unknown_department",
                        "unknown department NOPE", {"department": "NOPE"})

def test_every_message_fills_from_named_params_only():
    for code, template in MESSAGES.items():
        names = re.findall(r"%\((\w+)\)s", template)
        filled = template % {n: "X" for n in names}
        assert "%" not in filled.replace("%(", ""), code
