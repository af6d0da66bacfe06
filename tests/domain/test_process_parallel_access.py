"""Parallel task steps in several departments, on SQLite and PostgreSQL: each step is given
to its people at step level while the ticket stays where it is; they may read the ticket
and complete their own step (its form too), nothing more, until the step closes; the
ticket moves again once a single branch is left (docs/decisions/0018)."""
from __future__ import annotations

import json

import pytest

from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import Notification, ProcessStep, Ticket, TimelineEvent
from appliance.rules.access import SYSTEM
from appliance.services import comments
from appliance.services import org as org_service
from appliance.services import process_engine, process_panel, process_tasks, process_views
from appliance.services import tickets, users
from tests import process_helpers as ph
from tests.factories import actor
from tests.unit.process_samples import EXAMPLES_DIR


@pytest.fixture
def scenic(settings):
    """The scenic area: service desk (CS), park dispatch (PARK), security (SEC) with an
    agent each, and a clerk of quality assurance (QA), who has nothing to do with it."""
    ph.configure(settings)
    depts = {}
    for code, name, username in (("CS", "服务台", "desk"), ("PARK", "园区调度", "liqiang"),
                                 ("SEC", "安保", "wujun"), ("QA", "质检", "clerk")):
        depts[code] = org_service.save_department(SYSTEM, code, name, code).id
        users.create_user(SYSTEM, username, username, "agent", department_id=depts[code])
    ph.publish(json.loads((EXAMPLES_DIR / "scenic_peak_complaint.json").read_text("utf-8")))
    return depts


def open_steps(ticket_id: int) -> dict[str, ProcessStep]:
    instance = process_engine.process_history(SYSTEM, ticket_id)[0]
    return {s.node_id: ProcessStep.get_by_id(s.id) for s in instance.steps if s.state == "active"}


def split_ticket(settings, depts: dict):
    """A complaint at the service desk, taken and passed on to park dispatch and security."""
    desk = actor("desk")
    t = ph.new_ticket(settings, desk, "游客投诉：排队太久", department_id=depts["CS"])
    process_engine.start_manually(desk, t.id, "scenic_peak_complaint")
    ph.drain()
    process_tasks.complete_step(desk, open_steps(t.id)["service_desk"].id)
    ph.drain()
    return t


def test_park_dispatch_and_security_each_complete_their_own_step_and_the_join_proceeds(
        settings, scenic):
    t = split_ticket(settings, scenic)
    park, security = actor("liqiang"), actor("wujun")
    steps = open_steps(t.id)
    assert set(steps) == {"park_dispatch", "security"}
    assert Ticket.get_by_id(t.id).department_id == scenic["CS"]  # the ticket stays put
    assert all(s.data["step_level"] for s in steps.values())
    for who in (park, security):
        assert Notification.get(Notification.user == who.user_id).kind == "process_task"
        assert tickets.get_ticket(who, t.id, settings).summary.id == t.id
    panel = process_panel.ticket_panel(park, t.id)
    assert [task.step.node_id for task in panel.tasks] == ["park_dispatch"]
    assert panel.startable == [] and not panel.can_work

    process_tasks.complete_step(park, steps["park_dispatch"].id)
    ph.drain()
    with pytest.raises(NotFound):  # the step closed: so did the grant
        tickets.get_ticket(park, t.id, settings)
    assert set(open_steps(t.id)) == {"security", "both_done"}
    process_tasks.complete_step(security, steps["security"].id)
    ph.drain()

    follow_up = open_steps(t.id)["follow_up"]  # after the join: one branch, the ticket moves
    assert follow_up.data["step_level"] is False
    assert Ticket.get_by_id(t.id).department_id == scenic["CS"]
    done = {s.node_id: s.completed_by_id for s in ProcessStep.select().where(
        ProcessStep.node_id.in_(("park_dispatch", "security")))}
    assert done == {"park_dispatch": park.user_id, "security": security.user_id}
    process_tasks.complete_step(actor("desk"), follow_up.id)
    ph.drain()
    assert Ticket.get_by_id(t.id).status == "resolved"


def test_a_step_holder_may_do_nothing_else_with_the_ticket(settings, scenic):
    t = split_ticket(settings, scenic)
    park = actor("liqiang")
    steps = open_steps(t.id)
    with pytest.raises(PermissionDenied):  # security's step is not theirs
        process_tasks.complete_step(park, steps["security"].id)
    with pytest.raises(PermissionDenied):
        tickets.update_ticket(park, t.id, {"priority": 1}, settings)
    with pytest.raises(PermissionDenied):
        tickets.transition_ticket(park, t.id, "resolved", settings)
    with pytest.raises(PermissionDenied):
        comments.add_comment(park, t.id, "我们来处理", settings, internal=True)
    with pytest.raises(PermissionDenied):
        process_engine.start_manually(park, t.id, "scenic_peak_complaint")
    assert Ticket.get_by_id(t.id).status != "resolved" and open_steps(t.id).keys() == steps.keys()


def test_an_agent_of_a_third_department_still_gets_not_found(settings, scenic):
    t = split_ticket(settings, scenic)
    clerk = actor("clerk")
    with pytest.raises(NotFound):
        tickets.get_ticket(clerk, t.id, settings)
    with pytest.raises(NotFound):
        process_views.process_history(clerk, t.id)
    with pytest.raises(NotFound):
        process_panel.ticket_panel(clerk, t.id)
    for step in open_steps(t.id).values():
        with pytest.raises(NotFound):
            process_tasks.complete_step(clerk, step.id)
    assert not Notification.select().where(Notification.user == clerk.user_id).exists()


def test_a_holder_fills_in_their_steps_form_as_themselves_and_a_named_user_holds_alone(
        settings):
    ph.configure(settings)
    po = ph.make_process_org()
    order_no = [{"field": "custom.order_no", "required": True, "default": None, "shown": True}]
    document = ph.doc("pickup_and_refund", [
        ph.start(), {"id": "split", "type": "parallel_split"},
        ph.task("pickup", "LOG", form=order_no),
        {"id": "invoice", "type": "task", "label": "invoice",
         "assignee": {"kind": "user", "value": "sunli"}},
        {"id": "join", "type": "parallel_join"}, ph.task("refund", "FIN"), ph.end()],
        [("start", "split"), ("split", "pickup"), ("split", "invoice"), ("pickup", "join"),
         ("invoice", "join"), ("join", "refund"), ("refund", "end")])
    ph.publish(document)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    process_engine.start_manually(po.base.agent, t.id, "pickup_and_refund")
    ph.drain()
    steps = open_steps(t.id)
    lilei = po.base.agent2  # logistics
    with pytest.raises(NotFound):  # the invoice is sunli's alone, not all of finance's
        tickets.get_ticket(po.fin_agent2, t.id, settings)
    with pytest.raises(ValidationError) as exc:
        process_tasks.complete_step(lilei, steps["pickup"].id, {})
    assert exc.value.fields == {"custom.order_no": "required"}
    process_tasks.complete_step(lilei, steps["pickup"].id, {"custom.order_no": "SO-778"})
    change = TimelineEvent.get((TimelineEvent.ticket == t.id)
                               & (TimelineEvent.field == "custom_fields"))
    assert change.actor_id == lilei.user_id
    assert Ticket.get_by_id(t.id).custom_fields["order_no"] == "SO-778"
    process_tasks.complete_step(po.fin_agent, steps["invoice"].id)
    ph.drain()
    assert "refund" in open_steps(t.id)
    assert Ticket.get_by_id(t.id).department_id == po.finance  # sequential again: it moves
