"""Inbound e-mail: one raw message in, a ticket, a reply, or a recorded refusal out.

Owns the intake pipeline: size check, parse, de-duplication, loop and flood protection,
threading, the sender's customer record, and storing everything one message brings in
one transaction. Every inbound message leaves exactly one MailMessage row (processed,
ignored or rejected), so a second delivery of the same message changes nothing.

Logs carry ids only: addresses and subjects are personal data.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from peewee import IntegrityError

from appliance.db import database
from appliance.errors import DomainError, NotFound
from appliance.jobs import unit_of_work
from appliance.mail import dedupe
from appliance.mail.dsn import read_bounce
from appliance.mail.parse import ParsedMessage, fold_quoted, parse_message
from appliance.models import (Attachment, Mailbox, MailMessage, Ticket,
                              utcnow)
from appliance.rules import mail_loops
from appliance.rules.access import SYSTEM
from appliance.rules.mail_threading import (InboundRef, after_reply_to_closed,
                                            normalise_message_id, thread_target)
from appliance.services import (common, contacts, identity, mail_addresses, mail_notify,
                                mail_outbound)
from appliance.services.attachments import Upload, remove_files, write_files
from appliance.services.comments import add_inbound_comment
from appliance.services.links import _insert_link
from appliance.services.tickets import TicketInput, _attach_files, create_ticket
from appliance.settings import Settings

log = logging.getLogger(__name__)

RAW_FILENAME = "original.eml"
MAX_REFERENCES = 50   # newest kept; a 100 KB References header threads by its tail anyway
_HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class IntakeResult:
    status: str   # created | appended | reopened | follow_up | ignored | rejected | duplicate
    ticket_id: int | None = None
    comment_id: int | None = None
    mail_message_id: int | None = None
    reason: str = ""


@dataclass
class _Files:
    """Files written before the transaction; removed again if it does not commit."""
    public: list[dict]
    raw: list[dict]
    skipped: list[str]

    def names(self) -> list[str]:
        return [w["storage_name"] for w in self.public + self.raw]


class _AlreadyIngested(Exception):
    """Another ingest of the same message committed first (unique dedupe_key)."""


def ingest(raw: bytes, settings: Settings, *, mailbox_address: str | None = None,
           now: dt.datetime | None = None) -> IntakeResult:
    """Take in one raw RFC 5322 message; safe to call again with the same message."""
    raw, now = bytes(raw), now or utcnow()
    sha = hashlib.sha256(raw).hexdigest()
    named = _named_mailbox(mailbox_address)
    if len(raw) > settings.mail_max_bytes:
        from appliance.services import mail_refusal   # it builds on this module's helpers
        return mail_refusal.reject_oversized(mail_refusal.header_of(raw), len(raw), named,
                                             settings, key=f"sha256:{sha}", now=now)
    msg = parse_message(raw, max_bytes=settings.mail_max_bytes)
    mailbox = named or _addressed_mailbox(msg)
    base = _row_fields(msg, mailbox, sha, now)
    first = _received_before(base)
    if first is not None:
        return _duplicate(first)
    kind = _classify(msg)
    if kind.kind == "bounce":
        return _record_only(base, "ignored", kind.kind, kind.reason,
                            after=lambda: _link_bounce(raw))
    if kind.kind != "normal":
        return _record_only(base, "ignored", kind.kind, kind.reason)
    if _over_rate_limit(base["from_address"], settings, now):
        return _record_only(base, "ignored", "normal", "rate limit")
    return _process(raw, msg, mailbox, base, settings, now)


def _received_before(base: dict) -> MailMessage | None:
    """The row of this message if it came before (appliance.mail.dedupe): by its key, or
    by the key rows had before the fingerprint, where the same Message-ID counts only
    with the same sender and subject (else it is another message reusing the id)."""
    first = MailMessage.get_or_none(MailMessage.dedupe_key == base["dedupe_key"])
    if first is not None:
        return first
    for row in MailMessage.select().where(MailMessage.dedupe_key.in_(
            dedupe.legacy_keys(base["mailbox"], base["message_id"], base["raw_sha256"]))):
        if row.dedupe_key.startswith("sha256:") or (
                (mail_addresses.sender_of(row), row.subject)
                == (base["from_address"], base["subject"])):
            return row
    return None


def _named_mailbox(address: str | None) -> Mailbox | None:
    if not address:
        return None
    mailbox = Mailbox.get_or_none(Mailbox.address == address.strip().lower())
    if mailbox is None:
        raise NotFound("no such mailbox")
    return mailbox


def _addressed_mailbox(msg: ParsedMessage) -> Mailbox | None:
    """The first of our mailboxes among To and Cc (plus-tags ignored)."""
    wanted = [mail_loops.canonical_address(a) for a in msg.to + msg.cc]
    if not wanted:
        return None
    found = {m.address: m for m in Mailbox.select().where(Mailbox.address.in_(wanted))}
    return next((found[a] for a in wanted if a in found), None)


def _row_fields(msg: ParsedMessage, mailbox: Mailbox | None, sha: str, now) -> dict:
    message_id = normalise_message_id(msg.message_id)[:998]
    return {
        "direction": "in", "mailbox": mailbox.id if mailbox else None,
        "message_id": message_id, "raw_sha256": sha,
        "dedupe_key": dedupe.dedupe_key(mailbox.id if mailbox else None, message_id,
                                        dedupe.fingerprint(msg)),
        "from_address": msg.from_address.strip().lower()[:254],
        "to_addresses": [a.lower() for a in msg.to + msg.cc][:50],
        "subject": msg.subject[:998], "in_reply_to": " ".join(msg.in_reply_to)[:998],
        "references": msg.references[-MAX_REFERENCES:], "created_at": now,
    }


def _claim(fields: dict) -> MailMessage:
    """Insert the message's row; its unique dedupe_key makes a concurrent twin fail here."""
    try:
        with database.atomic():  # a savepoint: the failed insert leaves the outer one usable
            return mail_addresses.create(**fields)
    except IntegrityError:
        raise _AlreadyIngested() from None


def _record_only(base: dict, status: str, kind: str, reason: str, after=None) -> IntakeResult:
    try:
        with unit_of_work():
            row = _claim({**base, "status": status, "kind": kind, "error": reason})
            note = after() if after is not None else ""
            if note:
                reason = f"{reason}; {note}"[:2000]
                MailMessage.update(error=reason).where(MailMessage.id == row.id).execute()
    except _AlreadyIngested:
        return _duplicate(MailMessage.get(MailMessage.dedupe_key == base["dedupe_key"]))
    log.info("inbound mail %s %s (%s)", row.id, status, kind)
    return IntakeResult(status, mail_message_id=row.id, reason=reason)


def _link_bounce(raw: bytes) -> str:
    """A bounce of mail we sent marks that mail failed (never a ticket of its own)."""
    report = read_bounce(raw)
    mail_id = mail_outbound.record_bounce(report) if report is not None else None
    return f"reports on outgoing mail {mail_id}" if mail_id else ""


def _duplicate(row: MailMessage) -> IntakeResult:
    return IntakeResult("duplicate", row.ticket_id, row.comment_id, row.id,
                        f"already received ({row.status})")


def _classify(msg: ParsedMessage) -> mail_loops.MailKind:
    headers = {**msg.headers_of_interest, "subject": msg.subject}
    own = {m.address for m in Mailbox.select(Mailbox.address)}
    return mail_loops.classify(headers, msg.from_address,
                               msg.headers_of_interest.get("content-type", ""), own)


def _over_rate_limit(address: str, settings: Settings, now: dt.datetime) -> bool:
    """Every inbound row of the sender in the last hour counts, set-aside ones included."""
    if not address:
        return False
    limit = settings.mail_sender_limit_per_hour
    rows = (MailMessage.select(MailMessage.created_at)
            .where((MailMessage.direction == "in") & mail_addresses.sent_by(address)
                   & (MailMessage.created_at > now - _HOUR))
            .limit(limit))
    return mail_loops.over_limit([r.created_at for r in rows], now, limit, _HOUR)


def _process(raw: bytes, msg: ParsedMessage, mailbox: Mailbox | None, base: dict,
             settings: Settings, now) -> IntakeResult:
    files = _write_files(raw, msg, settings)
    try:
        with unit_of_work():
            row = _claim({**base, "status": "processed", "kind": "normal",
                          "error": _skipped_note(files)})
            status, ticket_id, comment_id = _deliver(msg, mailbox, files, settings, now)
            MailMessage.update(ticket=ticket_id, comment=comment_id).where(
                MailMessage.id == row.id).execute()
            _acknowledge(msg, status, ticket_id, settings)
    except _AlreadyIngested:
        remove_files(files.names(), settings)
        return _duplicate(MailMessage.get(MailMessage.dedupe_key == base["dedupe_key"]))
    except BaseException:
        remove_files(files.names(), settings)
        raise
    log.info("inbound mail %s %s ticket %s comment %s", row.id, status, ticket_id, comment_id)
    return IntakeResult(status, ticket_id, comment_id, row.id)


def _acknowledge(msg: ParsedMessage, status: str, ticket_id: int, settings: Settings) -> None:
    """A new ticket gets its "we received your request" notice; a reply to an existing
    one does not (the customer knows the number), nor does a sender who asked us not to
    answer automatically (X-Auto-Response-Suppress)."""
    if status in ("created", "follow_up") and mail_loops.may_auto_answer(
            "normal", msg.headers_of_interest):
        mail_notify.queue_ticket_notice(ticket_id, "received", settings)


def _write_files(raw: bytes, msg: ParsedMessage, settings: Settings) -> _Files:
    """Attachments one by one (a bad one is skipped, not fatal) and the raw message."""
    files = _Files([], [], [])
    try:
        for att in msg.attachments:
            try:
                files.public += write_files([Upload(att.filename, att.content)], settings)
            except DomainError as exc:
                files.skipped.append(f"{att.filename} ({exc.message})")
        files.raw = _write_raw(raw, settings, files)
    except BaseException:
        remove_files(files.names(), settings)
        raise
    return files


def _write_raw(raw: bytes, settings: Settings, files: _Files) -> list[dict]:
    """The whole message as an internal attachment, so nothing the parser dropped is lost.

    It may be larger than an upload may be, and .eml may not be an allowed upload type:
    the intake limit applies to it instead.
    """
    relaxed = dataclasses.replace(
        settings, max_attachment_bytes=max(settings.max_attachment_bytes, len(raw)),
        allowed_attachment_types=tuple({*settings.allowed_attachment_types, "eml"}))
    try:
        written = write_files([Upload(RAW_FILENAME, raw)], relaxed)
    except DomainError as exc:  # e.g. NUL bytes near the start: not storable as text
        files.skipped.append(f"{RAW_FILENAME} ({exc.message})")
        return []
    return [{**w, "internal": True} for w in written]


def _skipped_note(files: _Files) -> str:
    return ("not stored: " + "; ".join(files.skipped))[:2000] if files.skipped else ""


def _deliver(msg: ParsedMessage, mailbox: Mailbox | None, files: _Files, settings: Settings,
             now) -> tuple[str, int, int | None]:
    """Reply to a known ticket, or a new one; returns (status, ticket id, comment id)."""
    ref = InboundRef(msg.message_id, msg.in_reply_to, msg.references, msg.subject)
    decision = thread_target(ref, _known_ticket, _ticket_by_number,
                             prefix=settings.ticket_number_prefix)
    new_part = _new_part(msg)
    if decision.kind == "new":
        department = mailbox.department_id if mailbox else None
        return "created", _new_ticket(msg, new_part, department, files, settings, now), None
    t = _live(decision.ticket_id)
    if not _sender_belongs(t, msg.from_address):
        # Threaded by headers or by the number in the subject, but not from the ticket's
        # customer: a new ticket of its own, related to that one (never a comment in the
        # customer's name, nor an address the agents' replies would then go to).
        department = t.department_id or (mailbox.department_id if mailbox else None)
        ticket_id = _new_ticket(msg, new_part, department, files, settings, now,
                                preface=f"Related to {t.number} (sent from an address that "
                                        f"is not this ticket's customer's)\n\n")
        _insert_link(SYSTEM, t.id, ticket_id, "related")
        return "created", ticket_id, None
    action = after_reply_to_closed(t.status, t.closed_at or t.resolved_at, now,
                                   settings.reopen_window_days)
    if action == "follow_up":
        return "follow_up", _follow_up(t, msg, new_part, mailbox, files, settings, now), None
    comment = add_inbound_comment(t.id, new_part, files.public + files.raw, settings, now=now)
    return ("reopened" if action == "reopen" else "appended"), t.id, comment.id


def _sender_belongs(t: Ticket, address: str) -> bool:
    """May mail from `address` join `t` as the customer's own reply? Only from one of the
    customer's e-mail addresses or, on a ticket without a customer, from an address that
    already wrote to it. Ticket numbers are sequential and Message-IDs travel (CC,
    forwards): threading alone must not let a stranger write as the customer."""
    address = (address or "").strip().lower()
    if not address:
        return False
    if t.customer_id:
        normal = identity.normalize("email", address)
        return bool(normal) and contacts.exists("email", normal, t.customer_id)
    return MailMessage.select().where(
        (MailMessage.ticket == t.id) & (MailMessage.direction == "in")
        & mail_addresses.sent_by(address) & (MailMessage.status == "processed")).exists()


def _known_ticket(ids: list[str]) -> int | None:
    """The ticket of the first of these Message-IDs we received or sent (priority order)."""
    rows = (MailMessage.select(MailMessage.message_id, MailMessage.ticket)
            .where(MailMessage.message_id.in_(ids) & MailMessage.ticket.is_null(False))
            .order_by(MailMessage.id))
    by_id: dict[str, int] = {}
    for r in rows:
        by_id.setdefault(r.message_id, r.ticket_id)
    return next((by_id[i] for i in ids if i in by_id), None)


def _ticket_by_number(number: str) -> int | None:
    row = Ticket.select(Ticket.id).where(Ticket.number == number).first()
    return row.id if row else None


def _live(ticket_id: int) -> Ticket:
    """The ticket a reply belongs to, following merges to the surviving ticket."""
    t = Ticket.get_by_id(ticket_id)
    for _ in range(10):
        if not t.merged_into_id:
            break
        t = Ticket.get_by_id(t.merged_into_id)
    return t


def _new_part(msg: ParsedMessage) -> str:
    """What the sender wrote now; the quoted history stays in original.eml."""
    new, _history = fold_quoted(msg.text)
    return new.strip()[:100_000]


def _subject(msg: ParsedMessage) -> str:
    return " ".join(msg.subject.split())[:255] or "(no subject)"


def _new_ticket(msg: ParsedMessage, text: str, department_id: int | None, files: _Files,
                settings: Settings, now, *, preface: str = "") -> int:
    data = TicketInput(subject=_subject(msg), description=(preface + text)[:100_000],
                       channel="email",
                       department_id=department_id, customer_id=_customer_for(msg))
    ticket_id = create_ticket(SYSTEM, data, settings).summary.id
    _attach_files(SYSTEM, ticket_id, files.public, now)
    for w in files.raw:
        Attachment.create(ticket=ticket_id, created_at=now, **w)
        common.record(ticket_id, SYSTEM, "attachment_added", after={"filename": w["filename"]},
                      internal=True)
    return ticket_id


def _follow_up(old: Ticket, msg: ParsedMessage, text: str, mailbox: Mailbox | None,
               files: _Files, settings: Settings, now) -> int:
    """A late reply to an ended ticket: a new ticket, related to the old one."""
    department = old.department_id or (mailbox.department_id if mailbox else None)
    ticket_id = _new_ticket(msg, text, department, files, settings, now,
                            preface=f"Follow-up to {old.number}\n\n")
    _insert_link(SYSTEM, old.id, ticket_id, "related")
    return ticket_id


def _customer_for(msg: ParsedMessage) -> int | None:
    """The customer with this e-mail contact, or a new one; identity is the From address
    only (the display name only labels a new customer). None: no usable address."""
    address = msg.from_address.strip().lower()
    name = " ".join((msg.from_name or address).split())[:200]
    return identity.find_or_create_customer(name, email=address)
