"""Merging duplicate customers, and finding the likely duplicates of one.

A merge moves everything that points at the duplicate (tickets, and with them their
callbacks; contacts; chat and call conversations; portal logins; agents' customer
restrictions) onto the survivor in one transaction, and keeps the duplicate's row as a
pointer (merged_into, merged_at) so old links still lead somewhere. See
docs/decisions/0016-customer-identity.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from peewee import fn

from appliance import dto
from appliance.db import is_postgres
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.models import (AgentProfile, Conversation, Customer, CustomerContact, Ticket, User,
                              utcnow)
from appliance.rules.access import Actor, can_merge_customers, can_view_customers
from appliance.services import (common, contacts, customer_names, encryption, identity,
                                user_emails)
from appliance.services.customers import customer_view

MAX_TAGS = 20
MAX_HINTS = 10
NAME_CANDIDATES = 200    # customers of the same name whose company is compared
PREFIX_WINDOW = 5000     # newest contacts whose external-id prefixes the phone side tries
MAX_PREFIXES = 50


def merge_customers(actor: Actor, source_id: int, target_id: int, expected_version=None
                    ) -> dto.CustomerView:
    """Merge customer `source_id` into `target_id`; returns the survivor. Repeating a
    merge that already happened returns the survivor again and changes nothing."""
    if not can_merge_customers(actor):
        raise PermissionDenied("supervisors and administrators only")
    if source_id == target_id:
        raise ValidationError({"into": "cannot merge a customer into itself"})
    with unit_of_work():
        source, target = _lock(source_id, target_id)
        if source.merged_into_id == target.id:
            return customer_view(target, actor)
        _check(source, target, expected_version)
        moved = _move(source.id, target.id)
        _combine(source, target)
        now = utcnow()
        Customer.update(merged_into=target.id, merged_at=now, version=Customer.version + 1
                        ).where(Customer.id == source.id).execute()
        for ticket_id in moved:
            common.record(ticket_id, actor, "customer_merged", "customer_id",
                          f"#{source.id}", f"#{target.id}",  # ids: names are encrypted
                          internal=True)
            schedule("index_ticket", ticket_id)
    return customer_view(Customer.get_by_id(target.id), actor)


def _lock(source_id: int, target_id: int) -> tuple[Customer, Customer]:
    """Both rows, locked in id order on PostgreSQL (two opposite merges at once must not
    both pass the checks and point the customers at each other)."""
    rows = {}
    for cid in sorted((source_id, target_id)):
        q = Customer.select().where(Customer.id == cid)
        row = (q.for_update() if is_postgres() else q).first()
        if row is None:
            raise NotFound("customer not found", id=cid)
        rows[cid] = row
    return rows[source_id], rows[target_id]


def _check(source: Customer, target: Customer, expected_version) -> None:
    if source.merged_into_id is not None or source.merged_at is not None:
        raise Conflict("this customer was already merged into another customer",
                       merged_into=source.merged_into_id)
    if target.merged_into_id is not None or target.merged_at is not None:
        raise ValidationError({"into": f"that customer was merged into customer "
                                       f"#{target.merged_into_id}; merge into that one"})
    if expected_version not in (None, ""):
        try:
            expected = int(expected_version)
        except (TypeError, ValueError):
            raise ValidationError({"expected_version": "must be an integer"}) from None
        if expected != source.version:
            raise Conflict("the customer was changed by someone else; reload and try again")


def _move(source_id: int, target_id: int) -> list[int]:
    """Re-point every row of the source at the target; returns the moved ticket ids.
    Callbacks belong to tickets and follow them. Contacts cannot collide: each value
    belongs to one customer (unique index)."""
    moved = [r[0] for r in Ticket.select(Ticket.id).where(Ticket.customer == source_id)
             .order_by(Ticket.id).tuples()]
    if moved:
        # The version bump makes a form still showing the old customer a 409, not a
        # silent move back.
        Ticket.update(customer=target_id, version=Ticket.version + 1, updated_at=utcnow()
                      ).where(Ticket.id.in_(moved)).execute()
    CustomerContact.update(customer=target_id).where(
        CustomerContact.customer == source_id).execute()
    Conversation.update(customer=target_id).where(Conversation.customer == source_id).execute()
    User.update(customer=target_id).where(User.customer == source_id).execute()
    for profile in AgentProfile.select():  # one row per agent; JSON lists filter here
        ids = list(profile.allowed_customer_ids or [])
        if source_id in ids:
            ids = list(dict.fromkeys(target_id if x == source_id else x for x in ids))
            AgentProfile.update(allowed_customer_ids=ids, version=AgentProfile.version + 1
                                ).where(AgentProfile.user == profile.user_id).execute()
    return moved


def _combine(source: Customer, target: Customer) -> None:
    """Tags united (VIP tiers first, so a cap never drops one), company filled in, the
    source's notes appended under a heading naming it."""
    tags = list(dict.fromkeys([*(target.tags or []), *(source.tags or [])]))
    vip = [t for t in tags if str(t).strip().casefold().startswith("vip")]
    tags = (vip + [t for t in tags if t not in vip])[:MAX_TAGS]
    tags.sort(key=lambda t: [*(target.tags or []), *(source.tags or [])].index(t))
    notes = target.notes or ""
    if (source.notes or "").strip():
        heading = f"--- merged from customer #{source.id} ---"  # no name: notes are plaintext
        notes = f"{notes}\n\n{heading}\n{source.notes}" if notes else f"{heading}\n{source.notes}"
    Customer.update(tags=tags, notes=notes, company=target.company or source.company,
                    version=Customer.version + 1, **_personal_from(source, target)
                    ).where(Customer.id == target.id).execute()


def _personal_from(source: Customer, target: Customer) -> dict:
    """The source's ID number and address where the target has none, sealed again to
    the target's row (a ciphertext is bound to the row it was written for)."""
    out = {}
    for column in ("id_number", "address"):
        mine, theirs = getattr(target, f"{column}_enc"), getattr(source, f"{column}_enc")
        if theirs and not mine:
            plain = encryption.unseal("customer", column, source.id, theirs)
            out[f"{column}_enc"] = encryption.seal("customer", column, target.id, plain)
            if column == "id_number":
                out["id_number_bidx"] = source.id_number_bidx
    return out


# --- likely duplicates -----------------------------------------------------------------------

@dataclass(frozen=True)
class DuplicateHint:
    """Another customer that may be the same one, and why (same_name, phone_in_external,
    portal_email)."""
    customer: dto.Ref
    company: str
    reasons: tuple[str, ...]


def possible_duplicates(actor: Actor, customer_id: int) -> list[DuplicateHint]:
    """Live customers that look like this one. Hints only: nothing here decides identity."""
    if not can_view_customers(actor):
        raise NotFound("customer not found", id=customer_id)
    c = Customer.get_or_none(Customer.id == customer_id)
    if c is None or c.merged_at is not None:
        return []
    found: dict[int, list[str]] = {}
    for other, reason in [*_same_name(c), *_phone_in_external(c), *_portal_email(c)]:
        if other != c.id and reason not in found.setdefault(other, []):
            found[other].append(reason)
    rows = {r.id: r for r in Customer.select().where(
        Customer.id.in_(list(found)) & Customer.merged_at.is_null())} if found else {}
    hints = [DuplicateHint(dto.Ref(r.id, customer_names.name_of(r)), r.company,
                           tuple(found[r.id]))
             for r in sorted(rows.values(), key=lambda r: (-len(found[r.id]), r.id))]
    return hints[:MAX_HINTS]


def _same_name(c: Customer):
    """Same name (case and spacing aside: customer_names.name_key, through the blind index)
    and the same company, or no company on one side."""
    if not c.name_bidx:
        return []
    q = (Customer.select(Customer.id, Customer.company)
         .where((Customer.name_bidx == c.name_bidx) & Customer.merged_at.is_null()
                & (Customer.id != c.id))
         .order_by(Customer.id).limit(NAME_CANDIDATES))
    mine = c.company.strip().casefold()
    return [(r.id, "same_name") for r in q
            if not mine or not r.company.strip() or r.company.strip().casefold() == mine]


def _contacts(c: Customer) -> list[tuple[str, str]]:
    return [(x.kind, x.value) for x in contacts.of_customer(c.id)]


def _phone_in_external(c: Customer):
    """A phone number of one customer is another's external id (a chat system keyed by
    mobile number: "wechat:13800138000" or plain). Exact lookups on the contacts' unique
    index only: from the phone side, the number plain and after each prefix in use."""
    out = []
    contacts = _contacts(c)
    phones = [value for kind, value in contacts if kind == "phone"]
    if phones:
        prefixes = _external_prefixes()
        wanted = [f"{p}:{phone}" for phone in phones for p in prefixes] + phones
        q = CustomerContact.select(CustomerContact.customer).where(
            (CustomerContact.kind == "external")
            & CustomerContact.value_bidx.in_([encryption.blind("external", w) for w in wanted]))
        out += [(r.customer_id, "phone_in_external") for r in q.limit(20)]
    for kind, value in contacts:
        if kind == "external":
            phone = identity.normalize("phone", value.rpartition(":")[2])
            owner = identity.owner_of("phone", phone) if phone else None
            if owner is not None:
                out.append((owner, "phone_in_external"))
    return out


def _external_prefixes() -> list[str]:
    """The prefixes ("wechat", "crm") of the external ids among the newest PREFIX_WINDOW
    contacts: the sources in use, read by a primary-key range rather than by searching
    every external id for a suffix. A source silent for longer is still found from the
    other side: its customer's page lists the phone's owner."""
    newest = CustomerContact.select(fn.MAX(CustomerContact.id)).scalar() or 0
    rows = CustomerContact.select(CustomerContact.id, CustomerContact.value_enc).where(
        (CustomerContact.id > newest - PREFIX_WINDOW)
        & (CustomerContact.kind == "external"))
    values = [contacts.value_of(r) for r in rows]  # encrypted: decrypted here, not in SQL
    return sorted({v.rpartition(":")[0] for v in values if ":" in v})[:MAX_PREFIXES]


def _portal_email(c: Customer):
    """A portal login's e-mail that another customer holds as a contact (a sign-up with a
    known address, docs/decisions/0016), in either direction."""
    out = []
    for u in User.select(User.id, User.email_enc).where(User.customer == c.id):
        owner = identity.owner_of("email", identity.normalize("email", user_emails.email_of(u)))
        if owner is not None:
            out.append((owner, "portal_email"))
    mine = [v for k, v in _contacts(c) if k == "email"]
    if mine:
        q = User.select(User.customer).where(
            User.email_bidx.in_([user_emails.blind(e) for e in mine])
            & User.customer.is_null(False))
        out += [(r.customer_id, "portal_email") for r in q.limit(20)]
    return out
