"""Outgoing e-mail: the outbox of agent replies on e-mail tickets, and its delivery.

`queue_reply` runs in the transaction that stores a public agent reply and adds one
outbound MailMessage row (status queued) plus a "send_mail" job. The job builds the
message (services.mail_outbound_message) and hands it to the relay (registry.mailer).
Transient failures back off exponentially (1, 2, 4 ... minutes, at most an hour) and give
up after MAX_ATTEMPTS; permanent ones (5xx, a message that cannot be built) fail at
once. A failed row stays on the ticket with its error until staff retry it. Without a
relay configured rows wait, queued and visibly so, and the periodic task sends them once
one is.

Sending is claimed with a conditional UPDATE (a lease on next_attempt_at), so the job
running twice, or alongside the periodic task's, sends a message once. Addresses are
never logged; errors carry SMTP codes and error classes only.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from appliance import jobs, registry, runtime
from appliance.db import database
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.mail import compose
from appliance.mail.dsn import Bounce
from appliance.models import Job, Ticket, utcnow
from appliance.models.mail import MailMessage
from appliance.ports import MailSendError
from appliance.rules.access import Actor, can_edit_ticket
from appliance.rules.pii import mask_pii
from appliance.services import common, contacts, mail_addresses
# sender_mailbox is imported from here by mail_notify (and was defined here).
from appliance.services.mail_outbound_message import (  # noqa: F401
    NoSender, Unsendable, build_message, notice_kind, sender_mailbox,
)
from appliance.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_CAP = dt.timedelta(hours=1)
# A claimed row is not due again for this long: a worker killed mid-send leaves the row
# queued, and the periodic task tries again after the lease (30 s SMTP timeout per step).
LEASE = dt.timedelta(minutes=10)
NOT_CONFIGURED = "outgoing mail is not configured"
NO_MAILBOX = "no active mailbox to send from"


@dataclass(frozen=True)
class OutboundView:
    id: int
    comment_id: int | None
    status: str             # queued | sent | failed
    error: str
    attempts: int
    to: list[str]
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    can_retry: bool
    notice: str = ""        # "" for an agent's reply, else the notice ("received")


# -- queueing (inside the reply's transaction) -------------------------------------------

def _inbound(ticket_id: int):
    return MailMessage.select().where(
        (MailMessage.ticket == ticket_id) & (MailMessage.direction == "in")
        & (MailMessage.status == "processed") & (MailMessage.kind == "normal"))


def _is_mail_ticket(t: Ticket) -> bool:
    return t.channel == "email" or MailMessage.select().where(
        (MailMessage.ticket == t.id) & (MailMessage.direction == "in")).exists()


def _recipient(t: Ticket, latest: MailMessage | None) -> str:
    sender = mail_addresses.sender_of(latest) if latest is not None else ""
    return sender or customer_email(t.customer_id)


def customer_email(customer_id: int | None) -> str:
    """The customer's first e-mail contact (the oldest), or "" when there is none."""
    if customer_id is None:
        return ""
    emails = contacts.of_customer(customer_id, "email")
    return emails[0].value if emails else ""


def _thread_ids(ticket_id: int) -> list[str]:
    """Message-IDs of the thread, oldest first: the first inbound message's own
    References (the customer's earlier mail), then every message of the ticket."""
    rows = list(MailMessage.select(MailMessage.message_id, MailMessage.references,
                                   MailMessage.direction, MailMessage.status)
                .where((MailMessage.ticket == ticket_id) & (MailMessage.message_id != ""))
                .order_by(MailMessage.id))
    ids: list[str] = []
    first_in = next((r for r in rows if r.direction == "in"), None)
    if first_in is not None:
        ids.extend(r for r in (first_in.references or []) if isinstance(r, str))
    ids.extend(r.message_id for r in rows
               if r.direction == "in" or r.status in ("queued", "sent"))
    return list(dict.fromkeys(ids))


def _subject(t: Ticket, latest: MailMessage | None) -> str:
    base = (latest.subject if latest is not None and latest.subject else t.subject) or ""
    if not base.lower().startswith(("re:", "回复", "答复")):
        base = f"Re: {base}"
    try:
        return compose.tag_subject(base, t.number)
    except ValidationError:
        # A subject with a line break (a decoded encoded-word can carry one): store it
        # as it came; the send job refuses to build the message and says why.
        return base[:998]


def queue_reply(ticket_id: int, comment_id: int, settings: Settings) -> int | None:
    """Queue the e-mail for a public agent reply; None when the ticket is not answered
    by mail (not an e-mail ticket, or nobody to write to). Call inside the transaction."""
    t = Ticket.get_by_id(ticket_id)
    if not _is_mail_ticket(t):
        return None
    latest = _inbound(t.id).order_by(MailMessage.id.desc()).first()
    to = _recipient(t, latest)
    if not to:
        return None
    try:
        message_id = compose.new_message_id(settings.mail_domain)
    except ValidationError:
        message_id = ""  # a bad mail_domain must not block the reply; the send job says why
    row = mail_addresses.create(
        direction="out", ticket=t.id, comment=comment_id, to_addresses=[to],
        subject=_subject(t, latest), message_id=message_id,
        in_reply_to=latest.message_id if latest is not None else "",
        references=_thread_ids(t.id), status="queued", next_attempt_at=utcnow())
    schedule("send_mail", row.id)
    return row.id


# -- sending (the job) -------------------------------------------------------------------

@jobs.handler("send_mail")
def send_mail(mail_id: int) -> None:
    """Send one queued row if it is due; safe to run twice (the claim is exclusive)."""
    settings = runtime.settings()
    mailer = registry.mailer(settings)
    if mailer is None:
        _wait(mail_id, NOT_CONFIGURED)
        return
    row = _claim(mail_id)
    if row is None:
        return
    try:
        message = build_message(row, settings)
    except Unsendable as exc:
        _failed(row, str(exc), transient=False)
        return
    except NoSender:
        _release(row, NO_MAILBOX)
        return
    try:
        mailer.send(message)
    except MailSendError as exc:
        _failed(row, str(exc), transient=exc.transient)
        return
    with database.atomic():
        MailMessage.update(status="sent", sent_at=utcnow(), error="", next_attempt_at=None,
                           attempts=MailMessage.attempts + 1).where(
            MailMessage.id == row.id).execute()
    log.info("mail %s sent (ticket %s)", row.id, row.ticket_id)


def _due(now: dt.datetime):
    return ((MailMessage.direction == "out") & (MailMessage.status == "queued")
            & (MailMessage.next_attempt_at.is_null() | (MailMessage.next_attempt_at <= now)))


def _claim(mail_id: int) -> MailMessage | None:
    now = utcnow()
    with database.atomic():
        claimed = MailMessage.update(next_attempt_at=now + LEASE).where(
            (MailMessage.id == mail_id) & _due(now)).execute()
    return MailMessage.get_by_id(mail_id) if claimed else None


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8, 16 ... minutes after the 1st, 2nd, 3rd ... failure; at most an hour."""
    return min(dt.timedelta(minutes=2 ** max(0, attempts - 1)), BACKOFF_CAP)


def _failed(row: MailMessage, error: str, *, transient: bool) -> None:
    error = mask_pii(error)[:500]   # servers quote the address they refused
    with database.atomic():
        current = MailMessage.get_by_id(row.id)
        attempts = current.attempts + 1
        if transient and attempts < MAX_ATTEMPTS:
            status, next_at = "queued", utcnow() + backoff(attempts)
        else:
            status, next_at = "failed", None
        MailMessage.update(status=status, error=error, attempts=attempts,
                           next_attempt_at=next_at).where(MailMessage.id == row.id).execute()
        _note(current, status, error)
    log.warning("mail %s (ticket %s) not sent, %s: %s", row.id, row.ticket_id, status, error)


def _wait(mail_id: int, error: str) -> None:
    """Nothing to send with: the row stays queued (and due) with the reason shown."""
    with database.atomic():
        current = MailMessage.get_or_none(MailMessage.id == mail_id)
        if current is None or current.status != "queued" or current.error == error:
            return
        MailMessage.update(error=error).where(MailMessage.id == mail_id).execute()
        _note(current, "queued", error, changed=True)


def _release(row: MailMessage, error: str) -> None:
    MailMessage.update(next_attempt_at=utcnow()).where(MailMessage.id == row.id).execute()
    _wait(row.id, error)


def _note(before: MailMessage, status: str, error: str, *, changed: bool = False) -> None:
    """One internal timeline event per change of state: the first failure, giving up,
    a new reason to wait. Repeated transient failures add nothing."""
    if before.ticket_id is None:
        return
    if before.status == status and before.error and not changed:
        return
    common.record(before.ticket_id, None, "mail_failed", "mail",
                  after={"mail_id": before.id, "status": status, "error": error},
                  internal=True)


# -- bounces -----------------------------------------------------------------------------

def record_bounce(bounce: Bounce) -> int | None:
    """Inside intake's transaction: the outgoing row the bounce reports on, marked failed
    with the report's Status and Diagnostic-Code when delivery failed for good (visible on
    the ticket, retryable). Returns its id, or None when the bounce names none of ours."""
    row = (MailMessage.select().where((MailMessage.direction == "out")
                                      & MailMessage.message_id.in_(
                                          list(bounce.original_message_ids)))
           .order_by(MailMessage.id).first()) if bounce.original_message_ids else None
    if row is None:
        return None
    if bounce.failed and row.status in ("sent", "queued"):
        error = mask_pii(bounce.summary())[:500]   # the Diagnostic-Code quotes addresses
        MailMessage.update(status="failed", error=error, next_attempt_at=None).where(
            MailMessage.id == row.id).execute()
        _note(row, "failed", error)
        log.warning("mail %s (ticket %s) bounced: %s", row.id, row.ticket_id,
                    bounce.status or "no status")
    return row.id


# -- staff: the panel and retry ----------------------------------------------------------

def _view(row: MailMessage, can_retry: bool) -> OutboundView:
    notice = notice_kind(row)
    return OutboundView(row.id, row.comment_id, row.status, row.error, row.attempts,
                        mail_addresses.recipients_of(row), row.created_at, row.next_attempt_at,
                        row.sent_at, can_retry and row.status == "failed",
                        notice[0] if notice else
                        ("csat" if (row.kind or "").startswith("csat:") else ""))


def outbound_for_ticket(actor: Actor, ticket_id: int) -> list[OutboundView]:
    """The ticket's outgoing mail, newest first (staff only; 404 like the ticket)."""
    if not actor.is_staff:
        raise PermissionDenied("staff only")
    t = common.ticket_for(actor, ticket_id)
    editable = can_edit_ticket(actor, common.facts(t))
    rows = (MailMessage.select().where((MailMessage.ticket == t.id)
                                       & (MailMessage.direction == "out"))
            .order_by(MailMessage.id.desc()).limit(50))
    return [_view(r, editable) for r in rows]


def retry(actor: Actor, mail_message_id: int) -> OutboundView:
    """Send a failed message again, now (staff who may edit its ticket)."""
    if not actor.is_staff:
        raise PermissionDenied("staff only")
    with unit_of_work():
        row = MailMessage.get_or_none((MailMessage.id == mail_message_id)
                                      & (MailMessage.direction == "out"))
        if row is None or row.ticket_id is None:
            raise NotFound("mail not found", id=mail_message_id)
        try:
            common.ticket_for(actor, row.ticket_id, edit=True, lock=True)
        except NotFound:
            raise NotFound("mail not found", id=mail_message_id) from None
        updated = MailMessage.update(status="queued", attempts=0, error="",
                                     next_attempt_at=utcnow()).where(
            (MailMessage.id == row.id) & (MailMessage.status == "failed")).execute()
        if not updated:
            raise Conflict("only a failed message can be sent again", status=row.status)
        common.record(row.ticket_id, actor, "mail_retried", "mail",
                      after={"mail_id": row.id}, internal=True)
        schedule("send_mail", row.id)
    return _view(MailMessage.get_by_id(row.id), True)


# -- periodic ----------------------------------------------------------------------------

def schedule_due(settings: Settings, limit: int = 200) -> int:
    """Schedule a send_mail job for each due queued row without an unfinished one
    (rows that backed off, or waited for a relay). Returns how many."""
    if registry.mailer(settings) is None:
        return 0  # nothing could be sent; the rows already say why
    # A job that used up its attempts (jobs.MAX_ATTEMPTS) never runs again: not pending.
    pending = Job.select(Job.object_id).where((Job.name == "send_mail")
                                              & Job.done_at.is_null()
                                              & (Job.attempts < jobs.MAX_ATTEMPTS))
    with unit_of_work():
        ids = [r.id for r in MailMessage.select(MailMessage.id).where(
            _due(utcnow()) & MailMessage.id.not_in(pending)).order_by(MailMessage.id)
            .limit(limit)]
        for mail_id in ids:
            schedule("send_mail", mail_id)
    return len(ids)
