"""Refusing inbound mail too large to take in, from its header alone (issue 5).

Owns what happens to a message over `mail_max_bytes`: a "rejected" MailMessage row with
sender, subject and Message-ID but no body, ticket or files, and the polite "too large"
notice (services.mail_notify) when the header shows normal mail from a sender under the
intake rate limit, once per Message-ID. IMAP fetching calls it with the header fetched
on its own (the body is never downloaded); piped intake with the header cut from the raw
message. It shares intake's row, classification and rate-limit helpers.
"""
from __future__ import annotations

import datetime as dt
import logging

from appliance.jobs import unit_of_work
from appliance.mail.parse import parse_message
from appliance.models import Mailbox, MailMessage, utcnow
from appliance.rules import mail_loops
from appliance.services import mail_intake as intake
from appliance.services import mail_notify
from appliance.settings import Settings

log = logging.getLogger(__name__)


def header_of(raw: bytes) -> bytes:
    """The header section (up to the first blank line), at most 256 KB of it."""
    head = raw[:256 * 1024]
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = head.find(sep)
        if at >= 0:
            return head[:at + len(sep)]
    return head


def reject_oversized(header: bytes, size: int, mailbox: Mailbox | None, settings: Settings,
                     *, key: str, where: str = "", now: dt.datetime | None = None
                     ) -> intake.IntakeResult:
    """Refuse a message too large to take in, knowing only its header: a "rejected" row
    (no body, no ticket, no files) and, for normal mail from a sender under the rate
    limit, the polite "too large" notice. Safe to call again for the same message."""
    now = now or utcnow()
    msg = parse_message(header, max_bytes=max(len(header), 1))
    mailbox = mailbox or intake._addressed_mailbox(msg)
    base = {**intake._row_fields(msg, mailbox, "", now), "dedupe_key": key[:128]}
    first = MailMessage.get_or_none(MailMessage.dedupe_key == base["dedupe_key"])
    if first is not None:
        return intake._duplicate(first)
    kind = intake._classify(msg)
    notify = (kind.kind == "normal" and mail_loops.may_auto_answer(kind, msg.headers_of_interest)
              and not intake._over_rate_limit(base["from_address"], settings, now)
              and not _refused_before(base, mailbox))
    reason = f"message is {size} bytes, limit {settings.mail_max_bytes}{where}"
    try:
        with unit_of_work():
            row = intake._claim({**base, "status": "rejected", "kind": kind.kind,
                                 "error": reason})
            if notify and mailbox is not None:
                mail_notify.queue_refusal_notice(
                    mailbox.id, base["from_address"], msg.subject, base["message_id"],
                    base["references"], settings)
    except intake._AlreadyIngested:
        return intake._duplicate(MailMessage.get(MailMessage.dedupe_key == base["dedupe_key"]))
    log.info("inbound mail %s rejected (%s bytes, %s)", row.id, size, kind.kind)
    return intake.IntakeResult("rejected", mail_message_id=row.id, reason=reason)


def _refused_before(base: dict, mailbox: Mailbox | None) -> bool:
    """This message (same Message-ID, same mailbox) was refused already: one notice is
    enough, even when a changed UIDVALIDITY presents it again."""
    if not base["message_id"]:
        return False
    return MailMessage.select().where(
        (MailMessage.direction == "in") & (MailMessage.status == "rejected")
        & (MailMessage.message_id == base["message_id"])
        & (MailMessage.mailbox == (mailbox.id if mailbox else None))).exists()
