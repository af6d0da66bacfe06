"""Relations between tickets: links, sub-tickets, merge and split."""
from __future__ import annotations

from flask import g

from appliance.services import links
from webapp.api import api_bp
from webapp.api.payload import ID_RULE, choice, identifier, json_body, nullable, text
from webapp.api.tickets import TICKET_FIELDS, detail_reply, settings, ticket_input

KIND_RULE = "any(" + ", ".join(links.LINK_KINDS) + ")"


@api_bp.post(f"/tickets/<{ID_RULE}:ticket_id>/links")
def link_ticket(ticket_id: int):
    values = json_body({"target_id": identifier, "kind": choice(*links.LINK_KINDS)},
                       required=("target_id", "kind"))
    detail = links.link_tickets(g.actor, ticket_id, values["target_id"], values["kind"], settings())
    return detail_reply(detail, 201)


@api_bp.delete(f"/tickets/<{ID_RULE}:ticket_id>/links/<{KIND_RULE}:kind>/<{ID_RULE}:target_id>")
def unlink_ticket(ticket_id: int, kind: str, target_id: int):
    return detail_reply(links.unlink_tickets(g.actor, ticket_id, target_id, kind, settings()))


@api_bp.post(f"/tickets/<{ID_RULE}:ticket_id>/merge")
def merge_ticket(ticket_id: int):
    values = json_body({"target_id": identifier}, required=("target_id",))
    return detail_reply(links.merge_tickets(g.actor, ticket_id, values["target_id"], settings()))


@api_bp.post(f"/tickets/<{ID_RULE}:ticket_id>/subtickets")
def create_subticket(ticket_id: int):
    values = json_body(TICKET_FIELDS, required=("subject",))
    detail = links.create_subticket(g.actor, ticket_id, ticket_input(values), settings())
    return detail_reply(detail, 201)


@api_bp.post(f"/tickets/<{ID_RULE}:ticket_id>/split")
def split_ticket(ticket_id: int):
    values = json_body({"comment_id": identifier, "subject": nullable(text(255))},
                       required=("comment_id",))
    detail = links.split_comment(g.actor, ticket_id, values["comment_id"], settings(),
                                 subject=values.get("subject"))
    return detail_reply(detail, 201)
