"""Mailboxes: the addresses Gongdan receives mail for, the department each feeds, where
their mail is fetched from, and the admin's "test connection" (the mailbox's IMAP server
and the shared SMTP relay, bounded in time: appliance.mail.probe) and "fetch now"."""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.mail import probe
from appliance.mail.imap import ImapConfig, check_security
from appliance.mail.smtp import SmtpMailer
from appliance.models import Department, Mailbox
from appliance.rules.access import Actor
from appliance.services import common
from appliance.settings import Settings
from security.crypto import SecretDecryptError, decrypt_secret, encrypt_secret

log = logging.getLogger(__name__)

# Which of CHECK_PROBLEMS an IMAP failure text is; named here as well, where it used to be.
connection_problem = probe.imap_problem

# "Test connection" answers within a page load: each protocol's connect, login and
# logout together take at most this long (a gunicorn thread waits for it).
TEST_TIMEOUT_S = 10

# Deliberately plain: the address is ours and typed by an administrator, not parsed mail.
_ADDRESS = re.compile(r"^[a-z0-9._%+-]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)+$")
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$|^::1$")


@dataclass(frozen=True)
class MailboxView:
    id: int
    address: str
    name: str
    department_code: str | None
    active: bool
    imap_host: str = ""
    imap_port: int = 993
    imap_security: str = "tls"
    imap_username: str = ""
    imap_password: str = "not set"   # "set" | "not set": the password itself never leaves
    imap_folder: str = "INBOX"
    fetch_enabled: bool = False
    last_fetch_at: dt.datetime | None = None
    last_error: str = ""
    department_id: int | None = None
    last_uid: int = 0
    uidvalidity: int | None = None


def _view(m: Mailbox) -> MailboxView:
    code = m.department.code if m.department_id else None
    return MailboxView(m.id, m.address, m.name, code, m.active, m.imap_host, m.imap_port,
                       m.imap_security, m.imap_username,
                       "set" if m.imap_password else "not set", m.imap_folder,
                       m.fetch_enabled, m.last_fetch_at, m.last_error, m.department_id,
                       m.last_uid, m.uidvalidity)


def _require_admin(actor: Actor) -> None:
    if not actor.can("config.manage"):
        raise PermissionDenied("administrators only")


def add_mailbox(actor: Actor, address: str, *, department_code: str, name: str = ""
                ) -> MailboxView:
    """Register an address; new tickets mailed to it go to the department. Every field's
    problem is reported at once."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    try:
        address = common.clean_text(address, "address", required=True, max_len=254,
                                    single_line=True).lower()
        if not _ADDRESS.match(address):
            errors["address"] = "not a valid e-mail address"
    except ValidationError as exc:
        errors.update(exc.fields)
    try:
        name = common.clean_text(name, "name", max_len=100, single_line=True)
    except ValidationError as exc:
        errors.update(exc.fields)
    with unit_of_work():
        department = Department.get_or_none(Department.code == (department_code or "").strip())
        if department is None:
            errors["department"] = "does not exist"
        if "address" not in errors and Mailbox.select().where(
                Mailbox.address == address).exists():
            errors["address"] = "already a mailbox"
        if errors:
            raise ValidationError(errors)
        mailbox = Mailbox.create(address=address, name=name, department=department.id)
    return _view(mailbox)


def list_mailboxes(actor: Actor) -> list[MailboxView]:
    _require_admin(actor)
    return [_view(m) for m in Mailbox.select().order_by(Mailbox.address)]


@dataclass(frozen=True)
class ImapInput:
    host: str
    port: int
    security: str
    username: str
    password: str | None   # None: keep the stored one
    folder: str = "INBOX"
    enabled: bool = True


def configure_imap(actor: Actor, mailbox_id: int, host: str, port: int, security: str,
                   username: str, password: str | None, folder: str = "INBOX",
                   enabled: bool = True, *, settings: Settings) -> MailboxView:
    """Where to fetch the mailbox's mail; the password is stored encrypted.

    Pointing the mailbox at another server, account or folder starts that folder from its
    first message (already received messages are recognised as duplicates)."""
    _require_admin(actor)
    data = _clean_imap(ImapInput(host, port, security, username, password, folder, enabled))
    with unit_of_work():
        mailbox = Mailbox.get_or_none(Mailbox.id == mailbox_id)
        if mailbox is None:
            raise NotFound("no such mailbox")
        if data.password is None and not mailbox.imap_password:
            raise ValidationError({"password": "required"})
        moved = (data.host, data.port, data.username, data.folder) != (
            mailbox.imap_host, mailbox.imap_port, mailbox.imap_username, mailbox.imap_folder)
        fields = {"imap_host": data.host, "imap_port": data.port,
                  "imap_security": data.security, "imap_username": data.username,
                  "imap_folder": data.folder, "fetch_enabled": data.enabled,
                  "last_error": ""}
        if data.password is not None:
            fields["imap_password"] = encrypt_secret(data.password, settings.secret_key)
        if moved:
            fields.update(uidvalidity=None, last_uid=0)
        Mailbox.update(**fields).where(Mailbox.id == mailbox.id).execute()
    return _view(Mailbox.get_by_id(mailbox_id))


def _clean_imap(raw: ImapInput) -> ImapInput:
    errors: dict[str, str] = {}
    host = (raw.host or "").strip().lower()
    if not _HOST.match(host):
        errors["host"] = "not a valid host name or address"
    try:
        port = int(raw.port)
        if not 1 <= port <= 65535:
            raise ValueError
    except (TypeError, ValueError):
        errors["port"], port = "must be a number from 1 to 65535", 0
    security = (raw.security or "").strip().lower()
    refused = check_security(host, security)
    if refused:
        errors["security"] = refused
    username, folder = raw.username or "", (raw.folder or "").strip() or "INBOX"
    # IMAP LOGIN takes ASCII only (imaplib raises UnicodeEncodeError on anything else).
    if not username.strip() or len(username) > 254 or _has_control(username):
        errors["username"] = "required, one line, at most 254 characters"
    elif not username.isascii():
        errors["username"] = "ASCII characters only (IMAP login)"
    if raw.password is not None and (not raw.password or len(raw.password) > 1000
                                     or _has_control(raw.password)):
        errors["password"] = "required, one line, at most 1000 characters"
    elif raw.password is not None and not raw.password.isascii():
        errors["password"] = "ASCII characters only (IMAP login)"
    if len(folder) > 200 or _has_control(folder):
        errors["folder"] = "one line, at most 200 characters"
    if errors:
        raise ValidationError(errors)
    return ImapInput(host, port, security, username.strip(), raw.password, folder,
                     bool(raw.enabled))


def _has_control(text: str) -> bool:
    # CR/LF would end the IMAP command line early: a command injection.
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def mailbox_by_address(actor: Actor, address: str) -> MailboxView:
    _require_admin(actor)
    mailbox = Mailbox.get_or_none(Mailbox.address == (address or "").strip().lower())
    if mailbox is None:
        raise NotFound("no such mailbox")
    return _view(mailbox)


def get_mailbox(actor: Actor, mailbox_id: int) -> MailboxView:
    _require_admin(actor)
    mailbox = Mailbox.get_or_none(Mailbox.id == mailbox_id)
    if mailbox is None:
        raise NotFound("no such mailbox")
    return _view(mailbox)


@dataclass(frozen=True)
class MailboxInput:
    """The admin's edit form: the mailbox itself and, when `imap` is given, where to fetch."""
    name: str
    department_code: str
    active: bool
    imap: ImapInput | None = None


def update_mailbox(actor: Actor, mailbox_id: int, data: MailboxInput, *,
                   settings: Settings) -> MailboxView:
    """Save the edit form in one transaction; every field's problem is reported at once."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    try:
        name = common.clean_text(data.name, "name", max_len=100, single_line=True)
    except ValidationError as exc:
        errors.update(exc.fields)
        name = ""
    imap = None
    if data.imap is not None:
        try:
            imap = _clean_imap(data.imap)
        except ValidationError as exc:
            errors.update(exc.fields)
    with unit_of_work():
        mailbox = Mailbox.get_or_none(Mailbox.id == mailbox_id)
        if mailbox is None:
            raise NotFound("no such mailbox")
        department = Department.get_or_none(Department.code == (data.department_code or "").strip())
        if department is None:
            errors["department"] = "does not exist"
        if errors:
            raise ValidationError(errors)
        Mailbox.update(name=name, department=department.id, active=bool(data.active)).where(
            Mailbox.id == mailbox_id).execute()
        if imap is not None:
            configure_imap(actor, mailbox_id, imap.host, imap.port, imap.security, imap.username,
                           imap.password, imap.folder, imap.enabled, settings=settings)
    return _view(Mailbox.get_by_id(mailbox_id))


# What "test connection" can say of each protocol (appliance.mail.probe.OUTCOMES), plus
# a stored password that cannot be decrypted; the detail goes to the log.
CHECK_PROBLEMS = probe.PROBLEMS + ("password_unreadable",)


@dataclass(frozen=True)
class ConnectionCheck:
    imap: probe.ProbeResult
    smtp: probe.ProbeResult     # the relay all mailboxes send through

    @property
    def ok(self) -> bool:
        return self.imap.outcome == "ok" and self.smtp.outcome in ("ok", "not_configured")

    @property
    def messages(self) -> int:
        return self.imap.messages


def check_connection(actor: Actor, mailbox_id: int, *, settings: Settings,
                     ssl_context=None, smtp_ssl_context=None) -> ConnectionCheck:
    """Log in to the mailbox's IMAP server (selecting the folder, counting its messages)
    and to the SMTP relay, side by side; both answers come within TEST_TIMEOUT_S."""
    _require_admin(actor)
    mailbox = Mailbox.get_or_none(Mailbox.id == mailbox_id)
    if mailbox is None:
        raise NotFound("no such mailbox")
    if not mailbox.imap_host or not mailbox.imap_password:
        raise ValidationError({"host": "set the IMAP server and password first"})
    imap = _imap_attempt(mailbox, settings, ssl_context)
    smtp = _smtp_attempt(settings, smtp_ssl_context)
    pending = {name: attempt for name, attempt in (("imap", imap), ("smtp", smtp))
               if not isinstance(attempt, probe.ProbeResult)}
    results = probe.run_probes(pending, TEST_TIMEOUT_S)
    check = ConnectionCheck(results.get("imap", imap), results.get("smtp", smtp))
    for protocol in ("imap", "smtp"):
        _log_check(mailbox.id, protocol, getattr(check, protocol))
    return check


def _imap_attempt(mailbox: Mailbox, settings: Settings, ssl_context):
    """The IMAP probe, or the result when it cannot start (the password is unreadable)."""
    try:
        password = decrypt_secret(mailbox.imap_password, settings.secret_key)
    except (SecretDecryptError, ValueError):
        return probe.ProbeResult("password_unreadable",
                                 "the stored password cannot be decrypted")
    return probe.imap_attempt(ImapConfig(
        mailbox.imap_host, mailbox.imap_port, mailbox.imap_security, mailbox.imap_username,
        password, mailbox.imap_folder, ssl_context, timeout=TEST_TIMEOUT_S))


def _smtp_attempt(settings: Settings, ssl_context):
    """The SMTP probe, or the result when there is no relay (or no usable smtp_url)."""
    if not settings.smtp_url:
        return probe.ProbeResult("not_configured")
    try:
        mailer = SmtpMailer(settings, ssl_context=ssl_context)
    except ValueError as exc:
        return probe.ProbeResult("cannot_connect", f"settings: {exc}")
    return probe.smtp_attempt(mailer, TEST_TIMEOUT_S)


def _log_check(mailbox_id: int, protocol: str, result: probe.ProbeResult) -> None:
    # The probes keep user names, passwords and SMTP reply texts out of `detail`.
    if result.outcome in ("ok", "not_configured"):
        log.info("mailbox %s: test connection %s: %s in %.1f s", mailbox_id, protocol,
                 result.outcome, result.seconds)
    else:
        log.warning("mailbox %s: test connection %s failed (%s) in %.1f s: %s", mailbox_id,
                    protocol, result.outcome, result.seconds, result.detail)


def fetch_now(actor: Actor, mailbox_id: int) -> None:
    """Schedule a fetch of this mailbox now (the job is safe to run alongside another)."""
    _require_admin(actor)
    with unit_of_work():
        mailbox = Mailbox.get_or_none(Mailbox.id == mailbox_id)
        if mailbox is None:
            raise NotFound("no such mailbox")
        if not mailbox.fetch_enabled:
            raise ValidationError({"fetch_enabled": "fetching is not enabled for this mailbox"})
        schedule("fetch_mailbox", mailbox.id)
