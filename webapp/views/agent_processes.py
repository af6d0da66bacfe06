"""Agent pages for processes: the ticket page's process panel (agent/_processes.html, fed
by the `processes_panel` template global like the callbacks panel), starting a process,
completing a task step, "My approvals" with the approve/reject form, and, for
administrators, the monitor of processes in error with retry."""
from __future__ import annotations

import logging

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from appliance.services import (process_approvals, process_engine, process_panel,
                                process_tasks, process_views, tickets)
from webapp.auth import safe_next
from webapp.views.agent_common import actor, bp, settings
from webapp.views.forms_labels import translated
from webapp.views.process_text import STATE_LABELS, STATUS_LABELS, event_text

log = logging.getLogger(__name__)
DECISION_LABELS = {"approved": _l("Approved"), "rejected": _l("Rejected"), "void": _l("Not needed"),
                   "": _l("Waiting")}


def processes_panel(ticket_id: int):
    """The panel's data, or None when the reader may not see the ticket's processes."""
    try:
        return process_panel.ticket_panel(actor(), ticket_id)
    except (NotFound, PermissionDenied):
        return None
    except Exception:  # the panel must never take the ticket page down with it
        log.exception("process panel failed for ticket %s", ticket_id)
        return None


def approvals_nav():
    try:
        return process_approvals.open_count(actor())
    except Exception:
        log.exception("approvals navigation failed")
        return None


@bp.context_processor
def _process_globals() -> dict:
    return {"processes_panel": processes_panel, "approvals_nav": approvals_nav,
            "process_state": lambda s: str(STATE_LABELS.get(s, s)),
            "process_status": lambda s: str(STATUS_LABELS.get(s, s)),
            "approval_decision": lambda d: str(DECISION_LABELS.get(d, d)),
            "process_event_text": event_text,
            "process_form": lambda step_id: (g.get("process_form") or {}).get(step_id),
            "process_errors": lambda step_id: (g.get("process_errors") or {}).get(step_id, {})}


def _to_ticket(ticket_id: int):
    return redirect(url_for("agent.ticket", ticket_id=ticket_id) + "#processes")


def _refused(exc: DomainError, ticket_id: int | None = None):
    """A refusal as a message on the page the form came from."""
    fields = getattr(exc, "fields", None)
    text = "; ".join(translated(fields).values()) if fields else _translated(exc.message)
    flash(text, "error")
    if ticket_id is not None:
        return _to_ticket(ticket_id)
    return redirect(safe_next(request.form.get("next"), url_for("agent.my_approvals")))


def _translated(message: str) -> str:
    from webapp.messages import translate
    return translate(message)


@bp.post("/tickets/<int:ticket_id>/processes")
def start_process(ticket_id: int):
    try:
        process_engine.start_manually(actor(), ticket_id, request.form.get("key", ""))
    except (ValidationError, Conflict) as exc:
        return _refused(exc, ticket_id)
    flash(_("The process was started."), "success")
    return _to_ticket(ticket_id)


def _form_values() -> dict:
    """The task form's fields: inputs named f:<field> (several values: a multiselect)."""
    values = {}
    for key in request.form:
        if key.startswith("f:"):
            many = request.form.getlist(key)
            values[key[2:]] = many if len(many) > 1 or key.endswith("[]") else many[0]
    return {k.removesuffix("[]"): v for k, v in values.items()}


@bp.post("/process-steps/<int:step_id>/complete")
def complete_process_step(step_id: int):
    ticket_id = request.form.get("ticket_id", type=int)
    values = _form_values()
    try:
        process_tasks.complete_step(actor(), step_id, values,
                                    request.form.get("expected_version") or None)
    except ValidationError as exc:
        if ticket_id is None:
            raise
        from webapp.views.agent_tickets import render_ticket
        g.process_form = {step_id: values}
        g.process_errors = {step_id: translated(exc.fields)}
        return render_ticket(tickets.get_ticket(actor(), ticket_id, settings()), 400,
                             alert=_("The step was not completed: please correct the marked "
                                     "fields."))
    except Conflict as exc:
        return _refused(exc, ticket_id)
    flash(_("The step was completed."), "success")
    return _to_ticket(ticket_id) if ticket_id else redirect(url_for("agent.queue"))


@bp.post("/process-instances/<int:instance_id>/cancel")
def cancel_process(instance_id: int):
    ticket_id = request.form.get("ticket_id", type=int)
    try:
        process_engine.cancel_instance(actor(), instance_id)
    except Conflict as exc:
        return _refused(exc, ticket_id)
    flash(_("The process was cancelled."), "success")
    return _to_ticket(ticket_id) if ticket_id else redirect(url_for("agent.process_monitor"))


@bp.get("/approvals")
def my_approvals():
    return render_template("agent/approvals.html", items=process_approvals.list_my_approvals(
        actor(), include_decided=True, limit=100))


@bp.get("/approvals/<int:approval_id>")
def approval(approval_id: int):
    view, facts = process_approvals.get_approval(actor(), approval_id)
    return render_template("agent/approval.html", a=view, t=facts,
                           form={"comment": ""}, errors={})


@bp.post("/approvals/<int:approval_id>/decide")
def decide_approval(approval_id: int):
    decision, comment = request.form.get("decision", ""), request.form.get("comment", "")
    try:
        process_approvals.decide_approval(actor(), approval_id, decision, comment)
    except ValidationError as exc:
        view, facts = process_approvals.get_approval(actor(), approval_id)
        return render_template("agent/approval.html", a=view, t=facts,
                               form={"comment": comment}, errors=translated(exc.fields)), 400
    except Conflict as exc:
        return _refused(exc)
    flash(_("Your decision was recorded.") if decision.startswith("approve")
          else _("Your rejection was recorded."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("agent.my_approvals")))


@bp.get("/process-monitor")
def process_monitor():
    status = request.args.get("status") or "error"
    rows = process_views.list_instances(actor(), None if status == "all" else status)
    return render_template("agent/process_monitor.html", items=rows, status=status,
                           statuses=list(STATUS_LABELS))


@bp.post("/process-instances/<int:instance_id>/retry")
def retry_process(instance_id: int):
    try:
        process_engine.retry_instance(actor(), instance_id)
    except Conflict as exc:
        flash(_translated(exc.message), "error")
    else:
        flash(_("The process was resumed."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("agent.process_monitor")))
