"""The customer profile panel on a ticket: who the customer is (contacts masked as the
reader's role requires), tags and VIP tier, open and past tickets, recent chats and calls.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance import dto
from appliance.errors import PermissionDenied
from appliance.models import Customer
from appliance.rules import states
from appliance.rules.access import Actor, can_view_customers
from appliance.services import audit, common, conversation_views, identity
from appliance.services.customers import customer_view
from appliance.services.dispatch_state import vip_tier
from appliance.services.queues import TicketQuery, list_tickets

OPEN_SHOWN = 5
PAST_SHOWN = 5
CONVERSATIONS_SHOWN = 5


@dataclass(frozen=True)
class ConversationItem:
    id: int
    channel: str          # chat | call
    at: dt.datetime
    status: str           # received | analysed | failed
    outcome: str          # ticket | appended | resolved | ""
    ticket: dto.Ref | None  # name is the ticket number


@dataclass(frozen=True)
class CustomerPanel:
    ticket_id: int
    customer: dto.CustomerView
    vip_tier: str
    open_tickets: list[dto.TicketSummary]
    past_tickets: list[dto.TicketSummary]
    conversations: list[ConversationItem]


def ticket_customer_panel(actor: Actor, ticket_id: int) -> CustomerPanel | None:
    """The panel for a ticket the actor may see; None when the ticket has no customer."""
    if not can_view_customers(actor):
        raise PermissionDenied("staff only")
    t = common.ticket_for(actor, ticket_id)
    customer_id = identity.survivor(t.customer_id)
    c = Customer.get_or_none(Customer.id == customer_id) if customer_id else None
    if c is None:
        return None
    # Other tickets through the queue query: the same visibility rules as the queues.
    others = [x for x in _tickets(actor, c.id, sorted(states.OPEN_STATUSES), OPEN_SHOWN + 1)
              if x.id != t.id][:OPEN_SHOWN]
    past = [x for x in _tickets(actor, c.id, ["resolved", "closed"], PAST_SHOWN + 1)
            if x.id != t.id][:PAST_SHOWN]
    audit.record("customer.pii_viewed", actor_id=actor.user_id, object_type="customer", object_id=c.id, detail={"ticket_id": t.id})
    return CustomerPanel(t.id, customer_view(c, actor), vip_tier(c.id), others, past,
                         recent_conversations(actor, c.id))


def _tickets(actor: Actor, customer_id: int, statuses: list[str], limit: int):
    return list_tickets(actor, TicketQuery(view="all", customer_id=customer_id,
                                           status=statuses, limit=limit)).items


def recent_conversations(actor: Actor, customer_id: int, limit: int = CONVERSATIONS_SHOWN
                         ) -> list[ConversationItem]:
    """The customer's latest chats and calls, newest first, through the access-checked
    conversation_views.recent_for_customer: those on a ticket the actor may not see are
    left out, so the panel never names (or links) such a ticket."""
    return [ConversationItem(v.id, v.channel, v.started_at or v.created_at, v.status,
                             v.outcome, dto.Ref(v.ticket_id, v.ticket_number)
                             if v.ticket_id and v.ticket_number else None)
            for v in conversation_views.recent_for_customer(actor, customer_id, limit)]
