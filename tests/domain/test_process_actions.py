"""Automatic actions on SQLite and PostgreSQL: set fields, notes, notifications, a
sub-ticket in another department (and waiting for it), timers, events, and the webhook
against a real HTTP server on loopback."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance import runtime
from appliance.models import (Comment, Notification, ProcessInstance, ProcessStep, Ticket,
                              TicketLink, utcnow)
from appliance.services import comments, customers, process_engine, process_timers, tickets
from tests import process_helpers as ph
from tests.webhook_server import WebhookServer


@pytest.fixture
def po(settings):
    ph.configure(settings)
    return ph.make_process_org()


def run(po, settings, nodes, edges, key="acts", who=None, **ticket_fields):
    ph.publish(ph.doc(key, [ph.start(), *nodes, ph.end()], edges))
    who = who or po.base.agent
    fields = {"department_id": po.base.after_sales, **ticket_fields}
    t = ph.new_ticket(settings, who, **fields)
    process_engine.start_manually(po.base.agent if who.is_customer else who, t.id, key)
    ph.drain()
    return t, ProcessInstance.get(ProcessInstance.ticket == t.id)


def chain(*ids) -> list[tuple[str, str]]:
    ids = ("start",) + ids + ("end",)
    return list(zip(ids, ids[1:]))


def step(instance, node_id) -> ProcessStep:
    return ProcessStep.get((ProcessStep.instance == instance.id) & (ProcessStep.node_id == node_id))


def wake_now(instance, node_id) -> None:
    """Move the step's timer to the past (the clock, not the engine, is what we skip)."""
    ProcessStep.update(wake_at=utcnow() - dt.timedelta(seconds=1)).where(
        ProcessStep.id == step(instance, node_id).id).execute()


def test_set_fields_note_and_notify_act_once_and_move_on(settings, po):
    t, inst = run(po, settings, [
        ph.action("fields", "set_fields", fields={"priority": 1, "custom.order_no": "A-1"}),
        ph.action("note", "add_note", text="已登记 Registered"),
        ph.action("tell", "notify", to={"kind": "user", "value": "zhoujing"}, message="请关注")],
        chain("fields", "note", "tell"))
    tk = Ticket.get_by_id(t.id)
    assert (tk.priority, tk.custom_fields["order_no"]) == (1, "A-1")
    note = Comment.get(Comment.ticket == t.id)
    assert note.internal and note.body == "已登记 Registered"
    n = Notification.get(Notification.user == po.fin_lead.user_id)
    assert (n.kind, n.data["message"]) == ("process_notify", "请关注")
    assert inst.status == "completed" and tk.status == "resolved"


def test_a_sub_ticket_is_opened_in_another_department_and_awaited(settings, po):
    t, inst = run(po, settings, [ph.action("pickup", "create_subticket", department="LOG",
                                           subject="取件 {number}", wait=True)],
                  chain("pickup"))
    child_id = step(inst, "pickup").data["subticket"]
    child = Ticket.get_by_id(child_id)
    assert child.department_id == po.base.logistics and child.subject == f"取件 {t.number}"
    assert TicketLink.get(TicketLink.target == child_id).source_id == t.id
    assert inst.status == "waiting"
    assert process_timers.tick()["advance"] == 0
    tickets.transition_ticket(po.base.agent2, child_id, "resolved", runtime.settings())
    assert process_timers.tick()["advance"] == 1
    ph.drain()
    assert ProcessInstance.get_by_id(inst.id).status == "completed"


def test_a_timer_waits_until_it_runs_out(settings, po):
    t, inst = run(po, settings, [ph.action("wait", "wait_timer", minutes=30)], chain("wait"))
    assert step(inst, "wait").state == "active"
    assert process_timers.tick()["advance"] == 0 and ph.drain() == 0
    wake_now(inst, "wait")
    assert process_timers.tick()["advance"] == 1
    ph.drain()
    assert ProcessInstance.get_by_id(inst.id).status == "completed"


def test_waiting_for_the_customers_reply_ignores_what_came_before(settings, po):
    c = customers.create_customer(po.base.agent, "赵六")
    from appliance.services import users
    portal, _ = users.create_user(ph.SYSTEM, "zhaoliu", "赵六", "customer", customer_id=c.id,
                                  password="Kund3n-Passwort!")
    customer = ph.actor("zhaoliu")
    t = ph.new_ticket(settings, customer, "咨询")
    tickets.update_ticket(po.base.admin, t.id, {"department_id": po.base.after_sales},
                          runtime.settings())
    comments.add_comment(customer, t.id, "第一次", runtime.settings())
    ph.publish(ph.doc("await", [ph.start(), ph.action("reply", "wait_event",
                                                      event="customer_reply"), ph.end()],
                      chain("reply")))
    process_engine.start_manually(po.base.agent, t.id, "await")
    ph.drain()
    inst = ProcessInstance.get(ProcessInstance.ticket == t.id)
    comments.add_comment(po.base.agent, t.id, "请补充照片", runtime.settings())
    assert process_timers.tick()["advance"] == 0  # the agent's reply is not the customer's
    comments.add_comment(customer, t.id, "照片已上传", runtime.settings())
    assert process_timers.tick()["advance"] == 1
    ph.drain()
    assert ProcessInstance.get_by_id(inst.id).status == "completed"
    assert portal.id == customer.user_id


def test_waiting_for_a_status_change_to_a_given_status(settings, po):
    t, inst = run(po, settings, [ph.action("pending", "wait_event", event="status_change",
                                           status="pending_customer")], chain("pending"))
    tickets.transition_ticket(po.base.agent, t.id, "open", runtime.settings())
    assert process_timers.tick()["advance"] == 0
    tickets.transition_ticket(po.base.agent, t.id, "pending_customer", runtime.settings())
    process_timers.tick()
    ph.drain()
    assert ProcessInstance.get_by_id(inst.id).status == "completed"


def test_the_webhook_posts_json_with_an_idempotency_key_to_an_allowed_host(settings, po):
    with WebhookServer([200]) as server:
        t, inst = run(po, settings, [ph.action("hook", "webhook", url=server.url)],
                      chain("hook"), custom_fields={"order_no": "DD1"})
    [req] = server.requests
    s = step(inst, "hook")
    assert req["headers"]["Idempotency-Key"] == f"gongdan-process-{inst.id}-{s.id}"
    assert req["headers"]["X-Gongdan-Attempt"] == "1"
    body = req["body"]
    assert (body["process"], body["node"], body["ticket"]["number"]) == ("acts", "hook", t.number)
    assert body["ticket"]["custom_fields"] == {"order_no": "DD1"}
    assert "subject" not in body["ticket"]  # no ticket text leaves the building
    assert (s.state, s.attempts) == ("completed", 1)
    assert inst.status == "completed"
