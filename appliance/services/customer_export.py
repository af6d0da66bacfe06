"""A copy of a customer's personal information on request (PIPL art. 45: access, copy and
transfer), as one JSON document.

What it holds: the profile (name, company, tags, contacts, ID number and address, all in
full), the customer's tickets the exporter may see, with their public conversation and the
names of public attachments, the customer's chats and calls (channel, times, identifiers
as received) and callback numbers. What it leaves out: internal notes and internal
attachments (staff work about the request, not the customer's data), and tickets outside
the exporter's department scope — counted in `withheld_tickets`, so an administrator who
sees every department can make the complete copy. Each export is an audited PII read.
"""
from __future__ import annotations

import datetime as dt

from appliance.errors import NotFound, PermissionDenied
from appliance.models import Attachment, Callback, Comment, Conversation, Customer, Ticket, User
from appliance.rules.access import Actor, can_export_customers, can_view_ticket
from appliance.services import audit, common, identity
from appliance.services import conversation_personal as personal
from appliance.services.callbacks import phone_of
from appliance.services.customers import customer_view

FORMAT = "gongdan.customer-export/1"


def export_customer(actor: Actor, customer_id: int) -> dict:
    """The document for the (surviving) customer; raises PermissionDenied / NotFound."""
    if not can_export_customers(actor):
        raise PermissionDenied("exporting customer data needs the customer.export permission")
    c = Customer.get_or_none(Customer.id == identity.survivor(customer_id))
    if c is None:
        raise NotFound("customer not found", id=customer_id)
    tickets, withheld = _visible_tickets(actor, c.id)
    doc = {"format": FORMAT, "exported_at": _iso(dt.datetime.now(dt.timezone.utc)),
           "customer": _profile(c), "tickets": [_ticket(t) for t in tickets],
           "withheld_tickets": withheld, "conversations": _conversations(c.id, tickets),
           "callbacks": _callbacks(tickets)}
    # Counts only: the audit log names whose data left, never the data.
    audit.record("customer.exported", actor_id=actor.user_id, object_type="customer",
                 object_id=c.id, detail={"tickets": len(tickets), "withheld": withheld})
    return doc


def _visible_tickets(actor: Actor, customer_id: int) -> tuple[list[Ticket], int]:
    rows = list(Ticket.select().where(Ticket.customer == customer_id).order_by(Ticket.id))
    shown = [t for t in rows if can_view_ticket(actor, common.facts(t))]
    return shown, len(rows) - len(shown)


def _profile(c: Customer) -> dict:
    v = customer_view(c, None, True)  # in full: the copy is for the customer
    return {"id": v.id, "name": v.name, "company": v.company, "tags": v.tags,
            "id_number": v.id_number, "address": v.address,
            "contacts": [{"kind": x.kind, "value": x.value, "label": x.label} for x in v.contacts],
            "created_at": _iso(v.created_at), "erased_at": _iso(v.erased_at)}


def _ticket(t: Ticket) -> dict:
    comments = list(Comment.select().where((Comment.ticket == t.id) & (Comment.internal == False))  # noqa: E712
                    .order_by(Comment.created_at, Comment.id))
    names = _names({m.author_id for m in comments if m.author_id})
    files = (Attachment.select().where((Attachment.ticket == t.id) & (Attachment.internal == False))  # noqa: E712
             .order_by(Attachment.id))
    return {"number": t.number, "subject": t.subject, "description": t.description,
            "channel": t.channel, "status": t.status, "created_at": _iso(t.created_at),
            "resolved_at": _iso(t.resolved_at), "closed_at": _iso(t.closed_at),
            "messages": [{"from": m.author_kind, "author": names.get(m.author_id, ""), "channel": m.channel,
                          "at": _iso(m.created_at), "body": m.body} for m in comments],
            "attachments": [{"filename": a.filename, "content_type": a.content_type,
                             "size": a.size, "sha256": a.sha256, "at": _iso(a.created_at)}
                            for a in files]}


def _names(user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return {r.id: r.name for r in common.refs(User, sorted(user_ids), "display_name")}


def _conversations(customer_id: int, tickets: list[Ticket]) -> list[dict]:
    """The customer's chats and calls, except those attached to a withheld ticket."""
    allowed = {t.id for t in tickets}
    rows = Conversation.select().where(Conversation.customer == customer_id).order_by(Conversation.id)
    return [{"channel": r.channel, "started_at": _iso(r.started_at), "ended_at": _iso(r.ended_at),
             "identifiers": personal.read(r)[0], "ticket": _number(r.ticket_id, tickets)}
            for r in rows if r.ticket_id is None or r.ticket_id in allowed]


def _callbacks(tickets: list[Ticket]) -> list[dict]:
    if not tickets:
        return []
    rows = Callback.select().where(Callback.ticket.in_([t.id for t in tickets])).order_by(Callback.id)
    return [{"ticket": _number(r.ticket_id, tickets), "phone": phone_of(r),
             "due_at": _iso(r.due_at), "status": r.status} for r in rows]


def _number(ticket_id: int | None, tickets: list[Ticket]) -> str | None:
    return next((t.number for t in tickets if t.id == ticket_id), None)


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # stored in UTC without a zone (models.utcnow)
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat()
