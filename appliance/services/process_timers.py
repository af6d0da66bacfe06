"""The processes' clock (`gongdan.process_tick`, every minute; appliance/periodic.py):
steps whose back-off ended, timers that ran out and events that happened get their
instance a `process_advance` job; approvals past due are escalated; a webhook call whose
worker died (claimed long ago, never recorded) is handed back to the engine.

Everything here only schedules work or moves state under the instance lock, so running
it twice, or in two workers at once, does no harm.
"""
from __future__ import annotations

import datetime as dt
import logging

from appliance import runtime
from appliance.jobs import schedule, unit_of_work
from appliance.models import ProcessInstance, ProcessStep, utcnow
from appliance.services import process_actions, process_approvals
from appliance.services import process_flow as flow

log = logging.getLogger(__name__)
BATCH = 500
STALE_ENTERED = dt.timedelta(minutes=5)  # an entered step no job ran: its job was lost


def tick(now: dt.datetime | None = None) -> dict:
    """One round; returns how many of each it found (for logs and tests)."""
    now = now or utcnow()
    found = {"advance": 0, "escalated": 0, "reclaimed": 0}
    found["reclaimed"] = _reclaim_stale_calls(now)
    instances = _due_instances(now)
    if instances:
        with unit_of_work():
            for instance_id in sorted(instances):
                schedule("process_advance", instance_id)
    found["advance"] = len(instances)
    found["escalated"] = process_approvals.escalate_due(now)
    if any(found.values()):
        log.info("process tick: %s", found)
    return found


def _live_steps():
    return ProcessStep.select(ProcessStep.instance).join(ProcessInstance).where(
        ProcessInstance.status.in_(flow.LIVE))


def _due_instances(now: dt.datetime) -> set[int]:
    due = {s.instance_id for s in _live_steps().where(
        (ProcessStep.state == "entered")
        & ((ProcessStep.next_attempt_at <= now)
           | (ProcessStep.next_attempt_at.is_null() & (ProcessStep.entered_at <= now - STALE_ENTERED))))
        .limit(BATCH)}
    due |= {s.instance_id for s in _live_steps().where(
        (ProcessStep.state == "active") & (ProcessStep.node_type == "action")
        & ProcessStep.wake_at.is_null(False) & (ProcessStep.wake_at <= now)).limit(BATCH)}
    waiting = (ProcessStep.select(ProcessStep, ProcessInstance.id, ProcessInstance.ticket)
               .join(ProcessInstance)
               .where(ProcessInstance.status.in_(flow.LIVE) & (ProcessStep.state == "active")
                      & (ProcessStep.node_type == "action") & ProcessStep.wake_at.is_null())
               .limit(BATCH))
    for step in waiting:
        if (step.data or {}).get("wait") and process_actions.event_happened(
                step, step.instance.ticket_id):
            due.add(step.instance_id)
    return due


def _reclaim_stale_calls(now: dt.datetime) -> int:
    """Webhook steps still `running` long after the call must have ended: the worker
    died between calling and recording. They run again (same Idempotency-Key)."""
    limit = now - dt.timedelta(seconds=runtime.settings().process_webhook_timeout_seconds + 60)
    stale = [s.id for s in ProcessStep.select(ProcessStep.id).where(
        (ProcessStep.state == "running") & (ProcessStep.claimed_at < limit)).limit(BATCH)]
    for step_id in stale:
        with unit_of_work():
            step = ProcessStep.get_by_id(step_id)
            instance = flow.lock_instance(step.instance_id)
            n = ProcessStep.update(state="entered", claimed_at=None, next_attempt_at=now).where(
                (ProcessStep.id == step_id) & (ProcessStep.state == "running")
                & (ProcessStep.claimed_at < limit)).execute()
            if n and instance is not None:
                flow.step_event(instance, step, None, "reclaimed", attempt=step.attempts)
                schedule("process_advance", instance.id)
    return len(stale)
