"""Customer contacts (phone, e-mail, external id) stored encrypted with a blind index.

The only module that reads or writes CustomerContact.value_enc / value_bidx: every
exact lookup goes through the blind index (HMAC of kind and normalised value), and the
value is decrypted here, in the service layer, for display. Values arrive normalised
(services.identity.normalize). docs/decisions/0030-encryption-at-rest.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from appliance.models import CustomerContact
from appliance.services import encryption

TABLE = "customer_contact"


@dataclass(frozen=True)
class Contact:
    id: int
    customer_id: int
    kind: str
    value: str
    label: str


def matches(kind: str, value: str):
    """A where-clause for the contact (kind, value) via its blind index."""
    return (CustomerContact.kind == kind) & (
        CustomerContact.value_bidx == encryption.blind(kind, value))


def add(customer_id: int, kind: str, value: str, label: str = "") -> int:
    """Insert (the unique blind index raises peewee.IntegrityError when the value is
    taken), then seal the value under the row's id; callers hold a transaction."""
    row = CustomerContact.create(customer=customer_id, kind=kind, label=label,
                                 value_bidx=encryption.blind(kind, value))
    CustomerContact.update(value_enc=encryption.seal(TABLE, "value", row.id, value)).where(
        CustomerContact.id == row.id).execute()
    return row.id


def value_of(row: CustomerContact) -> str:
    return encryption.unseal(TABLE, "value", row.id, row.value_enc)


def owner(kind: str, value: str) -> int | None:
    """The customer holding this contact (not resolved through merges)."""
    row = CustomerContact.select(CustomerContact.customer).where(matches(kind, value)).first()
    return row.customer_id if row is not None else None


def exists(kind: str, value: str, customer_id: int | None = None) -> bool:
    q = CustomerContact.select().where(matches(kind, value))
    if customer_id is not None:
        q = q.where(CustomerContact.customer == customer_id)
    return q.exists()


def of_customers(customer_ids, kind: str | None = None) -> list[Contact]:
    """The contacts of these customers, decrypted, in id order."""
    ids = list(customer_ids)
    if not ids:
        return []
    q = CustomerContact.select().where(CustomerContact.customer.in_(ids))
    if kind is not None:
        q = q.where(CustomerContact.kind == kind)
    return [Contact(r.id, r.customer_id, r.kind, value_of(r), r.label)
            for r in q.order_by(CustomerContact.id)]


def of_customer(customer_id: int, kind: str | None = None) -> list[Contact]:
    return of_customers([customer_id], kind)
