"""Customers: profiles, contacts, ticket history, and portal sign-up.

Contacts are stored normalised (services.identity.normalize) and belong to one customer
each; what a reader sees of them follows rules.pii.sees_full_contacts. Merging lives in
services.customer_merge. See docs/decisions/0016-customer-identity.md.
"""
from __future__ import annotations

import re

import peewee

from appliance import dto
from appliance.db import database
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Customer, CustomerContact, Ticket, User
from appliance.rules.access import Actor, can_view_customers
from appliance.rules.pii import mask_contact, sees_full_contacts
from appliance.rules.states import OPEN_STATUSES
from appliance.services import common, identity
from appliance.services.queues import TicketQuery, list_tickets
from security.passwords import hash_password, password_problem

_EMAIL = re.compile(r"^[^@\s<>\r\n]{1,64}@[^@\s<>\r\n]{1,190}\.[^@\s<>\r\n]{1,63}$")
BAD_CONTACT = "a valid phone number or email address"


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
    worked = worked_on(actor, customer_ids) if actor.role == "agent" else set()
    return {cid for cid in customer_ids if sees_full_contacts(actor.role, cid in worked)}


def full_contacts(actor: Actor | None, customer_id: int) -> bool:
    return customer_id in full_contact_ids(actor, [customer_id])


def customer_view(c: Customer, actor: Actor | None = None,
                  full: bool | None = None) -> dto.CustomerView:
    """The profile as `actor` may see it (no actor: in full, for the domain's own use)."""
    full = full_contacts(actor, c.id) if full is None else full
    contacts = [dto.ContactView(x.id, x.kind, x.value if full else mask_contact(x.kind, x.value),
                                x.label) for x in
                CustomerContact.select().where(CustomerContact.customer == c.id)
                .order_by(CustomerContact.id)]
    return dto.CustomerView(c.id, c.name, c.company, list(c.tags or []), c.notes, contacts,
                            c.created_at, c.version, not full, c.merged_into_id, c.merged_at)


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
    row = (CustomerContact.select(CustomerContact.customer)
           .where((CustomerContact.kind == kind) & (CustomerContact.value == value)).first())
    if row is None or row.customer_id == customer_id:
        return ""
    owner = Customer.get_by_id(row.customer_id)
    return f"already belongs to customer #{owner.id} ({owner.name})"


def _write_contacts(customer_id: int, clean) -> None:
    """Insert inside a savepoint: a contact taken since the check is a ValidationError."""
    try:
        with database.atomic():
            for kind, value, label in clean:
                CustomerContact.create(customer=customer_id, kind=kind, value=value, label=label)
    except peewee.IntegrityError:
        raise ValidationError({"contacts": "already belongs to another customer"}) from None


def _require_staff(actor: Actor) -> None:
    if not can_view_customers(actor):
        raise PermissionDenied("staff only")


def create_customer(actor: Actor, name: str, *, company: str = "", tags=(), notes: str = "",
                    contacts=()) -> dto.CustomerView:
    _require_staff(actor)
    name = common.clean_text(name, "name", required=True, max_len=200, single_line=True)
    with unit_of_work():
        clean = _clean_contacts(contacts)
        c = Customer.create(name=name, company=common.clean_text(company, "company", max_len=200),
                            tags=[t for t in tags if t][:20],
                            notes=common.clean_text(notes, "notes", max_len=10_000))
        _write_contacts(c.id, clean)
    return customer_view(c, actor)


def update_customer(actor: Actor, customer_id: int, changes: dict, expected_version=None
                    ) -> dto.CustomerView:
    _require_staff(actor)
    allowed = {"name", "company", "tags", "notes", "contacts"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({k: "unknown or read-only field" for k in unknown})
    with unit_of_work():
        c = Customer.get_or_none(Customer.id == customer_id)
        if c is None:
            raise NotFound("customer not found", id=customer_id)
        expected = _version(expected_version, c.version)
        if "contacts" in changes and not full_contacts(actor, c.id):
            # A masked reader would write back what it saw (138****5678).
            raise PermissionDenied("only staff who see this customer's contacts in full "
                                   "may change them")
        values = _clean_changes(changes, c.id)
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
        values["name"] = common.clean_text(changes["name"], "name", required=True,
                                           max_len=200, single_line=True)
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
    return customer_view(c, actor)


def list_customers(actor: Actor, *, name_prefix: str = "", after_id: int = 0, limit: int = 50
                   ) -> dto.Page:
    _require_staff(actor)
    # Merged customers live on in their survivor: hidden here (their page still opens).
    q = (Customer.select().where((Customer.id > after_id) & Customer.merged_at.is_null())
         .order_by(Customer.id).limit(limit + 1))
    if name_prefix:
        q = q.where(Customer.name.startswith(name_prefix))
    rows = list(q)
    nxt = str(rows[limit - 1].id) if len(rows) > limit else None
    rows = rows[:limit]
    full = full_contact_ids(actor, [c.id for c in rows])
    return dto.Page([customer_view(c, actor, c.id in full) for c in rows], nxt)


def find_customer_by_contact(actor: Actor, value: str) -> dto.CustomerView | None:
    """The (surviving) customer with this e-mail address, phone number or external id."""
    _require_staff(actor)
    for kind in ("email", "phone", "external"):
        normal = identity.normalize(kind, value)
        found = identity.owner_of(kind, normal) if normal else None
        if found is not None:
            return customer_view(Customer.get_by_id(found), actor)
    return None


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
    problem = password_problem(password or "", username or "")
    if problem:
        errors["password"] = problem
    if errors:
        raise ValidationError(errors)
    email = identity.normalize("email", email) or email.strip().lower()
    with unit_of_work():
        if User.select().where(User.username == username).exists():
            raise ValidationError({"username": "already taken"})
        c = Customer.create(name=display_name.strip()[:200])
        _sign_up_contact(c, email)
        return User.create(username=username, display_name=display_name.strip()[:100],
                           email=email, role="customer", customer=c,
                           password_hash=hash_password(password))


def _sign_up_contact(c: Customer, email: str) -> None:
    """The new profile gets the address unless another customer already holds it. Signing
    up proves nothing about owning the address, so the login never joins that customer's
    history; the sign-up succeeds the same way (no hint whether the address is known) and
    the note lets staff check and merge. docs/decisions/0016-customer-identity.md."""
    owner = identity.owner_of("email", email)
    if owner is None:
        try:
            with database.atomic():
                CustomerContact.create(customer=c, kind="email", value=email)
            return
        except peewee.IntegrityError:
            owner = identity.owner_of("email", email)
    c.notes = (f"Signed up on the portal with an e-mail address that belongs to customer "
               f"#{owner}; not linked to it without proof of ownership. Check with the "
               f"customer, then merge the two.")
    c.save(only=[Customer.notes])
