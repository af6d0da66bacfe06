"""The agent pages for processes: the ticket's process panel with its task form, the
timeline's process sentences, "My approvals" and its decision form (for the approver
only), starting and cancelling, the administrators' monitor."""
from __future__ import annotations

import pytest

from appliance.models import ProcessInstance, ProcessStep, Ticket
from tests import process_helpers as ph

FLOW = ph.doc("web_flow", [
    ph.start(), ph.task("verify", "AS", form=[{"field": "custom.amount", "required": True,
                                               "default": None, "shown": True}]),
    ph.approval("approve", {"kind": "department_lead", "value": "FIN"}),
    ph.end(), ph.end("no", "rejected")],
    [("start", "verify"), ("verify", "approve"), ("approve", "end", {"on": "approved"}),
     ("approve", "no", {"on": "rejected"})], name="网页流程")


@pytest.fixture
def po(settings, org):
    ph.configure(settings)
    return ph.add_finance(org)


@pytest.fixture
def running(settings, po):
    ph.publish(FLOW)
    return ph.new_ticket(settings, po.base.agent, "退款网页", department_id=po.base.after_sales)


def test_an_agent_starts_a_process_and_completes_its_task_on_the_ticket_page(login, running):
    b = login("wangfang")
    page = b.get(f"/agent/tickets/{running.id}").get_data(as_text=True)
    assert 'id="start-process"' in page and "网页流程" in page
    r = b.post(f"/agent/tickets/{running.id}/processes", {"key": "web_flow"},
               csrf_from=f"/agent/tickets/{running.id}")
    assert r.status_code == 302
    ph.drain()
    page = b.get(f"/agent/tickets/{running.id}").get_data(as_text=True)
    step = ProcessStep.get(ProcessStep.node_id == "verify")
    assert f'id="task-{step.id}"' in page and 'name="f:custom.amount"' in page
    assert "Process web_flow started" in page  # the timeline's sentence
    r = b.post(f"/agent/process-steps/{step.id}/complete",
               {"ticket_id": running.id, "f:custom.amount": ""},
               csrf_from=f"/agent/tickets/{running.id}")
    assert r.status_code == 400
    assert "please correct the marked fields" in r.get_data(as_text=True)
    r = b.post(f"/agent/process-steps/{step.id}/complete",
               {"ticket_id": running.id, "f:custom.amount": "800"},
               csrf_from=f"/agent/tickets/{running.id}")
    assert r.status_code == 302
    assert Ticket.get_by_id(running.id).custom_fields["amount"] == 800
    r = b.post(f"/agent/process-steps/{step.id}/complete", {"ticket_id": running.id},
               csrf_from=f"/agent/tickets/{running.id}")
    assert r.status_code == 302  # already done: said on the page, not a crash
    assert "no longer open" in b.get(r.headers["Location"]).get_data(as_text=True)


def test_the_approver_decides_from_my_approvals_and_nobody_else_can(login, po, running):
    from appliance.services import process_engine
    process_engine.start_manually(po.base.agent, running.id, "web_flow")
    ph.drain()
    step = ProcessStep.get(ProcessStep.node_id == "verify")
    from appliance.services import process_tasks
    process_tasks.complete_step(po.base.agent, step.id, {"custom.amount": 900})
    ph.drain()
    lead = login("zhoujing")
    page = lead.get("/agent/approvals").get_data(as_text=True)
    assert running.number in page and 'id="nav-approvals"' in page
    from appliance.services import process_approvals
    [mine] = process_approvals.list_my_approvals(po.fin_lead)
    detail = lead.get(f"/agent/approvals/{mine.id}").get_data(as_text=True)
    assert "退款网页" in detail and 'id="approve"' in detail and "900" in detail
    for other in ("wangfang", "admin"):
        assert login(other).get(f"/agent/approvals/{mine.id}").status_code == 404
    r = lead.post(f"/agent/approvals/{mine.id}/decide", {"decision": "bogus"},
                  csrf_from=f"/agent/approvals/{mine.id}")
    assert r.status_code == 400
    r = lead.post(f"/agent/approvals/{mine.id}/decide",
                  {"decision": "approved", "comment": "同意退款"},
                  csrf_from=f"/agent/approvals/{mine.id}")
    assert r.status_code == 302
    ph.drain()
    assert ProcessInstance.get().status == "completed"
    assert "同意退款" in lead.get("/agent/approvals").get_data(as_text=True)


def test_the_monitor_is_for_administrators_and_resumes_processes(login, settings, po):
    broken = ph.doc("web_broken", [ph.start(), ph.approval(
        "approve", {"kind": "department_lead", "value": "LOG"}), ph.end(),
        ph.end("no", "rejected")], [("start", "approve"), ("approve", "end", {"on": "approved"}),
                                    ("approve", "no", {"on": "rejected"})])
    ph.publish(broken)
    t = ph.new_ticket(settings, po.base.agent, department_id=po.base.after_sales)
    from appliance.services import process_engine
    process_engine.start_manually(po.base.agent, t.id, "web_broken")
    ph.drain()
    assert login("wangfang").get("/agent/process-monitor").status_code == 403
    admin = login("admin")
    page = admin.get("/agent/process-monitor").get_data(as_text=True)
    inst = ProcessInstance.get()
    assert t.number in page and f'id="retry-{inst.id}"' in page
    r = admin.post(f"/agent/process-instances/{inst.id}/retry", {},
                   csrf_from="/agent/process-monitor")
    assert r.status_code == 302
    ticket_page = login("lead").get(f"/agent/tickets/{t.id}").get_data(as_text=True)
    assert f'id="cancel-process-{inst.id}"' in ticket_page


def test_administrators_set_a_department_lead_and_a_manager_on_their_pages(login, po):
    from appliance.services import org as org_service, users
    admin = login("admin")
    page = admin.get(f"/admin/departments/{po.base.logistics}").get_data(as_text=True)
    assert 'name="lead_id"' in page
    r = admin.post(f"/admin/departments/{po.base.logistics}",
                   {"code": "LOG", "name": "物流", "name_en": "", "active": "1",
                    "lead_id": str(po.base.agent2.user_id)},
                   csrf_from=f"/admin/departments/{po.base.logistics}")
    assert r.status_code == 302
    assert org_service.department_lead(po.base.logistics) == po.base.agent2.user_id
    r = admin.post(f"/admin/departments/{po.base.logistics}",
                   {"code": "LOG", "name": "物流", "active": "1", "lead_id": "99999"},
                   csrf_from=f"/admin/departments/{po.base.logistics}")
    assert r.status_code == 400
    uid = po.base.agent.user_id
    assert 'name="manager_id"' in admin.get(f"/admin/users/{uid}").get_data(as_text=True)
    r = admin.post(f"/admin/users/{uid}", {
        "display_name": "王芳", "email": "", "role": "agent",
        "department_id": str(po.base.after_sales), "capacity": "10", "locale": "",
        "manager_id": str(po.base.supervisor.user_id)}, csrf_from=f"/admin/users/{uid}")
    assert r.status_code == 302 and users.manager_of(uid) == po.base.supervisor.user_id
    r = admin.post(f"/admin/users/{uid}", {
        "display_name": "王芳", "role": "agent", "capacity": "10", "manager_id": str(uid)},
        csrf_from=f"/admin/users/{uid}")
    assert r.status_code == 400


def test_every_staff_ticket_page_has_the_process_panel_as_a_live_region(login, settings, po):
    t = ph.new_ticket(settings, po.base.agent, "没有流程", department_id=po.base.after_sales)
    page = login("wangfang").get(f"/agent/tickets/{t.id}").get_data(as_text=True)
    section = page[page.index('id="processes"') - 60:page.index('id="processes"') + 80]
    assert "<section" in section and "data-live-region" in section
    assert 'id="processes-empty"' in page and 'id="start-process"' not in page
    ph.publish(FLOW)  # now the reader can start one: no empty state
    page = login("wangfang").get(f"/agent/tickets/{t.id}").get_data(as_text=True)
    assert 'id="start-process"' in page and 'id="processes-empty"' not in page


PARALLEL = ph.doc("web_parallel", [
    ph.start(), {"id": "split", "type": "parallel_split"}, ph.task("pickup", "LOG"),
    ph.task("invoice", "FIN"), {"id": "join", "type": "parallel_join"}, ph.end()],
    [("start", "split"), ("split", "pickup"), ("split", "invoice"), ("pickup", "join"),
     ("invoice", "join"), ("join", "end")], name="并行网页")


def test_the_holder_of_a_parallel_step_opens_the_ticket_and_completes_only_their_step(
        login, settings, po):
    from appliance.services import process_engine
    ph.publish(PARALLEL)
    t = ph.new_ticket(settings, po.base.agent, "两边处理", department_id=po.base.after_sales)
    process_engine.start_manually(po.base.agent, t.id, "web_parallel")
    ph.drain()
    pickup = ProcessStep.get(ProcessStep.node_id == "pickup")
    invoice = ProcessStep.get(ProcessStep.node_id == "invoice")
    logistics = login("lilei")
    page = logistics.get(f"/agent/tickets/{t.id}").get_data(as_text=True)
    assert f'id="task-{pickup.id}"' in page and f'id="task-{invoice.id}"' not in page
    r = logistics.post(f"/agent/process-steps/{invoice.id}/complete", {"ticket_id": t.id},
                       csrf_from=f"/agent/tickets/{t.id}")
    assert r.status_code == 403
    r = logistics.post(f"/agent/process-steps/{pickup.id}/complete", {"ticket_id": t.id},
                       csrf_from=f"/agent/tickets/{t.id}")
    assert r.status_code == 302
    assert logistics.get(f"/agent/tickets/{t.id}").status_code == 404  # the grant ended
    finance = login("sunli")
    assert f'id="task-{invoice.id}"' in finance.get(f"/agent/tickets/{t.id}").get_data(
        as_text=True)
