"""Agent pages for follow-up visits (回访; services.follow_up, decision 0038): "My follow-ups"
(due first) with the department queue, one visit's page with the script, the customer's
numbers and the outcome form, taking a pool visit, and the outcome counts for supervisors.
Routes on the agent blueprint (staff only); the service checks who may see and record."""
from __future__ import annotations

import logging
import re

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from appliance.errors import DomainError, ValidationError
from appliance.rules.markdown import render_markdown
from appliance.services import follow_up, follow_up_report
from webapp import messages
from webapp.messages import N_
from webapp.views.agent_common import actor, bp, settings
from webapp.views.agent_labels import EVENT_LABELS, KEY_LABELS

log = logging.getLogger(__name__)

OUTCOME_LABELS = {"satisfied": _l("Satisfied"), "not_solved": _l("Not solved"),
                  "unreachable": _l("Unreachable")}
STATUS_LABELS = {"scheduled": _l("To call"), "closed": _l("Done"), "cancelled": _l("Cancelled")}
EVENT_LABELS.setdefault("follow_up_scheduled", _l("scheduled a follow-up visit"))
EVENT_LABELS.setdefault("follow_up_recorded", _l("recorded a follow-up call"))
EVENT_LABELS.setdefault("follow_up_cancelled", _l("cancelled a follow-up visit (ticket reopened)"))
EVENT_LABELS.setdefault("follow_up_claimed", _l("took a follow-up visit"))
KEY_LABELS.setdefault("visit_id", _l("Visit"))
KEY_LABELS.setdefault("attempt", _l("Call"))

FIXED = {m: _l(m) for m in (
    N_("must be one of satisfied, not_solved, unreachable"),
    N_("follow-up visit not found"), N_("this follow-up visit is closed already"),
    N_("the visit was changed by someone else; reload and try again"),
    N_("must be a date like 2026-01-31"), N_("must not be before date_from"),
    N_("follow-up figures are for supervisors and administrators"),
    N_("you see the figures of your own department only"),
)}
_LONG = re.compile(r"^at most (?P<n>\d+) characters$")


def translate(message) -> str:
    text = str(message or "")
    if text in FIXED:
        return str(FIXED[text])
    m = _LONG.match(text)
    if m:
        return _("at most %(n)s characters", n=m.group("n"))
    return messages.translate(text)


@bp.context_processor
def _follow_up_globals() -> dict:
    return {"follow_ups_nav": follow_ups_nav, "follow_ups_panel": follow_ups_panel,
            "follow_up_outcome": lambda s: str(OUTCOME_LABELS.get(s, s)),
            "follow_up_status": lambda s: str(STATUS_LABELS.get(s, s))}


def follow_ups_nav():
    """The actor's due visits for the navigation (None on failure)."""
    try:
        return follow_up.due_count(actor())
    except Exception:  # the navigation must never take a page down
        log.exception("follow-up navigation failed")
        return None


def follow_ups_panel(ticket_id: int):
    """The ticket's visits for its side panel; None when there are none or on failure."""
    try:
        return follow_up.for_ticket(actor(), ticket_id) or None
    except DomainError:
        return None
    except Exception:  # the panel must never take the ticket page down with it
        log.exception("follow-up panel failed for ticket %s", ticket_id)
        return None


@bp.get("/follow-ups")
def follow_ups():
    return render_template("agent/follow_ups.html", mine=follow_up.mine(actor()),
                           queue=follow_up.department_queue(actor()))


def _visit_page(visit_id: int, status: int = 200, errors: dict | None = None,
                form: dict | None = None):
    view = follow_up.get_visit(actor(), visit_id)
    # The administrator's script as Markdown, sanitised by render_markdown (nh3).
    script = Markup(render_markdown(view.script, file_ids=()))  # nosec B704  # nh3-sanitised output
    return render_template("agent/follow_up.html", v=view, script_html=script,
                           errors=errors or {},
                           phones=follow_up.phone_numbers(actor(), visit_id),
                           form=form or {}, outcomes=OUTCOME_LABELS), status


@bp.get("/follow-ups/<int:visit_id>")
def follow_up_visit(visit_id: int):
    return _visit_page(visit_id)


@bp.post("/follow-ups/<int:visit_id>/outcome")
def follow_up_outcome(visit_id: int):
    form = {k: request.form.get(k, "").strip() for k in ("outcome", "note", "version")}
    try:
        view = follow_up.record_outcome(actor(), visit_id, form["outcome"], form["note"],
                                        settings(), expected_version=form["version"] or None)
    except ValidationError as exc:
        errors = {k: translate(v) for k, v in exc.fields.items()}
        return _visit_page(visit_id, 400, errors, form)
    if view.status == "scheduled":
        flash(_("Recorded: the customer was not reached. Next try: %(when)s.",
                when=_when(view)), "success")
    elif view.outcome == "not_solved":
        flash(_("Recorded: not solved. The ticket was reopened or followed up."), "success")
    else:
        flash(_("The follow-up call was recorded."), "success")
    return redirect(url_for("agent.follow_ups"))


def _when(view) -> str:
    from flask_babel import format_datetime
    return format_datetime(view.due_at, "yyyy-MM-dd HH:mm")


@bp.post("/follow-ups/<int:visit_id>/claim")
def follow_up_claim(visit_id: int):
    follow_up.claim(actor(), visit_id)
    flash(_("The follow-up visit is yours now."), "success")
    return redirect(url_for("agent.follow_up_visit", visit_id=visit_id))


@bp.get("/reports/follow-ups")
def follow_up_results():
    start, end = request.args.get("start", ""), request.args.get("end", "")
    dept = request.args.get("department_id", "") or None
    try:
        summary = follow_up_report.follow_up_summary(actor(), start, end, dept)
    except ValidationError as exc:
        errors = {k: translate(v) for k, v in exc.fields.items()}
        return render_template("agent/follow_up_report.html", summary=None, errors=errors,
                               start=start, end=end), 400
    return render_template("agent/follow_up_report.html", summary=summary, errors={},
                           start=summary.date_from.isoformat(), end=summary.date_to.isoformat())
