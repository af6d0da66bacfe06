"""Ticket relations from the ticket page: merge, link, sub-tickets and split."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.services import links, tickets
from appliance.services.tickets import TicketInput
from webapp.messages import translate
from webapp.views.agent_common import actor, bp, settings
from webapp.views.agent_tickets import render_ticket

LINK_KINDS = ("related", "duplicate", "parent")


def _message(exc) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(translate(m) for m in exc.fields.values())
    if isinstance(exc, NotFound):
        return _("No ticket with this number or id that you may see.")
    return translate(exc.message)


def _failed(ticket_id: int, action: str, exc):
    """Back to the ticket page with the action's error next to its form."""
    detail = tickets.get_ticket(actor(), ticket_id, settings())
    return render_ticket(detail, exc.http_status, link_errors={action: _message(exc)},
                         alert=_("The action was not carried out."))


def _target(ticket_id: int) -> int:
    """The other ticket, typed as a number or id (after checking this one is visible)."""
    tickets.get_ticket(actor(), ticket_id, settings())  # 404 for a ticket out of scope
    return tickets.find_ticket_id(actor(), request.form.get("target", ""))


@bp.post("/tickets/<int:ticket_id>/merge")
def merge(ticket_id: int):
    try:
        target = _target(ticket_id)
        merged = links.merge_tickets(actor(), ticket_id, target, settings())
    except (ValidationError, NotFound, Conflict) as exc:
        return _failed(ticket_id, "merge", exc)
    flash(_("Merged into %(number)s.", number=merged.summary.number), "success")
    return redirect(url_for("agent.ticket", ticket_id=merged.summary.id))


@bp.post("/tickets/<int:ticket_id>/links")
def link(ticket_id: int):
    kind = request.form.get("kind", "related")
    try:
        if kind not in LINK_KINDS:
            raise ValidationError({"kind": "must be related, duplicate or parent"})
        links.link_tickets(actor(), ticket_id, _target(ticket_id), kind, settings())
    except (ValidationError, NotFound, Conflict) as exc:
        return _failed(ticket_id, "link", exc)
    flash(_("Tickets linked."), "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id))


@bp.post("/tickets/<int:ticket_id>/subtickets")
def subticket(ticket_id: int):
    parent = tickets.get_ticket(actor(), ticket_id, settings())
    data = TicketInput(
        subject=request.form.get("subject", ""), description=request.form.get("description", ""),
        channel=parent.summary.channel,
        priority=request.form.get("priority") or parent.summary.priority,
        department_id=request.form.get("department_id") or None)
    try:
        child = links.create_subticket(actor(), ticket_id, data, settings())
    except (ValidationError, Conflict) as exc:
        return _failed(ticket_id, "subticket", exc)
    flash(_("Sub-ticket %(number)s created.", number=child.summary.number), "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id))


@bp.post("/tickets/<int:ticket_id>/comments/<int:comment_id>/split")
def split(ticket_id: int, comment_id: int):
    subject = request.form.get("subject", "").strip() or None
    try:
        new = links.split_comment(actor(), ticket_id, comment_id, settings(), subject=subject)
    except (ValidationError, Conflict) as exc:
        return _failed(ticket_id, "split", exc)
    flash(_("The reply is now ticket %(number)s.", number=new.summary.number), "success")
    return redirect(url_for("agent.ticket", ticket_id=new.summary.id))
