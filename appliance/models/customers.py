"""Customers (the people and organisations tickets are for) and their contacts."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow


class Customer(BaseModel):
    name = pw.CharField(max_length=200)
    company = pw.CharField(max_length=200, default="")
    tags = pw.JSONField(default=list)
    notes = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)
    version = pw.IntegerField(default=1)


class CustomerContact(BaseModel):
    """One phone number or email address of a customer (a customer may have many)."""
    customer = pw.ForeignKeyField(Customer, backref="contacts", on_delete="CASCADE")
    kind = pw.CharField(max_length=16)  # phone | email
    value = pw.CharField(max_length=254)
    label = pw.CharField(max_length=64, default="")

    class Meta:
        indexes = ((("kind", "value"), False),)
