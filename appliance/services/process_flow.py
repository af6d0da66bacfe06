"""The engine's core moves, used inside a caller's transaction: enter a node, finish a
step, follow its edges, end or fail an instance (docs/decisions/0018).

Every move that changes a step is a conditional UPDATE on the step's state, made while
the instance row is locked (`lock_instance`: FOR UPDATE on PostgreSQL; SQLite takes its
one write lock with BEGIN IMMEDIATE), so a job run twice, or two at once, finds the step
already moved and does nothing. Entering a node inserts a row unique on (instance, node,
branch, visit): a second insert for the same visit fails instead of running it twice.
Every step that starts waiting or ends is a `process_step` timeline event (internal).
"""
from __future__ import annotations

import datetime as dt

from appliance.db import database, is_postgres
from appliance.jobs import schedule
from appliance.models import (Category, Department, Notification, ProcessApproval,
                              ProcessDefinition, ProcessInstance, ProcessStep, Ticket,
                              TicketTag, User, utcnow)
from appliance.rules.access import Actor
from appliance.services import common

LIVE = ("running", "waiting")
OPEN_STEP_STATES = ("entered", "running", "active")
ERROR_TAG = "process-error"  # marks a ticket whose process stopped with an error
MAX_VISITS = 50              # a node entered more often than this in one branch: a loop


class ProcessError(Exception):
    """A failure retrying cannot fix (nobody to approve, no edge for these values, an
    unknown department): the instance goes to `error` at once, visibly."""


def document(instance: ProcessInstance) -> dict:
    """The definition the instance runs (a published version: it never changes)."""
    return ProcessDefinition.select(ProcessDefinition.document).where(
        ProcessDefinition.id == instance.definition_id).scalar()


def node_of(doc: dict, node_id: str) -> dict:
    for node in doc.get("nodes") or ():
        if node.get("id") == node_id:
            return node
    raise ProcessError(f"the definition has no node {node_id}")


def lock_instance(instance_id: int) -> ProcessInstance | None:
    query = ProcessInstance.select().where(ProcessInstance.id == instance_id)
    if is_postgres():
        query = query.for_update()
    return query.first()


def label_of(node: dict) -> str:
    return str(node.get("label") or node.get("id") or "")[:200]


def ticket_fields(t: Ticket, instance_id: int | None = None) -> dict:
    """The values conditions see (rules/process_conditions.py): ticket fields by name,
    the department by code, the assignee by user name, the category by its path
    written without spaces around the slashes ("支付/退款", as start rules name it),
    custom fields as `custom.<key>` and earlier outcomes as `process.<node>.outcome`."""
    code = (Department.select(Department.code).where(Department.id == t.department_id)
            .scalar() if t.department_id else None)
    path = (Category.select(Category.path).where(Category.id == t.category_id).scalar()
            if t.category_id else None)
    user = (User.select(User.username).where(User.id == t.assignee_id).scalar()
            if t.assignee_id else None)
    fields = {"status": t.status, "priority": t.priority, "urgency": t.urgency,
              "channel": t.channel, "category": path.replace(" / ", "/") if path else None, "department": code, "assignee": user,
              "language": t.language, "sentiment": t.sentiment, "subject": t.subject}
    for key, value in (t.custom_fields or {}).items():
        fields[f"custom.{key}"] = value
    if instance_id is not None:
        for node_id, outcome in (ProcessStep.select(ProcessStep.node_id, ProcessStep.outcome)
                                 .where((ProcessStep.instance == instance_id)
                                        & (ProcessStep.outcome != "")
                                        & (ProcessStep.node_type == "approval"))
                                 .order_by(ProcessStep.id).tuples()):
            fields[f"process.{node_id}.outcome"] = outcome
    return fields


def step_event(instance: ProcessInstance, step: ProcessStep | None, actor: Actor | None,
               state: str, **extra) -> None:
    """One `process_step` timeline event: which process, step and node, and what happened
    (no step: the instance itself, e.g. cancelled or retried)."""
    after = {"instance": instance.id, "process": instance.key, "version": instance.version,
             "state": state}
    if step is not None:
        after.update(step=step.id, node=step.node_id, type=step.node_type, label=step.label)
    after.update({k: v for k, v in extra.items() if v not in (None, "")})
    common.record(instance.ticket_id, actor, "process_step", step.node_id if step else "",
                  None, after, internal=True)


def enter(instance: ProcessInstance, doc: dict, node_id: str, branch: str = "",
          data: dict | None = None) -> ProcessStep:
    """A new step at `node_id`, to be run by the next `process_advance` job."""
    node = node_of(doc, node_id)
    visit = ProcessStep.select().where((ProcessStep.instance == instance.id)
                                       & (ProcessStep.node_id == node_id)
                                       & (ProcessStep.branch == branch)).count() + 1
    if visit > MAX_VISITS:
        raise ProcessError(f"the node {node_id} was entered {MAX_VISITS} times: a loop "
                           f"that never ends")
    step = ProcessStep.create(instance=instance.id, node_id=node_id,
                              node_type=str(node.get("type") or ""), label=label_of(node),
                              branch=branch, visit=visit, data=data or {}, entered_at=utcnow())
    schedule("process_advance", instance.id)
    return step


def finish(step: ProcessStep, *, actor: Actor | None = None, state: str = "completed",
           outcome: str = "", data: dict | None = None,
           from_states: tuple[str, ...] = OPEN_STEP_STATES) -> bool:
    """Move an open step to `state`; False when it had moved already (a second run)."""
    now = utcnow()
    values = {"state": state, "completed_at": now, "outcome": outcome or step.outcome,
              "completed_by": (actor.user_id or None) if actor else None}
    if data is not None:
        values["data"] = data
    n = ProcessStep.update(**values).where((ProcessStep.id == step.id)
                                           & ProcessStep.state.in_(from_states)).execute()
    if n != 1:
        return False
    for k, v in values.items():
        setattr(step, k if k != "completed_by" else "completed_by_id", v)
    return True


def follow(instance: ProcessInstance, doc: dict, step: ProcessStep, fields: dict,
           outcome: str | None = None, branch: str | None = None) -> list[ProcessStep]:
    """Enter the nodes the finished step's edges lead to (all of them after a split), on
    the step's branch unless `branch` says otherwise (a join goes back to the parent)."""
    from appliance.rules.process_definition import next_edges
    try:
        edges = next_edges(doc, step.node_id, fields, outcome)
    except ValueError as exc:  # a condition that cannot be evaluated
        raise ProcessError(f"the edges of {step.node_id} cannot be evaluated: {exc}") from None
    if not edges:
        raise ProcessError(f"no edge leaves {step.node_id} for these values"
                           + (f" (outcome {outcome})" if outcome else ""))
    if step.node_type == "parallel_split":
        prefix = f"{step.branch}/" if step.branch else ""
        return [enter(instance, doc, e["to"], f"{prefix}{step.id}.{i}")
                for i, e in enumerate(edges)]
    return [enter(instance, doc, edges[0]["to"], step.branch if branch is None else branch)]


def conclude(instance: ProcessInstance, doc: dict, step: ProcessStep, actor: Actor | None,
             outcome: str = "", event: str = "completed", branch: str | None = None,
             **extra) -> bool:
    """Finish a step a person or the engine decided, record it, follow its edges."""
    if not finish(step, actor=actor, outcome=outcome):
        return False
    step_event(instance, step, actor, event if not outcome else outcome, **extra)
    proceed(instance, doc, step, outcome or None, branch)
    return True


def proceed(instance: ProcessInstance, doc: dict, step: ProcessStep,
            outcome: str | None = None, branch: str | None = None) -> None:
    """Follow the edges of a finished step. When they lead nowhere (no edge for these
    values, an unknown node) the step is failed, remembering that it was decided, and the
    instance goes to error; the decision itself stands (`retry_instance` follows again)."""
    t = Ticket.get_by_id(instance.ticket_id)
    try:
        with database.atomic():
            follow(instance, doc, step, ticket_fields(t, instance.id), outcome, branch)
    except ProcessError as exc:
        data = {**(step.data or {}), "decided": True, "outcome": outcome or "",
                **({"to_branch": branch} if branch is not None else {})}
        ProcessStep.update(data=data).where(ProcessStep.id == step.id).execute()
        step.data = data
        mark_error(instance, step, str(exc))
        return
    set_live_status(instance)


def other_branch_open(instance: ProcessInstance, step: ProcessStep) -> bool:
    """Whether a branch other than the step's still has work open: then a task is given
    to its people at step level and the ticket stays where it is (a join that waits for
    its siblings is no work)."""
    waiting_join = (ProcessStep.node_type == "parallel_join") & (ProcessStep.state == "active")
    return ProcessStep.select().where(
        (ProcessStep.instance == instance.id) & (ProcessStep.id != step.id)
        & (ProcessStep.branch != step.branch) & ProcessStep.state.in_(OPEN_STEP_STATES)
        & ~waiting_join).exists()


def close_open_steps(instance: ProcessInstance, state: str = "cancelled") -> None:
    """Every step still open ends (another branch reached an end, or a cancel)."""
    open_ids = [s.id for s in ProcessStep.select(ProcessStep.id).where(
        (ProcessStep.instance == instance.id) & ProcessStep.state.in_(OPEN_STEP_STATES))]
    if open_ids:
        ProcessStep.update(state=state, completed_at=utcnow()).where(
            ProcessStep.id.in_(open_ids)).execute()
        ProcessApproval.update(decision="void").where(
            ProcessApproval.step.in_(open_ids) & (ProcessApproval.decision == "")).execute()


def end_instance(instance: ProcessInstance, status: str, error: str = "") -> None:
    close_open_steps(instance)
    ProcessInstance.update(status=status, active_key=None, ended_at=utcnow(), error=error,
                           revision=ProcessInstance.revision + 1).where(
        ProcessInstance.id == instance.id).execute()
    instance.status, instance.active_key = status, None
    clear_error_mark(instance.ticket_id)


def set_live_status(instance: ProcessInstance) -> None:
    """running while a step waits for the engine, waiting while only people or timers can
    move it on (the monitor shows which)."""
    busy = ProcessStep.select().where((ProcessStep.instance == instance.id)
                                      & ProcessStep.state.in_(("entered", "running"))).exists()
    status = "running" if busy else "waiting"
    if instance.status in LIVE and instance.status != status:
        ProcessInstance.update(status=status).where(
            (ProcessInstance.id == instance.id) & ProcessInstance.status.in_(LIVE)).execute()
        instance.status = status


def mark_error(instance: ProcessInstance, step: ProcessStep | None, message: str) -> None:
    """The instance stops in `error`: the step failed, the ticket is tagged, every active
    administrator is notified; `retry_instance` resumes it."""
    message = message[:2000]
    if step is not None:
        ProcessStep.update(state="failed", error=message, claimed_at=None).where(
            ProcessStep.id == step.id).execute()
        step_event(instance, step, None, "error", error=message[:500])
    ProcessInstance.update(status="error", error=message, revision=ProcessInstance.revision + 1
                           ).where(ProcessInstance.id == instance.id).execute()
    instance.status = "error"
    tags = _tags(instance.ticket_id)
    if ERROR_TAG not in tags:
        TicketTag.create(ticket=instance.ticket_id, tag=ERROR_TAG)
        _tags_changed(instance.ticket_id, tags, sorted(tags + [ERROR_TAG]))
    for admin in User.select(User.id).where((User.role == "admin") & (User.active == True)):  # noqa: E712
        Notification.create(user=admin.id, kind="process_error", ticket=instance.ticket_id,
                            data={"process": instance.key, "instance": instance.id})
    schedule("index_ticket", instance.ticket_id)


def clear_error_mark(ticket_id: int) -> None:
    """Untag the ticket once none of its processes is in error."""
    if ProcessInstance.select().where((ProcessInstance.ticket == ticket_id)
                                      & (ProcessInstance.status == "error")).exists():
        return
    tags = _tags(ticket_id)
    if ERROR_TAG in tags:
        TicketTag.delete().where((TicketTag.ticket == ticket_id)
                                 & (TicketTag.tag == ERROR_TAG)).execute()
        _tags_changed(ticket_id, tags, [t for t in tags if t != ERROR_TAG])
        schedule("index_ticket", ticket_id)


def _tags(ticket_id: int) -> list[str]:
    return sorted(r.tag for r in TicketTag.select(TicketTag.tag).where(
        TicketTag.ticket == ticket_id))


def _tags_changed(ticket_id: int, before: list[str], after: list[str]) -> None:
    """As tickets.update_ticket records a change of tags (and bumps the version)."""
    common.record(ticket_id, None, "field_changed", "tags", before, after)
    Ticket.update(version=Ticket.version + 1, updated_at=utcnow()).where(
        Ticket.id == ticket_id).execute()


def minutes_from_now(minutes, now: dt.datetime | None = None) -> dt.datetime | None:
    if minutes in (None, "", 0) or isinstance(minutes, bool):
        return None
    try:
        value = float(minutes)
    except (TypeError, ValueError):
        return None
    return (now or utcnow()) + dt.timedelta(minutes=value) if value > 0 else None
