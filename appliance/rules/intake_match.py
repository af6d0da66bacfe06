"""Does a conversation that needs a ticket belong on one of the customer's open tickets?

Pure. The rule (docs/decisions/0014-chat-call-intake.md), checked per open ticket of the
same customer, newest activity first:
1. Same order: an order number the AI step found is on the ticket already (in the
   subject or description, or found in an earlier conversation added to it). Order
   numbers identify an issue, so no time limit applies.
2. Same product, same channel, recently: the ticket was made from the same kind of
   conversation (chat or phone) within SAME_PRODUCT_HOURS, and an earlier conversation
   on it named the same product. A customer who calls twice about the same washing
   machine in an afternoon has one problem, not two.
Anything else is a new ticket: a wrong merge hides a problem, a wrong split costs a
click (agents can merge tickets).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

SAME_PRODUCT_HOURS = 72
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class OpenTicket:
    id: int
    channel: str
    created_at: dt.datetime
    text: str                        # subject and description
    order_numbers: frozenset[str]    # found by earlier conversations on this ticket
    products: frozenset[str]


def norm_order(value: str) -> str:
    return _SPACE.sub("", value or "").upper()


def norm_product(value: str) -> str:
    return " ".join((value or "").casefold().split())


def same_issue(tickets: list[OpenTicket], *, order_numbers, product: str, channel: str,
               now: dt.datetime) -> tuple[int, str] | None:
    """(ticket id, reason "order" | "product") of the first matching ticket, or None."""
    orders = {norm_order(o) for o in order_numbers if norm_order(o)}
    wanted = norm_product(product)
    for t in tickets:
        text = norm_order(t.text)
        known = {norm_order(o) for o in t.order_numbers}
        if orders and any(o in known or (len(o) >= 6 and o in text) for o in orders):
            return t.id, "order"
    recent = now - dt.timedelta(hours=SAME_PRODUCT_HOURS)
    for t in tickets:
        if (wanted and t.channel == channel and t.created_at >= recent
                and wanted in {norm_product(p) for p in t.products}):
            return t.id, "product"
    return None
