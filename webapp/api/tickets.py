"""Tickets: list with filters and keyset paging, create, read, change, move status."""
from __future__ import annotations

from flask import current_app, g

from appliance.rules import states
from appliance.services import queues, tickets
from appliance.services.queues import TicketQuery
from appliance.services.tickets import TicketInput
from webapp.api import api_bp
from webapp.api.payload import (ID_RULE, MAX_ID, choice, identifier, if_match, integer, into,
                                json_body, json_object, nullable, query_choice, query_datetime,
                                query_int, query_list, query_text, reply, text, text_list,
                                timestamp)

TICKET_FIELDS = {
    "subject": text(255), "description": text(100_000), "channel": choice(*states.CHANNELS),
    "priority": integer(1, 4), "urgency": choice(*states.URGENCIES),
    "category_id": nullable(identifier), "department_id": nullable(identifier),
    "assignee_id": nullable(identifier), "customer_id": nullable(identifier),
    "tags": text_list(20, 64), "custom_fields": json_object, "due_at": nullable(timestamp),
}
CHANGE_FIELDS = {**{k: v for k, v in TICKET_FIELDS.items() if k in tickets.EDITABLE},
                 "status": choice(*states.STATUSES), "expected_version": integer(1, MAX_ID)}


def settings():
    return current_app.config["GONGDAN"]


def ticket_input(values: dict) -> TicketInput:
    """A create payload; tickets made through the API come from the "api" channel by default."""
    return into(TicketInput, {"channel": "api", **values})


def expected_version(values: dict):
    """The version the client read: `expected_version` in the body, or an If-Match header."""
    if "expected_version" in values:
        return values.pop("expected_version")
    return if_match("ticket")


def detail_reply(detail, status: int = 200):
    return reply(detail, status, {"ETag": f'"{detail.summary.version}"'})


def _ticket_query() -> TicketQuery:
    assignee = query_text("assignee_id", max_len=12)
    if assignee not in (None, "", "me", "none"):
        assignee = query_int("assignee_id")
    return TicketQuery(
        view=query_choice("view", queues.VIEWS, "all"),
        status=query_list("status", states.STATUSES),
        priority=[int(p) for p in query_list("priority", tuple(str(p) for p in states.PRIORITIES))],
        department_id=query_int("department_id"), assignee_id=assignee or None,
        customer_id=query_int("customer_id"), category_id=query_int("category_id"),
        channel=query_choice("channel", states.CHANNELS), tag=query_text("tag", max_len=64),
        created_from=query_datetime("created_from"), created_to=query_datetime("created_to"),
        sort=query_choice("sort", queues.SORTS, "newest"),
        cursor=query_text("cursor", max_len=200), limit=query_int("limit", 50, 1, 200))


@api_bp.get("/tickets")
def list_tickets():
    return reply(queues.list_tickets(g.actor, _ticket_query()))


@api_bp.post("/tickets")
def create_ticket():
    values = json_body(TICKET_FIELDS, required=("subject",))
    detail = tickets.create_ticket(g.actor, ticket_input(values), settings())
    return detail_reply(detail, 201)


@api_bp.get(f"/tickets/<{ID_RULE}:ticket_id>")
def get_ticket(ticket_id: int):
    return detail_reply(tickets.get_ticket(g.actor, ticket_id, settings()))


@api_bp.patch(f"/tickets/<{ID_RULE}:ticket_id>")
def update_ticket(ticket_id: int):
    changes = json_body(CHANGE_FIELDS)
    version = expected_version(changes)
    detail = tickets.update_ticket(g.actor, ticket_id, changes, settings(),
                                   expected_version=version)
    return detail_reply(detail)


@api_bp.post(f"/tickets/<{ID_RULE}:ticket_id>/transitions")
def transition_ticket(ticket_id: int):
    values = json_body({"status": choice(*states.STATUSES),
                        "expected_version": integer(1, MAX_ID)}, required=("status",))
    version = expected_version(values)
    detail = tickets.transition_ticket(g.actor, ticket_id, values["status"], settings(),
                                       expected_version=version)
    return detail_reply(detail)
