"""One customer across channels: find the customer an e-mail address, phone number or
external id belongs to, or create one. Display names never decide identity.

Callers (mail intake, chat/call intake, web forms) run these inside their own
transaction, so a new customer and the ticket it is for commit together.
"""
from __future__ import annotations

import re

from appliance.models import Customer, CustomerContact

KINDS = ("email", "phone", "external")
_EMAIL = re.compile(r"^[^@\s<>\r\n]{1,64}@[^@\s<>\r\n]{1,190}\.[^@\s<>\r\n]{1,63}$")


def normalize(kind: str, value: str) -> str:
    """The form a contact is stored and matched in ("" when it is not a usable value)."""
    value = (value or "").strip()
    if kind == "email":
        value = value.lower()
        return value if _EMAIL.match(value) else ""
    if kind == "phone":
        digits = re.sub(r"[^0-9+]", "", value)
        plus, digits = digits.startswith("+"), digits.replace("+", "")
        return ("+" if plus else "") + digits if 5 <= len(digits) <= 20 else ""
    if kind == "external":
        return value[:254] if value and "\n" not in value and "\r" not in value else ""
    return ""


def match_customer(*, email: str = "", phone: str = "", external_id: str = "") -> int | None:
    """The customer one of these identifiers belongs to (external id, then e-mail, then phone)."""
    for kind, value in (("external", external_id), ("email", email), ("phone", phone)):
        value = normalize(kind, value)
        if not value:
            continue
        row = (CustomerContact.select(CustomerContact.customer)
               .where((CustomerContact.kind == kind) & (CustomerContact.value == value))
               .order_by(CustomerContact.id).first())
        if row is not None:
            return row.customer_id
    return None


def find_or_create_customer(name: str, *, email: str = "", phone: str = "",
                            external_id: str = "") -> int | None:
    """The matching customer (its missing identifiers added), or a new one; None when no
    identifier is usable (a ticket without a customer)."""
    given = {k: normalize(k, v) for k, v in
             (("email", email), ("phone", phone), ("external", external_id))}
    given = {k: v for k, v in given.items() if v}
    if not given:
        return None
    found = match_customer(email=email, phone=phone, external_id=external_id)
    if found is None:
        label = (name or "").strip()[:200] or next(iter(given.values()))
        found = Customer.create(name=label).id
    for kind, value in given.items():
        exists = CustomerContact.select().where((CustomerContact.kind == kind)
                                                & (CustomerContact.value == value)).exists()
        if not exists:
            CustomerContact.create(customer=found, kind=kind, value=value)
    return found
