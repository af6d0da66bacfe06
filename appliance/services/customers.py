"""Customers: profiles, contacts, ticket history, and portal sign-up.

Contacts are stored normalised (services.identity.normalize), encrypted, and belong to
one customer each; what a reader sees of them follows rules.pii.sees_full_contacts.
Contacts, ID numbers and addresses are encrypted at rest and decrypted here for display
(services.contacts, services.encryption; docs/decisions/0030-encryption-at-rest.md).
Merging lives in services.customer_merge. See docs/decisions/0016-customer-identity.md.
"""
from __future__ import annotations

import re

import peewee

from appliance import dto
from appliance.db import database
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Customer, CustomerContact, Ticket, User
from appliance.rules import id_numbers
from appliance.rules.access import Actor, can_view_customers, sees_pii
from appliance.rules.pii import mask_contact
from appliance.rules.states import OPEN_STATUSES
from appliance.services import (audit, common, contacts, customer_names, encryption, identity,
                                password_policy, user_emails)
from appliance.services.queues import TicketQuery, list_tickets
from security.passwords import hash_password

_EMAIL = re.compile(r"^[^@\s<>\r\n]{1,64}@[^@\s<>\r\n]{1,190}\.[^@\s<>\r\n]{1,63}$")
BAD_CONTACT = "a valid phone number or email address"
PERSONAL = {"contacts", "id_number", "address"}  # shown masked to some readers


def worked_on(actor: Actor, customer_ids: list[int]) -> set[int]:
    """Those of these customers with an open ticket assigned to the actor or in its
    department (one query for a whole page)."""
    if not customer_ids:
        return set()
    mine = Ticket.assignee == actor.user_id
    if actor.department_id is not None:
        mine = mine | (Ticket.department == actor.department_id)
    q = Ticket.select(Ticket.customer).distinct().where(
        Ticket.customer.in_(customer_ids) & mine & Ticket.status.in_(sorted(OPEN_STATUSES)))
    return {r[0] for r in q.tuples()}


def full_contact_ids(actor: Actor | None, customer_ids: list[int]) -> set[int]:
    """Which of these customers' contacts this reader sees unmasked (rules.pii); no
    actor: the domain's own use, in full."""
    if actor is None:
        return set(customer_ids)
    if actor.can("customer.view_pii"):
        return set(customer_ids)
    worked = worked_on(actor, customer_ids) if actor.can("customer.view_pii_worked") else set()
    return {cid for cid in customer_ids if sees_pii(actor, cid in worked)}


def full_contacts(actor: Actor | None, customer_id: int) -> bool:
    return customer_id in full_contact_ids(actor, [customer_id])


def customer_view(c: Customer, actor: Actor | None = None,
                  full: bool | None = None) -> dto.CustomerView:
    """The profile as `actor` may see it (no actor: in full, for the domain's own use)."""
    full = full_contacts(actor, c.id) if full is None else full
    shown = [dto.ContactView(x.id, x.kind, x.value if full else mask_contact(x.kind, x.value),
                             x.label) for x in contacts.of_customer(c.id)]
    id_number = encryption.unseal("customer", "id_number", c.id, c.id_number_enc)
    address = encryption.unseal("customer", "address", c.id, c.address_enc)
    return dto.CustomerView(c.id, customer_names.name_of(c), c.company, list(c.tags or []), c.notes, shown,
                            c.created_at, c.version, not full, c.merged_into_id, c.merged_at,
                            id_number if full else id_numbers.mask(id_number),
                            address if full else id_numbers.mask_address(address),
                            c.erased_at)


def _clean_contacts(contacts, customer_id: int | None = None) -> list[tuple[str, str, str]]:
    """Normalised (kind, value, label) rows; a contact another customer already holds is
    an error naming the field and that customer (staff only call this)."""
    out, errors, seen = [], {}, set()
    for i, item in enumerate(contacts or []):
        kind = (item.get("kind") or "").strip()
        value = identity.normalize(kind, item.get("value") or "")
        if kind not in identity.KINDS or not value:
            errors[f"contacts.{i}"] = BAD_CONTACT
        elif (kind, value) in seen:
            errors[f"contacts.{i}"] = "listed twice"
        else:
            seen.add((kind, value))
            problem = _taken(kind, value, customer_id)
            if problem:
                errors[f"contacts.{i}"] = problem
            out.append((kind, value, (item.get("label") or "")[:64]))
    if errors:
        raise ValidationError(errors)
    return out


def _taken(kind: str, value: str, customer_id: int | None) -> str:
    found = contacts.owner(kind, value)
    if found is None or found == customer_id:
        return ""
    owner = Customer.get_by_id(found)
    return f"already belongs to customer #{owner.id} ({customer_names.name_of(owner)})"


def _write_contacts(customer_id: int, clean) -> None:
    """Insert inside a savepoint: a contact taken since the check is a ValidationError."""
    try:
        with database.atomic():
            for kind, value, label in clean:
                contacts.add(customer_id, kind, value, label)
    except peewee.IntegrityError:
        raise ValidationError({"contacts": "already belongs to another customer"}) from None


def _require_staff(actor: Actor) -> None:
    if not can_view_customers(actor):
        raise PermissionDenied("staff only")


def create_customer(actor: Actor, name: str, *, company: str = "", tags=(), notes: str = "",
                    contacts=(), id_number: str = "", address: str = "") -> dto.CustomerView:
    _require_staff(actor)
    name = common.clean_text(name, "name", required=True, max_len=200, single_line=True)
    personal = _clean_personal({"id_number": id_number, "address": address})
    with unit_of_work():
        clean = _clean_contacts(contacts)
        c = customer_names.create(name,
                                  company=common.clean_text(company, "company", max_len=200),
                                  tags=[t for t in tags if t][:20],
                                  notes=common.clean_text(notes, "notes", max_len=10_000))
        _write_contacts(c.id, clean)
        if personal.get("id_number") or personal.get("address"):
            Customer.update(**_sealed_personal(c.id, personal)).where(
                Customer.id == c.id).execute()
    # Read again (the sealed columns were written after the row); no pii_viewed event:
    # the creator typed what is shown.
    return customer_view(Customer.get_by_id(c.id), actor)


def _clean_personal(values: dict) -> dict:
    """ID number (normalised; a mainland resident ID must pass its checksum) and address."""
    out = {}
    if "id_number" in values:
        raw = values["id_number"] or ""
        out["id_number"] = id_numbers.normalise(raw) if isinstance(raw, str) else None
        if out["id_number"] is None:
            raise ValidationError({"id_number": "not a valid ID number"})
    if "address" in values:
        out["address"] = common.clean_text(values["address"], "address", max_len=500)
    return out


def _sealed_personal(customer_id: int, personal: dict) -> dict:
    """Model column values for the cleaned ID number and address, sealed to this row."""
    out = {}
    if "id_number" in personal:
        out["id_number_enc"] = encryption.seal("customer", "id_number", customer_id,
                                               personal["id_number"])
        out["id_number_bidx"] = encryption.blind("id_number", personal["id_number"])
    if "address" in personal:
        out["address_enc"] = encryption.seal("customer", "address", customer_id,
                                             personal["address"])
    return out


def update_customer(actor: Actor, customer_id: int, changes: dict, expected_version=None
                    ) -> dto.CustomerView:
    _require_staff(actor)
    allowed = {"name", "company", "tags", "notes", "contacts", "id_number", "address"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({k: "unknown or read-only field" for k in unknown})
    with unit_of_work():
        c = Customer.get_or_none(Customer.id == customer_id)
        if c is None:
            raise NotFound("customer not found", id=customer_id)
        expected = _version(expected_version, c.version)
        if PERSONAL & set(changes) and not full_contacts(actor, c.id):
            # A masked reader would write back what it saw (138****5678).
            raise PermissionDenied("only staff who see this customer's contacts in full "
                                   "may change them")
        values = _clean_changes(changes, c.id)
        values.update(_sealed_personal(c.id, _clean_personal(
            {k: v for k, v in changes.items() if k in ("id_number", "address")})))
        # Guarded by the version read: a concurrent save makes this update match no row.
        n = Customer.update(version=Customer.version + 1, **values).where(
            (Customer.id == c.id) & (Customer.version == expected)).execute()
        if n != 1:
            raise Conflict("the customer was changed by someone else; reload and try again")
        if "contacts" in changes:
            clean = _clean_contacts(changes["contacts"], c.id)
            CustomerContact.delete().where(CustomerContact.customer == c.id).execute()
            _write_contacts(c.id, clean)
    return get_customer(actor, customer_id)


def _version(expected_version, current: int) -> int:
    if expected_version in (None, ""):
        return current
    try:
        return int(expected_version)
    except (TypeError, ValueError):
        raise ValidationError({"expected_version": "must be an integer"}) from None


def _clean_changes(changes: dict, customer_id: int) -> dict:
    values = {}
    if "name" in changes:
        values.update(customer_names.columns(customer_id, common.clean_text(
            changes["name"], "name", required=True, max_len=200, single_line=True)))
    if "company" in changes:
        values["company"] = common.clean_text(changes["company"], "company", max_len=200)
    if "notes" in changes:
        values["notes"] = common.clean_text(changes["notes"], "notes", max_len=10_000)
    if "tags" in changes:
        if not isinstance(changes["tags"], (list, tuple)):
            raise ValidationError({"tags": "must be a list of words"})
        values["tags"] = [str(t)[:64] for t in changes["tags"] if t][:20]
    if "contacts" in changes:
        _clean_contacts(changes["contacts"], customer_id)  # validate before writing
    return values


def get_customer(actor: Actor, customer_id: int) -> dto.CustomerView:
    if not can_view_customers(actor):
        # Staff notes and tags are about the customer, not for them.
        raise NotFound("customer not found", id=customer_id)
    c = Customer.get_or_none(Customer.id == customer_id)
    if c is None:
        raise NotFound("customer not found", id=customer_id)
    audit.record("customer.pii_viewed", actor_id=actor.user_id, object_type="customer", object_id=c.id)
    return customer_view(c, actor)


def list_customers(actor: Actor, *, search: str = "", after_id: int = 0, limit: int = 50
                   ) -> dto.Page:
    _require_staff(actor)
    # Merged customers live on in their survivor: hidden here (their page still opens).
    q = (Customer.select().where((Customer.id > after_id) & Customer.merged_at.is_null())
         .order_by(Customer.id).limit(limit + 1))
    if search:
        # Names, contacts and ID numbers are encrypted: a customer is found when one of
        # them is typed in full (blind indexes; names case and spacing aside), never by a
        # part (docs/decisions/0050).
        exact = _exact_ids(search)
        named = customer_names.is_named(search)
        q = q.where(named | Customer.id.in_(exact) if exact else named)
    rows = list(q)
    nxt = str(rows[limit - 1].id) if len(rows) > limit else None
    rows = rows[:limit]
    full = full_contact_ids(actor, [c.id for c in rows])
    return dto.Page([customer_view(c, actor, c.id in full) for c in rows], nxt)


def find_customer_by_contact(actor: Actor, value: str) -> dto.CustomerView | None:
    """The (surviving) customer with this e-mail address, phone number or external id."""
    _require_staff(actor)
    found = _exact_ids(value)
    if found:  # who a phone number or address belongs to is a PII read (never the value)
        audit.record("customer.found_by_contact", actor_id=actor.user_id, object_type="customer", object_id=found[0])
    return customer_view(Customer.get_by_id(found[0]), actor) if found else None


def _exact_ids(value: str) -> list[int]:
    """The (surviving) customers this exact e-mail address, phone number, external id or
    ID number belongs to, through the blind indexes."""
    for kind in ("email", "phone", "external"):
        normal = identity.normalize(kind, value)
        found = identity.owner_of(kind, normal) if normal else None
        if found is not None:
            return [found]
    number = id_numbers.normalise(value) if value and value.strip() else None
    if not number:
        return []
    rows = Customer.select(Customer.id).where(
        (Customer.id_number_bidx == encryption.blind("id_number", number))
        & (Customer.id_number_bidx != "")   # says the partial index applies (migration 0032)
        & Customer.merged_at.is_null()).order_by(Customer.id).limit(20)
    return [r.id for r in rows]


def erase(actor: Actor, customer_id: int) -> None:
    """Erase the customer's personal data on request (PIPL): services.erasure."""
    from appliance.services import erasure  # erasure's follow-up job imports indexing
    erasure.erase_customer(actor, customer_id)


def customer_history(actor: Actor, customer_id: int, cursor: str | None = None) -> dto.Page:
    get_customer(actor, customer_id)
    return list_tickets(actor, TicketQuery(view="all", customer_id=customer_id, cursor=cursor))


def sign_up(username: str, display_name: str, email: str, password: str) -> User:
    """Portal self-registration: a Customer profile plus a customer-role login."""
    errors = {}
    if not re.match(r"^[A-Za-z0-9_.@-]{2,64}$", username or ""):
        errors["username"] = "2-64 letters, digits or . _ @ -"
    if not (display_name or "").strip():
        errors["display_name"] = "required"
    if not _EMAIL.match((email or "").strip()):
        errors["email"] = "not a valid email address"
    try:  # the policy in force (asvs or mlps), as for staff
        password_policy.check(password or "", username or "", (email or "").strip())
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    email = identity.normalize("email", email) or email.strip().lower()
    with unit_of_work():
        if User.select().where(User.username == username).exists():
            raise ValidationError({"username": "already taken"})
        c = customer_names.create(display_name.strip()[:200])
        _sign_up_contact(c, email)
        # The name is the customer's (encrypted there); the login shows it from there.
        u = User.create(username=username, display_name=customer_names.LOGIN_PLACEHOLDER,
                        role="customer", customer=c, password_hash=hash_password(password))
        user_emails.set_email(u.id, email)
        return User.get_by_id(u.id)


def _sign_up_contact(c: Customer, email: str) -> None:
    """The new profile gets the address unless another customer already holds it. Signing
    up proves nothing about owning the address, so the login never joins that customer's
    history; the sign-up succeeds the same way (no hint whether the address is known) and
    the note lets staff check and merge. docs/decisions/0016-customer-identity.md."""
    owner = identity.owner_of("email", email)
    if owner is None:
        try:
            with database.atomic():
                contacts.add(c.id, "email", email)
            return
        except peewee.IntegrityError:
            owner = identity.owner_of("email", email)
    c.notes = (f"Signed up on the portal with an e-mail address that belongs to customer "
               f"#{owner}; not linked to it without proof of ownership. Check with the "
               f"customer, then merge the two.")
    c.save(only=[Customer.notes])
