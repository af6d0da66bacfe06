"""Agent pages for callbacks (回拨): the ticket page's panel (agent/_callbacks.html, fed by
the `callbacks_panel` template global like the mail panel), its actions, "My callbacks"
and the due count in the navigation. Times are entered and shown in the site's zone."""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.services import callbacks, tickets
from webapp.auth import safe_next
from webapp.views.agent_common import actor, bp, settings
from webapp.views.agent_forms import local_input
from webapp.views.forms_labels import translated

log = logging.getLogger(__name__)

STATUS_LABELS = {"open": _l("To do"), "done": _l("Done"), "failed": _l("No answer"),
                 "cancelled": _l("Cancelled")}


def _local(value: str) -> dt.datetime | None:
    """A datetime-local value in the site's zone, as an aware datetime (None: empty)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError({"due_at": "must be a date and time"}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(settings().timezone))


def callbacks_panel(ticket_id: int):
    """What the panel shows: the callbacks and the form's choices; None when the reader
    may not work the ticket (the panel is then left out)."""
    try:
        items = callbacks.for_ticket(actor(), ticket_id)
        phones = callbacks.phone_choices(actor(), ticket_id)
        agents = callbacks.agent_choices(actor(), ticket_id)
    except (NotFound, PermissionDenied, Conflict):  # Conflict: a merged ticket
        return None
    except Exception:  # the panel must never take the ticket page down with it
        log.exception("callbacks panel failed for ticket %s", ticket_id)
        return None
    form = g.get("callback_form") or {"phone": phones[0] if phones else "",
                                      "agent_id": str(actor().user_id)}
    return {"items": items, "phones": phones, "agents": agents, "form": form,
            "errors": g.get("callback_errors") or {}}


def callbacks_nav():
    """The actor's due callbacks for the navigation (None on failure)."""
    try:
        return callbacks.due_count(actor())
    except Exception:
        log.exception("callbacks navigation failed")
        return None


@bp.context_processor
def _callback_globals() -> dict:
    return {"callbacks_panel": callbacks_panel, "callbacks_nav": callbacks_nav,
            "callback_status": lambda s: str(STATUS_LABELS.get(s, s)),
            "callback_local": local_input}


def _back(ticket_id: int | None = None):
    fallback = (url_for("agent.ticket", ticket_id=ticket_id) + "#callbacks" if ticket_id
                else url_for("agent.my_callbacks"))
    return redirect(safe_next(request.form.get("next"), fallback))


@bp.post("/tickets/<int:ticket_id>/callbacks")
def schedule_callback(ticket_id: int):
    form = {k: request.form.get(k, "").strip() for k in ("phone", "due_at", "agent_id", "note")}
    try:
        data = callbacks.CallbackInput(phone=form["phone"], due_at=_local(form["due_at"]),
                                       agent_id=form["agent_id"] or None, note=form["note"])
        callbacks.schedule_callback(actor(), ticket_id, data)
    except ValidationError as exc:
        from webapp.views.agent_tickets import render_ticket
        g.callback_form, g.callback_errors = form, translated(exc.fields)
        return render_ticket(tickets.get_ticket(actor(), ticket_id, settings()), 400,
                             alert=_("The callback was not scheduled: please correct the "
                                     "marked fields."))
    flash(_("The callback was scheduled."), "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id) + "#callbacks")


def _act(callback_id: int, action):
    try:
        view = action()
    except ValidationError as exc:
        flash("; ".join(translated(exc.fields).values()), "error")
        return _back()
    view = view[0] if isinstance(view, tuple) else view
    flash(_("The callback was updated."), "success")
    return _back(view.ticket_id)


@bp.post("/callbacks/<int:callback_id>/done")
def callback_done(callback_id: int):
    outcome = request.form.get("outcome", "")
    return _act(callback_id, lambda: callbacks.complete(actor(), callback_id, outcome))


@bp.post("/callbacks/<int:callback_id>/failed")
def callback_failed(callback_id: int):
    outcome = request.form.get("outcome", "")

    def fail():
        again = _local(request.form.get("reschedule_at", ""))
        return callbacks.fail(actor(), callback_id, outcome, again)
    return _act(callback_id, fail)


@bp.post("/callbacks/<int:callback_id>/cancel")
def callback_cancel(callback_id: int):
    return _act(callback_id, lambda: callbacks.cancel(actor(), callback_id))


@bp.get("/callbacks")
def my_callbacks():
    return render_template("agent/callbacks.html", items=callbacks.mine(actor()))
