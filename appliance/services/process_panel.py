"""What the ticket page's process panel shows a member of staff: the ticket's processes
with their steps, the open task steps with their forms (all of them when the reader can
work the ticket; only their own when they hold a step of a parallel branch), the
reader's own approvals on it, and the published processes they may start."""
from __future__ import annotations

from dataclasses import dataclass, field

from appliance.models import ProcessDefinition, ProcessInstance, Ticket
from appliance.rules.access import Actor, can_complete_step, can_edit_ticket
from appliance.services import common, process_approvals, process_tasks, process_views
from appliance.services import process_flow as flow


@dataclass(frozen=True)
class OpenTask:
    step: process_views.StepView
    process: str
    form: list[dict]


@dataclass(frozen=True)
class Panel:
    instances: list[process_views.InstanceView]
    tasks: list[OpenTask] = field(default_factory=list)
    approvals: list = field(default_factory=list)
    startable: list[tuple[str, str]] = field(default_factory=list)  # (key, name)
    can_work: bool = False


def ticket_panel(actor: Actor, ticket_id: int) -> Panel:
    """The panel's content; NotFound for readers who may not see the ticket's processes."""
    instances = process_views.process_history(actor, ticket_id)
    t = Ticket.get_by_id(ticket_id)
    facts = common.facts(t)
    can_work = can_edit_ticket(actor, facts) and not t.merged_into_id
    tasks = [] if t.merged_into_id else _open_tasks(
        instances, t, lambda step_id: can_complete_step(actor, facts, step_id))
    mine = [a for a in process_approvals.list_my_approvals(actor) if a.ticket_id == ticket_id]
    running = {i.key for i in instances if i.status in flow.LIVE + ("error",)}
    startable = [] if not can_work else [
        (d.key, d.name or d.key) for d in ProcessDefinition.select(
            ProcessDefinition.key, ProcessDefinition.name).where(
            ProcessDefinition.status == "published").order_by(ProcessDefinition.key)
        if d.key not in running]
    return Panel(instances, tasks, mine, startable, can_work)


def _open_tasks(instances, t: Ticket, may_complete) -> list[OpenTask]:
    """The open task steps the reader may complete (all of them for those who work the
    ticket; a step's holders, their own)."""
    out = []
    for inst in instances:
        if inst.status not in flow.LIVE:
            continue
        row = ProcessInstance.get_by_id(inst.id)
        doc = flow.document(row)
        for step in inst.steps:
            if step.type == "task" and step.state == "active" and may_complete(step.id):
                node = flow.node_of(doc, step.node_id)
                out.append(OpenTask(step, inst.name, process_tasks.form_view(node, t)))
    return out
