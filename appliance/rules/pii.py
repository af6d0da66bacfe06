"""Masking of personal data in free text: e-mail addresses, resident ID numbers, bank
cards and phone numbers (mobile and landline) become tokens such as 〔phone〕.

Used before text reaches the search index and before other customers' text reaches a
model prompt (SECURITY.md). Pure; the patterns are documented in search/analysis.py.
"""
from __future__ import annotations

import re

MASKS = {"email": "〔email〕", "id": "〔id-number〕", "card": "〔bank-card〕", "phone": "〔phone〕"}

_PII = re.compile(
    r"(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
    r"|(?P<id>(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z]))"
    r"|(?P<card>(?<![0-9])(?:[0-9]{16,19}|[0-9]{4}(?:[ -][0-9]{4}){3}(?:[ -]?[0-9]{1,3})?)(?![0-9]))"
    r"|(?P<phone>(?<![0-9])(?:(?:\+|00)?86[ .-]?)?1[3-9][0-9](?:[ .-]?[0-9]{4}){2}(?![0-9])"
    # landlines: area code 0xx/0xxx, optionally in brackets, then 7-8 digits (010-62345678)
    r"|(?<![0-9])(?:\(0[1-9][0-9]{1,2}\)|0[1-9][0-9]{1,2})[ .-]?[0-9]{3,4}[ .-]?[0-9]{4}(?![0-9]))")

# Full-width ASCII (Ｕ+FF01..FF5E) and the ideographic space map one-to-one to ASCII.
FULLWIDTH_TO_ASCII = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def mask_pii(text: str) -> str:
    """`text` with e-mails, ID numbers, bank cards and phone numbers replaced by tokens."""
    if not text:
        return ""
    folded = text.translate(FULLWIDTH_TO_ASCII)  # same length, so spans apply to the original
    out, last = [], 0
    for m in _PII.finditer(folded):
        out.append(text[last:m.start()])
        out.append(MASKS[m.lastgroup])
        last = m.end()
    out.append(text[last:])
    return "".join(out)


# --- contact details on customer profiles (docs/decisions/0016-customer-identity.md) -----------

FULL_CONTACT_ROLES = frozenset({"supervisor", "admin"})


def sees_full_contacts(role: str, works_on_customer: bool) -> bool:
    """The built-in `role`'s view (rules.access.sees_pii decides, from the permissions
    customer.view_pii and customer.view_pii_worked). Supervisors and administrators see a customer's phone numbers, e-mail addresses and
    external ids in full; an agent only while working on the customer (an open ticket of
    theirs assigned to the agent or in the agent's department); nobody else."""
    from appliance.rules.access import Actor, sees_pii
    return sees_pii(Actor(user_id=0, role=role), works_on_customer)


def mask_contact(kind: str, value: str) -> str:
    """138****5678, z***@example.com, crm:***45: enough to tell contacts apart and to
    confirm one a caller reads out, not enough to call or write to."""
    value = value or ""
    if kind == "email" and "@" in value:
        local, domain = value.rsplit("@", 1)
        return f"{local[:1]}***@{domain}"
    if kind == "phone":
        digits = value.lstrip("+")
        sign = value[:len(value) - len(digits)]
        if len(digits) >= 9:
            return f"{sign}{digits[:3]}****{digits[-4:]}"
        return f"{sign}{'*' * max(len(digits) - 2, 1)}{digits[-2:]}"
    prefix, sep, rest = value.rpartition(":")
    body = rest if sep else value
    return f"{prefix}{sep}***{body[-2:] if len(body) > 4 else ''}"
