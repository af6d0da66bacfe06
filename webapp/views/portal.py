"""Customer portal: sign up, list my tickets, submit a ticket, follow and answer it.

Customers see only their own tickets and only public content; the services
enforce that, and the templates render nothing internal on top of it.
"""
from __future__ import annotations

import functools

from flask import (Blueprint, current_app, flash, g, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _

from appliance.errors import (Conflict, DomainError, IllegalTransition, PayloadTooLarge,
                              UnsupportedMediaType, ValidationError)
from appliance.services import comments, customers, org, portal, tickets, users
from appliance.services.queues import TicketQuery, list_tickets
from webapp.auth import cookie_name, login_required, set_session_cookie
from webapp.client import client_address
from webapp.files import attachment_response, uploads_from_request

bp = Blueprint("portal", __name__, url_prefix="/portal")
PAGE_SIZE = 25


def customer_only(view):
    """Customers only; staff who come here are sent to their own queue."""
    @functools.wraps(view)
    @login_required()
    def wrapped(*args, **kwargs):
        if g.user.role != "customer":
            return redirect(url_for("agent.queue"))
        return view(*args, **kwargs)
    return wrapped


def _settings():
    return current_app.config["GONGDAN"]


def _errors_of(exc: DomainError) -> tuple[dict, int]:
    """Field messages and the HTTP status for a failed form submission."""
    if isinstance(exc, ValidationError):
        return exc.fields, 400
    return {exc.details.get("field", "form"): exc.message}, exc.http_status


@bp.get("/", endpoint="tickets")
@customer_only
def my_tickets():
    cursor = request.args.get("cursor") or None
    page = list_tickets(g.actor, TicketQuery(view="all", cursor=cursor, limit=PAGE_SIZE))
    return render_template("portal/tickets.html", page=page, paged=cursor is not None)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if g.user is not None:
        return redirect(url_for("home.index"))
    form = {k: request.form.get(k, "") for k in ("username", "display_name", "email")}
    errors: dict = {}
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm_password", ""):
            errors = {"confirm_password": _("The two passwords differ.")}
        else:
            try:
                user = customers.sign_up(form["username"], form["display_name"], form["email"],
                                         password)
            except ValidationError as exc:
                errors = exc.fields
            else:
                return _logged_in(user)
    return render_template("portal/signup.html", form=form, errors=errors), 400 if errors else 200


def _logged_in(user):
    """Start a fresh session for the new customer (never reuse one from before)."""
    users.end_session(request.cookies.get(cookie_name(), ""))
    token = users.start_session(user, client_address(),
                                request.headers.get("User-Agent", ""))
    flash(_("Welcome! Your account is ready."), "success")
    response = redirect(url_for("portal.tickets"))
    set_session_cookie(response, token)
    return response


def _ticket_input(fields) -> tickets.TicketInput:
    """Only the fields the portal form offers; custom fields by their declared keys."""
    f = request.form
    custom = {d.key: f.getlist("cf." + d.key) if d.kind == "multiselect"
              else f.get("cf." + d.key, "") for d in fields}
    return tickets.TicketInput(subject=f.get("subject", ""), description=f.get("description", ""),
                               category_id=f.get("category_id") or None, custom_fields=custom)


@bp.route("/new", methods=["GET", "POST"])
@customer_only
def new_ticket():
    fields = org.list_custom_fields(active_only=True)
    errors, status = {}, 200
    if request.method == "POST":
        try:
            detail = portal.submit_ticket(g.actor, _ticket_input(fields), uploads_from_request(), _settings())
        except (ValidationError, PayloadTooLarge, UnsupportedMediaType) as exc:
            errors, status = _errors_of(exc)
        else:
            flash(_("Ticket %(number)s was submitted.", number=detail.summary.number), "success")
            return redirect(url_for("portal.ticket", ticket_id=detail.summary.id))
    return render_template("portal/new.html", fields=fields, errors=errors, form=request.form,
                           categories=org.list_categories(active_only=True)), status


def _render_ticket(ticket_id: int, *, errors=None, body: str = "", status: int = 200):
    t = tickets.get_ticket(g.actor, ticket_id, _settings())
    labels = {d.key: d.label for d in org.list_custom_fields(active_only=True)}
    from appliance.services import csat
    survey = csat.pending_for_ticket(g.actor, ticket_id, _settings())
    return render_template("portal/ticket.html", t=t, labels=labels, errors=errors or {},
                           body=body, can_reply=t.can_reply, survey=survey,
                           can_close="closed" in t.allowed_transitions), status


@bp.get("/tickets/<int:ticket_id>")
@customer_only
def ticket(ticket_id: int):
    return _render_ticket(ticket_id)


@bp.post("/tickets/<int:ticket_id>/reply")
@customer_only
def reply(ticket_id: int):
    body = request.form.get("body", "")
    try:
        comments.add_comment(g.actor, ticket_id, body, _settings(), uploads=uploads_from_request())
    except (ValidationError, PayloadTooLarge, UnsupportedMediaType) as exc:
        errors, status = _errors_of(exc)
        return _render_ticket(ticket_id, errors=errors, body=body, status=status)
    except Conflict as exc:
        return _render_ticket(ticket_id, errors={"form": exc.message}, body=body, status=409)
    flash(_("Your reply was sent."), "success")
    return redirect(url_for("portal.ticket", ticket_id=ticket_id))


@bp.post("/tickets/<int:ticket_id>/close")
@customer_only
def close(ticket_id: int):
    try:
        tickets.transition_ticket(g.actor, ticket_id, "closed", _settings())
    except IllegalTransition:
        return _render_ticket(ticket_id, errors={"form": _("This ticket cannot be closed now.")},
                              status=409)
    flash(_("The ticket was closed."), "success")
    return redirect(url_for("portal.ticket", ticket_id=ticket_id))


@bp.get("/attachments/<int:attachment_id>")
@customer_only
def attachment(attachment_id: int):
    return attachment_response(g.actor, attachment_id, _settings())


# The knowledge pages register their routes on `bp` when imported.
from webapp.views import portal_kb  # noqa: E402,F401
from webapp.views import portal_survey  # noqa: E402,F401
