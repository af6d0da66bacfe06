"""The ticket page: conversation, timeline, properties, replies and notes, new
tickets, and attachment downloads."""
from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from appliance.errors import (
    Conflict,
    DomainError,
    IllegalTransition,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationError,
)
from appliance.rules import states
from appliance.services import comments, customers, knowledge_suggest, org, tickets
from webapp.files import attachment_response, uploads_from_request
from webapp.messages import translate
from webapp.views.agent_common import (
    actor,
    bp,
    filesize,
    form_choices,
    names_for,
    settings,
)
from webapp.views.agent_forms import (
    posted_values,
    property_changes,
    property_values,
    ticket_input,
)

log = logging.getLogger(__name__)


def upload_error(exc: DomainError) -> str:
    """A translated message for a rejected upload (the service's text names the file)."""
    if isinstance(exc, PayloadTooLarge):
        text = _("A file is larger than the limit of %(limit)s. Nothing was saved.",
                 limit=filesize(settings().max_attachment_bytes))
    else:
        text = _("This file type is not allowed, or its content does not match its "
                 "extension. Nothing was saved.")
    return f"{text} ({translate(exc.message)})"


def render_ticket(detail, status: int = 200, **ctx):
    """The ticket page; ctx may carry form values, errors and an alert to show."""
    choices = form_choices()
    shown = property_values(detail, choices["field_defs"])
    return render_template(
        "agent/ticket.html", t=detail, s=detail.summary, choices=choices,
        names=names_for(choices, detail), form=ctx.get("form") or shown,
        version=ctx.get("version") or detail.summary.version, errors=ctx.get("errors") or {},
        alert=ctx.get("alert"), allowed=ctx.get("allowed"), reply=ctx.get("reply") or {},
        link_errors=ctx.get("link_errors") or {}, statuses=states.STATUSES,
        priorities=states.PRIORITIES, urgencies=states.URGENCIES), status


@bp.get("/tickets/<int:ticket_id>")
def ticket(ticket_id: int):
    return render_ticket(tickets.get_ticket(actor(), ticket_id, settings()))


def _conflict_page(ticket_id: int):
    return render_ticket(tickets.get_ticket(actor(), ticket_id, settings()), 409, alert=_(
        "Someone else changed this ticket while you were editing it. Nothing was saved: "
        "reload the ticket to see the changes, then apply yours again."))


def _illegal_page(ticket_id: int, exc: IllegalTransition):
    detail = tickets.get_ticket(actor(), ticket_id, settings())
    from webapp.filters import STATUS_LABELS
    alert = _("A ticket cannot move from “%(current)s” to “%(requested)s”.",
              current=STATUS_LABELS.get(exc.details["current"], exc.details["current"]),
              requested=STATUS_LABELS.get(exc.details["requested"], exc.details["requested"]))
    return render_ticket(detail, 409, alert=alert, allowed=exc.allowed)


@bp.post("/tickets/<int:ticket_id>/properties")
def update_properties(ticket_id: int):
    detail = tickets.get_ticket(actor(), ticket_id, settings())
    defs = org.list_custom_fields(active_only=True)
    shown, posted = property_values(detail, defs), posted_values(request.form, defs)
    changes = property_changes(shown, posted, defs, settings().timezone)
    version = request.form.get("expected_version", "")
    if not changes:
        flash(_("Nothing to save: no field was changed."), "info")
        return redirect(url_for("agent.ticket", ticket_id=ticket_id))
    try:
        tickets.update_ticket(actor(), ticket_id, changes, settings(), expected_version=version)
    except Conflict:
        return _conflict_page(ticket_id)
    except IllegalTransition as exc:
        return _illegal_page(ticket_id, exc)
    except ValidationError as exc:
        return render_ticket(detail, 400, form={**shown, **posted}, errors=exc.fields,
                             version=version, alert=_("Some fields need attention."))
    flash(_("Ticket updated."), "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id))


@bp.post("/tickets/<int:ticket_id>/comments")
def add_comment(ticket_id: int):
    internal = request.form.get("kind") == "note"
    body, kb_uses = request.form.get("body", ""), request.form.get("kb_uses", "")
    try:
        comment = comments.add_comment(actor(), ticket_id, body, settings(), internal=internal,
                                       uploads=uploads_from_request())
    except (ValidationError, PayloadTooLarge, UnsupportedMediaType) as exc:
        errors = exc.fields if isinstance(exc, ValidationError) else {
            "attachments": upload_error(exc)}
        return render_ticket(tickets.get_ticket(actor(), ticket_id, settings()),
                             exc.http_status, errors=errors,
                             reply={"body": body, "kind": "note" if internal else "reply",
                                    "kb_uses": kb_uses})
    _record_kb_uses(ticket_id, comment.id, kb_uses)
    flash(_("Internal note added.") if internal else _("Reply sent."), "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id, _anchor="reply"))


def _record_kb_uses(ticket_id: int, comment_id: int, kb_uses: str) -> None:
    """Articles inserted from the Knowledge panel (forged or unreadable ones are dropped).
    The reply is already committed and sent: a failure here only loses a reuse figure,
    so it is logged, not shown — a 500 would make the agent send the reply again."""
    try:
        knowledge_suggest.record_reply_uses(actor(), ticket_id, comment_id,
                                            knowledge_suggest.parse_uses(kb_uses))
    except Exception:  # noqa: BLE001 - whatever failed, the reply stands
        log.warning("recording knowledge uses failed for ticket %s comment %s",
                    ticket_id, comment_id, exc_info=True)


def _new_ticket_defaults() -> dict:
    values = {"channel": "phone", "priority": "3", "urgency": "medium",
              "department_id": str(actor().department_id or "")}
    customer_id = request.args.get("customer_id", type=int)
    if customer_id:
        values["customer_id"] = str(customers.get_customer(actor(), customer_id).id)
    return values


@bp.route("/tickets/new", methods=["GET", "POST"])
def new_ticket():
    choices, errors = form_choices(), {}
    form = request.form if request.method == "POST" else MultiDict(_new_ticket_defaults())
    if request.method == "POST":
        data = ticket_input(request.form, choices["field_defs"], settings().timezone)
        try:
            detail = tickets.create_ticket(actor(), data, settings(),
                                           uploads=uploads_from_request())
        except ValidationError as exc:
            errors, status = exc.fields, 400
        except (PayloadTooLarge, UnsupportedMediaType) as exc:
            errors, status = {"attachments": upload_error(exc)}, exc.http_status
        else:
            flash(_("Ticket %(number)s created.", number=detail.summary.number), "success")
            return redirect(url_for("agent.ticket", ticket_id=detail.summary.id))
    else:
        status = 200
    return render_template("agent/ticket_new.html", form=form, errors=errors, choices=choices,
                           channels=states.CHANNELS, priorities=states.PRIORITIES,
                           urgencies=states.URGENCIES), status


@bp.get("/attachments/<int:attachment_id>")
def download(attachment_id: int):
    return attachment_response(actor(), attachment_id, settings())
