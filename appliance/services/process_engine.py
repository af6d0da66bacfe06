"""The process engine on the job outbox (docs/decisions/0003 and 0018): starting a
ticket's process, the `process_advance` job that runs its steps, retry and cancel.

`advance(instance_id)` runs every step that is due, one short transaction per step, each
under the instance's lock and guarded by the step's state, so a job run twice or two at
once never runs a step twice. An action that fails is retried with exponential back-off
(BACKOFF_SECONDS, doubling) up to MAX_ATTEMPTS; then, or at once for failures a retry
cannot fix (process_flow.ProcessError, a domain error), the instance stops in `error`,
visible to administrators with the ticket tagged, until `retry_instance`. Database
errors are not counted: they leave the job to the outbox's own retries.
"""
from __future__ import annotations

import datetime as dt
import logging

import peewee

from appliance import runtime
from appliance.db import run_sql
from appliance.errors import Conflict, DomainError, NotFound, PermissionDenied
from appliance.jobs import handler, schedule, unit_of_work
from appliance.models import ProcessDefinition, ProcessInstance, ProcessStep, Ticket, utcnow
from appliance.rules.access import Actor
from appliance.services import common, process_actions, process_approvals, process_tasks
from appliance.services import process_flow as flow
from appliance.services import process_webhook as webhook
# Re-exported, so the engine's whole interface is here (each lives in the module named):
from appliance.services.process_approvals import decide_approval, list_my_approvals  # noqa: F401
from appliance.services.process_tasks import complete_step  # noqa: F401
from appliance.services.process_views import get_instance, list_instances, process_history  # noqa: F401

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 30
MAX_STEPS_PER_RUN = 100
TRIAGE_WAIT = dt.timedelta(minutes=3)  # within the outbox's retries (jobs.MAX_ATTEMPTS)


class TriagePending(Exception):
    """The ticket is still being triaged: start rules wait for its department and category
    (the outbox runs the job again shortly)."""


# -- starting ----------------------------------------------------------------------------

_PUBLISHED = f'SELECT 1 FROM "{ProcessDefinition._meta.table_name}" WHERE "status" = ? LIMIT 1'  # nosec B608  # values are parameters


def schedule_start(ticket_id: int) -> None:
    """Inside the transaction that created a ticket: check start rules after commit
    (only when some process is published, so other sites pay nothing)."""
    if run_sql(_PUBLISHED, ("published",)).fetchone() is not None:   # every creation asks
        schedule("process_start", ticket_id)


@handler("process_start")
def start_for_ticket(ticket_id: int) -> int | None:
    """Start the first published process (by key) whose start rules match the new
    ticket; once per ticket. Returns the instance id, if one was started."""
    from appliance.rules.process_definition import start_matches
    t = Ticket.get_or_none(Ticket.id == ticket_id)
    if t is None or ProcessInstance.select().where(ProcessInstance.ticket == t.id).exists():
        return None
    if t.triage_state == "pending" and utcnow() - t.created_at < TRIAGE_WAIT:
        raise TriagePending(f"ticket {ticket_id} is being triaged")
    fields = flow.ticket_fields(t)
    for d in (ProcessDefinition.select().where(ProcessDefinition.status == "published")
              .order_by(ProcessDefinition.key)):
        rules = d.document.get("start_rules") or []
        if rules and start_matches(rules, fields):
            return _start(d, t.id, None, "rule")
    return None


def start_manually(actor: Actor, ticket_id: int, key: str) -> int:
    """Staff who can work the ticket start a published process on it."""
    if not actor.is_staff:
        raise NotFound("ticket not found", id=ticket_id)
    common.ticket_for(actor, ticket_id, edit=True)
    d = (ProcessDefinition.select().where((ProcessDefinition.key == str(key or ""))
                                          & (ProcessDefinition.status == "published")).first())
    if d is None:
        raise NotFound("process not found", key=str(key or "")[:64])
    instance_id = _start(d, ticket_id, actor, "manual")
    if instance_id is None:
        raise Conflict("this process is already running on the ticket", key=d.key)
    return instance_id


def _start(d: ProcessDefinition, ticket_id: int, actor: Actor | None, reason: str) -> int | None:
    doc = d.document
    start = next((n["id"] for n in doc.get("nodes") or () if n.get("type") == "start"), None)
    if start is None:
        raise Conflict("the process has no start node", key=d.key)
    try:
        with unit_of_work():
            if actor is not None:
                common.ticket_for(actor, ticket_id, edit=True, lock=True)
            instance = ProcessInstance.create(
                ticket=ticket_id, definition=d.id, key=d.key, version=d.version,
                status="running", active_key=d.key, started_at=utcnow(),
                started_by=(actor.user_id or None) if actor else None)
            flow.step_event(instance, None, actor, "started", reason=reason)
            flow.enter(instance, doc, start)
    except peewee.IntegrityError:  # the same process already runs on the ticket
        return None
    return instance.id


# -- advancing ---------------------------------------------------------------------------

@handler("process_advance")
def advance(instance_id: int) -> int:
    """Run every step of the instance that is due now; returns how many ran."""
    ran = 0
    while ran < MAX_STEPS_PER_RUN:
        due = _next_due(instance_id)
        if due is None:
            return ran
        step_id, how = due
        _run_webhook(step_id) if how == "webhook" else _run(step_id, how)
        ran += 1
    with unit_of_work():  # a long run of automatic steps: the rest in the next job
        schedule("process_advance", instance_id)
    return ran


def _next_due(instance_id: int) -> tuple[int, str] | None:
    instance = ProcessInstance.get_or_none(ProcessInstance.id == instance_id)
    if instance is None or instance.status not in flow.LIVE:
        return None
    now = utcnow()
    step = (ProcessStep.select().where(
        (ProcessStep.instance == instance_id) & (ProcessStep.state == "entered")
        & (ProcessStep.next_attempt_at.is_null() | (ProcessStep.next_attempt_at <= now)))
        .order_by(ProcessStep.id).first())
    if step is not None:
        node = flow.node_of(flow.document(instance), step.node_id)
        webhook_step = node.get("type") == "action" and node.get("action") == "webhook"
        return step.id, "webhook" if webhook_step and not step.data.get("decided") else "run"
    for step in ProcessStep.select().where((ProcessStep.instance == instance_id)
                                           & (ProcessStep.state == "active")
                                           & (ProcessStep.node_type == "action")):
        if step.wake_at is not None and step.wake_at <= now:
            return step.id, "wake"
        if (step.data or {}).get("wait") and process_actions.event_happened(
                step, instance.ticket_id):
            return step.id, "wake"
    return None


def _run(step_id: int, how: str) -> None:
    try:
        with unit_of_work():
            instance, step = _locked(step_id)
            expected = "entered" if how == "run" else "active"
            if instance is None or step.state != expected:
                return  # ran already (a second job, or one alongside)
            doc = flow.document(instance)
            if how == "wake":
                flow.conclude(instance, doc, step, None, event="done")
            else:
                _execute(instance, doc, step, flow.node_of(doc, step.node_id))
            flow.set_live_status(instance)
    except (flow.ProcessError, DomainError) as exc:
        _fail(step_id, _message(exc))
    except peewee.DatabaseError:
        raise  # the database, not the step: the job is retried as it is
    except Exception as exc:  # an action that may succeed later
        _retry_later(step_id, exc, counted=False)


def _locked(step_id: int):
    step = ProcessStep.get_by_id(step_id)
    instance = flow.lock_instance(step.instance_id)
    if instance is None or instance.status not in flow.LIVE:
        return None, step
    return instance, ProcessStep.get_by_id(step_id)


def _execute(instance, doc: dict, step: ProcessStep, node: dict) -> None:
    kind = node.get("type")
    if (step.data or {}).get("decided"):  # decided before its edges failed; retried now
        _resume(instance, doc, step)
    elif kind in ("start", "gateway", "parallel_split"):
        flow.conclude(instance, doc, step, None, event="passed")
    elif kind == "end":
        _end(instance, step, node)
    elif kind == "parallel_join":
        _join(instance, doc, step)
    elif kind == "task":
        process_tasks.open_task(instance, doc, step, node)
    elif kind == "approval":
        process_approvals.open_approval(instance, doc, step, node)
    elif kind == "action":
        if process_actions.run(instance, doc, step, node):
            flow.conclude(instance, doc, step, None, event="done", action=node.get("action"))
    else:
        raise flow.ProcessError(f"unknown node type {kind}")


def _resume(instance, doc: dict, step: ProcessStep) -> None:
    if step.node_type == "approval" and process_approvals.resume_decided(instance, doc, step):
        return
    data = step.data or {}
    flow.conclude(instance, doc, step, None, data.get("outcome") or "", event="resumed",
                  branch=data.get("to_branch"))


def _join(instance, doc: dict, step: ProcessStep) -> None:
    """Wait here until every branch of the split this join closes has arrived."""
    parent, _, last = step.branch.rpartition("/")
    split_id = last.partition(".")[0]
    if not split_id:
        raise flow.ProcessError(f"{step.node_id} joins branches that were never split")
    ProcessStep.update(state="active").where(ProcessStep.id == step.id).execute()
    step.state = "active"
    prefix = f"{parent}/{split_id}." if parent else f"{split_id}."
    siblings = [s for s in ProcessStep.select().where(
        (ProcessStep.instance == instance.id) & ProcessStep.branch.startswith(prefix))]
    branches = {s.branch[len(prefix):].partition("/")[0] for s in siblings}
    arrived = [s for s in siblings if s.node_id == step.node_id and s.state == "active"
               and "/" not in s.branch[len(prefix):]]
    if len(arrived) < len(branches):
        flow.step_event(instance, step, None, "waiting", arrived=len(arrived),
                        branches=len(branches))
        return
    for other in arrived:
        if other.id != step.id:
            flow.finish(other, outcome="joined")
    flow.conclude(instance, doc, step, None, event="joined", branch=parent)


def _end(instance, step: ProcessStep, node: dict) -> None:
    outcome = "rejected" if node.get("outcome") == "rejected" else "resolved"
    if not flow.finish(step, outcome=outcome):
        return
    flow.step_event(instance, step, None, "ended", outcome=outcome)
    flow.end_instance(instance, "rejected" if outcome == "rejected" else "completed")
    from appliance.services import process_outcome
    process_outcome.settle_ticket(instance, node, outcome)


# -- the webhook, outside any transaction ------------------------------------------------

def _run_webhook(step_id: int) -> None:
    claimed = _claim(step_id)
    if claimed is None:
        return
    instance_id, attempt, url, body = claimed
    settings = runtime.settings()
    try:
        reply = webhook.post(url, body, key=webhook.idempotency_key(instance_id, step_id),
                             attempt=attempt, allowed=settings.process_webhook_hosts,
                             timeout=settings.process_webhook_timeout_seconds,
                             private_networks=settings.webhook_private_networks)
    except webhook.WebhookRefused as exc:
        _fail(step_id, str(exc), from_states=("running",))
        return
    except webhook.WebhookFailed as exc:
        _retry_later(step_id, exc, counted=True)
        return
    with unit_of_work():
        instance, step = _locked(step_id)
        if instance is None or step.state != "running" or step.attempts != attempt:
            return  # given up on or reset meanwhile: the result is not ours to record
        doc = flow.document(instance)
        flow.conclude(instance, doc, step, None, event="done", action="webhook",
                      status=reply.status)
        flow.set_live_status(instance)


def _claim(step_id: int):
    """Mark the step running (one claimer wins) and build the call."""
    with unit_of_work():
        instance, step = _locked(step_id)
        now = utcnow()
        if instance is None or step.state != "entered" or (
                step.next_attempt_at is not None and step.next_attempt_at > now):
            return None
        if step.attempts >= MAX_ATTEMPTS:  # reclaimed after its last attempt
            flow.mark_error(instance, step, f"failed {step.attempts} times; "
                                            f"last: {step.error or 'no answer recorded'}")
            return None
        n = ProcessStep.update(state="running", attempts=ProcessStep.attempts + 1,
                               claimed_at=now).where((ProcessStep.id == step_id)
                                                     & (ProcessStep.state == "entered")).execute()
        if n != 1:
            return None
        node = flow.node_of(flow.document(instance), step.node_id)
        params = node.get("params") or {}
        from appliance.services import process_outcome
        body = process_outcome.webhook_body(instance, step, step.attempts + 1, params)
        return instance.id, step.attempts + 1, str(params.get("url") or ""), body


# -- failures ------------------------------------------------------------------------------

def _message(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        fields = getattr(exc, "fields", None)
        return f"{exc.message}: {fields}" if fields else exc.message
    return str(exc) or type(exc).__name__


def _fail(step_id: int, message: str, from_states=("entered", "running", "active")) -> None:
    with unit_of_work():
        instance, step = _locked(step_id)
        if instance is None or step.state not in from_states:
            return
        flow.mark_error(instance, step, message)
    log.warning("process step %s failed; its instance is in error", step_id)


def _retry_later(step_id: int, exc: Exception, counted: bool) -> None:
    """Back off and try the step again, or give up after MAX_ATTEMPTS."""
    message = f"{type(exc).__name__}: {str(exc)[:300]}"
    with unit_of_work():
        instance, step = _locked(step_id)
        if instance is None or step.state not in ("entered", "running"):
            return
        attempts = step.attempts if counted else step.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            ProcessStep.update(attempts=attempts).where(ProcessStep.id == step_id).execute()
            flow.mark_error(instance, step, f"failed {attempts} times; last: {message}")
            return
        later = utcnow() + dt.timedelta(seconds=BACKOFF_SECONDS * 2 ** (attempts - 1))
        ProcessStep.update(state="entered", attempts=attempts, next_attempt_at=later,
                           claimed_at=None, error=message).where(
            ProcessStep.id == step_id).execute()
        flow.step_event(instance, step, None, "retry", attempt=attempts, error=message,
                        next_attempt_at=later.isoformat())
        flow.set_live_status(instance)
    log.info("process step %s failed (attempt %s); retried later", step_id, attempts)


# -- people stepping in ------------------------------------------------------------------

def retry_instance(actor: Actor, instance_id: int) -> None:
    """An administrator resumes an instance in error: its failed steps run again."""
    if not actor.is_admin:
        raise PermissionDenied("administrators only")
    with unit_of_work():
        instance = flow.lock_instance(instance_id)
        if instance is None:
            raise NotFound("process instance not found", id=instance_id)
        if instance.status != "error":
            raise Conflict("only a process in error can be retried", status=instance.status)
        ProcessStep.update(state="entered", attempts=0, error="", next_attempt_at=None,
                           claimed_at=None).where((ProcessStep.instance == instance.id)
                                                  & (ProcessStep.state == "failed")).execute()
        ProcessInstance.update(status="running", error="", revision=ProcessInstance.revision + 1
                               ).where(ProcessInstance.id == instance.id).execute()
        instance.status = "running"
        flow.clear_error_mark(instance.ticket_id)
        flow.step_event(instance, None, actor, "retried")
        schedule("process_advance", instance.id)


def cancel_instance(actor: Actor, instance_id: int) -> None:
    """Supervisors and administrators who can work the ticket stop its process."""
    with unit_of_work():
        instance = flow.lock_instance(instance_id)
        if instance is None or not actor.is_staff:
            raise NotFound("process instance not found", id=instance_id)
        common.ticket_for(actor, instance.ticket_id, edit=True)
        if actor.role not in ("supervisor", "admin"):
            raise PermissionDenied("supervisors and administrators only")
        if instance.status not in flow.LIVE + ("error",):
            raise Conflict("this process has ended", status=instance.status)
        flow.end_instance(instance, "cancelled")
        flow.step_event(instance, None, actor, "cancelled")
