"""AI triage in the agent workspace: the ticket page's side panel, its actions (accept a
suggestion, undo what AI changed, finish triage), the "Needs triage" queue and the
banner that says AI is unavailable.

The ticket page's view (agent_tickets) knows nothing of AI: the panel fetches its own
data through the template globals registered here, so a failure in AI triage shows up
as a note in the panel, never as a broken ticket page.
"""
from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import Conflict, DomainError, NotFound, ValidationError
from appliance.services import queues, triage
from webapp import ai_status
from webapp.messages import translate
from webapp.views import ai_labels
from webapp.views.agent_common import actor, bp, settings
from webapp.views.ai_labels import ai_field_label

log = logging.getLogger(__name__)
ai_labels.register(bp)
QUEUE_PAGE = 25  # each row shows its suggestions, read per ticket


# -- template globals ------------------------------------------------------------------

def ai_triage_panel(ticket_id: int):
    """The triage DTO for the side panel, or None when it cannot be shown (logged)."""
    try:
        return triage.triage_view(actor(), ticket_id)
    except NotFound:
        return None
    except Exception:  # AI must never take the ticket page down with it
        log.exception("AI triage panel failed for ticket %s", ticket_id)
        return None


def ai_banner():
    """The model's status (cached per process) for the "AI unavailable" banner."""
    return ai_status.current(settings())


def ai_triage_count() -> str:
    """How many tickets wait in the triage queue, capped like the other views."""
    try:
        return queues.triage_count(actor())
    except Exception:
        log.exception("triage queue count failed")
        return "?"


@bp.context_processor
def _ai_globals() -> dict:
    return {"ai_triage_panel": ai_triage_panel, "ai_banner": ai_banner,
            "ai_triage_count": ai_triage_count}


# -- actions on one ticket ---------------------------------------------------------------

def _back(ticket_id: int):
    return redirect(url_for("agent.ticket", ticket_id=ticket_id, _anchor="ai-triage"))


def _refused(exc: DomainError) -> None:
    """Say why a triage action did nothing, in the user's language."""
    if isinstance(exc, ValidationError):
        reasons = "; ".join(f"{ai_field_label(k)}: {translate(v)}" for k, v in exc.fields.items())
    else:  # a version conflict, a merged ticket, a suggestion or run that is gone
        reasons = translate(exc.message)
    flash(_("Nothing was changed: %(reason)s", reason=reasons), "error")


@bp.post("/tickets/<int:ticket_id>/triage/accept")
def accept_suggestion(ticket_id: int):
    field = request.form.get("field", "")
    version = request.form.get("expected_version", type=int)
    try:
        triage.accept_suggestion(actor(), ticket_id, field, expected_version=version)
    except (Conflict, NotFound, ValidationError) as exc:
        _refused(exc)
        return _back(ticket_id)
    flash(_("The suggested %(field)s was applied.", field=ai_field_label(field)), "success")
    return _back(ticket_id)


@bp.post("/tickets/<int:ticket_id>/triage/undo")
def undo_triage(ticket_id: int):
    """One click undoes every run the panel listed (the fast path and the enrichment)."""
    restored: list[str] = []
    try:
        restored = triage.undo_triage_runs(actor(), ticket_id,
                                           request.form.getlist("run_id", type=int))
    except (Conflict, NotFound, ValidationError) as exc:
        _refused(exc)
        return _back(ticket_id)
    if restored:
        names = ", ".join(dict.fromkeys(ai_field_label(f) for f in restored))
        flash(_("AI changes were undone: %(fields)s.", fields=names), "success")
    else:
        flash(_("Nothing to undo: every field AI set was changed by someone since."), "info")
    return _back(ticket_id)


@bp.post("/tickets/<int:ticket_id>/triage/done")
def finish_triage(ticket_id: int):
    try:
        triage.finish_triage(actor(), ticket_id)
    except (Conflict, NotFound, ValidationError) as exc:
        _refused(exc)
        return _back(ticket_id)
    flash(_("Triage of this ticket is done."), "success")
    return redirect(url_for("agent.triage_queue"))


# -- the queue ----------------------------------------------------------------------------

def _top_suggestions(ticket_id: int) -> list:
    """The routing suggestions of a ticket's latest fast-path run, in field order."""
    view = triage.triage_view(actor(), ticket_id)
    shown = [sg for sg in view.suggestions if sg.field in triage.ROUTING]
    return sorted(shown, key=lambda sg: triage.ROUTING.index(sg.field))


@bp.get("/triage")
def triage_queue():
    """Tickets AI could not route confidently, oldest first, with its best guesses."""
    from webapp.views.agent import _sidebar  # agent imports this module at its end
    page = queues.triage_queue(actor(), cursor=request.args.get("cursor") or None,
                               limit=QUEUE_PAGE)
    rows = [(t, _top_suggestions(t.id)) for t in page.items]
    next_url = url_for("agent.triage_queue", cursor=page.next_cursor) if page.next_cursor else None
    return render_template("agent/triage_queue.html", rows=rows, next_url=next_url,
                           view="triage", params={}, current_filter=None, **_sidebar())
