"""Customers (the people and organisations tickets are for) and their contacts."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow

CONTACT_KINDS = ("phone", "email", "external")


class Customer(BaseModel):
    # The name is PII, encrypted like the fields below (bound to customer|name|id) with a
    # blind index of its comparison form for exact lookups: services.customer_names,
    # migration 0033. Read and write it through that module.
    name_enc = pw.TextField(default="")
    name_bidx = pw.CharField(max_length=64, default="", index=True)
    company = pw.CharField(max_length=200, default="")
    tags = pw.JSONField(default=list)
    notes = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)
    version = pw.IntegerField(default=1)
    # A duplicate merged into another customer keeps its row (history, old links) but is
    # hidden from lists and matching; merged_into points to the survivor.
    merged_into = pw.ForeignKeyField("self", null=True, backref="merged", on_delete="SET NULL",
                                     index=False)   # partial index below
    merged_at = pw.DateTimeField(null=True)
    # PII encrypted at rest (services.encryption, bound to customer|<column>|id); the
    # resident ID number also has a blind index for exact lookups. Migration 0018.
    id_number_enc = pw.TextField(default="")
    id_number_bidx = pw.CharField(max_length=64, default="")   # partial index below
    address_enc = pw.TextField(default="")
    erased_at = pw.DateTimeField(null=True)  # anonymised on request (PIPL), services.erasure


# Columns empty on nearly every row get partial indexes holding only the rows that have a
# value (migration 0032): SQLite's statistics count the empty rows as one value shared by
# the whole table, and its planner then scans the table instead of using a full index.
Customer.add_index(Customer.index(Customer.merged_into, name="customer_merged_into_id",
                                  where=Customer.merged_into.is_null(False)))
Customer.add_index(Customer.index(Customer.id_number_bidx, name="customer_id_number_bidx",
                                  where=(Customer.id_number_bidx != "")))


class CustomerContact(BaseModel):
    """One phone number, e-mail address or external id (CRM, chat system) of a customer.

    The value, as services.identity.normalize gives it, is stored encrypted (value_enc,
    bound to customer_contact|value|id) with a blind index (value_bidx, HMAC of kind and
    value); (kind, value_bidx) is unique: one address or number belongs to one customer.
    Read and write it through services.contacts (migration 0018)."""
    customer = pw.ForeignKeyField(Customer, backref="contacts", on_delete="CASCADE")
    kind = pw.CharField(max_length=16)  # phone | email | external
    value_enc = pw.TextField(default="")
    value_bidx = pw.CharField(max_length=64)
    label = pw.CharField(max_length=64, default="")

    class Meta:
        indexes = ((("kind", "value_bidx"), True),)
