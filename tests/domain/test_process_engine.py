"""The process engine on SQLite and PostgreSQL, node type by node type: start rules,
tasks with forms and SLA, gateways, approvals with quorum, parallel branches, ends that
resolve or close the ticket, and the timeline and history every step leaves."""
from __future__ import annotations

import pytest

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.models import (Comment, Notification, ProcessInstance, ProcessStep, Ticket,
                              TimelineEvent)
from appliance.rules.access import SYSTEM
from appliance.services import org as org_service
from appliance.services import (process_approvals, process_engine, process_tasks,
                                process_views)
from tests import process_helpers as ph

AMOUNT = [{"field": "custom.amount", "required": True, "default": None, "shown": True}]


def refund_doc(approvers=None, quorum=None) -> dict:
    return ph.doc("refund", [
        ph.start(),
        ph.task("verify", "AS", form=AMOUNT, sla=120),
        {"id": "gw", "type": "gateway", "label": "above 500?"},
        ph.approval("approve", approvers or {"kind": "department_lead", "value": "FIN"},
                    quorum=quorum),
        ph.task("refund", "FIN"),
        ph.end("end_ok"), ph.end("end_no", "rejected"),
    ], [("start", "verify"), ("verify", "gw"),
        ("gw", "approve", {"order": 0, "condition": {"field": "custom.amount", "op": ">",
                                                     "value": 500}}),
        ("gw", "refund", {"order": 1}),
        ("approve", "refund", {"on": "approved"}), ("approve", "end_no", {"on": "rejected"}),
        ("refund", "end_ok")],
        start_rules=[{"category": "支付/退款", "channel": None, "department": None,
                      "custom": None}])


@pytest.fixture
def po(settings):
    ph.configure(settings)
    return ph.make_process_org()


@pytest.fixture
def refund_category(po):
    top = org_service.save_category(SYSTEM, "支付")
    return org_service.save_category(SYSTEM, "退款", parent_id=top.id).id


def only_instance(ticket_id: int) -> ProcessInstance:
    rows = list(ProcessInstance.select().where(ProcessInstance.ticket == ticket_id))
    assert len(rows) == 1
    return rows[0]


def open_step(instance_id: int, node_id: str) -> ProcessStep:
    return ProcessStep.get((ProcessStep.instance == instance_id) & (ProcessStep.node_id == node_id)
                           & (ProcessStep.state == "active"))


def states_of(instance_id: int) -> list[tuple[str, str]]:
    return [(s.node_id, s.state) for s in ProcessStep.select().where(
        ProcessStep.instance == instance_id).order_by(ProcessStep.id)]


def test_a_matching_ticket_enters_the_process_and_walks_it_to_a_resolved_end(
        settings, po, refund_category):
    ph.publish(refund_doc())
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales,
                      category_id=refund_category)
    ph.drain()
    inst = only_instance(t.id)
    verify = open_step(inst.id, "verify")
    assert verify.due_at is not None and Ticket.get_by_id(t.id).due_at == verify.due_at
    with pytest.raises(ValidationError) as exc:  # the form's required field is empty
        process_tasks.complete_step(po.base.agent, verify.id, {})
    assert exc.value.fields == {"custom.amount": "required"}
    process_tasks.complete_step(po.base.agent, verify.id, {"custom.amount": 800})
    ph.drain()
    [mine] = process_approvals.list_my_approvals(po.fin_lead)
    assert (mine.ticket_id, mine.step) == (t.id, "approve")
    assert Notification.get(Notification.user == po.fin_lead.user_id).kind == "process_approval"
    process_approvals.decide_approval(po.fin_lead, mine.id, "approved", "同意")
    ph.drain()
    assert Ticket.get_by_id(t.id).department_id == po.finance  # the refund task is finance's
    process_tasks.complete_step(po.fin_agent, open_step(inst.id, "refund").id)
    ph.drain()
    assert ProcessInstance.get_by_id(inst.id).status == "completed"
    assert Ticket.get_by_id(t.id).status == "resolved"
    assert [s[0] for s in states_of(inst.id)] == ["start", "verify", "gw", "approve", "refund",
                                                  "end_ok"]
    assert all(state == "completed" for _, state in states_of(inst.id))
    events = [e.after for e in TimelineEvent.select().where(
        (TimelineEvent.ticket == t.id) & (TimelineEvent.kind == "process_step"))
        .order_by(TimelineEvent.id)]
    assert [e["state"] for e in events][:3] == ["started", "passed", "active"]
    assert {"approved", "vote", "ended"} <= {e["state"] for e in events}
    vote = next(e for e in TimelineEvent.select().where(TimelineEvent.kind == "process_step")
                if e.after["state"] == "vote")
    assert vote.actor_id == po.fin_lead.user_id and vote.internal
    [history] = process_views.process_history(po.fin_agent, t.id)  # the ticket is finance's now
    assert history.status == "completed" and len(history.steps) == 6
    approve = next(s for s in history.steps if s.node_id == "approve")
    assert approve.outcome == "approved" and approve.approvals[0].comment == "同意"


def test_a_small_amount_skips_the_approval_through_the_gateways_default(
        settings, po, refund_category):
    ph.publish(refund_doc())
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales,
                      category_id=refund_category, custom_fields={"amount": "300"})
    ph.drain()
    inst = only_instance(t.id)
    process_tasks.complete_step(po.base.agent, open_step(inst.id, "verify").id)
    ph.drain()
    assert [n for n, _ in states_of(inst.id)][-1] == "refund"
    assert process_approvals.list_my_approvals(po.fin_lead) == []


def test_a_rejection_follows_its_edge_and_closes_the_ticket_with_a_note(
        settings, po, refund_category):
    ph.publish(refund_doc())
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales,
                      category_id=refund_category, custom_fields={"amount": 900})
    ph.drain()
    inst = only_instance(t.id)
    process_tasks.complete_step(po.base.agent, open_step(inst.id, "verify").id)
    ph.drain()
    [mine] = process_approvals.list_my_approvals(po.fin_lead)
    process_approvals.decide_approval(po.fin_lead, mine.id, "reject", "金额不符")
    ph.drain()
    row = ProcessInstance.get_by_id(inst.id)
    assert (row.status, row.active_key) == ("rejected", None)
    tk = Ticket.get_by_id(t.id)
    assert tk.status == "closed"
    note = Comment.get((Comment.ticket == t.id) & (Comment.author_kind == "system"))
    assert note.internal and "测试流程" in note.body
    with pytest.raises(Conflict):  # decided once; the step is over
        process_approvals.decide_approval(po.fin_lead, mine.id, "approved")


def test_only_the_approver_sees_or_decides_an_approval(settings, po, refund_category):
    ph.publish(refund_doc())
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales,
                      category_id=refund_category, custom_fields={"amount": 900})
    ph.drain()
    process_tasks.complete_step(po.base.agent, open_step(only_instance(t.id).id, "verify").id)
    ph.drain()
    [mine] = process_approvals.list_my_approvals(po.fin_lead)
    for other in (po.fin_agent, po.base.admin, po.base.agent):
        with pytest.raises(NotFound):
            process_approvals.decide_approval(other, mine.id, "approved")
        with pytest.raises(NotFound):
            process_approvals.get_approval(other, mine.id)
    with pytest.raises(ValidationError):
        process_approvals.decide_approval(po.fin_lead, mine.id, "maybe")


def test_quorum_all_needs_every_approver_and_one_rejection_rejects(settings, po):
    document = ph.doc("all_of_them", [
        ph.start(), ph.approval("approve", {"kind": "role", "value": "agent"},
                                quorum={"mode": "all"}),
        ph.end("ok"), ph.end("no", "rejected")],
        [("start", "approve"), ("approve", "ok", {"on": "approved"}),
         ("approve", "no", {"on": "rejected"})])
    ph.publish(document)
    t = ph.new_ticket(settings, po.fin_agent, department_id=po.finance)
    process_engine.start_manually(po.fin_agent, t.id, "all_of_them")
    ph.drain()
    [a_sun] = process_approvals.list_my_approvals(po.fin_agent)
    [a_wu] = process_approvals.list_my_approvals(po.fin_agent2)
    process_approvals.decide_approval(po.fin_agent, a_sun.id, "approved")
    ph.drain()
    inst = only_instance(t.id)
    assert ProcessStep.get((ProcessStep.instance == inst.id)
                           & (ProcessStep.node_id == "approve")).state == "active"
    process_approvals.decide_approval(po.fin_agent2, a_wu.id, "rejected", "不同意")
    ph.drain()
    assert ProcessInstance.get_by_id(inst.id).status == "rejected"


def test_quorum_any_is_decided_by_the_first_approval(settings, po):
    document = ph.doc("any_of_them", [
        ph.start(), ph.approval("approve", {"kind": "role", "value": "agent"},
                                quorum={"mode": "any"}),
        ph.end("ok"), ph.end("no", "rejected")],
        [("start", "approve"), ("approve", "ok", {"on": "approved"}),
         ("approve", "no", {"on": "rejected"})])
    ph.publish(document)
    t = ph.new_ticket(settings, po.fin_agent, department_id=po.finance)
    process_engine.start_manually(po.fin_agent, t.id, "any_of_them")
    ph.drain()
    [a_wu] = process_approvals.list_my_approvals(po.fin_agent2)
    process_approvals.decide_approval(po.fin_agent2, a_wu.id, "approved")
    ph.drain()
    assert only_instance(t.id).status == "completed"
    assert process_approvals.list_my_approvals(po.fin_agent) == []  # the other vote is void


def test_two_departments_work_at_once_and_the_join_waits_for_both(settings, po):
    document = ph.doc("parallel", [
        ph.start(), {"id": "split", "type": "parallel_split"},
        ph.task("pickup", "LOG"), ph.task("invoice", "FIN"),
        {"id": "join", "type": "parallel_join"}, ph.end()],
        [("start", "split"), ("split", "pickup"), ("split", "invoice"), ("pickup", "join"),
         ("invoice", "join"), ("join", "end")])
    ph.publish(document)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    process_engine.start_manually(po.base.agent, t.id, "parallel")
    ph.drain()
    inst = only_instance(t.id)
    pickup, invoice = open_step(inst.id, "pickup"), open_step(inst.id, "invoice")
    assert pickup.branch != invoice.branch
    process_tasks.complete_step(po.base.admin, invoice.id)
    ph.drain()
    assert ProcessInstance.get_by_id(inst.id).status == "waiting"
    assert open_step(inst.id, "join").branch == invoice.branch  # arrived, waiting
    process_tasks.complete_step(po.base.admin, pickup.id)
    ph.drain()
    assert ProcessInstance.get_by_id(inst.id).status == "completed"
    ends = [s for s in ProcessStep.select().where(ProcessStep.instance == inst.id)
            if s.node_id == "end"]
    assert len(ends) == 1 and ends[0].branch == ""  # one end, back on the main path
    assert Ticket.get_by_id(t.id).status == "resolved"


def test_an_agent_who_cannot_see_the_ticket_cannot_start_or_complete(settings, po):
    document = ph.doc("simple", [ph.start(), ph.task("work", "AS"), ph.end()],
                      [("start", "work"), ("work", "end")])
    ph.publish(document)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    with pytest.raises(NotFound):
        process_engine.start_manually(po.base.agent2, t.id, "simple")  # logistics
    with pytest.raises(NotFound):
        process_engine.start_manually(po.base.agent, t.id, "no_such_process")
    process_engine.start_manually(po.base.agent, t.id, "simple")
    with pytest.raises(Conflict):  # one instance of a process per ticket at a time
        process_engine.start_manually(po.base.agent, t.id, "simple")
    ph.drain()
    step = open_step(only_instance(t.id).id, "work")
    with pytest.raises(NotFound):
        process_tasks.complete_step(po.base.agent2, step.id)
    with pytest.raises(NotFound):
        process_views.process_history(po.base.customer, t.id)
    with pytest.raises(ValidationError) as exc:
        process_tasks.complete_step(po.base.agent, step.id, {"priority": 1})
    assert exc.value.fields == {"priority": "not a field of this step"}
    process_tasks.complete_step(po.base.agent, step.id)
    with pytest.raises(Conflict):
        process_tasks.complete_step(po.base.agent, step.id)


def test_a_task_form_value_is_validated_like_any_edit_and_nothing_is_half_stored(settings, po):
    document = ph.doc("formy", [
        ph.start(), ph.task("work", "AS", form=[
            {"field": "priority", "required": True, "default": None, "shown": True},
            {"field": "custom.amount", "required": False, "default": None, "shown": True}]),
        ph.end()], [("start", "work"), ("work", "end")])
    ph.publish(document)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    process_engine.start_manually(po.base.agent, t.id, "formy")
    ph.drain()
    step = open_step(only_instance(t.id).id, "work")
    with pytest.raises(ValidationError) as exc:
        process_tasks.complete_step(po.base.agent, step.id, {"priority": 9, "custom.amount": 5})
    assert "priority" in exc.value.fields
    tk = Ticket.get_by_id(t.id)
    assert tk.custom_fields.get("amount") is None and ProcessStep.get_by_id(step.id).state == "active"
    process_tasks.complete_step(po.base.agent, step.id, {"priority": 1, "custom.amount": 5},
                                expected_version=tk.version)
    assert Ticket.get_by_id(t.id).priority == 1


def test_start_rules_skip_tickets_that_do_not_match_and_sub_tickets(settings, po, refund_category):
    from appliance import runtime
    from appliance.services import links, tickets
    ph.publish(refund_doc())
    other = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    child = links.create_subticket(po.base.agent, other.id, tickets.TicketInput(
        subject="退款子单", category_id=refund_category, department_id=po.base.after_sales),
        runtime.settings()).summary
    ph.drain()
    assert ProcessInstance.select().count() == 0
    assert process_engine.start_for_ticket(other.id) is None
    matching = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales,
                             category_id=refund_category)
    ph.drain()
    assert [i.ticket_id for i in ProcessInstance.select()] == [matching.id]
    assert process_engine.start_for_ticket(matching.id) is None  # once per ticket
    assert child.id != matching.id


def test_tasks_go_to_a_user_a_role_or_a_team(settings, po):
    team = org_service.add_team(SYSTEM, po.finance, "账务组", [po.fin_agent2.user_id])
    document = ph.doc("who", [
        ph.start(),
        {**ph.task("to_user", "AS"), "assignee": {"kind": "user", "value": "lilei"}},
        {**ph.task("to_team", "AS"), "assignee": {"kind": "team", "value": str(team.id)}},
        {**ph.task("to_role", "AS"), "assignee": {"kind": "role", "value": "supervisor"}},
        ph.end()], [("start", "to_user"), ("to_user", "to_team"), ("to_team", "to_role"),
                    ("to_role", "end")])
    ph.publish(document)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    process_engine.start_manually(po.base.agent, t.id, "who")
    ph.drain()
    inst = only_instance(t.id)
    tk = Ticket.get_by_id(t.id)
    assert (tk.assignee_id, tk.department_id) == (po.base.agent2.user_id, po.base.logistics)
    process_tasks.complete_step(po.base.agent2, open_step(inst.id, "to_user").id)
    ph.drain()
    tk = Ticket.get_by_id(t.id)
    assert (tk.assignee_id, tk.department_id) == (po.fin_agent2.user_id, po.finance)
    process_tasks.complete_step(po.fin_agent2, open_step(inst.id, "to_team").id)
    ph.drain()
    tk = Ticket.get_by_id(t.id)  # the supervisor of the ticket's department (finance)
    assert (tk.assignee_id, tk.department_id) == (po.fin_lead.user_id, po.finance)
    assigned = [e for e in TimelineEvent.select().where(
        (TimelineEvent.ticket == t.id) & (TimelineEvent.kind == "assigned"))]
    assert len(assigned) == 3 and all(e.actor_id is None for e in assigned)


def test_start_rules_wait_briefly_for_triage_to_set_the_category(settings, po, refund_category):
    import datetime as dt
    from appliance.models import utcnow
    ph.publish(refund_doc())
    ph.configure(settings, ai_enabled=True)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales,
                      category_id=refund_category)
    assert Ticket.get_by_id(t.id).triage_state == "pending"
    with pytest.raises(process_engine.TriagePending):  # the outbox runs the job again
        process_engine.start_for_ticket(t.id)
    Ticket.update(created_at=utcnow() - process_engine.TRIAGE_WAIT - dt.timedelta(seconds=1)
                  ).where(Ticket.id == t.id).execute()
    assert process_engine.start_for_ticket(t.id) == only_instance(t.id).id
