"""Erasing a customer's personal data on request (PIPL art. 47): the profile is
anonymised, not deleted, so tickets keep their history and statistics stay whole.

What goes: name, company, notes, tags, ID number and address (with its blind index),
every contact (value and blind index), the identifiers and participants recorded on the
customer's chats and calls, the phone numbers of callbacks on its tickets, the addresses
of its mail (mail still queued for it is given up), and the
portal logins' names and e-mail addresses (the logins are disabled); scheduled
follow-up visits (回访) are cancelled. What stays: the
tickets and their text, which people typed and which may name them (masked in the
search index; docs/decisions/0030-encryption-at-rest.md says what that means).
Afterwards the freed database pages are overwritten (SQLite secure_delete, WAL
checkpoint; PostgreSQL: the touched tables rewritten by VACUUM FULL) and the customer's
tickets are re-indexed and the index segments holding old versions rewritten, by a job
that carries only the customer id.
"""
from __future__ import annotations

from appliance import pg_rewrite
from appliance.db import database, is_postgres
from appliance.errors import NotFound, PermissionDenied
from appliance.jobs import handler, schedule, unit_of_work
from appliance.models import (Callback, Conversation, Customer, CustomerContact, MailMessage,
                              Ticket, User, utcnow)
from appliance.rules.access import Actor, can_erase_customers
from appliance.services import customer_names, mail_addresses

ERASED_NAME = "Erased customer #{id}"
RECIPIENT_ERASED = "not sent: the recipient's personal data was erased (PIPL)"


def erase_customer(actor: Actor, customer_id: int) -> None:
    """Anonymise the customer; repeating it changes nothing more."""
    if not can_erase_customers(actor):
        raise PermissionDenied("only the system administrator may erase customer data")
    with unit_of_work():
        c = Customer.get_or_none(Customer.id == customer_id)
        if c is None:
            raise NotFound("customer not found", id=customer_id)
        Customer.update(**customer_names.columns(c.id, ERASED_NAME.format(id=c.id)),
                        company="", notes="", tags=[],
                        id_number_enc="", id_number_bidx="", address_enc="",
                        erased_at=c.erased_at or utcnow(), version=Customer.version + 1
                        ).where(Customer.id == c.id).execute()
        senders = _mail_senders(c.id)   # before the contacts and logins go
        CustomerContact.delete().where(CustomerContact.customer == c.id).execute()
        _erase_around(c.id)
        _erase_mail(c.id, senders)
        from appliance.services import audit
        audit.record("customer.erased", actor_id=actor.user_id, object_type="customer",
                     object_id=c.id)
        schedule("erase_followup", c.id)
    overwrite_freed_pages()


def _mail_senders(customer_id: int) -> list[str]:
    """Blind indexes of the customer's e-mail addresses (contacts and portal logins)."""
    keys = [r.value_bidx for r in CustomerContact.select(CustomerContact.value_bidx).where(
        (CustomerContact.customer == customer_id) & (CustomerContact.kind == "email"))]
    keys += [r.email_bidx for r in User.select(User.email_bidx).where(
        User.customer == customer_id)]
    return [k for k in keys if k]


def _erase_mail(customer_id: int, senders: list[str]) -> None:
    """The addresses of the customer's mail: every message on its tickets and every
    message it sent (ignored or rate-limited ones have no ticket). Mail still waiting to
    be sent to it is given up, visibly."""
    tickets = Ticket.select(Ticket.id).where(Ticket.customer == customer_id)
    mine = MailMessage.ticket.in_(tickets)
    if senders:
        mine |= MailMessage.from_bidx.in_(senders)
    MailMessage.update(status="failed", next_attempt_at=None, error=RECIPIENT_ERASED).where(
        mine & (MailMessage.direction == "out") & (MailMessage.status == "queued")).execute()
    MailMessage.update(from_enc="", from_bidx="", to_enc="").where(mine).execute()


def _erase_around(customer_id: int) -> None:
    """Copies of the identifiers next to the profile: conversations, callbacks, logins."""
    Conversation.update(identifiers={}, participants={}, personal_enc="").where(
        Conversation.customer == customer_id).execute()
    tickets = Ticket.select(Ticket.id).where(Ticket.customer == customer_id)
    Callback.update(phone_enc="").where(Callback.ticket.in_(tickets)).execute()
    User.update(display_name="-", email_enc="", email_bidx="", active=False).where(
        User.customer == customer_id).execute()
    # Satisfaction survey comments are the customer's own words outside any ticket (a bad
    # rating's comment copied onto the ticket stays, as ticket text does); the ratings stay
    # for the statistics, and the survey's pending link cannot mail anyone any more.
    from appliance.models import FollowUpVisit, Survey
    Survey.update(comment="").where(Survey.customer == customer_id).execute()
    # Nobody calls an erased customer back: scheduled follow-up visits end as cancelled.
    FollowUpVisit.update(status="cancelled", done_at=utcnow(),
                         version=FollowUpVisit.version + 1).where(
        (FollowUpVisit.status == "scheduled")
        & ((FollowUpVisit.customer == customer_id) | FollowUpVisit.ticket.in_(tickets))
    ).execute()


def overwrite_freed_pages() -> None:
    """SQLite: secure_delete (appliance.db) zeroes freed pages in the main file; the WAL
    still holds the old pages until it is checkpointed and truncated. PostgreSQL keeps
    the old row versions (dead tuples) in the table files until they are rewritten:
    erase_followup does that after commit (rewrite_erased_tables)."""
    if is_postgres():
        return
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")


# Tables an erasure updates or deletes rows of: their old row versions hold the data.
ERASED_TABLES = ("customer", "customer_contact", "conversation", "callback", "user", "survey",
                 "mail_message")
LOCK_WAIT = "5s"   # waiting longer for a busy table: fail, and the job is tried again later
# How long the job waits for transactions older than itself before it gives up this try.
SNAPSHOT_WAIT_SECONDS = 60.0


OlderTransactionsOpen = pg_rewrite.OlderTransactionsOpen


def rewrite_erased_tables() -> None:
    """PostgreSQL: the touched tables written anew without the erased row versions
    (appliance.pg_rewrite; they are locked while copied, seconds for a few hundred thousand
    rows: erasures are rare, and a customer asked). The job runs outside any transaction."""
    pg_rewrite.vacuum_full(ERASED_TABLES, wait_seconds=SNAPSHOT_WAIT_SECONDS,
                           lock_wait=LOCK_WAIT, what="the erasure")


@handler("erase_followup")
def erase_followup(customer_id: int) -> None:
    """Re-index the customer's tickets and rewrite index segments that hold deleted
    documents (old versions of them); safe to run twice."""
    from appliance import registry, runtime
    from appliance.services import indexing
    ids = [r[0] for r in Ticket.select(Ticket.id).where(Ticket.customer == customer_id)
           .tuples()]
    rewrite_erased_tables()
    if ids:
        indexing.index_tickets(ids)
    optimize = getattr(registry.search_index(runtime.settings()), "optimize", None)
    if optimize is not None:
        optimize()
