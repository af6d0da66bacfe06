"""Customers: profiles, contacts, ticket history, and portal sign-up."""
from __future__ import annotations

import re

from appliance import dto
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Customer, CustomerContact, User
from appliance.rules.access import Actor, can_view_customers
from appliance.services import common
from appliance.services.queues import TicketQuery, list_tickets
from security.passwords import hash_password, password_problem

_PHONE = re.compile(r"^\+?[0-9][0-9 \-()]{4,30}$")
_EMAIL = re.compile(r"^[^@\s<>\r\n]{1,64}@[^@\s<>\r\n]{1,190}\.[^@\s<>\r\n]{1,63}$")


def customer_view(c: Customer) -> dto.CustomerView:
    contacts = [dto.ContactView(x.id, x.kind, x.value, x.label) for x in
                CustomerContact.select().where(CustomerContact.customer == c.id)
                .order_by(CustomerContact.id)]
    return dto.CustomerView(c.id, c.name, c.company, list(c.tags or []), c.notes, contacts,
                            c.created_at, c.version)


def _clean_contacts(contacts) -> list[tuple[str, str, str]]:
    out, errors = [], {}
    for i, item in enumerate(contacts or []):
        kind = (item.get("kind") or "").strip()
        value = (item.get("value") or "").strip()
        if kind == "phone" and _PHONE.match(value):
            out.append((kind, value, (item.get("label") or "")[:64]))
        elif kind == "email" and _EMAIL.match(value):
            out.append((kind, value.lower(), (item.get("label") or "")[:64]))
        else:
            errors[f"contacts.{i}"] = "a valid phone number or email address"
    if errors:
        raise ValidationError(errors)
    return out


def _require_staff(actor: Actor) -> None:
    if not can_view_customers(actor):
        raise PermissionDenied("staff only")


def create_customer(actor: Actor, name: str, *, company: str = "", tags=(), notes: str = "",
                    contacts=()) -> dto.CustomerView:
    _require_staff(actor)
    name = common.clean_text(name, "name", required=True, max_len=200, single_line=True)
    clean = _clean_contacts(contacts)
    with unit_of_work():
        c = Customer.create(name=name, company=common.clean_text(company, "company", max_len=200),
                            tags=[t for t in tags if t][:20],
                            notes=common.clean_text(notes, "notes", max_len=10_000))
        for kind, value, label in clean:
            CustomerContact.create(customer=c, kind=kind, value=value, label=label)
    return customer_view(c)


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
        values = _clean_changes(changes)
        # Guarded by the version read: a concurrent save makes this update match no row.
        n = Customer.update(version=Customer.version + 1, **values).where(
            (Customer.id == c.id) & (Customer.version == expected)).execute()
        if n != 1:
            raise Conflict("the customer was changed by someone else; reload and try again")
        if "contacts" in changes:
            clean = _clean_contacts(changes["contacts"])
            CustomerContact.delete().where(CustomerContact.customer == c.id).execute()
            for kind, value, label in clean:
                CustomerContact.create(customer=c, kind=kind, value=value, label=label)
    return get_customer(actor, customer_id)


def _version(expected_version, current: int) -> int:
    if expected_version in (None, ""):
        return current
    try:
        return int(expected_version)
    except (TypeError, ValueError):
        raise ValidationError({"expected_version": "must be an integer"}) from None


def _clean_changes(changes: dict) -> dict:
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
        _clean_contacts(changes["contacts"])  # validate before anything is written
    return values


def get_customer(actor: Actor, customer_id: int) -> dto.CustomerView:
    if not can_view_customers(actor):
        # Staff notes and tags are about the customer, not for them.
        raise NotFound("customer not found", id=customer_id)
    c = Customer.get_or_none(Customer.id == customer_id)
    if c is None:
        raise NotFound("customer not found", id=customer_id)
    return customer_view(c)


def list_customers(actor: Actor, *, name_prefix: str = "", after_id: int = 0, limit: int = 50
                   ) -> dto.Page:
    _require_staff(actor)
    q = Customer.select().where(Customer.id > after_id).order_by(Customer.id).limit(limit + 1)
    if name_prefix:
        q = q.where(Customer.name.startswith(name_prefix))
    rows = list(q)
    nxt = str(rows[limit - 1].id) if len(rows) > limit else None
    return dto.Page([customer_view(c) for c in rows[:limit]], nxt)


def find_customer_by_contact(actor: Actor, value: str) -> dto.CustomerView | None:
    _require_staff(actor)
    row = CustomerContact.get_or_none(CustomerContact.value == value.strip().lower()) or \
        CustomerContact.get_or_none(CustomerContact.value == value.strip())
    return customer_view(row.customer) if row else None


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
    with unit_of_work():
        if User.select().where(User.username == username).exists():
            raise ValidationError({"username": "already taken"})
        c = Customer.create(name=display_name.strip()[:200])
        CustomerContact.create(customer=c, kind="email", value=email.strip().lower())
        return User.create(username=username, display_name=display_name.strip()[:100],
                           email=email.strip().lower(), role="customer", customer=c,
                           password_hash=hash_password(password))
