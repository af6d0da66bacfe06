"""Approval steps: approvers resolved by the node's rule get a vote each and a
notification; the quorum (rules/process_quorum.py) decides; past the due time the step
is escalated once; a rejection follows the `rejected` edge (docs/decisions/0018).

Approvers need not be able to open the ticket (finance approves a refund filed with
after-sales): "My approvals" shows them what they decide on. Only the approver may see
or decide an approval; for anyone else it does not exist (404).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import (Category, Department, Notification, ProcessApproval,
                              ProcessInstance, ProcessStep, Ticket, utcnow)
from appliance.rules.access import Actor
from appliance.rules.process_quorum import Vote, outcome as quorum_outcome
from appliance.services import common, process_people
from appliance.services import process_flow as flow

DECISIONS = {"approved": "approved", "approve": "approved", "rejected": "rejected",
             "reject": "rejected"}
MAX_COMMENT = 2000


# -- entering an approval ----------------------------------------------------------------

def open_approval(instance: ProcessInstance, doc: dict, step: ProcessStep, node: dict) -> None:
    """Give each approver a vote and a notification; nobody to ask fails visibly."""
    t = Ticket.get_by_id(instance.ticket_id)
    people = process_people.resolve(node.get("approvers"), t)
    if not people:
        rule = node.get("approvers") or {}
        raise flow.ProcessError(f"the approvers of {step.node_id} resolve to nobody "
                                f"({rule.get('kind')} {rule.get('value') or ''})".strip())
    now = utcnow()
    for user_id in people:
        ProcessApproval.create(step=step.id, approver=user_id, created_at=now)
    _notify(people, "process_approval", instance, step)
    due = flow.minutes_from_now(node.get("due_minutes"), now)
    data = {**(step.data or {}), "quorum": node.get("quorum") or {"mode": "any"},
            "approvers": len(people)}
    ProcessStep.update(state="active", due_at=due, wake_at=due, data=data).where(
        ProcessStep.id == step.id).execute()
    step.state, step.due_at, step.data = "active", due, data
    flow.step_event(instance, step, None, "active", approvers=len(people),
                    due_at=due.isoformat() if due else None)


def _notify(user_ids: list[int], kind: str, instance: ProcessInstance, step: ProcessStep) -> None:
    for user_id in user_ids:
        Notification.create(user=user_id, kind=kind, ticket=instance.ticket_id,
                            data={"process": instance.key, "step": step.label,
                                  "instance": instance.id})


# -- deciding ------------------------------------------------------------------------------

def decide_approval(actor: Actor, approval_id: int, decision: str, comment: str = ""):
    """The approver approves or rejects; the step ends when the quorum says so."""
    decided = DECISIONS.get(decision if isinstance(decision, str) else "")
    if decided is None:
        raise ValidationError({"decision": "must be approved or rejected"})
    comment = common.clean_text(comment, "comment", max_len=MAX_COMMENT)
    with unit_of_work():
        approval, step, instance = _open_for(actor, approval_id)
        n = ProcessApproval.update(decision=decided, comment=comment, decided_at=utcnow()).where(
            (ProcessApproval.id == approval.id) & (ProcessApproval.decision == "")).execute()
        if n != 1:
            raise Conflict("this approval was already decided", approval=approval_id)
        flow.step_event(instance, step, actor, "vote", decision=decided, comment=comment[:500])
        result = quorum_outcome((step.data or {}).get("quorum"), _votes(step.id))
        if result is not None:
            ProcessApproval.update(decision="void").where(
                (ProcessApproval.step == step.id) & (ProcessApproval.decision == "")).execute()
            flow.conclude(instance, flow.document(instance), step, actor, result)
    return approval_view(ProcessApproval.get_by_id(approval_id))


def _open_for(actor: Actor, approval_id: int):
    approval = ProcessApproval.get_or_none(ProcessApproval.id == approval_id)
    if approval is None or approval.approver_id != actor.user_id or not actor.user_id:
        raise NotFound("approval not found", id=approval_id)
    step = ProcessStep.get_by_id(approval.step_id)
    instance = flow.lock_instance(step.instance_id)
    approval = ProcessApproval.get_by_id(approval_id)  # read again under the lock
    step = ProcessStep.get_by_id(approval.step_id)
    if approval.decision != "":
        raise Conflict("this approval was already decided", approval=approval_id)
    if step.state != "active" or instance.status not in flow.LIVE:
        raise Conflict("this approval is no longer open", approval=approval_id)
    return approval, step, instance


def _votes(step_id: int) -> list[Vote]:
    return [Vote(a.decision, a.escalated) for a in ProcessApproval.select(
        ProcessApproval.decision, ProcessApproval.escalated).where(
        (ProcessApproval.step == step_id) & (ProcessApproval.decision != "void"))]


def resume_decided(instance: ProcessInstance, doc: dict, step: ProcessStep) -> bool:
    """After retry_instance: an approval step whose quorum was reached before its edges
    failed is finished again with that outcome (nobody votes twice)."""
    result = quorum_outcome((step.data or {}).get("quorum"), _votes(step.id))
    if result is None:
        return False
    return flow.conclude(instance, doc, step, None, result)


# -- escalation ----------------------------------------------------------------------------

def escalate_due(now: dt.datetime | None = None, limit: int = 200) -> int:
    """Approval steps past their due time: add the escalation's approvers (once)."""
    now = now or utcnow()
    due = [s.id for s in ProcessStep.select(ProcessStep.id).where(
        (ProcessStep.state == "active") & (ProcessStep.node_type == "approval")
        & ProcessStep.wake_at.is_null(False) & (ProcessStep.wake_at <= now)).limit(limit)]
    done = 0
    for step_id in due:
        with unit_of_work():
            done += _escalate(step_id, now)
    return done


def _escalate(step_id: int, now: dt.datetime) -> int:
    step = ProcessStep.get_by_id(step_id)
    instance = flow.lock_instance(step.instance_id)
    step = ProcessStep.get_by_id(step_id)
    if step.state != "active" or step.wake_at is None or instance.status not in flow.LIVE:
        return 0
    node = flow.node_of(flow.document(instance), step.node_id)
    t = Ticket.get_by_id(instance.ticket_id)
    have = {a.approver_id for a in ProcessApproval.select(ProcessApproval.approver).where(
        ProcessApproval.step == step.id)}
    added = [u for u in process_people.resolve(node.get("escalate_to"), t) if u not in have]
    for user_id in added:
        ProcessApproval.create(step=step.id, approver=user_id, escalated=True, created_at=now)
    _notify(added or sorted(have), "process_approval_escalated" if added else
            "process_approval_overdue", instance, step)
    ProcessStep.update(wake_at=None, data={**(step.data or {}), "escalated": len(added)}).where(
        ProcessStep.id == step.id).execute()
    flow.step_event(instance, step, None, "escalated" if added else "overdue",
                    approvers=len(added) or None)
    return 1


# -- reading -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ApprovalView:
    id: int
    step_id: int
    instance_id: int
    process: str
    step: str
    ticket_id: int
    ticket_number: str
    ticket_subject: str
    decision: str
    comment: str
    escalated: bool
    open: bool
    created_at: dt.datetime
    decided_at: dt.datetime | None
    due_at: dt.datetime | None


def _views(rows) -> list[ApprovalView]:
    return [ApprovalView(a.id, a.step_id, a.step.instance_id, a.step.instance.key, a.step.label,
                         a.step.instance.ticket_id, a.step.instance.ticket.number,
                         a.step.instance.ticket.subject, a.decision, a.comment, a.escalated,
                         a.decision == "" and a.step.state == "active"
                         and a.step.instance.status in flow.LIVE,
                         a.created_at, a.decided_at, a.step.due_at) for a in rows]


def _query():
    return (ProcessApproval.select(ProcessApproval, ProcessStep, ProcessInstance, Ticket)
            .join(ProcessStep).join(ProcessInstance).join(Ticket))


def approval_view(a: ProcessApproval) -> ApprovalView:
    return _views(_query().where(ProcessApproval.id == a.id))[0]


def list_my_approvals(actor: Actor, include_decided: bool = False,
                      limit: int = 200) -> list[ApprovalView]:
    """The actor's approvals still to decide (oldest first); with include_decided, the
    ones decided lately too (newest first, after the open ones)."""
    mine = ProcessApproval.approver == actor.user_id
    open_rows = list(_query().where(mine & (ProcessApproval.decision == "")
                                    & (ProcessStep.state == "active")
                                    & ProcessInstance.status.in_(flow.LIVE))
                     .order_by(ProcessApproval.id).limit(limit))
    rows = open_rows
    if include_decided:
        rows += list(_query().where(mine & ProcessApproval.decision.in_(("approved", "rejected")))
                     .order_by(ProcessApproval.id.desc()).limit(limit))
    return _views(rows)


def get_approval(actor: Actor, approval_id: int) -> tuple[ApprovalView, dict]:
    """One of the actor's approvals (others: 404), with what the approver decides on:
    the ticket's number, subject, description, status, priority, department, category
    and custom fields (approvers need not be able to open the ticket itself)."""
    a = ProcessApproval.get_or_none(ProcessApproval.id == approval_id)
    if a is None or a.approver_id != actor.user_id or not actor.user_id:
        raise NotFound("approval not found", id=approval_id)
    view = approval_view(a)
    t = Ticket.get_by_id(view.ticket_id)
    refs: dict = {}
    facts = {"number": t.number, "subject": t.subject, "description": t.description[:5000],
             "status": t.status, "priority": t.priority,
             "department": common.cached_ref(Department, t.department_id, refs),
             "category": common.cached_ref(Category, t.category_id, refs, "path"),
             "custom_fields": dict(t.custom_fields or {}), "created_at": t.created_at}
    return view, facts


def open_count(actor: Actor) -> int:
    return (_query().where((ProcessApproval.approver == actor.user_id)
                           & (ProcessApproval.decision == "") & (ProcessStep.state == "active")
                           & ProcessInstance.status.in_(flow.LIVE)).count())
