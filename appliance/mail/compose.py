"""Outgoing e-mail: builds the EmailMessage for a ticket reply or notification.

Owns the headers that make threading and loop protection work on the other side
(ticket tag in the subject, Message-ID, In-Reply-To, References, Auto-Submitted) and
header safety: every value that reaches a header is checked for line breaks and NUL,
and every address is validated, before anything is set. Sending is the adapter's job.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Sequence, Union

from appliance.errors import ValidationError
from appliance.rules.mail_threading import normalise_message_id, subject_numbers
from appliance.rules.numbering import format_number, parse_number

# Everything str.splitlines() breaks on, plus NUL: any of them in a header could end it
# early and start a forged one (Bcc:, a second Content-Type, ...).
_BREAKS = frozenset("\r\n\0\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
_MSG_ID = re.compile(r"^<[^<>\s@]+@[^<>\s@]+>$")
_MIME_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
# 7-bit bodies (base64/quoted-printable chosen per part) pass any relay, with or
# without 8BITMIME; headers are RFC 2047-encoded by the SMTP policy either way.
POLICY = SMTP.clone(cte_type="7bit")
# RFC 5322 3.6.4 suggests trimming long References; keep the root (the ticket's first
# message, which many clients thread on) and the most recent ones.
MAX_REFERENCES = 20
# "human": an agent wrote it; "auto_reply": sent because a mail came in (acknowledgement);
# "system": sent on our own initiative (SLA warning, status change).
AUTO_SUBMITTED = {"human": None, "auto_reply": "auto-replied", "system": "auto-generated"}


class HeaderInjection(ValidationError):
    """A header value carried a line break or NUL; the message is refused, never fixed."""
    code = "header_injection"

    def __init__(self, field: str):
        super().__init__({field: "contains a line break or NUL"}, "header injection refused")


class InvalidAddress(ValidationError):
    code = "invalid_address"

    def __init__(self, field: str, value: str):
        super().__init__({field: f"not a valid e-mail address: {value!r}"})


@dataclass(frozen=True)
class Mailbox:
    address: str
    name: str = ""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf"
    data: bytes


MailboxLike = Union[Mailbox, str]


def check_header(field: str, value: str) -> str:
    """`value` unchanged, or HeaderInjection: refusing beats "cleaning", which hides attacks."""
    if any(c in _BREAKS for c in value):
        raise HeaderInjection(field)
    return value


def _domain(field: str, domain: str) -> str:
    """The domain in ASCII (IDNA for internationalised names), or InvalidAddress."""
    check_header(field, domain)
    try:
        ascii_domain = domain.strip().encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidAddress(field, domain) from None
    if not _DOMAIN.match(ascii_domain):
        raise InvalidAddress(field, domain)
    return ascii_domain.lower()


def to_address(field: str, mailbox: MailboxLike) -> Address:
    """A validated headerregistry.Address; the local part must be ASCII (no SMTPUTF8)."""
    box = Mailbox(mailbox) if isinstance(mailbox, str) else mailbox
    check_header(field, box.name)
    raw = check_header(field, box.address).strip()
    local, at, domain = raw.rpartition("@")
    if not at or not local or "@" in local or not local.isascii():
        raise InvalidAddress(field, raw)
    try:
        address = Address(display_name=box.name.strip(),
                          addr_spec=f"{local}@{_domain(field, domain)}")
    except (ValueError, IndexError, HeaderParseError):
        # headerregistry raises all three, depending on where the parse gives up
        raise InvalidAddress(field, raw) from None
    if address.username != local or " " in local:
        raise InvalidAddress(field, raw)  # the parser quietly dropped or re-quoted something
    return address


def new_message_id(domain: str) -> str:
    """A fresh `<random@domain>`: 128 random bits, no host name, time or pid leaked."""
    return f"<{secrets.token_hex(16)}@{_domain('domain', domain)}>"


def tag_subject(subject: str, ticket_number: str) -> str:
    """Prefix "[GD-2026-000123] " unless that ticket's tag is already in the subject."""
    parsed = parse_number(check_header("ticket_number", ticket_number))
    if not parsed:
        raise ValidationError({"ticket_number": f"not a ticket number: {ticket_number!r}"})
    number = format_number(*parsed)
    subject = " ".join(check_header("subject", subject).split())
    if number in subject_numbers(subject, parsed[0]):
        return subject
    return f"[{number}] {subject}".rstrip()


def thread_references(references: Sequence[str], in_reply_to: str | None) -> list[str]:
    """References oldest first, ending with In-Reply-To, capped to MAX_REFERENCES."""
    ids: list[str] = []
    for raw in [*references, *([in_reply_to] if in_reply_to else [])]:
        mid = _message_id("references", raw)
        if mid in ids:
            ids.remove(mid)  # keep its latest position: that is where it sits in the thread
        ids.append(mid)
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1):]]
    return ids


def _message_id(field: str, raw: str) -> str:
    mid = normalise_message_id(check_header(field, raw))
    if not _MSG_ID.match(mid) or not mid.isascii():
        raise ValidationError({field: f"not a Message-ID: {raw!r}"})
    return mid


def compose_reply(*, sender: MailboxLike, to: Sequence[MailboxLike], subject: str,
                  ticket_number: str | None, domain: str, text: str, html: str | None = None,
                  reply_to: MailboxLike | None = None, in_reply_to: str | None = None,
                  references: Sequence[str] = (), kind: str = "human",
                  attachments: Sequence[Attachment] = (), now: dt.datetime | None = None,
                  message_id: str | None = None) -> EmailMessage:
    """The message, ready for smtplib.send_message; raises before building anything bad.

    `references` are the thread's Message-IDs oldest first; `in_reply_to` is the
    customer's last one. `ticket_number` None: no tag (a notice about mail that made no
    ticket). `html` must already be safe (rendered by our templates).
    """
    if kind not in AUTO_SUBMITTED:
        raise ValidationError({"kind": f"one of {sorted(AUTO_SUBMITTED)}"})
    if isinstance(to, (str, Mailbox)):
        to = [to]
    recipients = [to_address("to", box) for box in to]
    if not recipients:
        raise ValidationError({"to": "at least one recipient"})
    msg = EmailMessage(policy=POLICY)
    msg["From"] = to_address("from", sender)
    msg["To"] = recipients
    if reply_to is not None:
        msg["Reply-To"] = to_address("reply_to", reply_to)
    msg["Subject"] = (tag_subject(subject, ticket_number) if ticket_number is not None
                      else " ".join(check_header("subject", subject).split()))
    msg["Date"] = format_datetime(_aware(now))
    msg["Message-ID"] = _message_id("message_id", message_id) if message_id \
        else new_message_id(domain)
    _set_threading(msg, in_reply_to, references)
    _set_auto(msg, kind)
    _set_body(msg, text, html, attachments)
    return msg


def _aware(now: dt.datetime | None) -> dt.datetime:
    # A naive time is taken as UTC rather than the server's zone, which may be anything.
    now = now or dt.datetime.now(dt.timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)


def _set_threading(msg: EmailMessage, in_reply_to: str | None,
                   references: Sequence[str]) -> None:
    if in_reply_to:
        msg["In-Reply-To"] = _message_id("in_reply_to", in_reply_to)
    ids = thread_references(references, in_reply_to)
    if ids:
        msg["References"] = " ".join(ids)


def _set_auto(msg: EmailMessage, kind: str) -> None:
    value = AUTO_SUBMITTED[kind]
    if value:
        msg["Auto-Submitted"] = value  # RFC 3834: tells responders not to answer us
        # Asks Exchange/Outlook not to send out-of-office replies to our automatic mail.
        msg["X-Auto-Response-Suppress"] = "All"


def _set_body(msg: EmailMessage, text: str, html: str | None,
              attachments: Sequence[Attachment]) -> None:
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for item in attachments:
        content_type = check_header("attachment", item.content_type).strip().lower()
        if not _MIME_TYPE.match(content_type):
            raise ValidationError({"attachment": f"bad content type {item.content_type!r}"})
        maintype, subtype = content_type.split("/")
        filename = check_header("attachment", item.filename).strip() or "attachment"
        # policy SMTP writes a non-ASCII filename as RFC 2231 filename*=utf-8''...
        msg.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=filename)
