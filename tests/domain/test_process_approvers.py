"""Several users named as the approvers of one approval step (the designer's multiple
choice), on SQLite and PostgreSQL: each gets a vote, the quorum decides."""
from __future__ import annotations

import pytest

from appliance.models import ProcessInstance, ProcessStep, Ticket
from appliance.services import process_approvals, process_engine
from tests import process_helpers as ph

TWO = {"kind": "user", "value": ["sunli", "wuming"]}


@pytest.fixture
def po(settings):
    ph.configure(settings)
    return ph.make_process_org()


def two_approvers_doc(quorum: dict) -> dict:
    return ph.doc("two_approvers", [
        ph.start(), ph.approval("approve", TWO, quorum=quorum), ph.task("pay", "FIN"),
        ph.end(), ph.end("end_no", "rejected")],
        [("start", "approve"), ("approve", "pay", {"on": "approved"}),
         ("approve", "end_no", {"on": "rejected"}), ("pay", "end")])


def run_until_approval(settings, po, quorum: dict):
    ph.publish(two_approvers_doc(quorum))
    t = ph.new_ticket(settings, po.fin_lead, department_id=po.finance)
    process_engine.start_manually(po.fin_lead, t.id, "two_approvers")
    ph.drain()
    [mine_sun] = process_approvals.list_my_approvals(po.fin_agent)
    [mine_wu] = process_approvals.list_my_approvals(po.fin_agent2)
    assert process_approvals.list_my_approvals(po.fin_lead) == []  # not named
    return t, mine_sun, mine_wu


def test_with_all_of_two_users_one_approval_and_one_rejection_follow_the_rejected_edge(
        settings, po):
    t, mine_sun, mine_wu = run_until_approval(settings, po, {"mode": "all"})
    process_approvals.decide_approval(po.fin_agent, mine_sun.id, "approved")
    ph.drain()
    instance = ProcessInstance.get(ProcessInstance.ticket == t.id)
    assert instance.status == "waiting"  # all: the second vote is still needed
    process_approvals.decide_approval(po.fin_agent2, mine_wu.id, "rejected", "金额不符")
    ph.drain()
    instance = ProcessInstance.get_by_id(instance.id)
    assert instance.status == "rejected"
    step = ProcessStep.get((ProcessStep.instance == instance.id)
                           & (ProcessStep.node_id == "approve"))
    assert step.outcome == "rejected"
    assert not ProcessStep.select().where((ProcessStep.instance == instance.id)
                                          & (ProcessStep.node_id == "pay")).exists()
    assert Ticket.get_by_id(t.id).status == "closed"


def test_with_two_of_two_users_both_approvals_follow_the_approved_edge(settings, po):
    t, mine_sun, mine_wu = run_until_approval(settings, po, {"mode": "n_of_m", "n": 2})
    process_approvals.decide_approval(po.fin_agent2, mine_wu.id, "approved")
    process_approvals.decide_approval(po.fin_agent, mine_sun.id, "approved")
    ph.drain()
    instance = ProcessInstance.get(ProcessInstance.ticket == t.id)
    assert ProcessStep.get((ProcessStep.instance == instance.id)
                           & (ProcessStep.node_id == "pay")).state == "active"
