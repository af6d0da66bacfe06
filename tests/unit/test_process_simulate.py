import re

import pytest

from appliance.rules.process_simulate import MESSAGES, simulate
from tests.unit.process_samples import approval, document, edge, example, node, parallel, \
    sample, task


def path(sim):
    return [s.node_id for s in sim.steps]


# -- the shipped examples run to their ends ------------------------------------------------

def test_an_after_sales_repair_that_passes_quality_check_runs_to_the_end():
    sim = simulate(example("after_sales_repair"), {"custom.qc_result": "pass"})
    assert (sim.status, sim.end_node, sim.outcome) == ("ended", "end", "resolved")
    assert path(sim) == ["start", "front_desk", "diagnosis", "pickup", "repair", "quality_check",
                         "qc_passed", "confirm", "end"]
    assert sim.steps[6].decided_by == 'default: none holds: custom.qc_result == "fail"'
    assert sim.steps[3].waits == "would wait for department LOG to complete the task"


def test_an_after_sales_repair_that_keeps_failing_loops_until_the_step_limit():
    sim = simulate(example("after_sales_repair"), {"custom.qc_result": "fail"}, max_steps=20)
    assert sim.status == "stopped"
    assert sim.reason == "stopped: step limit (20 steps)"
    assert len(sim.steps) == 20
    assert path(sim)[4:10] == ["repair", "quality_check", "qc_passed"] * 2
    assert sim.steps[6].decided_by == 'custom.qc_result == "fail" holds'
    assert sim.end_node is None


def test_a_small_refund_goes_straight_to_the_refund():
    sim = simulate(example("refund_approval"), {"custom.refund_amount": "300"})
    assert path(sim) == ["start", "verify", "amount_check", "refund", "end_refunded"]
    assert sim.outcome == "resolved"


def test_a_large_refund_needs_finance_approval():
    sim = simulate(example("refund_approval"), {"custom.refund_amount": 800},
                   {"finance_approval": "approved"})
    assert path(sim) == ["start", "verify", "amount_check", "finance_approval", "refund",
                         "end_refunded"]
    assert sim.steps[2].decided_by == "custom.refund_amount > 500 holds"
    assert sim.steps[3].decided_by == "approval: approved"
    assert sim.steps[3].waits == "would wait for approval by department_lead FIN"
    assert sim.fields["process.finance_approval.outcome"] == "approved"


def test_a_rejected_refund_tells_the_agent_and_ends_rejected():
    sim = simulate(example("refund_approval"), {"custom.refund_amount": 800},
                   {"finance_approval": "rejected"})
    assert path(sim)[-2:] == ["notify_rejected", "end_rejected"]
    assert sim.steps[-2].action == "would notify assignee"
    assert (sim.status, sim.outcome, sim.reason) == ("ended", "rejected",
                                                      "ended at end_rejected (rejected)")


def test_a_scenic_complaint_goes_to_park_dispatch_and_security_at_once_then_a_follow_up():
    sim = simulate(example("scenic_peak_complaint"), {})
    steps = [(s.node_id, s.branch) for s in sim.steps]
    assert steps == [("start", ""), ("service_desk", ""), ("dispatch_both", ""),
                     ("park_dispatch", "e3"), ("security", "e4"), ("both_done", "e3"),
                     ("both_done", ""), ("follow_up", ""), ("end", "")]
    assert sim.steps[2].next_nodes == ("park_dispatch", "security")
    assert sim.steps[5].waits == "would wait for the other branches (1 of 2 arrived)"
    assert sim.steps[5].next_nodes == ()
    assert sim.steps[6].decided_by == "all 2 branches arrived"
    assert sim.status == "ended"


# -- routing details -----------------------------------------------------------------------

def test_an_approval_without_a_given_outcome_is_assumed_approved_and_says_so():
    sim = simulate(sample(), {"custom.amount": 900})
    assert sim.steps[3].decided_by == "approval: approved (assumed: no outcome given)"
    assert path(sim)[-2:] == ["pay", "end_ok"]


def test_an_approval_outcome_is_a_field_for_later_conditions():
    doc = sample()
    doc["nodes"].append(node("gw2", "gateway"))
    doc["edges"][-1]["to"] = "gw2"  # pay → gw2
    doc["edges"] += [edge("e8", "gw2", "end_no", order=0,
                          condition={"field": "process.approve.outcome", "op": "==",
                                     "value": "approved"}),
                     edge("e9", "gw2", "end_ok", order=1)]
    assert path(simulate(doc, {"custom.amount": 900}, {"approve": "approved"}))[-1] == "end_no"
    assert path(simulate(doc, {"custom.amount": 100}))[-1] == "end_ok"


def test_fields_an_action_sets_are_seen_by_later_conditions():
    doc = sample()
    doc["nodes"].append(node("bump", "action", action="set_fields",
                             params={"fields": {"custom.amount": 1000}}))
    doc["edges"][1]["to"] = "bump"  # review → bump → gw
    doc["edges"].append(edge("e8", "bump", "gw"))
    sim = simulate(doc, {"custom.amount": 10})
    assert sim.steps[2].sets == {"custom.amount": 1000}
    assert sim.steps[2].action == "would set custom.amount"
    assert sim.steps[3].next_nodes == ("approve",)
    assert sim.fields["custom.amount"] == 1000


@pytest.mark.parametrize("action, params, waits", [
    ("wait_timer", {"minutes": 30}, "would wait 30 minutes"),
    ("wait_event", {"event": "customer_reply"}, "would wait for customer_reply"),
    ("create_subticket", {"department": "LOG", "wait": True},
     "would wait for the sub-ticket to be resolved"),
])
def test_waiting_actions_are_shown_as_would_wait_and_passed(action, params, waits):
    doc = sample()
    doc["nodes"].append(node("hold", "action", action=action, params=params))
    doc["edges"][-1]["to"] = "hold"
    doc["edges"].append(edge("e8", "hold", "end_ok"))
    sim = simulate(doc, {"custom.amount": 1})
    hold = next(s for s in sim.steps if s.node_id == "hold")
    assert hold.waits == waits
    assert sim.status == "ended"


def test_a_gateway_with_nothing_to_follow_leaves_the_ticket_stuck():
    doc = sample()
    doc["edges"] = [e for e in doc["edges"] if e["id"] != "e4"]
    sim = simulate(doc, {"custom.amount": 1})
    assert sim.status == "stuck"
    assert sim.reason == "stuck at gw: no condition holds and there is no default"
    assert sim.steps[-1].decided_by == \
        "none holds: custom.amount > 500, and there is no default"


def test_an_approval_with_no_edge_for_its_outcome_leaves_the_ticket_stuck():
    doc = sample()
    doc["edges"] = [e for e in doc["edges"] if e["id"] != "e6"]
    sim = simulate(doc, {"custom.amount": 900}, {"approve": "rejected"})
    assert (sim.status, sim.reason) == ("stuck", "stuck at approve: no edge to follow")


def test_a_definition_without_a_start_is_stuck_at_once():
    doc = sample()
    doc["nodes"] = [n for n in doc["nodes"] if n["type"] != "start"]
    sim = simulate(doc, {})
    assert (sim.status, sim.steps) == ("stuck", [])


def test_a_join_waiting_for_a_branch_that_never_comes_is_reported():
    doc = parallel()
    doc["nodes"].append(node("end_b", "end", outcome="resolved"))
    doc["edges"][4]["to"] = "end_b"  # b → end_b instead of the join
    sim = simulate(doc, {})
    assert sim.status == "stuck"
    assert sim.reason == "stuck at join: waits for branches that never arrive"


def test_nested_parallel_branches_all_arrive_before_the_outer_join():
    doc = document(
        [node("start", "start"), node("outer", "parallel_split"), node("inner", "parallel_split"),
         task("a"), task("b"), node("inner_join", "parallel_join"), task("c"),
         node("outer_join", "parallel_join"), node("end", "end", outcome="resolved")],
        [edge("e1", "start", "outer"), edge("e2", "outer", "inner"), edge("e3", "outer", "c"),
         edge("e4", "inner", "a"), edge("e5", "inner", "b"), edge("e6", "a", "inner_join"),
         edge("e7", "b", "inner_join"), edge("e8", "inner_join", "outer_join"),
         edge("e9", "c", "outer_join"), edge("e10", "outer_join", "end")])
    sim = simulate(doc, {})
    branches = {(s.node_id, s.branch) for s in sim.steps}
    assert {("a", "e2.e4"), ("b", "e2.e5"), ("c", "e3"), ("inner_join", "e2"),
            ("outer_join", "")} <= branches
    assert path(sim).count("outer_join") == 2 and path(sim)[-1] == "end"
    assert sim.status == "ended"


def test_a_loop_without_an_exit_stops_at_the_default_limit_of_200_steps():
    doc = document([node("start", "start"), approval("ok"), task("redo"),
                    node("end", "end", outcome="resolved")],
                   [edge("e1", "start", "ok"), edge("e2", "ok", "end", on="approved"),
                    edge("e3", "ok", "redo", on="rejected"), edge("e4", "redo", "ok")])
    sim = simulate(doc, {}, {"ok": "rejected"})
    assert (sim.status, len(sim.steps)) == ("stopped", 200)
    assert sim.reason == "stopped: step limit (200 steps)"
    assert simulate(doc, {}, {"ok": "approved"}).status == "ended"


def test_the_step_limit_counts_every_step_including_the_last_one():
    sim = simulate(example("refund_approval"), {"custom.refund_amount": 1}, max_steps=5)
    assert (sim.status, path(sim)[-1]) == ("ended", "end_refunded")
    sim = simulate(example("refund_approval"), {"custom.refund_amount": 1}, max_steps=4)
    assert (sim.status, len(sim.steps)) == ("stopped", 4)


def test_the_given_fields_are_not_changed():
    fields = {"custom.amount": 10}
    doc = sample()
    doc["nodes"].append(node("bump", "action", action="set_fields",
                             params={"fields": {"custom.amount": 1000}}))
    doc["edges"][1]["to"] = "bump"
    doc["edges"].append(edge("e8", "bump", "gw"))
    simulate(doc, fields)
    assert fields == {"custom.amount": 10}


def test_every_text_is_also_kept_as_a_code_with_params_for_translation():
    sim = simulate(example("refund_approval"), {"custom.refund_amount": 800},
                   {"finance_approval": "rejected"})
    approval_step = sim.steps[3]
    assert approval_step.texts == {
        "decided_by": [("approval_given", {"outcome": "rejected"})],
        "waits": [("wait_approval", {"who": "department_lead FIN"})]}
    assert sim.reason_text == ("ended", {"node": "end_rejected", "outcome": "rejected"})
    gateway = simulate(example("after_sales_repair"), {}).steps[6]
    assert gateway.texts["decided_by"] == [
        ("default_after", {"conditions": 'custom.qc_result == "fail"'})]


def test_an_approval_whose_outcome_edges_carry_conditions_says_which_one_held():
    doc = sample()
    doc["edges"].append(edge("e8", "approve", "end_ok", on="approved", order=-1,
                             condition={"field": "custom.amount", "op": ">", "value": 10000}))
    sim = simulate(doc, {"custom.amount": 20000}, {"approve": "approved"})
    assert sim.steps[3].decided_by == "approval: approved; custom.amount > 10000 holds"
    assert sim.steps[3].next_nodes == ("end_ok",)


def test_every_simulation_message_fills_from_named_params_only():
    for code, template in MESSAGES.items():
        names = re.findall(r"%\((\w+)\)s", template)
        assert "%" not in (template % {n: "X" for n in names}).replace("%(", ""), code
