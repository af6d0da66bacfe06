"""Supervisor board and reassignment (agent blueprint, supervisors and admins only), and
the routing side panel and timeline sentences of the ticket page.

The board renders fully on the server; webapp/static/board.js then refreshes it from
/agent/board.json, which carries the same rows with every text already translated (the
script only places them with textContent). The ticket page's view knows nothing of
routing: the panel fetches its data through the template global registered here.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.rules.dispatch_config import as_id
from appliance.services import dispatch_actions, dispatch_board
from webapp import routing_text as text
from webapp.messages import translate
from webapp.views.agent_common import actor, bp

log = logging.getLogger(__name__)
POLL_MS = 5000
IDLE_MS = 10 * 60 * 1000  # board.js stops polling after this long without user input, so
#                           an unattended board lets the session's idle timeout end it


# -- the board --------------------------------------------------------------------------

@bp.get("/board")
def board():
    return render_template("agent/board.html", board=board_view(dispatch_board.board(actor())),
                           poll_ms=POLL_MS, idle_ms=IDLE_MS)


@bp.get("/board.json")
def board_json():
    response = jsonify(board_view(dispatch_board.board(actor())))
    response.headers["Cache-Control"] = "no-store"
    return response


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def _when(value: dt.datetime | None) -> str:
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else "—"


def _minutes(now: dt.datetime, since: dt.datetime | None) -> str:
    if since is None:
        return ""
    return _("%(minutes)s min", minutes=max(0, int((now - since).total_seconds() // 60)))


def _latency(ms: int) -> str:
    if ms < 60_000:
        return _("%(seconds)s s", seconds=text.number(round(ms / 1000, 1)))
    return _("%(minutes)s min", minutes=ms // 60_000)


def board_view(b: dispatch_board.Board) -> dict:
    """The board as plain data for the template and for board.js (texts translated)."""
    return {"generated_at": _iso(b.generated_at),
            "updated_text": _("Updated %(time)s", time=format_datetime(b.generated_at,
                                                                        "HH:mm:ss")),
            "agents": [_agent_row(a) for a in b.agents],
            "queues": [_queue_box(q, b.generated_at) for q in b.queues],
            "decisions": [_decision_row(d) for d in b.decisions]}


def _agent_row(a: dispatch_board.BoardAgent) -> dict:
    flags = ([_("on a break")] if a.on_break else []) + ([_("off shift")] if a.off_shift else [])
    return {"id": a.id, "name": a.name, "department": a.department.name if a.department else "",
            "presence": a.presence, "presence_label": text.label(text.PRESENCE_LABELS, a.presence),
            "effective_presence": a.effective_presence,
            "effective_label": text.label(text.PRESENCE_LABELS, a.effective_presence),
            "load": a.load, "capacity": a.capacity,
            "load_text": f"{text.number(a.load)}/{text.number(a.capacity)}",
            "open_tickets": a.open_tickets, "on_break": a.on_break, "off_shift": a.off_shift,
            "flags_text": ", ".join(flags), "last_assigned_at": _iso(a.last_assigned_at),
            "last_assigned_text": _when(a.last_assigned_at)}


def _queue_box(q: dispatch_board.BoardQueue, now: dt.datetime) -> dict:
    oldest = f"{_when(q.oldest_since)} ({_minutes(now, q.oldest_since)})" \
        if q.oldest_since else "—"
    return {"department_id": q.department.id, "department": q.department.name,
            "waiting": q.waiting, "oldest_since": _iso(q.oldest_since), "sla_risk": q.sla_risk,
            "escalated": q.escalated,
            "note": _("Overflows into your department: escalated tickets only")
            if q.escalated_only else "",
            "stats": [[_("Waiting"), str(q.waiting)], [_("Oldest"), oldest],
                      [_("SLA risk"), str(q.sla_risk)], [_("Escalated"), str(q.escalated)]],
            "tickets": [_waiting_row(w, now, linked=not q.escalated_only) for w in q.tickets]}


def _waiting_row(w: dispatch_board.WaitingTicket, now: dt.datetime, linked: bool = True
                 ) -> dict:
    """`linked`: whether the reader may open the ticket (not another department's)."""
    return {"id": w.ticket_id, "number": w.number, "subject": w.subject,
            "priority": w.priority, "priority_text": f"P{w.priority}", "reason": w.reason,
            "reason_text": text.queue_reason(w.reason), "since": _iso(w.since),
            "since_text": _minutes(now, w.since), "escalated": w.escalated_at is not None,
            "url": url_for("agent.ticket", ticket_id=w.ticket_id) if linked else None}


def _decision_row(d: dispatch_board.DecisionView) -> dict:
    return {"id": d.id, "ticket_id": d.ticket_id, "number": d.number,
            "url": url_for("agent.ticket", ticket_id=d.ticket_id), "mode": d.mode,
            "mode_label": text.label(text.MODE_LABELS, d.mode),
            "agent": d.agent.name if d.agent else "", "sentence": text.decision_text(d),
            "latency_ms": d.latency_ms, "latency_text": _latency(d.latency_ms),
            "created_at": _iso(d.created_at), "created_text": _when(d.created_at),
            "runners_up": [_candidate(c) for c in d.runners_up]}


def _candidate(c: dict) -> dict:
    parts = text.score_parts(c.get("parts") or {})
    return {"name": c.get("name", ""), "score": c.get("score"),
            "score_text": f"{float(c.get('score') or 0):.2f}",
            "parts_text": " · ".join(f"{name} {value}" for name, value in parts)}


# -- reassignment -------------------------------------------------------------------------

def _target(choice: str) -> int | None:
    """The select's value: "queue" (back to the queue) or an agent's id."""
    if choice == "queue":
        return None
    if not choice:
        raise ValidationError({"user_id": "required"})
    user_id = as_id(choice)  # ASCII digits only, and no id too large for the database
    if user_id is None:
        raise ValidationError({"user_id": "must be an active agent"})
    return user_id


@bp.post("/tickets/<int:ticket_id>/reassign")
def reassign(ticket_id: int):
    back = redirect(url_for("agent.ticket", ticket_id=ticket_id, _anchor="routing"))
    choice = request.form.get("user_id", "").strip()
    try:
        user_id = _target(choice)
        dispatch_actions.reassign(actor(), ticket_id, user_id, request.form.get("note", ""))
    except (ValidationError, Conflict) as exc:
        reason = "; ".join(translate(m) for m in exc.fields.values()) \
            if isinstance(exc, ValidationError) else translate(exc.message)
        flash(_("Not reassigned: %(reason)s", reason=reason), "error")
        return back
    flash(_("Sent back to the queue.") if user_id is None else _("Reassigned."), "success")
    if not dispatch_board.can_see_ticket(actor(), ticket_id):  # e.g. moved off the supervisor
        flash(_("You can no longer see this ticket, so you are back on the board."), "info")
        return redirect(url_for("agent.board"))
    return back


# -- the ticket page: side panel and timeline ---------------------------------------------------

def routing_panel(ticket_id: int):
    """The ticket's routing for the side panel, or None when it cannot be shown."""
    try:
        return dispatch_board.ticket_routing(actor(), ticket_id)
    except (NotFound, PermissionDenied):
        return None
    except Exception:  # routing must never take the ticket page down with it
        log.exception("routing panel failed for ticket %s", ticket_id)
        return None


@bp.context_processor
def _routing_globals() -> dict:
    return {"routing_panel": routing_panel}


@bp.app_template_filter("routing_event")
def _routing_event(event, names: dict | None = None) -> str:
    return text.event_sentence(event, names)


@bp.app_template_filter("routing_decision")
def _routing_decision(decision) -> str:
    return text.decision_text(decision)


@bp.app_template_filter("queue_reason")
def _queue_reason(reason: str) -> str:
    return text.queue_reason(reason)


@bp.app_template_filter("routing_parts")
def _routing_parts(parts: dict) -> list[tuple[str, str]]:
    return text.score_parts(parts or {})


@bp.app_template_filter("routing_escalated")
def _routing_escalated(waiting) -> str:
    """"Escalated after N minutes of waiting" for a WaitingState."""
    minutes = int((waiting.escalated_at - waiting.since).total_seconds() // 60)
    return text.escalated(minutes)
