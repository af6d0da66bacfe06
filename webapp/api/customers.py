"""Customers: list by name prefix, create, read, change, merge, and their ticket history.
Contacts come back masked where the caller's role requires (rules/pii.py)."""
from __future__ import annotations

from flask import g

from appliance.services import customer_merge, customers
from webapp.api import api_bp
from webapp.api.payload import (ID_RULE, MAX_ID, choice, if_match, integer, json_body, list_of,
                                query_int, query_text, record, reply, text, text_list)

CONTACT = record({"kind": choice("phone", "email", "external"), "value": text(254), "label": text(64)},
                 required=("kind", "value"))
CUSTOMER_FIELDS = {"name": text(200), "company": text(200), "tags": text_list(20, 64),
                   "notes": text(10_000), "contacts": list_of(CONTACT, 20),
                   "id_number": text(32), "address": text(500)}


@api_bp.get("/customers")
def list_customers():
    page = customers.list_customers(
        g.actor, search=query_text("name", "", max_len=200),
        after_id=query_int("cursor", 0, 0, MAX_ID), limit=query_int("limit", 50, 1, 200))
    return reply(page)


@api_bp.post("/customers")
def create_customer():
    values = json_body(CUSTOMER_FIELDS, required=("name",))
    return reply(customers.create_customer(g.actor, **values), 201)


@api_bp.get(f"/customers/<{ID_RULE}:customer_id>")
def get_customer(customer_id: int):
    return _with_etag(customers.get_customer(g.actor, customer_id))


@api_bp.patch(f"/customers/<{ID_RULE}:customer_id>")
def update_customer(customer_id: int):
    changes = json_body({**CUSTOMER_FIELDS, "expected_version": integer(1, MAX_ID)})
    version = changes.pop("expected_version", None) or if_match("customer")
    view = customers.update_customer(g.actor, customer_id, changes, expected_version=version)
    return _with_etag(view)


@api_bp.post(f"/customers/<{ID_RULE}:customer_id>/merge")
def merge_customer(customer_id: int):
    """Merge this customer into "into" (supervisors and administrators)."""
    body = json_body({"into": integer(1, MAX_ID), "expected_version": integer(1, MAX_ID)},
                     required=("into",))
    version = body.get("expected_version") or if_match("customer")
    return _with_etag(customer_merge.merge_customers(g.actor, customer_id, body["into"],
                                                     expected_version=version))


@api_bp.get(f"/customers/<{ID_RULE}:customer_id>/tickets")
def customer_tickets(customer_id: int):
    cursor = query_text("cursor", max_len=200)
    return reply(customers.customer_history(g.actor, customer_id, cursor=cursor))


def _with_etag(view):
    return reply(view, 200, {"ETag": f'"{view.version}"'})

