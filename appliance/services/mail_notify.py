"""Notices Gongdan mails on its own, not an agent's reply: the "we received your request
GD-…" confirmation for new tickets from e-mail and web forms, and the "your message was too
large" refusal for inbound mail over the limit (issue 5).

They go through the outbox like replies (appliance.services.mail_outbound: retried, visible
on the ticket). An outbound notice row has no comment; its `kind` is "<notice>:<locale>"
("received:zh_CN"), so the send job renders the same text later, and it carries
`Auto-Submitted: auto-replied` so well-behaved responders stay quiet.

Loop safety, in order: notices can be switched off (`mail_acknowledge`); never to our own
addresses, daemons or no-reply addresses; never in answer to mail that was not "normal"
(the caller passes the inbound message's class); one confirmation per ticket; and at most
NOTICE_LIMIT notices per address per clock hour, enforced by the unique `dedupe_key` of
numbered slots ("notice:<address hash>:<hour>:<n>"), so two workers cannot both take the
last one.
"""
from __future__ import annotations

import datetime as dt

from peewee import IntegrityError

from appliance.db import database
from appliance.errors import ValidationError
from appliance.jobs import schedule
from appliance.mail import compose, notices
from appliance.models import Mailbox, MailMessage, Ticket, User, utcnow
from appliance.rules import mail_loops
from appliance.rules.language import detect_language
from appliance.services import mail_addresses
from appliance.services.mail_outbound import customer_email, sender_mailbox
from appliance.settings import Settings

NOTICE_LIMIT = 3   # per address and clock hour; a loop gets three turns at most


def queue_ticket_notice(ticket_id: int, kind: str, settings: Settings, *,
                        to: str | None = None, form_title: str = "") -> int | None:
    """Queue notice `kind` ("received") for the ticket's customer (or `to`); returns the
    outbox row id, or None when nothing is to be sent (no address, loop-prone sender,
    notices off). `form_title` is the title of the web form the ticket came from; the
    ticket's own subject is the sender's text and never goes into the notice. Call inside
    the transaction that created the ticket."""
    if kind != "received":
        raise ValueError(f"unknown ticket notice {kind!r}")
    if not settings.mail_acknowledge:
        return None
    t = Ticket.get_or_none(Ticket.id == ticket_id)
    if t is None or _already_sent(t.id, kind):
        return None
    first_in = (MailMessage.select().where((MailMessage.ticket == t.id)
                                           & (MailMessage.direction == "in"))
                .order_by(MailMessage.id).first())
    if first_in is not None and first_in.kind != "normal":
        return None
    address = to or (mail_addresses.sender_of(first_in) if first_in is not None else "") \
        or customer_email(t.customer_id)
    box = sender_mailbox(t, first_in.mailbox_id if first_in is not None else None)
    if box is None:
        return None
    locale = ticket_locale(t, settings)
    text = notices.render(kind, locale, title=form_title, number=t.number)
    try:
        subject = compose.tag_subject(text.subject, t.number)
    except ValidationError:
        return None
    thread = ([*(first_in.references or []), first_in.message_id]
              if first_in is not None and first_in.message_id else [])
    return _queue(kind, locale, address, box, settings, ticket_id=t.id, subject=subject,
                  in_reply_to=first_in.message_id if first_in is not None else "",
                  references=[r for r in thread if isinstance(r, str) and r])


def queue_refusal_notice(mailbox_id: int, address: str, subject: str, message_id: str,
                         references: list[str], settings: Settings) -> int | None:
    """Queue the "too large" notice to the sender of a refused message (no ticket). The
    caller has checked from the message's headers that it is normal mail. `subject` only
    picks the notice's language; the notice does not repeat it (the From may be forged)."""
    if not settings.mail_acknowledge:
        return None
    box = Mailbox.get_or_none(Mailbox.id == mailbox_id)
    if box is None or not box.active:
        box = sender_mailbox(None, None)
    if box is None:
        return None
    locale = notices.locale_for(detect_language(subject), settings.default_locale)
    text = notices.render("too_large", locale, limit_bytes=settings.mail_max_bytes)
    thread = [r for r in [*references, message_id] if r]
    return _queue("too_large", locale, address, box, settings, ticket_id=None,
                  subject=text.subject, in_reply_to=message_id, references=thread)


def ticket_locale(t: Ticket, settings: Settings) -> str:
    """The customer's portal language, else the ticket's, else what it is written in,
    else the site default."""
    if t.customer_id:
        user = (User.select(User.locale).where((User.customer == t.customer_id)
                                               & (User.locale != "")).first())
        if user is not None:
            return notices.locale_for(user.locale, settings.default_locale)
    language = t.language or detect_language(f"{t.subject}\n{t.description or ''}")
    return notices.locale_for(language, settings.default_locale)


def _already_sent(ticket_id: int, kind: str) -> bool:
    return MailMessage.select().where(
        (MailMessage.ticket == ticket_id) & (MailMessage.direction == "out")
        & MailMessage.kind.startswith(f"{kind}:")).exists()


def recipient(address: str) -> str:
    """The address a notice may go to, lower-cased, or "" (invalid, ours, a daemon)."""
    address = (address or "").strip()
    own = {m.address for m in Mailbox.select(Mailbox.address)}
    if not address or mail_loops.unanswerable(address, own):
        return ""
    try:
        return compose.to_address("to", address).addr_spec.lower()
    except ValidationError:
        return ""


def _queue(kind: str, locale: str, address: str, box: Mailbox, settings: Settings, *,
           ticket_id: int | None, subject: str, in_reply_to: str, references: list[str],
           now: dt.datetime | None = None) -> int | None:
    to = recipient(address)
    if not to:
        return None
    try:
        message_id = compose.new_message_id(settings.mail_domain)
    except ValidationError:
        message_id = ""   # the send job refuses it visibly; the ticket is not blocked
    fields = dict(direction="out", ticket=ticket_id, comment=None, mailbox=box.id,
                  to_addresses=[to], subject=subject[:998], message_id=message_id,
                  in_reply_to=in_reply_to[:998], references=references[-20:],
                  kind=f"{kind}:{locale}", status="queued", next_attempt_at=utcnow())
    for key in _free_slots(to, now or utcnow()):
        try:
            with database.atomic():   # a savepoint: a taken slot leaves the outer one usable
                row = mail_addresses.create(dedupe_key=key, **fields)
        except IntegrityError:
            continue                  # taken meanwhile by another worker: the next one
        schedule("send_mail", row.id)
        return row.id
    return None                       # over the per-address limit


def _free_slots(address: str, now: dt.datetime) -> list[str]:
    # Keyed (the sender's blind index), not a plain hash: a plain SHA-256 of an address is
    # reversed by hashing a list of addresses (decision 0051).
    digest = mail_addresses.blind(mail_loops.canonical_address(address))[:32]
    hour = int(now.replace(tzinfo=dt.timezone.utc).timestamp() // 3600)
    slots = [f"notice:{digest}:{hour}:{n}" for n in range(NOTICE_LIMIT)]
    taken = {r.dedupe_key for r in MailMessage.select(MailMessage.dedupe_key).where(
        MailMessage.dedupe_key.in_(slots))}   # exact keys: the unique index answers
    return [k for k in slots if k not in taken]
