"""Customers (the people and organisations tickets are for) and their contacts."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow

CONTACT_KINDS = ("phone", "email", "external")


class Customer(BaseModel):
    name = pw.CharField(max_length=200)
    company = pw.CharField(max_length=200, default="")
    tags = pw.JSONField(default=list)
    notes = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)
    version = pw.IntegerField(default=1)
    # A duplicate merged into another customer keeps its row (history, old links) but is
    # hidden from lists and matching; merged_into points to the survivor.
    merged_into = pw.ForeignKeyField("self", null=True, backref="merged", on_delete="SET NULL")
    merged_at = pw.DateTimeField(null=True)


class CustomerContact(BaseModel):
    """One phone number, e-mail address or external id (CRM, chat system) of a customer.

    `value` is stored as services.identity.normalize gives it, and (kind, value) is
    unique: one address or number belongs to one customer."""
    customer = pw.ForeignKeyField(Customer, backref="contacts", on_delete="CASCADE")
    kind = pw.CharField(max_length=16)  # phone | email | external
    value = pw.CharField(max_length=254)
    label = pw.CharField(max_length=64, default="")

    class Meta:
        indexes = ((("kind", "value"), True),)
