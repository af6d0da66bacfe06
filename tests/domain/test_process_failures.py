"""Failure paths on SQLite and PostgreSQL: retries with back-off, then `error` with the
ticket tagged and administrators told, `retry_instance` resuming it; failures a retry
cannot fix stop at once; the webhook's allow-list, redirects and timeouts; a worker that
died mid-call; cancelling."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance.errors import Conflict, NotFound, PermissionDenied
from appliance.models import (Notification, ProcessDefinition, ProcessInstance, ProcessStep,
                              TicketTag, TimelineEvent, utcnow)
from appliance.rules.access import SYSTEM
from appliance.services import org as org_service
from appliance.services import (process_approvals, process_engine, process_timers,
                                process_views)
from appliance.services.process_flow import ERROR_TAG
from tests import process_helpers as ph
from tests.webhook_server import WebhookServer


@pytest.fixture
def po(settings):
    ph.configure(settings)
    return ph.make_process_org()


def started(po, settings, nodes, key="fails"):
    ids = [n["id"] for n in nodes]
    edges, rejected = [], False
    for node, (a, b) in zip([None] + nodes, zip(["start"] + ids, ids + ["end"])):
        if node is not None and node["type"] == "approval":
            edges += [(a, b, {"on": "approved"}), (a, "no", {"on": "rejected"})]
            rejected = True
        else:
            edges.append((a, b))
    ends = [ph.end()] + ([ph.end("no", "rejected")] if rejected else [])
    ph.publish(ph.doc(key, [ph.start(), *nodes, *ends], edges))
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    process_engine.start_manually(po.base.agent, t.id, key)
    ph.drain()
    return t, ProcessInstance.get(ProcessInstance.ticket == t.id)


def hook_step(instance) -> ProcessStep:
    return ProcessStep.get((ProcessStep.instance == instance.id) & (ProcessStep.node_id == "hook"))


def time_passes(instance) -> None:
    """The back-off ends (moved on the step: the clock is not what is tested here)."""
    ProcessStep.update(next_attempt_at=utcnow() - dt.timedelta(seconds=1)).where(
        (ProcessStep.instance == instance.id) & ProcessStep.next_attempt_at.is_null(False)).execute()


def tagged(ticket_id: int) -> bool:
    return TicketTag.select().where((TicketTag.ticket == ticket_id)
                                    & (TicketTag.tag == ERROR_TAG)).exists()


def test_a_failing_webhook_backs_off_then_errors_visibly_and_retry_resumes_it(settings, po):
    with WebhookServer([500]) as server:
        t, inst = started(po, settings, [ph.action("hook", "webhook", url=server.url)])
        s = hook_step(inst)
        assert (s.state, s.attempts) == ("entered", 1) and s.next_attempt_at > utcnow()
        first_wait = s.next_attempt_at - utcnow()
        assert dt.timedelta(seconds=20) < first_wait <= dt.timedelta(
            seconds=process_engine.BACKOFF_SECONDS)
        assert ph.drain() == 0  # nothing runs before the back-off ends
        for attempt in range(2, process_engine.MAX_ATTEMPTS + 1):
            time_passes(inst)
            assert process_timers.tick()["advance"] == 1
            ph.drain()
            if attempt < process_engine.MAX_ATTEMPTS:  # each wait twice the one before
                s = hook_step(inst)
                assert s.next_attempt_at - utcnow() > first_wait * (2 ** (attempt - 1)) * 0.9
        assert len(server.requests) == process_engine.MAX_ATTEMPTS
        keys = {r["headers"]["Idempotency-Key"] for r in server.requests}
        assert len(keys) == 1  # the same key on every attempt
        row = ProcessInstance.get_by_id(inst.id)
        assert row.status == "error" and "HTTP 500" in row.error
        assert hook_step(inst).state == "failed" and tagged(t.id)
        assert Notification.get(Notification.user == po.base.admin.user_id).kind == "process_error"
        [shown] = process_views.list_instances(po.base.admin, status="error")
        assert shown.id == inst.id
        server.replies = [200]
        with pytest.raises(PermissionDenied):
            process_engine.retry_instance(po.base.supervisor, inst.id)
        process_engine.retry_instance(po.base.admin, inst.id)
        with pytest.raises(Conflict):
            process_engine.retry_instance(po.base.admin, inst.id)
        ph.drain()
    assert ProcessInstance.get_by_id(inst.id).status == "completed" and not tagged(t.id)
    assert hook_step(inst).attempts == 1  # counted afresh after the retry
    states = [e.after["state"] for e in TimelineEvent.select().where(
        TimelineEvent.kind == "process_step").order_by(TimelineEvent.id)]
    assert states.count("retry") == process_engine.MAX_ATTEMPTS - 1
    assert "error" in states and "retried" in states


def test_a_host_off_the_allow_list_is_refused_without_a_call(settings, po):
    with WebhookServer([200]) as server:
        ph.configure(settings, process_webhook_hosts=("127.0.0.1",))
        t, inst = started(po, settings, [ph.action("hook", "webhook", url=server.url)])
        ProcessInstance.update(status="running").where(ProcessInstance.id == inst.id).execute()
        assert len(server.requests) == 1
    # The allow-list shrinks after publishing: the next call is refused, not sent.
    with WebhookServer([200]) as server:
        ph.configure(settings, process_webhook_hosts=("hooks.example.com",))
        document = ph.doc("other", [ph.start(), ph.action("hook", "webhook", url=server.url),
                                    ph.end()], [("start", "hook"), ("hook", "end")])
        draft = ph.process_defs.save_draft(SYSTEM, "other", document)
        assert [p.code for p in draft.problems] == ["webhook_host_not_allowed"]
        ph.configure(settings, process_webhook_hosts=("127.0.0.1",))
        ph.process_defs.publish(SYSTEM, "other", draft.version)
        ph.configure(settings, process_webhook_hosts=("hooks.example.com",))
        t2 = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
        process_engine.start_manually(po.base.agent, t2.id, "other")
        ph.drain()
        assert server.requests == []
    row = ProcessInstance.get(ProcessInstance.ticket == t2.id)
    assert row.status == "error" and "allow-list" in row.error and tagged(t2.id)


def test_a_redirect_is_not_followed_and_fails_at_once(settings, po):
    with WebhookServer([("redirect", "http://127.0.0.1:9/elsewhere")]) as server:
        t, inst = started(po, settings, [ph.action("hook", "webhook", url=server.url)])
    assert len(server.requests) == 1
    row = ProcessInstance.get_by_id(inst.id)
    assert row.status == "error" and "redirect" in row.error


def test_a_slow_receiver_times_out_and_is_retried(settings, po):
    ph.configure(settings, timeout=1)
    with WebhookServer([("sleep", 2), 200]) as server:
        t, inst = started(po, settings, [ph.action("hook", "webhook", url=server.url)])
        s = hook_step(inst)
        assert s.state == "entered" and "timed out" in s.error.lower()
        time_passes(inst)
        process_timers.tick()
        ph.drain()
    assert ProcessInstance.get_by_id(inst.id).status == "completed"


def test_a_worker_killed_during_the_call_is_recovered_with_the_same_key(settings, po):
    hook = ph.action("hook", "webhook", url="http://127.0.0.1:1/x")
    ph.publish(ph.doc("crash", [ph.start(), hook, ph.end()], [("start", "hook"), ("hook", "end")]))
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    process_engine.start_manually(po.base.agent, t.id, "crash")
    inst = ProcessInstance.get(ProcessInstance.ticket == t.id)
    process_engine._run(ProcessStep.get(ProcessStep.node_id == "start").id, "run")
    hook = ProcessStep.get(ProcessStep.node_id == "hook")
    # The worker claims the call, and is killed before it can call or record anything.
    claimed = process_engine._claim(hook.id)
    assert claimed[1] == 1 and hook_step(inst).state == "running"
    assert ph.drain() == 0 or hook_step(inst).state == "running"  # nobody else runs it
    assert process_timers.tick()["reclaimed"] == 0  # not yet: the call may still be going
    ProcessStep.update(claimed_at=utcnow() - dt.timedelta(minutes=5)).where(
        ProcessStep.id == hook.id).execute()
    with WebhookServer([200]) as server:
        # The receiver is up now (the definition named a closed port until here).
        row = ProcessDefinition.get(ProcessDefinition.key == "crash")
        row.document["nodes"][1]["params"]["url"] = server.url
        ProcessDefinition.update(document=row.document).where(
            ProcessDefinition.id == row.id).execute()
        assert process_timers.tick()["reclaimed"] == 1
        ph.drain()
    [req] = server.requests
    assert req["headers"]["Idempotency-Key"] == f"gongdan-process-{inst.id}-{hook.id}"
    assert req["headers"]["X-Gongdan-Attempt"] == "2"
    assert ProcessInstance.get_by_id(inst.id).status == "completed"


def test_approvers_that_resolve_to_nobody_stop_the_process_at_once(settings, po):
    t, inst = started(po, settings, [ph.approval(
        "approve", {"kind": "department_lead", "value": "LOG"})])
    row = ProcessInstance.get_by_id(inst.id)
    assert row.status == "error" and "resolve to nobody" in row.error and tagged(t.id)
    org_service.save_department(SYSTEM, "LOG", "物流", "Logistics",
                                department_id=po.base.logistics, lead_id=po.base.agent2.user_id)
    process_engine.retry_instance(po.base.admin, inst.id)
    ph.drain()
    [mine] = process_approvals.list_my_approvals(po.base.agent2)
    process_approvals.decide_approval(po.base.agent2, mine.id, "approved")
    ph.drain()
    assert ProcessInstance.get_by_id(inst.id).status == "completed"


def test_an_illegal_field_change_is_an_error_not_a_retry(settings, po):
    t, inst = started(po, settings, [
        ph.action("close", "set_fields", fields={"status": "closed"}),
        ph.action("bad", "set_fields", fields={"status": "pending_customer"})])
    row = ProcessInstance.get_by_id(inst.id)
    assert row.status == "error" and "cannot move a ticket" in row.error
    bad = ProcessStep.get(ProcessStep.node_id == "bad")
    assert (bad.state, bad.attempts) == ("failed", 0)


def test_an_overdue_approval_is_escalated_once(settings, po):
    t, inst = started(po, settings, [ph.approval(
        "approve", {"kind": "user", "value": "sunli"}, due_minutes=60,
        escalate_to={"kind": "department_lead", "value": "FIN"})])
    assert process_timers.tick()["escalated"] == 0
    later = utcnow() + dt.timedelta(minutes=61)
    assert process_timers.tick(later)["escalated"] == 1
    assert process_timers.tick(later)["escalated"] == 0
    [mine] = process_approvals.list_my_approvals(po.fin_lead)
    assert mine.escalated
    process_approvals.decide_approval(po.fin_lead, mine.id, "approved")  # decides alone
    ph.drain()
    assert ProcessInstance.get_by_id(inst.id).status == "completed"


def test_a_supervisor_cancels_a_process_and_its_open_approvals_vanish(settings, po):
    t, inst = started(po, settings, [ph.approval("approve", {"kind": "user", "value": "sunli"})])
    with pytest.raises(PermissionDenied):
        process_engine.cancel_instance(po.base.agent, inst.id)
    with pytest.raises(NotFound):
        process_engine.cancel_instance(po.base.agent2, inst.id)  # cannot see the ticket
    process_engine.cancel_instance(po.base.supervisor, inst.id)
    assert ProcessInstance.get_by_id(inst.id).status == "cancelled"
    assert process_approvals.list_my_approvals(po.fin_agent) == []
    with pytest.raises(Conflict):
        process_engine.cancel_instance(po.base.supervisor, inst.id)
    process_engine.start_manually(po.base.agent, t.id, "fails")  # may run again now
