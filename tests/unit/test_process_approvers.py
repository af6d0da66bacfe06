"""Several users as the approvers of one approval (the designer sends a list of user
names): validation of the list and of a quorum over it, and how a dry run names them."""
import pytest

from appliance.rules.process_definition import validate
from appliance.rules.process_simulate import simulate
from tests.unit.process_samples import DEPARTMENTS, sample

KNOWN = {"custom.amount": "number"}


def found(doc):
    return {(p.path, p.code) for p in validate(doc, KNOWN, (), DEPARTMENTS)}


def with_approvers(approvers, quorum=None) -> dict:
    doc = sample()
    doc["nodes"][3]["approvers"] = approvers
    if quorum is not None:
        doc["nodes"][3]["quorum"] = quorum
    return doc


@pytest.mark.parametrize("value", ["zhangwei", ["zhangwei"], ["zhangwei", "li.na"]])
def test_one_user_name_or_a_list_of_them_may_approve(value):
    assert found(with_approvers({"kind": "user", "value": value})) == set()


def test_each_name_in_the_list_is_checked_where_it_stands():
    doc = with_approvers({"kind": "user", "value": ["zhangwei", "no spaces", 7]})
    assert found(doc) == {("nodes[3].approvers.value[1]", "bad_username"),
                          ("nodes[3].approvers.value[2]", "bad_username")}


def test_an_empty_list_is_an_approval_without_approvers_and_a_long_one_is_refused():
    assert found(with_approvers({"kind": "user", "value": []})) == {
        ("nodes[3].approvers", "approval_without_approvers")}
    many = [f"user{i:02d}" for i in range(51)]
    assert found(with_approvers({"kind": "user", "value": many})) == {
        ("nodes[3].approvers.value", "too_many")}


@pytest.mark.parametrize("names, n, ok", [
    (["a1", "b2"], 2, True),
    (["a1", "b2"], 1, True),
    (["a1", "b2"], 3, False),
    (["a1", "b2", "c3"], 3, True),
    (["a1", "a1"], 2, False),   # the same person counts once
    (["a1", "b2"], 0, False),
])
def test_a_quorum_of_n_is_bounded_by_the_length_of_the_list(names, n, ok):
    doc = with_approvers({"kind": "user", "value": names}, {"mode": "n_of_m", "n": n})
    assert found(doc) == (set() if ok else {("nodes[3].quorum.n", "quorum_out_of_range")})


def test_only_approvers_take_a_list_not_escalation_or_assignees():
    doc = with_approvers({"kind": "user", "value": ["a1", "b2"]})
    doc["nodes"][3]["escalate_to"] = {"kind": "user", "value": ["a1", "b2"]}
    doc["nodes"][1]["assignee"] = {"kind": "user", "value": ["a1"]}
    assert found(doc) == {("nodes[3].escalate_to.value", "bad_username"),
                          ("nodes[1].assignee.value", "bad_username")}


def test_a_dry_run_names_every_approver_of_the_list():
    sim = simulate(with_approvers({"kind": "user", "value": ["a1", "b2"]}),
                   {"custom.amount": 800}, {"approve": "approved"})
    approve = next(s for s in sim.steps if s.node_id == "approve")
    assert approve.waits == "would wait for approval by user a1, b2"
