"""Fetching mailboxes over IMAP into mail intake, each message exactly once.

Owns the fetch loop and the mailbox's fetch state (lease, UIDVALIDITY, last UID, last
error). For each new UID, oldest first: `mail_intake.ingest` commits the message (or
answers "duplicate"), then `last_uid` is moved past it in its own short transaction. A
crash between the two only means the next run fetches that message again, and intake's
de-duplication turns it into "duplicate": exactly once overall. The same holds when the
server's UIDVALIDITY changes and the folder is read again from its first message.

Messages larger than `mail_max_bytes` (by RFC822.SIZE) are never downloaded: only their
header is, and `mail_refusal.reject_oversized` records a "rejected" MailMessage row (keyed
by mailbox, UIDVALIDITY and UID; no body, no ticket) and, for normal mail from a sender
under the rate limit, queues the polite "too large" notice. They are flagged \\Flagged
and stay on the server for a person to deal with. Taken-in messages are marked \\Seen.

A message whose intake raises an unexpected error stops the run (the next run tries it
again); each failure is counted in a MailMessage row (direction "in", status "failed",
dedupe_key "imapfail:<mailbox>:<uidvalidity>:<uid>", `attempts`, `error` naming only the
exception type). After MAX_FAILURES the message is given up: the row stays, the message
is flagged \\Flagged on the server and `last_uid` moves past it, so one bad message cannot
block the mailbox. Connection errors and database outages (OperationalError) are not
counted: they say nothing about the message.

Flags are best effort and set only after `last_uid` has moved: a STORE refused (a
read-only folder) is logged and neither stops the run nor causes the message to be
taken in again.

Two runs for one mailbox at once: a conditional UPDATE on `fetch_lease_until` lets only
one in; the lease is renewed with every message and released at the end.

Logs and `last_error` carry mailbox ids, UIDs and server replies, never addresses.
"""
from __future__ import annotations

import datetime as dt
import logging
import ssl
from collections import Counter
from dataclasses import dataclass, field

from peewee import InterfaceError, OperationalError

from appliance import jobs
from appliance.db import database
from appliance.jobs import schedule, unit_of_work
from appliance.mail.imap import ImapConfig, ImapSession, MailFetchError, MessageUnreadable
from appliance.models import Job, Mailbox, MailMessage, utcnow
from appliance.services import mail_intake, mail_refusal
from appliance.settings import Settings
from security.crypto import SecretDecryptError, decrypt_secret

log = logging.getLogger(__name__)

MAX_PER_RUN = 200
LEASE = dt.timedelta(minutes=5)
# A permanent error (bad password, untrusted certificate) is retried this rarely, so a
# wrong password does not lock the account at the provider; configure_imap clears it.
PERMANENT_RETRY = dt.timedelta(minutes=15)
PERMANENT, TRANSIENT = "permanent: ", "transient: "
# A message whose intake failed this many times is given up (flagged, skipped).
MAX_FAILURES = 3


@dataclass
class FetchResult:
    status: str                     # done | busy | disabled | error
    statuses: Counter = field(default_factory=Counter)   # intake status (or "failed":
    #                                                      given up) -> count
    oversized: int = 0
    more: bool = False              # further messages wait for the next run
    error: str = ""
    transient: bool = False


@jobs.handler("fetch_mailbox")
def _fetch_job(mailbox_id: int) -> None:
    from appliance import runtime
    if fetch_mailbox(mailbox_id, runtime.settings()).more:
        with unit_of_work():  # a backlog: the next batch now, not at the next minute
            schedule("fetch_mailbox", mailbox_id)


def fetch_mailbox(mailbox_id: int, settings: Settings, *, limit: int = MAX_PER_RUN,
                  ssl_context: ssl.SSLContext | None = None) -> FetchResult:
    """One run: up to `limit` new messages; safe to call twice, and twice at once."""
    if not _take_lease(mailbox_id):
        enabled = Mailbox.select().where((Mailbox.id == mailbox_id)
                                         & Mailbox.fetch_enabled).exists()
        return FetchResult("busy" if enabled else "disabled")
    mailbox = Mailbox.get_by_id(mailbox_id)
    result, note = FetchResult("done"), ""
    try:
        cfg = imap_config(mailbox, settings, ssl_context)
        with ImapSession(cfg) as session:
            note = _check_uidvalidity(mailbox, session.uidvalidity)
            new = session.new_mail(mailbox.last_uid, limit)
            result.more = new.more
            for uid, size in new.sizes:
                _take_one(session, mailbox, uid, size, settings, result)
    except MailFetchError as exc:
        result.status, result.error, result.transient = "error", str(exc), exc.transient
        log.warning("fetching mailbox %s failed (%s): %s", mailbox_id,
                    "transient" if exc.transient else "permanent", exc)
    except Exception as exc:  # a bug or the database: stop here, the next run resumes
        result.status, result.transient = "error", True
        result.error = f"unexpected {type(exc).__name__} after UID {_last_uid(mailbox_id)}"
        # The type only: an exception text may quote the message (addresses).
        log.error("fetching mailbox %s: %s", mailbox_id, result.error)
    finally:
        error = ((TRANSIENT if result.transient else PERMANENT) + result.error
                 if result.error else note)
        Mailbox.update(fetch_lease_until=None, last_fetch_at=utcnow(),
                       last_error=error[:1000]).where(Mailbox.id == mailbox_id).execute()
    return result


def _last_uid(mailbox_id: int) -> int:
    return Mailbox.select(Mailbox.last_uid).where(Mailbox.id == mailbox_id).scalar() or 0


def _take_lease(mailbox_id: int) -> bool:
    now = utcnow()
    with database.atomic():
        return Mailbox.update(fetch_lease_until=now + LEASE).where(
            (Mailbox.id == mailbox_id) & Mailbox.fetch_enabled
            & (Mailbox.fetch_lease_until.is_null() | (Mailbox.fetch_lease_until < now))
        ).execute() == 1


def imap_config(mailbox: Mailbox, settings: Settings, context) -> ImapConfig:
    """The connection settings of `mailbox`, its password decrypted."""
    try:
        password = decrypt_secret(mailbox.imap_password, settings.secret_key)
    except (SecretDecryptError, ValueError) as exc:
        raise MailFetchError(f"password: {exc}; set it again", transient=False) from None
    return ImapConfig(mailbox.imap_host, mailbox.imap_port, mailbox.imap_security,
                      mailbox.imap_username, password, mailbox.imap_folder, context)


def _check_uidvalidity(mailbox: Mailbox, uidvalidity: int) -> str:
    """A new UIDVALIDITY invalidates every UID we kept: read the folder again from the
    start; intake recognises what it already has."""
    if mailbox.uidvalidity == uidvalidity:
        return ""
    note = ""
    if mailbox.uidvalidity is not None:
        note = (f"UIDVALIDITY changed from {mailbox.uidvalidity} to {uidvalidity}; "
                "the folder is read again (messages already received are skipped)")
        log.warning("mailbox %s: %s", mailbox.id, note)
    with database.atomic():
        Mailbox.update(uidvalidity=uidvalidity, last_uid=0).where(
            Mailbox.id == mailbox.id).execute()
    mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
    return note


def _take_one(session: ImapSession, mailbox: Mailbox, uid: int, size: int,
              settings: Settings, result: FetchResult) -> None:
    if size > settings.mail_max_bytes:
        _refuse_oversized(session, mailbox, uid, size, settings)
        _advance(mailbox.id, uid)
        _flag(session, mailbox.id, uid, "\\Flagged")
        result.oversized += 1
        return
    try:
        raw = session.fetch(uid)
        intake = None if raw is None else mail_intake.ingest(
            raw, settings, mailbox_address=mailbox.address)
    except Exception as exc:
        if not _message_fault(exc) or not _count_failure(mailbox, uid, exc):
            raise  # stops this run; the next one tries the message again
        _advance(mailbox.id, uid)   # given up: skipped from now on
        _flag(session, mailbox.id, uid, "\\Flagged")
        result.statuses["failed"] += 1
        return
    _advance(mailbox.id, uid)
    if intake is None:  # expunged since the search: nothing taken in, no \\Seen
        return
    _clear_failures(mailbox, uid)
    result.statuses[intake.status] += 1
    log.info("mailbox %s uid %s: %s mail=%s", mailbox.id, uid, intake.status,
             intake.mail_message_id)
    _flag(session, mailbox.id, uid, "\\Seen")


def _message_fault(exc: Exception) -> bool:
    """Whether the failure may be this message's own (counted), rather than the
    connection's or the database's (retried without counting)."""
    if isinstance(exc, MailFetchError):
        return isinstance(exc, MessageUnreadable)
    return not isinstance(exc, (OperationalError, InterfaceError))


def _failure_key(mailbox: Mailbox, uid: int) -> str:
    return f"imapfail:{mailbox.id}:{mailbox.uidvalidity}:{uid}"[:128]


def _count_failure(mailbox: Mailbox, uid: int, exc: Exception) -> bool:
    """Count one failed intake of `uid` in its "imapfail:" row; True once MAX_FAILURES
    is reached and the message is to be given up. (The lease keeps runs apart.)"""
    key = _failure_key(mailbox, uid)
    with unit_of_work():
        row = MailMessage.get_or_none(MailMessage.dedupe_key == key)
        attempts = (row.attempts if row else 0) + 1
        gave_up = attempts >= MAX_FAILURES
        # The exception type only: its text may quote the message (addresses).
        error = (f"intake failed {attempts} times ({type(exc).__name__}); given up, left "
                 f"in the mailbox (IMAP UID {uid}, flagged)" if gave_up else
                 f"intake failed {attempts} of {MAX_FAILURES} times ({type(exc).__name__}); "
                 f"tried again on the next run (IMAP UID {uid})")
        if row is None:
            MailMessage.create(direction="in", mailbox=mailbox.id, dedupe_key=key,
                               status="failed", kind="normal", attempts=attempts, error=error)
        else:
            MailMessage.update(attempts=attempts, error=error).where(
                MailMessage.id == row.id).execute()
    log.error("mailbox %s uid %s: %s", mailbox.id, uid, error)
    return gave_up


def _clear_failures(mailbox: Mailbox, uid: int) -> None:
    """A message taken in after failing before: its failure count is history."""
    MailMessage.delete().where(MailMessage.dedupe_key == _failure_key(mailbox, uid)).execute()


def _advance(mailbox_id: int, uid: int) -> None:
    """Its own transaction, right after the message's: the UID is done, the lease renewed."""
    with database.atomic():
        Mailbox.update(last_uid=uid, fetch_lease_until=utcnow() + LEASE).where(
            (Mailbox.id == mailbox_id) & (Mailbox.last_uid < uid)).execute()


def _flag(session: ImapSession, mailbox_id: int, uid: int, flag: str) -> None:
    """Best effort, after last_uid has moved: a refused STORE (a read-only folder, a
    dropped connection) is logged; the message is not taken in again either way."""
    try:
        session.flag(uid, flag)
    except MailFetchError as exc:
        log.warning("mailbox %s uid %s: could not set %s: %s", mailbox_id, uid, flag, exc)


def _refuse_oversized(session: ImapSession, mailbox: Mailbox, uid: int, size: int,
                      settings: Settings) -> None:
    """Refused from its size and header alone: the body is never downloaded. The header
    tells intake who sent it and whether the polite notice may go back."""
    key = f"imap:{mailbox.id}:{mailbox.uidvalidity}:{uid}"
    if MailMessage.select().where(MailMessage.dedupe_key == key[:128]).exists():
        return  # refused before (a rerun after a crash)
    try:
        header = session.fetch_header(uid) or b""
    except MessageUnreadable:
        header = b""
    result = mail_refusal.reject_oversized(
        header, size, mailbox, settings, key=key,
        where=f"; left in the mailbox (IMAP UID {uid}, flagged)")
    log.info("mailbox %s uid %s: %s, %s bytes", mailbox.id, uid, result.status, size)


def schedule_due(now: dt.datetime | None = None) -> int:
    """Schedule a fetch for each enabled mailbox without an unfinished one; a mailbox whose
    last run failed permanently waits PERMANENT_RETRY. Returns how many."""
    now = now or utcnow()
    pending = Job.select(Job.object_id).where((Job.name == "fetch_mailbox")
                                              & Job.done_at.is_null()
                                              & (Job.attempts < jobs.MAX_ATTEMPTS))
    resting = (Mailbox.last_error.startswith(PERMANENT)
               & (Mailbox.last_fetch_at > now - PERMANENT_RETRY))
    with unit_of_work():
        ids = [m.id for m in Mailbox.select(Mailbox.id).where(
            Mailbox.fetch_enabled & Mailbox.active & Mailbox.id.not_in(pending) & ~resting)
            .order_by(Mailbox.id)]
        for mailbox_id in ids:
            schedule("fetch_mailbox", mailbox_id)
    return len(ids)
