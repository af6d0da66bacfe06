"""One customer across channels: find the customer an e-mail address, phone number or
external id belongs to, or create one. Display names never decide identity.

Contacts are stored in the form `normalize` gives, encrypted, and (kind, blind index of
the value) is unique (migrations 0009, 0018), so one address or number belongs to at
most one customer; lookups go through services.contacts. Callers
(mail intake, chat/call intake, web forms) run these inside their own transaction, so a
new customer and the ticket it is for commit together; two intakes racing for the same
new address end on one customer (the loser's insert fails on the unique index inside a
savepoint, and it matches again). What a visitor typed only matches: an existing
customer gains only contacts its source vouches for, the rest become masked hints in its
notes. See docs/decisions/0016-customer-identity.md.
"""
from __future__ import annotations

import re
from collections.abc import Collection

import peewee

from appliance.db import database
from appliance.models import Customer, utcnow
from appliance.rules.pii import FULLWIDTH_TO_ASCII, mask_contact
from appliance.services import contacts, customer_names

KINDS = ("email", "phone", "external")
MAX_VALUE = 254
MAX_NOTES = 10_000  # what the customer form accepts (services.customers)
MAX_HOPS = 10  # merged_into chains are one hop after a merge; this only bounds a bad row

_EMAIL = re.compile(r"^[^@\s<>\r\n]{1,64}@[^@\s<>\r\n]{1,190}\.[^@\s<>\r\n]{1,63}$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-]+$")
_CN_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalize(kind: str, value: str) -> str:
    """The form a contact is stored and matched in ("" when it is not a usable value).

    e-mail: trimmed, lower-case (`mailto:` and <> dropped). phone: digits with an
    optional leading +; "00" becomes "+", and Chinese numbers (+86/0086/86 + mobile,
    +86 + area code) are kept in their domestic form, so a PBX's "+86 138 0013 8000"
    and a form's "13800138000" are one number. external: trimmed, case kept, no control
    characters. Full-width digits and letters are folded first.
    """
    if not isinstance(value, str):
        return ""
    value = value.translate(FULLWIDTH_TO_ASCII).strip()
    if kind == "email":
        return _email(value)
    if kind == "phone":
        return _phone(value)
    if kind == "external":
        ok = value and len(value) <= MAX_VALUE and not _CONTROL.search(value)
        return value if ok else ""
    return ""


def _email(value: str) -> str:
    value = value.lower()
    if value.startswith("mailto:"):
        value = value[len("mailto:"):]
    value = value.strip().strip("<>").strip()
    return value if len(value) <= MAX_VALUE and _EMAIL.match(value) else ""


def _phone(value: str) -> str:
    if value.lower().startswith("tel:"):
        value = value[4:].strip()
    if not _PHONE_CHARS.match(value):
        return ""
    digits = re.sub(r"[^0-9]", "", value)
    plus = value.startswith("+")
    if not plus and digits.startswith("00"):
        plus, digits = True, digits[2:]
    if not plus and len(digits) == 13 and _CN_MOBILE.match(digits[2:]) and digits[:2] == "86":
        plus = True  # a PBX's 86 + mobile without the +
    if plus and digits.startswith("86"):
        rest = digits[2:]
        plus, digits = False, (rest if _CN_MOBILE.match(rest) or rest.startswith("0")
                               else "0" + rest)
    if not 5 <= len(digits) <= 20:
        return ""
    return ("+" if plus else "") + digits


def survivor(customer_id: int | None) -> int | None:
    """The customer a merged customer lives on as (itself when it was never merged)."""
    for _ in range(MAX_HOPS):
        if customer_id is None:
            return None
        nxt = (Customer.select(Customer.merged_into)
               .where(Customer.id == customer_id).scalar())
        if nxt is None:
            return customer_id
        customer_id = nxt
    return customer_id


def owner_of(kind: str, value: str) -> int | None:
    """The customer holding this (already normalised) contact, resolved to the survivor."""
    found = contacts.owner(kind, value)
    return survivor(found) if found is not None else None


def match_customer(*, email: str = "", phone: str = "", external_id: str = "") -> int | None:
    """The customer one of these identifiers belongs to (external id, then e-mail, then
    phone: the most specific first); a merged customer resolves to its survivor."""
    found = _match(_given(email, phone, external_id), frozenset())
    return found[0] if found else None


def find_or_create_customer(name: str, *, email: str = "", phone: str = "",
                            external_id: str = "", vouched: Collection[str] = (),
                            source: str = "") -> int | None:
    """The matching customer, or a new one holding all the usable identifiers; None when
    none is usable (a ticket without a customer). The name only labels a new customer.

    `vouched` names the kinds the source itself vouches for (a PBX's line number, an
    integration's own external id); everything else was typed by whoever posted and
    proves nothing. Vouched identifiers are tried first. An existing customer is given a
    new contact only when it was found by a vouched identifier and the new one is vouched
    too; any other identifier not on the profile gets a masked line in its notes naming
    `source`, for staff to check and add (docs/decisions/0016-customer-identity.md).
    """
    given = _given(email, phone, external_id)
    if not given:
        return None
    vouched = frozenset(vouched)
    found = _match(given, vouched)
    if found is None:
        created = _create(name, given)
        if created is not None:
            return created
        # Someone else created one of these contacts since we looked: theirs wins.
        found = _match(given, vouched)
        if found is None:
            raise RuntimeError("contact insert failed but no owner is visible")
    customer_id, by = found
    left = []
    for kind, value in given.items():
        owner = owner_of(kind, value)
        if owner is None and {by, kind} <= vouched:
            added = _add_contact(customer_id, kind, value)
            owner = customer_id if added else owner_of(kind, value)
        if owner != customer_id:
            left.append((kind, value, owner))
    if left:
        _note_unlinked(customer_id, left, source)
    return customer_id


def _given(email: str, phone: str, external_id: str) -> dict[str, str]:
    given = {k: normalize(k, v) for k, v in
             (("external", external_id), ("email", email), ("phone", phone))}
    return {k: v for k, v in given.items() if v}


def _match(given: dict[str, str], vouched: frozenset) -> tuple[int, str] | None:
    """(customer, the kind that found it): vouched identifiers first, then the rest, each
    in the order external id, e-mail, phone."""
    for kind in sorted(given, key=lambda k: k not in vouched):  # stable: keeps the order
        found = owner_of(kind, given[kind])
        if found is not None:
            return found, kind
    return None


def _create(name: str, given: dict[str, str]) -> int | None:
    """A new customer with these contacts, or None when one of them was taken meanwhile
    (the savepoint undoes the half-made customer)."""
    try:
        with database.atomic():  # nested: a savepoint, so the caller's transaction lives on
            c = customer_names.create(_label(name, given))
            for kind, value in given.items():
                contacts.add(c.id, kind, value)
    except peewee.IntegrityError:
        return None
    return c.id


def _label(name: str, given: dict[str, str]) -> str:
    """The name, or for a nameless customer a masked contact: names are shown to agents
    who only see contacts masked (rules/pii.py)."""
    name = " ".join((name or "").split())[:200]
    if name:
        return name
    kind = next(k for k in ("email", "phone", "external") if k in given)
    return mask_contact(kind, given[kind])[:200]


def _add_contact(customer_id: int, kind: str, value: str) -> bool:
    """Give the customer this contact; False when somebody got it first."""
    try:
        with database.atomic():
            contacts.add(customer_id, kind, value)
    except peewee.IntegrityError:
        return False  # taken concurrently: it stays with whoever got it first
    return True


_KIND_WORDS = {"email": "e-mail address", "phone": "phone number", "external": "external id"}


def _note_unlinked(customer_id: int, left: list[tuple[str, str, int | None]],
                   source: str) -> None:
    """A line per identifier given for this customer but not on it. Masked (agents read
    notes); a line already there is not repeated, and notes stay within what the customer
    form accepts, so posts naming a known address cannot flood them."""
    row = Customer.get_or_none(Customer.id == customer_id)
    notes = row.notes if row is not None else ""
    lines = []
    for kind, value, owner in left:
        what = f"{_KIND_WORDS[kind]} {mask_contact(kind, value)}"
        body = (f"{what} was given, which belongs to customer #{owner}; if both are one "
                f"customer, merge them." if owner is not None else
                f"{what} was given, which is not on this profile; not added, as this source "
                f"does not prove it is theirs. Ask the customer, then add it if it is.")
        if body not in notes and body not in "".join(lines):
            lines.append(f"[{source or 'intake'} {utcnow():%Y-%m-%d}] {body}")
    text = "\n".join(lines)
    if not text or len(notes) + len(text) + 2 > MAX_NOTES:
        return
    sep = "\n\n" if notes else ""
    Customer.update(notes=Customer.notes.concat(sep + text), version=Customer.version + 1
                    ).where(Customer.id == customer_id).execute()
