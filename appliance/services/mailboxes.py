"""Mailboxes: the addresses Gongdan receives mail for, and the department each feeds."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.mail.imap import check_security
from appliance.models import Department, Mailbox
from appliance.rules.access import Actor, can_manage_org
from appliance.services import common
from appliance.settings import Settings
from security.crypto import encrypt_secret

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


def _view(m: Mailbox) -> MailboxView:
    code = m.department.code if m.department_id else None
    return MailboxView(m.id, m.address, m.name, code, m.active, m.imap_host, m.imap_port,
                       m.imap_security, m.imap_username,
                       "set" if m.imap_password else "not set", m.imap_folder,
                       m.fetch_enabled, m.last_fetch_at, m.last_error)


def _require_admin(actor: Actor) -> None:
    if not can_manage_org(actor):
        raise PermissionDenied("administrators only")


def add_mailbox(actor: Actor, address: str, *, department_code: str, name: str = ""
                ) -> MailboxView:
    """Register an address; new tickets mailed to it go to the department."""
    _require_admin(actor)
    address = common.clean_text(address, "address", required=True, max_len=254,
                                single_line=True).lower()
    if not _ADDRESS.match(address):
        raise ValidationError({"address": "not a valid e-mail address"})
    name = common.clean_text(name, "name", max_len=100, single_line=True)
    with unit_of_work():
        department = Department.get_or_none(Department.code == (department_code or "").strip())
        if department is None:
            raise ValidationError({"department": "does not exist"})
        if Mailbox.select().where(Mailbox.address == address).exists():
            raise ValidationError({"address": "already a mailbox"})
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
