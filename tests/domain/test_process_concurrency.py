"""No double execution on SQLite and PostgreSQL: the advance job run twice or by several
workers at once, two start jobs for one ticket, two approvers or two agents deciding at
the same moment. Threads use their own database connections, as worker threads do."""
from __future__ import annotations

import threading

import pytest

from appliance import jobs
from appliance.db import database
from appliance.errors import Conflict
from appliance.models import (Comment, Job, ProcessInstance, ProcessStep, TicketLink,
                              TimelineEvent)
from appliance.rules.access import SYSTEM
from appliance.services import org as org_service
from appliance.services import process_approvals, process_engine, process_tasks
from tests import process_helpers as ph


@pytest.fixture
def po(settings):
    ph.configure(settings)
    return ph.make_process_org()


def together(n, fn) -> tuple[list, list]:
    """Run fn(i) on n threads released at the same moment; (results, errors)."""
    barrier, results, errors = threading.Barrier(n), [], []

    def body(i):
        try:
            barrier.wait(10)
            results.append(fn(i))
        except Exception as exc:  # collected and asserted by the test
            errors.append(exc)
        finally:
            database.close()
    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


def side_effects_doc() -> dict:
    return ph.doc("effects", [
        ph.start(), ph.action("child", "create_subticket", department="LOG", subject="取件"),
        ph.action("note", "add_note", text="已派单"), ph.task("work", "AS"), ph.end()],
        [("start", "child"), ("child", "note"), ("note", "work"), ("work", "end")])


def counts(ticket_id: int, instance_id: int) -> tuple[int, int, int, int]:
    return (TicketLink.select().where(TicketLink.source == ticket_id).count(),
            Comment.select().where(Comment.ticket == ticket_id).count(),
            ProcessStep.select().where(ProcessStep.instance == instance_id).count(),
            TimelineEvent.select().where((TimelineEvent.ticket == ticket_id)
                                         & (TimelineEvent.kind == "process_step")).count())


def test_the_advance_job_run_twice_does_everything_once(settings, po):
    ph.publish(side_effects_doc())
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    process_engine.start_manually(po.base.agent, t.id, "effects")
    inst = ProcessInstance.get(ProcessInstance.ticket == t.id)
    job = Job.get((Job.name == "process_advance") & Job.done_at.is_null())
    assert jobs.run_job(job.id) is True
    assert jobs.run_job(job.id) is False  # the outbox knows it ran
    before = counts(t.id, inst.id)
    assert before[:3] == (1, 1, 4)
    assert process_engine.advance(inst.id) == 0  # and the handler itself finds nothing to do
    ph.drain()
    assert counts(t.id, inst.id) == before


def test_workers_advancing_one_instance_at_once_run_each_step_once(settings, po):
    ph.publish(side_effects_doc())
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    process_engine.start_manually(po.base.agent, t.id, "effects")
    inst = ProcessInstance.get(ProcessInstance.ticket == t.id)
    results, errors = together(4, lambda i: process_engine.advance(inst.id))
    assert errors == []
    assert sum(results) >= 4  # start, child, note, work: run once between them
    assert counts(t.id, inst.id)[:3] == (1, 1, 4)
    ph.drain()
    assert counts(t.id, inst.id)[:3] == (1, 1, 4)
    work = ProcessStep.get(ProcessStep.node_id == "work")
    assert work.state == "active" and work.visit == 1


def test_two_start_jobs_for_one_ticket_start_one_instance(settings, po):
    top = org_service.save_category(SYSTEM, "支付")
    cat = org_service.save_category(SYSTEM, "退款", parent_id=top.id)
    document = ph.doc("auto", [ph.start(), ph.task("work", "AS"), ph.end()],
                      [("start", "work"), ("work", "end")],
                      start_rules=[{"category": "支付/退款"}])
    ph.publish(document)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales,
                      category_id=cat.id)
    results, errors = together(4, lambda i: process_engine.start_for_ticket(t.id))
    assert errors == []
    assert len([r for r in results if r]) == 1
    assert ProcessInstance.select().where(ProcessInstance.ticket == t.id).count() == 1


def test_two_approvers_deciding_at_once_conclude_the_step_once(settings, po):
    document = ph.doc("vote", [
        ph.start(), ph.approval("approve", {"kind": "role", "value": "agent"},
                                quorum={"mode": "any"}),
        ph.task("next", "FIN"), ph.end(), ph.end("no", "rejected")],
        [("start", "approve"), ("approve", "next", {"on": "approved"}),
         ("approve", "no", {"on": "rejected"}), ("next", "end")])
    ph.publish(document)
    t = ph.new_ticket(settings, po.fin_agent, department_id=po.finance)
    process_engine.start_manually(po.fin_agent, t.id, "vote")
    ph.drain()
    people = [po.fin_agent, po.fin_agent2]
    ids = [process_approvals.list_my_approvals(p)[0].id for p in people]
    results, errors = together(2, lambda i: process_approvals.decide_approval(
        people[i], ids[i], "approved"))
    assert len(results) == 1 and len(errors) == 1 and isinstance(errors[0], Conflict)
    ph.drain()
    inst = ProcessInstance.get(ProcessInstance.ticket == t.id)
    assert ProcessStep.select().where((ProcessStep.instance == inst.id)
                                      & (ProcessStep.node_id == "next")).count() == 1


def test_two_agents_completing_one_task_at_once_complete_it_once(settings, po):
    document = ph.doc("once", [ph.start(), ph.task("work", "AS"), ph.end()],
                      [("start", "work"), ("work", "end")])
    ph.publish(document)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    process_engine.start_manually(po.base.agent, t.id, "once")
    ph.drain()
    step = ProcessStep.get(ProcessStep.node_id == "work")
    people = [po.base.agent, po.base.supervisor, po.base.admin]
    results, errors = together(3, lambda i: process_tasks.complete_step(people[i], step.id))
    assert len(results) == 1 and len(errors) == 2
    assert all(isinstance(e, Conflict) for e in errors), errors
    ph.drain()
    assert ProcessStep.select().where(ProcessStep.node_id == "end").count() == 1
