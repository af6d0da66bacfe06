"""Words for running processes: the states of instances and steps, one sentence per
`process_step` timeline event, and the process notifications (plain text; templates
escape it)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.views.agent_labels import _time

STATUS_LABELS = {"running": _l("Running"), "waiting": _l("Waiting"),
                 "completed": _l("Completed"), "rejected": _l("Rejected"),
                 "error": _l("Error"), "cancelled": _l("Cancelled")}
STATE_LABELS = {"entered": _l("Queued"), "running": _l("Running"), "active": _l("Open"),
                "completed": _l("Done"), "failed": _l("Failed"), "cancelled": _l("Cancelled")}
OUTCOME_LABELS = {"resolved": _l("resolved"), "rejected": _l("rejected"),
                  "approved": _l("approved")}


def event_text(e) -> str:
    """One sentence for a `process_step` timeline event (services/process_flow.step_event)."""
    a = e.after if isinstance(e.after, dict) else {}
    state, step, process = a.get("state", ""), a.get("label") or a.get("node", ""), a.get(
        "process", "")
    if state == "started":
        return _("Process %(process)s started", process=process)
    if state == "ended":
        return _("Process %(process)s ended: %(outcome)s", process=process,
                 outcome=str(OUTCOME_LABELS.get(a.get("outcome"), a.get("outcome", ""))))
    if state == "cancelled":
        return _("Process %(process)s was cancelled", process=process)
    if state == "retried":
        return _("Process %(process)s was resumed", process=process)
    return _step_text(state, step, a)


def _step_text(state: str, step: str, a: dict) -> str:
    if state == "active":
        return _("Step %(step)s is open", step=step)
    if state == "waiting":
        return _("Step %(step)s waits for the other branches (%(n)s of %(m)s here)", step=step,
                 n=a.get("arrived", "?"), m=a.get("branches", "?"))
    if state == "vote":
        return (_("%(step)s: voted to approve", step=step) if a.get("decision") == "approved"
                else _("%(step)s: voted to reject", step=step)) + _comment(a)
    if state == "approved":
        return _("Step %(step)s was approved", step=step)
    if state == "rejected":
        return _("Step %(step)s was rejected", step=step)
    if state == "retry":
        return _("Step %(step)s failed (attempt %(n)s) and is tried again at %(time)s",
                 step=step, n=a.get("attempt", "?"), time=_time(a.get("next_attempt_at", "")))
    if state == "error":
        return _("Step %(step)s failed: %(error)s", step=step, error=a.get("error", ""))
    if state == "escalated":
        return _("Step %(step)s was escalated", step=step)
    if state == "overdue":
        return _("Step %(step)s is overdue", step=step)
    if state == "reclaimed":
        return _("Step %(step)s runs again after an interrupted attempt", step=step)
    return _("Step %(step)s done", step=step)


def _comment(a: dict) -> str:
    return f" — {a['comment']}" if a.get("comment") else ""


def notification_text(n) -> str:
    """Sentences for the notification kinds services/process_* write."""
    data, number = n.data or {}, n.ticket_number or _("a ticket")
    process, step = data.get("process", ""), data.get("step", "")
    if n.kind == "process_approval":
        return _("%(number)s needs your approval: %(step)s (%(process)s).", number=number,
                 step=step, process=process)
    if n.kind == "process_task":
        return _("%(number)s has a process step for you: %(step)s (%(process)s).",
                 number=number, step=step, process=process)
    if n.kind == "process_approval_escalated":
        return _("The approval %(step)s of %(number)s is overdue and was passed to you.",
                 step=step, number=number)
    if n.kind == "process_approval_overdue":
        return _("The approval %(step)s of %(number)s is overdue.", step=step, number=number)
    if n.kind == "process_error":
        return _("The process %(process)s of %(number)s stopped with an error.",
                 process=process, number=number)
    if n.kind == "process_notify":
        return _("%(number)s, %(step)s: %(message)s", number=number, step=step,
                 message=data.get("message", ""))
    return n.kind
