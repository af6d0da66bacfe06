"""Customer names, encrypted at rest (docs/decisions/0050).

A name is PII (SECURITY.md, data protection): `customer.name_enc` holds it sealed to
customer|name|<id>, `customer.name_bidx` the blind index of its comparison form
(name_key: spacing collapsed, case folded) for exact lookups — the customer list's name
search and the "same name" duplicate hint. Names cannot be searched by prefix or part:
that would need them, or a part of them, in the clear.

Every read and write of a customer's name goes through this module.
"""
from __future__ import annotations

from appliance.db import database
from appliance.models import Customer
from appliance.services import encryption

TABLE, COLUMN, KIND = "customer", "name", "name"


def name_key(name: str) -> str:
    """A name as compared for "same name": spacing collapsed, each character case-folded
    where that gives one character and does not turn a non-ASCII one into ASCII (ß and
    the Kelvin sign stay): "Li  Lei" and "li lei" have one key, 张三 is its own."""
    out = []
    for ch in " ".join((name or "").split()):
        folded = ch.casefold()
        out.append(folded if len(folded) == 1 and (ch.isascii() or not folded.isascii())
                   else ch)
    return "".join(out)


def columns(customer_id: int, name: str) -> dict:
    """Model column values for `name` on this customer's row."""
    return {"name_enc": encryption.seal(TABLE, COLUMN, customer_id, name),
            "name_bidx": blind(name) if name_key(name) else ""}


def blind(name: str) -> str:
    """The blind index of a name's comparison form; for an empty name a value no row has
    (every customer has a name), so searching for "" finds nobody."""
    key = name_key(name)
    return encryption.blind(KIND, key) if key else "-"


def create(name: str, **fields) -> Customer:
    """Insert a customer named `name`. The ciphertext is bound to the row id, so the row is
    inserted first and sealed at once, in one transaction: no row is ever seen unnamed."""
    with database.atomic():
        c = Customer.create(**fields)
        values = columns(c.id, name)
        Customer.update(**values).where(Customer.id == c.id).execute()
    c.name_enc, c.name_bidx = values["name_enc"], values["name_bidx"]
    return c


def name_of(c: Customer) -> str:
    """The name of a customer row read with its id and name_enc."""
    return encryption.unseal(TABLE, COLUMN, c.id, c.name_enc)


def names(ids) -> dict[int, str]:
    """{id: name} of these customers (missing ids are left out)."""
    ids = [i for i in set(ids) if i is not None]
    if not ids:
        return {}
    rows = Customer.select(Customer.id, Customer.name_enc).where(Customer.id.in_(ids))
    return {r.id: name_of(r) for r in rows}


def name_by_id(customer_id: int) -> str | None:
    return names([customer_id]).get(customer_id)


def is_named(name: str):
    """A condition on Customer: its name is `name` (case and spacing aside)."""
    return Customer.name_bidx == blind(name)


# -- portal logins ---------------------------------------------------------------------------
# A customer's portal login shows its customer's name: the name lives encrypted on the
# customer only, and the login's display_name column holds LOGIN_PLACEHOLDER.

LOGIN_PLACEHOLDER = "-"


def is_customer_login(role: str, customer_id) -> bool:
    return role == "customer" and customer_id is not None


def login_names(rows) -> dict[int, str]:
    """{user id: the name to show} for logins read with id, role, customer and display_name."""
    rows = list(rows)
    shown = names(r.customer_id for r in rows if is_customer_login(r.role, r.customer_id))
    return {r.id: (shown.get(r.customer_id) if is_customer_login(r.role, r.customer_id)
                   else None) or r.display_name for r in rows}


def login_name(u) -> str:
    return login_names([u])[u.id]
