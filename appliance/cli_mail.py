"""`gongdan mail ...` and `gongdan mailbox ...`: inbound mail by hand or from an MTA.

An MTA can pipe each message in, e.g. in Postfix's aliases file:

    support: "|/opt/gongdan/.venv/bin/gongdan mail ingest --mailbox support@example.com -"

Exit status 0 means the message is stored (as a ticket, a reply, or set aside with a
reason), so the MTA must not bounce it; 1 means it was refused or could not be stored.
"""
from __future__ import annotations

import sys

import click


def _boot():
    from appliance.bootstrap import boot
    from appliance.settings import SettingsError
    try:
        return boot()  # with the queue: a new ticket's triage and dispatch are enqueued
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def mail() -> None:
    """Inbound e-mail."""


@mail.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option("--mailbox", "mailbox_address", default=None,
              help="The mailbox the message was delivered to (default: from To/Cc).")
def mail_ingest(files, mailbox_address) -> None:
    """Take in .eml FILES; "-" reads one message from standard input."""
    settings = _boot()
    from appliance.errors import DomainError
    from appliance.services import mail_intake
    failed = False
    for name in files:
        raw = sys.stdin.buffer.read() if name == "-" else _read(name)
        try:
            result = mail_intake.ingest(raw, settings, mailbox_address=mailbox_address)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        failed |= result.status == "rejected"
        click.echo(f"{name}: {result.status} ticket={result.ticket_id or '-'} "
                   f"mail={result.mail_message_id} {result.reason}".rstrip())
    if failed:
        sys.exit(1)


def _read(name: str) -> bytes:
    try:
        with open(name, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise click.ClickException(f"{name}: {exc.strerror}") from None


@click.group()
def mailbox() -> None:
    """The addresses Gongdan receives mail for."""


@mailbox.command("add")
@click.argument("address")
@click.option("--department", "department_code", required=True, help="Department code.")
@click.option("--name", default="", help="Display name used on replies.")
def mailbox_add(address, department_code, name) -> None:
    _boot()
    from appliance.errors import DomainError
    from appliance.rules.access import SYSTEM
    from appliance.services import mailboxes
    try:
        view = mailboxes.add_mailbox(SYSTEM, address, department_code=department_code, name=name)
    except DomainError as exc:
        raise click.ClickException(f"{exc.message}: {exc.details}") from None
    click.echo(f"mailbox {view.address} -> {view.department_code}")


@mailbox.command("list")
def mailbox_list() -> None:
    _boot()
    from appliance.rules.access import SYSTEM
    from appliance.services import mailboxes
    for view in mailboxes.list_mailboxes(SYSTEM):
        state = "" if view.active else "  (inactive)"
        click.echo(f"{view.address}\t{view.department_code or '-'}\t{view.name}{state}")


@mailbox.command("imap")
@click.argument("address")
@click.option("--host", required=True, help="IMAP server host name.")
@click.option("--port", type=int, default=None, help="Port (default: 993 for tls, else 143).")
@click.option("--security", type=click.Choice(["tls", "starttls", "none"]), default="tls",
              show_default=True, help="none only for a server on 127.0.0.1/localhost.")
@click.option("--user", "username", required=True, help="IMAP login name.")
@click.option("--password-file", type=click.Path(allow_dash=True), default=None,
              help='File holding the password ("-": standard input). Never on the command '
                   "line. Leave out to keep the stored password.")
@click.option("--folder", default="INBOX", show_default=True)
@click.option("--enable/--disable", "enabled", default=True, show_default=True,
              help="Fetch from this mailbox every minute.")
def mailbox_imap(address, host, port, security, username, password_file, folder,
                 enabled) -> None:
    """Fetch ADDRESS's mail from an IMAP server (the password is stored encrypted)."""
    settings = _boot()
    from appliance.errors import DomainError
    from appliance.rules.access import SYSTEM
    from appliance.services import mailboxes
    password = None
    if password_file is not None:
        raw = sys.stdin.buffer.read() if password_file == "-" else _read(password_file)
        password = raw.decode("utf-8").rstrip("\r\n")
    if port is None:
        port = 993 if security == "tls" else 143
    try:
        box = mailboxes.mailbox_by_address(SYSTEM, address)
        view = mailboxes.configure_imap(SYSTEM, box.id, host, port, security, username,
                                        password, folder, enabled, settings=settings)
    except DomainError as exc:
        raise click.ClickException(f"{exc.message}: {exc.details}") from None
    state = "enabled" if view.fetch_enabled else "disabled"
    click.echo(f"mailbox {view.address}: imap {view.imap_security}://{view.imap_host}:"
               f"{view.imap_port}/{view.imap_folder} password {view.imap_password}, {state}")


@mailbox.command("fetch")
@click.argument("address")
def mailbox_fetch(address) -> None:
    """Fetch ADDRESS's new mail now (the worker does this every minute)."""
    settings = _boot()
    from appliance.errors import DomainError
    from appliance.rules.access import SYSTEM
    from appliance.services import mail_fetch, mailboxes
    try:
        box = mailboxes.mailbox_by_address(SYSTEM, address)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    result = mail_fetch.fetch_mailbox(box.id, settings)
    counts = " ".join(f"{k}={v}" for k, v in sorted(result.statuses.items()))
    click.echo(f"{result.status} {counts} oversized={result.oversized}"
               f"{' (more waiting)' if result.more else ''} {result.error}".rstrip())
    if result.status == "error":
        sys.exit(1)
