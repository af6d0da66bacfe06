"""Routing (next_edges), start rules, what a process uses, and the diff of two versions."""
import pytest

from appliance.rules.process_definition import diff, next_edges, start_matches, \
    used_departments, used_fields
from tests.unit.process_samples import (edge, edge_index, example, index, node, parallel, sample,
                                        with_action)


# -- routing -------------------------------------------------------------------------------

def targets(doc, node_id, fields=None, outcome=None):
    return [e["to"] for e in next_edges(doc, node_id, fields or {}, outcome)]


def test_a_gateway_takes_the_first_edge_by_order_whose_condition_holds():
    doc = sample()
    doc["edges"].append(edge("e0", "gw", "end_no", order=-1,
                             condition={"field": "priority", "op": "==", "value": 1}))
    assert targets(doc, "gw", {"custom.amount": 900, "priority": 1}) == ["end_no"]
    assert targets(doc, "gw", {"custom.amount": 900, "priority": 2}) == ["approve"]


def test_a_gateway_falls_back_to_its_default_whatever_its_order():
    doc = sample()
    doc["edges"][edge_index(doc, "e4")]["order"] = -5  # the default listed first
    assert targets(doc, "gw", {"custom.amount": 900}) == ["approve"]
    assert targets(doc, "gw", {"custom.amount": 100}) == ["pay"]
    assert targets(doc, "gw", {}) == ["pay"]


def test_a_gateway_without_a_default_and_no_condition_holding_goes_nowhere():
    doc = sample()
    doc["edges"] = [e for e in doc["edges"] if e["id"] != "e4"]
    assert targets(doc, "gw", {"custom.amount": 100}) == []


def test_equal_orders_keep_the_order_of_the_list():
    doc = sample()
    for e in doc["edges"]:
        e.pop("order", None)
    doc["edges"].insert(0, edge("e0", "gw", "end_no",
                                condition={"field": "custom.amount", "op": ">", "value": 100}))
    assert targets(doc, "gw", {"custom.amount": 900}) == ["end_no"]


def test_an_approval_follows_the_edges_of_its_outcome():
    doc = sample()
    assert targets(doc, "approve", outcome="approved") == ["pay"]
    assert targets(doc, "approve", outcome="rejected") == ["end_no"]
    assert targets(doc, "approve") == []  # not decided yet


def test_an_approval_outcome_with_conditions_chooses_as_a_gateway_does():
    doc = sample()
    doc["edges"].append(edge("e8", "approve", "end_ok", on="approved", order=-1,
                             condition={"field": "custom.amount", "op": ">", "value": 10000}))
    assert targets(doc, "approve", {"custom.amount": 20000}, "approved") == ["end_ok"]
    assert targets(doc, "approve", {"custom.amount": 600}, "approved") == ["pay"]


def test_a_split_follows_every_edge_and_other_nodes_their_edge():
    doc = parallel()
    assert targets(doc, "split") == ["a", "b"]
    assert targets(doc, "a") == ["join"]
    assert targets(doc, "start") == ["split"]
    assert targets(doc, "end") == []
    assert targets(doc, "nowhere") == []


def test_a_condition_that_cannot_be_evaluated_raises_for_the_engine_to_surface():
    doc = sample()
    doc["edges"][2]["condition"] = {"field": "subject", "op": "matches", "value": "(a+)+"}
    with pytest.raises(ValueError):
        next_edges(doc, "gw", {"subject": "aaa"})


# -- start rules ---------------------------------------------------------------------------

def test_start_rules_match_a_category_and_the_categories_below_it():
    rules = [{"category": "售后", "channel": None, "department": None, "custom": None}]
    assert start_matches(rules, {"category": "售后"})
    assert start_matches(rules, {"category": "售后/维修"})
    assert not start_matches(rules, {"category": "售后服务"})
    assert not start_matches(rules, {"category": None})


def test_every_criterion_of_a_rule_must_hold_and_any_rule_may_start():
    rules = [{"category": "支付/退款", "channel": "email", "department": None,
              "custom": {"field": "custom.amount", "op": ">", "value": 0}},
             {"category": None, "channel": None, "department": "fin", "custom": None}]
    assert start_matches(rules, {"category": "支付/退款", "channel": "email",
                                 "custom.amount": "5"})
    assert not start_matches(rules, {"category": "支付/退款", "channel": "chat",
                                     "custom.amount": 5})
    assert not start_matches(rules, {"category": "支付/退款", "channel": "email"})
    assert start_matches(rules, {"department": "FIN"})


def test_no_rules_start_nothing_and_an_empty_rule_starts_everything():
    assert not start_matches([], {"category": "x"})
    assert not start_matches(None, {"category": "x"})
    assert start_matches([{}], {})


# -- what a process uses -------------------------------------------------------------------

def test_used_departments_lists_every_code_a_definition_names():
    doc = with_action("create_subticket", {"department": "LOG"})
    doc["nodes"][3]["escalate_to"] = {"kind": "department_lead", "value": "TECH"}
    doc["edges"][2]["condition"] = {"field": "department", "op": "in", "value": ["AS", "CS"]}
    doc["start_rules"][0]["department"] = "FIN"
    assert used_departments(doc) == {"CS", "FIN", "LOG", "TECH", "AS"}
    assert used_departments(example("scenic_peak_complaint")) == {"CS", "PARK", "SEC"}
    assert used_departments(example("refund_approval")) == {"CS", "FIN"}


def test_used_fields_lists_fields_read_and_written():
    doc = with_action("set_fields", {"fields": {"custom.reason": "x"}})
    doc["nodes"][1]["form"] = [{"field": "custom.tags"}]
    doc["start_rules"][0]["custom"] = {"field": "channel", "op": "==", "value": "email"}
    assert used_fields(doc) == {"custom.amount", "custom.reason", "custom.tags", "channel"}
    assert used_fields(example("refund_approval")) == {"custom.order_no", "custom.refund_amount"}


# -- diff ----------------------------------------------------------------------------------

def test_identical_versions_have_no_diff_whatever_the_order_of_the_lists():
    new = sample()
    new["nodes"].reverse()
    new["edges"].reverse()
    assert diff(sample(), new) == []


def test_the_diff_reports_additions_removals_changes_and_moves_by_id_in_a_fixed_order():
    old, new = sample(), sample()
    new["name"]["en"] = "Refunds"
    new["nodes"][1].update(label="Check", sla_minutes=60, x=40, y=10)
    new["nodes"][index(new, "pay")]["x"] = 300
    new["nodes"] = [n for n in new["nodes"] if n["id"] != "end_no"]
    new["nodes"].append(node("end_reject", "end", outcome="rejected"))
    new["edges"][edge_index(new, "e6")]["to"] = "end_reject"
    new["edges"][edge_index(new, "e3")]["condition"]["value"] = 800
    new["edges"].append(edge("e8", "gw", "end_reject", order=5))
    lines = diff(old, new)
    assert [(d.kind, d.id, d.change) for d in lines] == [
        ("process", "sample", "changed"),
        ("node", "end_no", "removed"), ("node", "end_reject", "added"),
        ("node", "pay", "moved"), ("node", "review", "changed"), ("node", "review", "moved"),
        ("edge", "e3", "changed"), ("edge", "e6", "changed"), ("edge", "e8", "added")]
    review = lines[4]
    assert review.keys == ("label", "sla_minutes")
    assert review.before == {"label": "review", "sla_minutes": None}
    assert review.after == {"label": "Check", "sla_minutes": 60}
    assert review.text == 'node review changed: label "review" → "Check"; sla_minutes (none) → 60'
    assert lines[5].text == "node review moved: (0, 0) → (40, 10)"
    assert lines[6].text == "edge e3 changed: condition custom.amount > 500 → custom.amount > 800"
    assert lines[8].text == "edge e8 added: gw → end_reject"
    assert lines[1].text == 'node end_no removed: end "end_no"'
    assert lines[0].text == ('process changed: name {"en": "Sample", "zh": "样例"} → '
                             '{"en": "Refunds", "zh": "样例"}')


def test_a_change_of_start_rules_is_one_line():
    new = sample()
    new["start_rules"][0]["channel"] = "email"
    [line] = diff(sample(), new)
    assert (line.kind, line.change, line.keys) == ("start_rules", "changed", ("start_rules",))
    assert line.after["start_rules"][0]["channel"] == "email"
