"""Quality inspection pages (质检, docs/decisions/0039) on the agent blueprint: an agent's
own scores and appeals, the supervisors' sampling queue, one inspection (reply, findings,
rubric, history; adjust, appeal, decide) and the scores per agent and week. Services
decide who sees what (services.quality_review, services.quality_report)."""
from __future__ import annotations

import datetime as dt

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import Conflict, ValidationError
from appliance.rules.quality_rules import RUBRIC_KEYS, RULE_KEYS
from appliance.services import org, quality_report, quality_review
from webapp.views.agent_common import actor, bp

ITEM_LABELS = {"forbidden_words": _l("Forbidden words"), "forbidden_promises": _l("Forbidden promises"),
               "greeting": _l("Greeting"), "closing": _l("Closing"),
               "response_time": _l("Response time"), "pii_disclosure": _l("ID or card numbers"),
               "empathy": _l("Empathy"), "correctness": _l("Correctness"),
               "resolution": _l("Resolution")}
REASON_LABELS = {
    "clean": _l("No forbidden word found."),
    "forbidden_word": _l("Forbidden word used: %(evidence)s"),
    "no_promise": _l("No forbidden promise found."),
    "forbidden_promise": _l("Forbidden promise made: %(evidence)s"),
    "greeting_found": _l("Greeting found: %(evidence)s"),
    "greeting_missing": _l("No greeting at the start of the reply."),
    "closing_found": _l("Closing found: %(evidence)s"),
    "closing_missing": _l("No closing at the end of the reply."),
    "not_configured": _l("No phrases configured for this language."),
    "in_time": _l("Answered within %(evidence)s."),
    "too_slow": _l("Answered after %(evidence)s."),
    "no_customer_message": _l("No earlier customer message to answer."),
    "no_pii": _l("No full ID or bank-card number in the reply."),
    "id_number": _l("Full resident ID number disclosed: %(evidence)s"),
    "card_number": _l("Full bank-card number disclosed: %(evidence)s"),
}
RUBRIC_STATES = {"pending": _l("Waiting for the model"), "done": _l("Scored by the model"),
                 "failed": _l("The model could not score it"), "off": _l("Not scored (AI off)")}
WHY_LABELS = {"random": _l("random sample"), "lowest": _l("lowest score"), "appeal": _l("appeal")}
APPEAL_LABELS = {"": "", "open": _l("Appeal open"), "upheld": _l("Appeal upheld"),
                 "rejected": _l("Appeal rejected")}
HISTORY_LABELS = {"adjust": _l("Adjusted"), "review": _l("Reviewed"), "appeal": _l("Appealed"),
                  "upheld": _l("Appeal upheld"), "rejected": _l("Appeal rejected")}
FIELD_MESSAGES = {
    "required": _l("This field is required."),
    "unknown item": _l("Unknown item."),
    "this inspection was appealed already (one appeal per inspection)":
        _l("This inspection was appealed already: one appeal per inspection."),
    "there is no open appeal on this inspection": _l("There is no open appeal on this inspection."),
    "must be upheld or rejected": _l("Choose upheld or rejected."),
    "a rejected appeal leaves the scores as they are":
        _l("A rejected appeal leaves the scores as they are."),
}


def finding_text(f: dict) -> str:
    label = REASON_LABELS.get(f.get("code"))
    return str(label) % {"evidence": f.get("evidence", "")} if label else f.get("reason", "")


@bp.context_processor
def _quality_globals() -> dict:
    return {"quality_item": lambda k: str(ITEM_LABELS.get(k, k)), "quality_finding": finding_text,
            "quality_state": lambda s: str(RUBRIC_STATES.get(s, s)),
            "quality_why": lambda w: str(WHY_LABELS.get(w, w)),
            "quality_appeal": lambda s: str(APPEAL_LABELS.get(s, s)),
            "quality_history": lambda k: str(HISTORY_LABELS.get(k, k)),
            # g.actor is missing on error pages rendered before the login is read (CSRF)
            "quality_reviewer": g.get("actor") is not None and quality_review.is_reviewer(g.actor)}


def _messages(fields: dict) -> dict:
    """The service's field errors in the reader's language; ranges are spelled out."""
    out = {}
    for name, message in fields.items():
        text = FIELD_MESSAGES.get(message)
        if text is None and message.startswith("must be"):
            text = _("Out of range: %(rule)s", rule=message.removeprefix("must be "))
        elif text is None and "date" in message:
            text = _("Enter a date like 2026-01-31.")
        out[name] = str(text) if text is not None else message
    return out


@bp.get("/quality")
def quality_mine():
    items = quality_review.my_inspections(actor())
    summary = quality_report.quality_summary(actor(), agent_id=actor().user_id)
    return render_template("agent/quality_mine.html", items=items, summary=summary)


@bp.get("/quality/queue")
def quality_queue():
    day = _day(request.args.get("day", ""))
    dept = request.args.get("department_id", type=int)
    rows = quality_review.sampling_queue(actor(), day, dept)
    first, _next = quality_review.week_of(day or dt.datetime.utcnow().date())
    return render_template("agent/quality_queue.html", rows=rows, week=first,
                           departments=org.list_departments(), department_id=dept)


def _day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None        # an unreadable day shows this week


@bp.get("/quality/<int:inspection_id>")
def quality_inspection(inspection_id: int):
    return _page(inspection_id)


def _page(inspection_id: int, errors: dict | None = None, form: dict | None = None,
          status: int = 200):
    view = quality_review.get_inspection(actor(), inspection_id)
    return render_template("agent/quality_inspection.html", ins=view, errors=errors or {},
                           form=form or {}, rule_keys=RULE_KEYS, rubric_keys=RUBRIC_KEYS), status


def _changes() -> dict:
    return {k: request.form.get(f"item_{k}", "").strip() for k in RULE_KEYS + RUBRIC_KEYS
            if request.form.get(f"item_{k}", "").strip()}


def _act(inspection_id: int, call, done: str):
    try:
        call()
    except ValidationError as exc:
        return _page(inspection_id, _messages(exc.fields), dict(request.form), exc.http_status)
    except Conflict:
        return _page(inspection_id, {"version": _("Someone changed this inspection meanwhile; "
                                                  "reload and try again.")},
                     dict(request.form), 409)
    flash(done, "success")
    return redirect(url_for("agent.quality_inspection", inspection_id=inspection_id))


@bp.post("/quality/<int:inspection_id>/adjust")
def quality_adjust(inspection_id: int):
    return _act(inspection_id, lambda: quality_review.adjust(
        actor(), inspection_id, _changes(), request.form.get("comment", ""),
        expected_version=request.form.get("version")),
        _("The review was saved."))


@bp.post("/quality/<int:inspection_id>/appeal")
def quality_appeal(inspection_id: int):
    return _act(inspection_id, lambda: quality_review.appeal(
        actor(), inspection_id, request.form.get("reason", "")),
        _("Your appeal was sent."))


@bp.post("/quality/<int:inspection_id>/resolve")
def quality_resolve(inspection_id: int):
    return _act(inspection_id, lambda: quality_review.resolve_appeal(
        actor(), inspection_id, request.form.get("outcome", ""), request.form.get("comment", ""),
        _changes(), expected_version=request.form.get("version")),
        _("The appeal was decided."))


@bp.get("/quality/summary")
def quality_summary_page():
    args = {k: request.args.get(k, "") for k in ("date_from", "date_to", "department_id",
                                                  "agent_id")}
    try:
        summary = quality_report.quality_summary(actor(), args["date_from"], args["date_to"],
                                                 args["department_id"], args["agent_id"])
    except ValidationError as exc:
        return render_template("agent/quality_summary.html", summary=None, args=args,
                               errors=_messages(exc.fields),
                               departments=org.list_departments()), 400
    return render_template("agent/quality_summary.html", summary=summary, args=args, errors={},
                           departments=org.list_departments())
