"""Builders for process tests: small definition documents, an organisation with a finance
department and its lead, publishing through the real services, and running the
process jobs the way the worker does (jobs.run_job), until none is left."""
from __future__ import annotations

import dataclasses

from appliance import jobs, runtime
from appliance.models import Job
from appliance.rules.access import SYSTEM
from appliance.services import org as org_service
from appliance.services import process_defs, users
from tests.factories import actor, make_org, ticket


def configure(settings, **changes):
    """The settings the engine reads (runtime), without AI triage, with loopback webhooks."""
    s = dataclasses.replace(settings, ai_enabled=changes.pop("ai_enabled", False),
                            process_webhook_hosts=changes.pop("process_webhook_hosts",
                                                              ("127.0.0.1",)),
                            process_webhook_timeout_seconds=changes.pop("timeout", 3),
                            **changes)
    runtime.configure(s)
    return s


@dataclasses.dataclass
class ProcessOrg:
    base: object          # tests.factories.Org
    finance: int          # department id of FIN
    fin_agent: object     # 孙财务, agent in FIN
    fin_lead: object      # 周经理, supervisor in FIN, the department's lead
    fin_agent2: object    # 吴会计, agent in FIN


def make_process_org() -> ProcessOrg:
    return add_finance(make_org())


def add_finance(o) -> ProcessOrg:
    """To make_org()'s organisation: finance (FIN) with two agents and a lead, and the
    custom fields amount (number) and order_no (text)."""
    fin = org_service.save_department(SYSTEM, "FIN", "财务", "Finance")
    for name, display, role in (("sunli", "孙财务", "agent"), ("zhoujing", "周经理", "supervisor"),
                                ("wuming", "吴会计", "agent")):
        _, o.passwords[name] = users.create_user(SYSTEM, name, display, role,
                                                 department_id=fin.id)
    org_service.save_department(SYSTEM, "FIN", "财务", "Finance", department_id=fin.id,
                                lead_id=actor("zhoujing").user_id)
    org_service.save_custom_field(SYSTEM, "amount", "金额 Amount", "number")
    org_service.save_custom_field(SYSTEM, "order_no", "订单号 Order", "text")
    return ProcessOrg(o, fin.id, actor("sunli"), actor("zhoujing"), actor("wuming"))


def doc(key: str, nodes: list[dict], edges: list, start_rules=None, name="测试流程") -> dict:
    """A definition; edges as (from, to) or (from, to, extra) tuples, ids e1, e2, ..."""
    out = []
    for i, e in enumerate(edges, 1):
        edge = {"id": f"e{i}", "from": e[0], "to": e[1]}
        if len(e) > 2:
            edge.update(e[2])
        out.append(edge)
    document = {"format": 1, "key": key, "name": {"zh": name, "en": "Test"},
                "nodes": nodes, "edges": out}
    if start_rules is not None:
        document["start_rules"] = start_rules
    return document


def start() -> dict:
    return {"id": "start", "type": "start"}


def end(node_id="end", outcome="resolved") -> dict:
    return {"id": node_id, "type": "end", "outcome": outcome}


def task(node_id: str, department: str, form=None, sla=None, **extra) -> dict:
    node = {"id": node_id, "type": "task", "label": node_id,
            "assignee": {"kind": "department", "value": department}}
    if form is not None:
        node["form"] = form
    if sla is not None:
        node["sla_minutes"] = sla
    return {**node, **extra}


def action(node_id: str, kind: str, **params) -> dict:
    return {"id": node_id, "type": "action", "label": node_id, "action": kind, "params": params}


def approval(node_id: str, approvers: dict, quorum=None, **extra) -> dict:
    node = {"id": node_id, "type": "approval", "label": node_id, "approvers": approvers}
    if quorum is not None:
        node["quorum"] = quorum
    return {**node, **extra}


def publish(document: dict, admin=SYSTEM):
    draft = process_defs.save_draft(admin, document["key"], document)
    assert draft.problems == [], draft.problems
    return process_defs.publish(admin, document["key"], draft.version)


def drain(limit: int = 100) -> int:
    """Run the process jobs (as the worker would) until none is left; returns how many."""
    ran = 0
    for _ in range(limit):
        pending = [j.id for j in Job.select(Job.id).where(
            Job.done_at.is_null() & Job.name.startswith("process_")).order_by(Job.id)]
        if not pending:
            return ran
        for job_id in pending:
            ran += jobs.run_job(job_id)
    raise AssertionError("process jobs never ran out")


def new_ticket(settings, who, subject="退款申请", **fields):
    """A ticket made with the settings `configure` installed (no AI triage)."""
    return ticket(runtime.settings(), who, subject, **fields).summary


def seed_for_contract(o) -> None:
    """A published process running on ticket 1 (instance 1; steps 1, 2: the start and an
    open task; approval 1 for the admin), so generated API calls reach the services."""
    from appliance.services import process_engine
    document = doc("contract", [start(), task("work", "AS"),
                                approval("approve", {"kind": "user", "value": "admin"}),
                                end(), end("no", "rejected")],
                   [("start", "work"), ("work", "approve"), ("approve", "end", {"on": "approved"}),
                    ("approve", "no", {"on": "rejected"})])
    publish(document)
    process_engine.start_manually(o.admin, 1, "contract")
    drain()
