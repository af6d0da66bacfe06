"""Reading the processes of tickets: a ticket's process history (every instance with
every step, approvals and who did what), one instance, and the administrators' monitor
of instances (those in error first when asked by status)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from appliance import dto
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import (ProcessApproval, ProcessDefinition, ProcessInstance,
                              ProcessStep, Ticket, User, utcnow)
from appliance.models.process import INSTANCE_STATUSES
from appliance.rules.access import Actor
from appliance.services import common

MAX_LIST = 500


@dataclass(frozen=True)
class ApprovalRow:
    id: int
    approver: dto.Ref
    decision: str
    comment: str
    escalated: bool
    decided_at: dt.datetime | None


@dataclass(frozen=True)
class StepView:
    id: int
    instance_id: int
    node_id: str
    type: str
    label: str
    branch: str
    visit: int
    state: str
    outcome: str
    attempts: int
    entered_at: dt.datetime
    due_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    completed_at: dt.datetime | None
    completed_by: dto.Ref | None
    error: str
    overdue: bool
    approvals: list[ApprovalRow] = field(default_factory=list)


@dataclass(frozen=True)
class InstanceView:
    id: int
    ticket_id: int
    ticket_number: str
    key: str
    version: int
    name: str
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    started_by: dto.Ref | None
    error: str
    steps: list[StepView] = field(default_factory=list)


def _names(ids) -> dict[int, str]:
    ids = [i for i in set(ids) if i]
    if not ids:
        return {}
    return {r.id: r.name for r in common.refs(User, ids, "display_name")}


def _ref(user_id, names) -> dto.Ref | None:
    return dto.Ref(user_id, names.get(user_id, "")) if user_id else None


def _steps(instance_ids: list[int]) -> dict[int, list[StepView]]:
    """The steps of these instances in order, with their approvals (three queries)."""
    if not instance_ids:
        return {}
    steps = list(ProcessStep.select().where(ProcessStep.instance.in_(instance_ids))
                 .order_by(ProcessStep.id))
    approvals = list(ProcessApproval.select().where(
        ProcessApproval.step.in_([s.id for s in steps] or [0])).order_by(ProcessApproval.id))
    names = _names([s.completed_by_id for s in steps] + [a.approver_id for a in approvals])
    by_step: dict[int, list[ApprovalRow]] = {}
    for a in approvals:
        by_step.setdefault(a.step_id, []).append(ApprovalRow(
            a.id, _ref(a.approver_id, names), a.decision, a.comment, a.escalated, a.decided_at))
    now, out = utcnow(), {}
    for s in steps:
        out.setdefault(s.instance_id, []).append(StepView(
            s.id, s.instance_id, s.node_id, s.node_type, s.label, s.branch, s.visit, s.state,
            s.outcome, s.attempts, s.entered_at, s.due_at, s.next_attempt_at, s.completed_at,
            _ref(s.completed_by_id, names), s.error,
            s.state == "active" and s.due_at is not None and s.due_at <= now,
            by_step.get(s.id, [])))
    return out


def _views(rows: list[ProcessInstance], with_steps: bool) -> list[InstanceView]:
    names = _names([r.started_by_id for r in rows])
    docs = dict(ProcessDefinition.select(ProcessDefinition.id, ProcessDefinition.name).where(
        ProcessDefinition.id.in_({r.definition_id for r in rows} or {0})).tuples())
    numbers = dict(Ticket.select(Ticket.id, Ticket.number).where(
        Ticket.id.in_({r.ticket_id for r in rows} or {0})).tuples())
    steps = _steps([r.id for r in rows]) if with_steps else {}
    return [InstanceView(r.id, r.ticket_id, numbers.get(r.ticket_id, ""), r.key, r.version,
                         docs.get(r.definition_id) or r.key, r.status, r.started_at,
                         r.ended_at, _ref(r.started_by_id, names), r.error,
                         steps.get(r.id, [])) for r in rows]


def step_view(step: ProcessStep) -> StepView:
    return next(s for s in _steps([step.instance_id])[step.instance_id] if s.id == step.id)


def process_history(actor: Actor, ticket_id: int) -> list[InstanceView]:
    """Every process of the ticket, newest first, with its steps (staff who can see it)."""
    t = common.ticket_for(actor, ticket_id)
    if not actor.is_staff:
        raise NotFound("ticket not found", id=ticket_id)
    rows = list(ProcessInstance.select().where(ProcessInstance.ticket == t.id)
                .order_by(ProcessInstance.id.desc()))
    return _views(rows, with_steps=True)


def get_instance(actor: Actor, instance_id: int) -> InstanceView:
    row = ProcessInstance.get_or_none(ProcessInstance.id == instance_id)
    if row is None or not actor.is_staff:
        raise NotFound("process instance not found", id=instance_id)
    if not actor.is_admin:
        try:
            common.ticket_for(actor, row.ticket_id)
        except NotFound:
            raise NotFound("process instance not found", id=instance_id) from None
    return _views([row], with_steps=True)[0]


def list_instances(actor: Actor, status: str | None = None,
                   limit: int = 200) -> list[InstanceView]:
    """The monitor (administrators): newest first; status filters (error: the stuck ones)."""
    if not actor.is_admin:
        raise PermissionDenied("administrators only")
    if status not in (None, "") and status not in INSTANCE_STATUSES:
        raise ValidationError({"status": "must be one of " + ", ".join(INSTANCE_STATUSES)})
    query = ProcessInstance.select().order_by(ProcessInstance.id.desc()).limit(
        max(1, min(int(limit), MAX_LIST)))
    if status:
        query = query.where(ProcessInstance.status == status)
    return _views(list(query), with_steps=False)


def error_count() -> int:
    return ProcessInstance.select().where(ProcessInstance.status == "error").count()
