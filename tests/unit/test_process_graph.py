"""Validation of how the nodes of a process connect (rules/process_graph.py)."""
from appliance.rules.process_definition import split_joins, validate
from tests.unit.process_samples import (CUSTOM_FIELDS, DEPARTMENTS, document, edge, edge_index,
                                        example, node, parallel, sample, task)

KNOWN = {"custom.amount": "number"}


def found(doc, known=None):
    return {(p.path, p.code) for p in validate(doc, KNOWN if known is None else known, (),
                                               DEPARTMENTS)}


# -- the graph -----------------------------------------------------------------------------

def test_a_process_has_exactly_one_start_and_at_least_one_end():
    doc = parallel()
    doc["nodes"][0]["type"] = "task"
    doc["nodes"][0]["assignee"] = {"kind": "department", "value": "CS"}
    doc["nodes"][5]["type"] = "task"
    doc["nodes"][5]["assignee"] = {"kind": "department", "value": "CS"}
    del doc["nodes"][5]["outcome"]
    problems = found(doc)
    assert {("nodes", "no_start"), ("nodes", "no_end")} <= problems
    doc = sample()
    doc["nodes"].append(node("start2", "start"))
    doc["edges"].append(edge("e9", "start2", "review"))
    assert ("nodes[7]", "several_starts") in found(doc)


def test_an_edge_to_a_node_that_does_not_exist_is_dangling():
    doc = sample()
    doc["edges"][6]["to"] = "nowhere"
    doc["edges"][0]["from"] = ""
    problems = found(doc)
    assert ("edges[6].to", "dangling_edge") in problems
    assert ("edges[0].from", "missing") in problems


def test_a_node_no_edge_reaches_is_unreachable():
    doc = sample()
    doc["nodes"].append(task("orphan"))
    doc["edges"].append(edge("e8", "orphan", "end_ok"))
    assert found(doc) == {("nodes[7]", "unreachable")}


def test_a_node_with_no_way_to_an_end_is_reported():
    doc = sample()
    doc["nodes"].append(node("gw2", "gateway"))
    doc["nodes"].append(task("limbo"))
    doc["edges"][6]["to"] = "gw2"
    doc["edges"] += [edge("e8", "gw2", "end_ok", condition={"field": "priority", "op": "==",
                                                            "value": 1}),
                     edge("e9", "gw2", "limbo")]
    assert found(doc) == {("nodes[8]", "no_outgoing")}
    doc["nodes"].append(task("dead_end"))
    doc["edges"].append(edge("e12", "limbo", "dead_end"))
    assert found(doc) == {("nodes[8]", "no_path_to_end"), ("nodes[9]", "no_outgoing")}
    doc["nodes"].pop()
    doc["edges"].pop()
    doc["nodes"].append(task("limbo2"))
    doc["edges"].append(edge("e10", "limbo", "limbo2"))
    doc["edges"].append(edge("e11", "limbo2", "limbo"))
    assert found(doc) == {("nodes[8]", "loop_without_exit")}


def test_a_loop_without_a_decision_leaving_it_has_no_exit():
    doc = sample()  # pay → review → gw → pay …: the gateway leaves only into the loop
    doc["edges"][6]["to"] = "review"
    doc["edges"][edge_index(doc, "e6")]["to"] = "review"
    problems = found(doc)
    assert ("nodes[1]", "loop_without_exit") in problems
    assert ("nodes[5]", "unreachable") in problems


def test_a_parallel_split_is_no_way_out_of_a_loop():
    doc = parallel()  # split → a → split again, and split → b → join: a keeps coming back
    doc["edges"][edge_index(doc, "e4")]["to"] = "split"
    assert ("nodes[1]", "loop_without_exit") in found(doc, {})


def test_a_loop_that_a_gateway_can_leave_is_fine():
    doc = example("after_sales_repair")
    assert validate(doc, CUSTOM_FIELDS, (), DEPARTMENTS) == []
    doc["edges"] = [e for e in doc["edges"] if e["id"] != "e8"]
    doc["edges"].append(edge("e8", "qc_passed", "quality_check"))  # both ways stay in the loop
    assert ("nodes[4]", "loop_without_exit") in found(doc, CUSTOM_FIELDS)


def test_edges_must_fit_the_node_they_leave():
    doc = sample()
    doc["edges"].append(edge("e8", "review", "pay"))  # a task with two ways out
    doc["edges"].append(edge("e9", "end_ok", "pay"))
    doc["edges"].append(edge("e10", "pay", "start"))
    doc["edges"].append(edge("e11", "gw", "gw"))
    problems = found(doc)
    assert {("nodes[1]", "several_outgoing"), ("nodes[5]", "end_has_outgoing"),
            ("edges[9].to", "start_has_incoming"), ("edges[10].to", "self_loop")} <= problems


def test_a_gateway_needs_edges_and_one_default():
    doc = sample()
    doc["edges"][edge_index(doc, "e4")]["condition"] = {"field": "priority", "op": "==",
                                                        "value": 1}
    assert found(doc) == {("nodes[2]", "gateway_without_default")}
    doc = sample()
    doc["edges"][edge_index(doc, "e3")]["condition"] = None
    assert found(doc) == {("edges[3].condition", "several_defaults")}
    doc = sample()
    doc["edges"] = [e for e in doc["edges"] if e["from"] != "gw"]
    assert ("nodes[2]", "no_outgoing") in found(doc)


def test_a_split_needs_two_branches_and_a_join_two_arrivals():
    doc = parallel()
    doc["edges"] = [e for e in doc["edges"] if e["id"] not in ("e3", "e5")]
    doc["nodes"] = [n for n in doc["nodes"] if n["id"] != "b"]
    problems = found(doc, {})
    assert {("nodes[1]", "split_too_few"), ("nodes[3]", "join_too_few")} <= problems


def test_a_branch_that_ends_without_reaching_the_join_never_joins():
    doc = parallel()
    doc["nodes"].append(node("end_b", "end", outcome="resolved"))
    doc["edges"][edge_index(doc, "e5")]["to"] = "end_b"
    problems = found(doc, {})
    assert ("edges[2]", "branch_never_joins") in problems
    assert ("nodes[4]", "join_too_few") in problems


def test_a_join_no_split_leads_to_is_refused():
    doc = sample()
    doc["nodes"].append(node("join", "parallel_join"))
    doc["edges"][6]["to"] = "join"
    doc["edges"][edge_index(doc, "e6")]["to"] = "join"
    doc["edges"].append(edge("e8", "join", "end_ok"))
    assert ("nodes[7]", "join_without_split") in found(doc)


def test_nested_splits_close_at_their_own_joins():
    doc = document(
        [node("start", "start"), node("outer", "parallel_split"), node("inner", "parallel_split"),
         task("a"), task("b"), node("inner_join", "parallel_join"), task("c"),
         node("outer_join", "parallel_join"), node("end", "end", outcome="resolved")],
        [edge("e1", "start", "outer"), edge("e2", "outer", "inner"), edge("e3", "outer", "c"),
         edge("e4", "inner", "a"), edge("e5", "inner", "b"), edge("e6", "a", "inner_join"),
         edge("e7", "b", "inner_join"), edge("e8", "inner_join", "outer_join"),
         edge("e9", "c", "outer_join"), edge("e10", "outer_join", "end")])
    assert validate(doc, {}, (), DEPARTMENTS) == []
    assert split_joins(doc) == {"outer": "outer_join", "inner": "inner_join"}
