"""Callbacks (回拨): calls an agent owes a customer, scheduled from a ticket.

Only staff who can work the ticket schedule or change its callbacks; the agent who is
to call must be active staff able to see the ticket. Every change writes an internal
timeline event in the same transaction. `remind_due` (a periodic task) notifies the
agent once when a callback falls due; `reminded_at` makes it safe to run twice.

A ticket can move out of the agent's reach after the callback was scheduled (another
department, another assignee). The callback then stays on the ticket, where whoever
works the ticket sees it and can take it over, but leaves the agent's "My callbacks",
due count and reminders: the agent can no longer open the ticket, and must not keep
its number, subject and the customer's full phone number. Its reminder goes to the
ticket's current assignee instead (see remind_due; docs/decisions/0017).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import fn

from appliance import dto
from appliance.errors import NotFound, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import (Callback, Notification, Ticket, TicketLink,
                              User, utcnow)
from appliance.rules.access import STAFF, Actor, can_view_ticket
from appliance.services import common, contacts, encryption
from appliance.rules.pii import mask_contact
from appliance.services.customers import full_contacts
from appliance.services.identity import normalize

STATUSES = ("open", "done", "failed", "cancelled")
GRACE = dt.timedelta(minutes=1)  # a time picked to the minute "now" is not in the past
MAX_NOTE = 2000
MAX_OUTCOME = 2000
REMIND_BATCH = 500


@dataclass(frozen=True)
class CallbackInput:
    phone: str = ""
    due_at: dt.datetime | None = None   # naive UTC
    agent_id: int | None = None         # None: the actor
    note: str = ""


@dataclass(frozen=True)
class CallbackView:
    id: int
    ticket_id: int
    ticket_number: str
    ticket_subject: str
    agent: dto.Ref
    phone: str
    due_at: dt.datetime
    note: str
    status: str
    outcome: str
    created_by: dto.Ref | None
    created_at: dt.datetime
    done_at: dt.datetime | None
    overdue: bool


TABLE = "callback"


def phone_of(c: Callback) -> str:
    """The number to call, decrypted ("" once the customer was erased)."""
    return encryption.unseal(TABLE, "phone", c.id, c.phone_enc)


def _view(c: Callback, t: Ticket, names: dict, now: dt.datetime, phone: str) -> CallbackView:
    creator = c.created_by_id
    return CallbackView(
        c.id, t.id, t.number, t.subject, dto.Ref(c.agent_id, names.get(c.agent_id, "")),
        phone, c.due_at, c.note, c.status, c.outcome,
        dto.Ref(creator, names.get(creator, "")) if creator else None, c.created_at,
        c.done_at, c.status == "open" and c.due_at <= now)


def _views(actor: Actor, rows: list[Callback]) -> list[CallbackView]:
    """Views with two more queries in all (tickets, user names), plus one per customer
    for the contact-masking rule."""
    if not rows:
        return []
    tickets = {t.id: t for t in Ticket.select(Ticket.id, Ticket.number, Ticket.subject,
                                              Ticket.customer).where(
        Ticket.id.in_({c.ticket_id for c in rows}))}
    ids = {c.agent_id for c in rows} | {c.created_by_id for c in rows} - {None}
    names = {u.id: u.display_name for u in User.select(User.id, User.display_name).where(
        User.id.in_(ids))}
    now = utcnow()
    full: dict = {}

    def phone(c: Callback) -> str:
        """In full for the agent who calls and for readers who see the customer's
        contacts in full (rules.pii); masked for other staff. Every caller has checked
        that the actor may see the ticket (ticket_for, or _visible in mine), so an agent
        who lost the ticket never gets here with its callback."""
        number = phone_of(c)
        customer_id = tickets[c.ticket_id].customer_id
        if c.agent_id == actor.user_id or customer_id is None:
            return number
        if customer_id not in full:
            full[customer_id] = full_contacts(actor, customer_id)
        return number if full[customer_id] else mask_contact("phone", number)
    return [_view(c, tickets[c.ticket_id], names, now, phone(c)) for c in rows]


# -- reading ---------------------------------------------------------------------------------

def for_ticket(actor: Actor, ticket_id: int) -> list[CallbackView]:
    """The ticket's callbacks, open ones first by due time, then the rest newest first."""
    t = common.ticket_for(actor, ticket_id)
    if not actor.is_staff:
        raise NotFound("ticket not found", id=ticket_id)
    rows = list(Callback.select().where(Callback.ticket == t.id))
    open_ = sorted((c for c in rows if c.status == "open"), key=lambda c: (c.due_at, c.id))
    closed = sorted((c for c in rows if c.status != "open"), key=lambda c: -c.id)
    rows = open_ + closed
    return _views(actor, rows)


def mine(actor: Actor, limit: int = 200) -> list[CallbackView]:
    """The actor's open callbacks on tickets the actor may still see, earliest due first
    (so overdue ones lead)."""
    rows = list(_mine_open(actor).order_by(Callback.due_at, Callback.id).limit(limit))
    return _views(actor, rows)


def due_count(actor: Actor) -> int:
    """How many of mine() are due now (for the navigation; one query)."""
    return _mine_open(actor).where(Callback.due_at <= utcnow()).count()


def _mine_open(actor: Actor):
    return (Callback.select().join(Ticket, on=(Callback.ticket == Ticket.id))
            .where((Callback.agent == actor.user_id) & (Callback.status == "open")
                   & _visible(actor)))


def _visible(actor: Actor):
    """rules.access.can_view_ticket for staff as an SQL condition on Ticket (kept in step
    with it: the tests compare both): assigned to the actor, in the actor's department,
    in the triage pool, or a sub-ticket of a ticket the actor works on."""
    if actor.is_admin:
        return Ticket.id.is_null(False)
    if not actor.is_staff:
        return Ticket.id.is_null()  # never true: customers owe no callbacks
    parent = Ticket.alias("parent_ticket")
    works = Ticket.assignee == actor.user_id
    parent_works = parent.assignee == actor.user_id
    if actor.department_id is not None:
        works |= Ticket.department == actor.department_id
        parent_works |= parent.department == actor.department_id
    via_parent = fn.EXISTS(
        TicketLink.select(TicketLink.id).join(parent, on=(TicketLink.source == parent.id))
        .where((TicketLink.target == Ticket.id) & (TicketLink.kind == "parent")
               & parent_works))
    return works | Ticket.department.is_null() | via_parent


def phone_choices(actor: Actor, ticket_id: int) -> list[str]:
    """The ticket customer's phone numbers, to prefill the form (only for readers who may
    see them in full)."""
    t = common.ticket_for(actor, ticket_id, edit=True)
    if t.customer_id is None or not full_contacts(actor, t.customer_id):
        return []  # masked numbers are no use to call; the agent types one
    return [c.value for c in contacts.of_customer(t.customer_id, "phone")]


def agent_choices(actor: Actor, ticket_id: int) -> list[dto.Ref]:
    """Active staff who can see the ticket (who may be asked to call back)."""
    t = common.ticket_for(actor, ticket_id, edit=True)
    facts = common.facts(t)
    staff = (User.select(User.id, User.role, User.department, User.customer_id, User.display_name)
             .where(User.role.in_(list(STAFF)) & (User.active == True))  # noqa: E712
             .order_by(User.display_name, User.id))
    return [dto.Ref(u.id, u.display_name) for u in staff
            if can_view_ticket(_actor_of(u), facts)]


def _actor_of(u: User) -> Actor:
    return Actor(user_id=u.id, role=u.role, department_id=u.department_id,
                 customer_id=u.customer_id, display_name=u.display_name)


# -- checks ----------------------------------------------------------------------------------

def _phone(value) -> str:
    if not isinstance(value, str) or not normalize("phone", value):
        raise ValidationError({"phone": "a valid phone number (5-20 digits, + allowed)"})
    return " ".join(value.split())[:40]


def _due(value, now: dt.datetime) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationError({"due_at": "required"})
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if value < now - GRACE:
        raise ValidationError({"due_at": "must not be in the past"})
    return value


def _agent(value, actor: Actor, t: Ticket) -> User:
    pk = actor.user_id if value in (None, "") else common.exists(User, value, "agent_id")
    u = User.get_by_id(pk)
    if not u.is_staff or not u.active or not can_view_ticket(_actor_of(u), common.facts(t)):
        raise ValidationError({"agent_id": "must be active staff who can see this ticket"})
    return u


def _text(value, field: str, max_len: int) -> str:
    return common.clean_text(value, field, max_len=max_len)


# -- writing ---------------------------------------------------------------------------------

def schedule_callback(actor: Actor, ticket_id: int, data: CallbackInput) -> CallbackView:
    now = utcnow()
    with unit_of_work():
        t = common.ticket_for(actor, ticket_id, edit=True)
        values = common.check_all({"phone": lambda: _phone(data.phone),
                                   "due_at": lambda: _due(data.due_at, now),
                                   "agent": lambda: _agent(data.agent_id, actor, t),
                                   "note": lambda: _text(data.note, "note", MAX_NOTE)})
        c = Callback.create(ticket=t.id, agent=values["agent"].id,
                            due_at=values["due_at"], note=values["note"],
                            created_by=actor.user_id or None, created_at=now)
        c.phone_enc = encryption.seal(TABLE, "phone", c.id, values["phone"])
        Callback.update(phone_enc=c.phone_enc).where(Callback.id == c.id).execute()
        _record(t.id, actor, "callback_scheduled", c, values["agent"].display_name)
    return _views(actor, [c])[0]


def _record(ticket_id: int, actor: Actor, kind: str, c: Callback, agent_name: str,
            outcome: str = "") -> None:
    """An internal timeline event; the phone number stays out of it."""
    after = {"agent": agent_name, "due_at": c.due_at.isoformat()}
    if outcome:
        after["outcome"] = outcome[:200]
    common.record(ticket_id, actor, kind, "", None, after, internal=True)


def _load(actor: Actor, callback_id: int, lock: bool = True) -> tuple[Callback, Ticket]:
    c = Callback.get_or_none(Callback.id == callback_id)
    if c is None:
        raise NotFound("callback not found", id=callback_id)
    try:
        t = common.ticket_for(actor, c.ticket_id, edit=True, lock=lock)
    except NotFound:
        raise NotFound("callback not found", id=callback_id) from None
    return c, t


def update_callback(actor: Actor, callback_id: int, changes: dict) -> CallbackView:
    """Change status (done | failed | cancelled), outcome, due_at or agent of an open
    callback. A callback that is no longer open cannot change."""
    unknown = sorted(set(changes) - {"status", "outcome", "due_at", "agent_id"})
    if unknown:
        raise ValidationError({k: "unknown or read-only field" for k in unknown})
    now = utcnow()
    with unit_of_work():
        c, t = _load(actor, callback_id)
        if c.status != "open":
            raise ValidationError({"status": "this callback is already closed"})
        row, agent = _changes(actor, c, t, changes, now)
        if row:
            Callback.update(**row).where(Callback.id == c.id).execute()
            c = Callback.get_by_id(c.id)
        _record_change(actor, t.id, c, agent, row)
    return _views(actor, [c])[0]


def _changes(actor: Actor, c: Callback, t: Ticket, changes: dict, now: dt.datetime):
    row, errors, agent = {}, {}, None
    status = changes.get("status", "open")
    if status not in STATUSES:
        errors["status"] = "must be one of " + ", ".join(STATUSES)
    elif status != "open":
        row.update(status=status, done_at=now)
    checks = {"outcome": lambda: _text(changes["outcome"], "outcome", MAX_OUTCOME),
              "due_at": lambda: _due(changes["due_at"], now),
              "agent": lambda: _agent(changes["agent_id"], actor, t)}
    for name, key in (("outcome", "outcome"), ("due_at", "due_at"), ("agent", "agent_id")):
        if key in changes:
            try:
                value = checks[name]()
            except ValidationError as exc:
                errors.update(exc.fields)
                continue
            if name == "agent":
                agent = value
                if value.id != c.agent_id:
                    row.update(agent=value.id, reminded_at=None)
            elif name == "due_at":
                row.update(due_at=value, reminded_at=None)
            else:
                row[name] = value
    if errors:
        raise ValidationError(errors)
    return row, agent


def _record_change(actor: Actor, ticket_id: int, c: Callback, agent: User | None,
                   row: dict) -> None:
    if not row:
        return
    name = agent.display_name if agent else User.get_by_id(c.agent_id).display_name
    kind = {"done": "callback_done", "failed": "callback_failed",
            "cancelled": "callback_cancelled"}.get(row.get("status"), "callback_changed")
    _record(ticket_id, actor, kind, c, name, c.outcome)


def complete(actor: Actor, callback_id: int, outcome: str) -> CallbackView:
    return update_callback(actor, callback_id, {"status": "done", "outcome": outcome})


def cancel(actor: Actor, callback_id: int) -> CallbackView:
    return update_callback(actor, callback_id, {"status": "cancelled"})


def fail(actor: Actor, callback_id: int, outcome: str = "",
         reschedule_at: dt.datetime | None = None) -> tuple[CallbackView, CallbackView | None]:
    """No answer: the callback is closed as failed; with `reschedule_at`, a new one for the
    same agent and number is scheduled, both in one transaction."""
    with unit_of_work():
        done = update_callback(actor, callback_id, {"status": "failed", "outcome": outcome})
        again = None
        if reschedule_at is not None:
            c = Callback.get_by_id(callback_id)
            again = schedule_callback(actor, c.ticket_id, CallbackInput(
                phone=phone_of(c), due_at=reschedule_at, agent_id=c.agent_id, note=c.note))
    return done, again


# -- reminders -------------------------------------------------------------------------------

def remind_due() -> int:
    """Notify agents of callbacks that fell due; returns how many. Each callback is
    claimed by setting reminded_at first, so two runs never notify twice."""
    now = utcnow()
    count = 0
    due = list(Callback.select(Callback.id, Callback.agent, Callback.ticket, Callback.due_at)
               .where((Callback.status == "open") & (Callback.due_at <= now)
                      & Callback.reminded_at.is_null())
               .order_by(Callback.due_at).limit(REMIND_BATCH))
    for c in due:
        with unit_of_work():
            claimed = Callback.update(reminded_at=now).where(
                (Callback.id == c.id) & Callback.reminded_at.is_null()
                & (Callback.status == "open")).execute()
            user_id = _reminded(c) if claimed else None
            if user_id:
                Notification.create(user=user_id, kind="callback_due", ticket=c.ticket_id,
                                    data={"callback_id": c.id,
                                          "due_at": c.due_at.isoformat()})
                count += 1
    return count


def _reminded(c: Callback) -> int | None:
    """Who is told that `c` is due: its agent while still active and able to see the
    ticket; else the ticket's current assignee if they can (the ticket moved to them, so
    the promised call is theirs now); else nobody. The callback is claimed either way:
    it stays open and overdue on the ticket's panel for whoever works the ticket, and
    giving it to someone (or a new time) clears reminded_at, so it is reminded again."""
    t = Ticket.get_by_id(c.ticket_id)
    facts = common.facts(t)
    for user_id in dict.fromkeys((c.agent_id, t.assignee_id)):
        u = User.get_or_none(User.id == user_id) if user_id else None
        if u is not None and u.is_staff and u.active and can_view_ticket(_actor_of(u), facts):
            return u.id
    return None
