"""What a process does to its ticket at the end, and what it tells a webhook.

An end node with outcome `resolved` resolves the ticket; `rejected` closes it with an
internal note saying which process rejected it (the node's `note`, if it has one). A
ticket already resolved or closed is left as it is. Both are recorded as the system's
changes on the ticket's timeline, through tickets.transition_ticket.
"""
from __future__ import annotations

from appliance import runtime
from appliance.models import (Category, Comment, Department, ProcessInstance, ProcessStep,
                              Ticket, utcnow)
from appliance.rules import states
from appliance.rules.access import SYSTEM
from appliance.services import common

REJECTED_NOTE = "流程「{name}」以“拒绝”结束，工单已关闭。\nThe process “{name}” ended as rejected; the ticket was closed."


def settle_ticket(instance: ProcessInstance, node: dict, outcome: str) -> None:
    from appliance.services import tickets
    t = Ticket.get_by_id(instance.ticket_id)
    if outcome == "rejected":
        name = _name(instance)
        text = str(node.get("note") or "").strip() or REJECTED_NOTE.format(name=name)
        comment = Comment.create(ticket=t.id, author=None, author_kind="system", internal=True,
                                 body=text[:10_000], channel="web", created_at=utcnow())
        common.record(t.id, None, "note_added", after={"comment_id": comment.id}, internal=True)
    target = "closed" if outcome == "rejected" else "resolved"
    settings = runtime.settings()
    allowed = states.allowed_transitions(t.status, ended_at=t.closed_at or t.resolved_at,
                                         now=utcnow(), window_days=settings.reopen_window_days)
    if t.status != target and target in allowed and not t.merged_into_id:
        tickets.transition_ticket(SYSTEM, t.id, target, settings)


def _name(instance: ProcessInstance) -> str:
    from appliance.models import ProcessDefinition
    doc = ProcessDefinition.get_by_id(instance.definition_id).document
    name = doc.get("name") if isinstance(doc, dict) else None
    if isinstance(name, dict):
        return str(name.get("zh") or name.get("en") or instance.key)
    return str(name or instance.key)


def webhook_body(instance: ProcessInstance, step: ProcessStep, attempt: int, params: dict) -> dict:
    """The JSON a webhook receives: the process, the step and the ticket's routing facts
    (no subject, description or customer)."""
    t = Ticket.get_by_id(instance.ticket_id)
    dept = Department.select(Department.code).where(Department.id == t.department_id).scalar() \
        if t.department_id else None
    category = Category.select(Category.path).where(Category.id == t.category_id).scalar() \
        if t.category_id else None
    extra = params.get("payload") if isinstance(params.get("payload"), dict) else {}
    return {"event": "process_step", "process": instance.key, "version": instance.version,
            "instance": instance.id, "step": step.id, "node": step.node_id, "attempt": attempt,
            "ticket": {"id": t.id, "number": t.number, "status": t.status,
                       "priority": t.priority, "urgency": t.urgency, "channel": t.channel,
                       "department": dept, "category": category,
                       "custom_fields": dict(t.custom_fields or {})},
            "data": extra}
