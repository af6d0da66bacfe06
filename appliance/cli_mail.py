"""`gongdan mail ...` and `gongdan mailbox ...`: inbound mail by hand or from an MTA.

An MTA can pipe each message in, e.g. in Postfix's aliases file:

    support: "|/opt/gongdan/.venv/bin/gongdan mail ingest --mailbox support@example.com -"

Exit status of `mail ingest` (what Postfix makes of it):

    0   stored (as a ticket, a reply, or set aside with a reason): delivered
    1   deliberately refused, i.e. larger than mail_max_bytes: bounced
    75  EX_TEMPFAIL, anything unexpected (database locked or down, a settings error, an
        unknown --mailbox, an unreadable file, a bug): deferred, Postfix tries again later
"""
from __future__ import annotations

import sys

import click

EX_REJECTED = 1
EX_TEMPFAIL = 75   # sysexits.h: "try again later"


def _boot():
    # one start-up path for every command: settings and key problems become a message
    from appliance.cli import _boot as boot  # here: appliance.cli imports this module
    return boot()  # with the queue: a new ticket's triage and dispatch are enqueued


@click.group()
def mail() -> None:
    """Inbound e-mail."""


@mail.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option("--mailbox", "mailbox_address", default=None,
              help="The mailbox the message was delivered to (default: from To/Cc).")
def mail_ingest(files, mailbox_address) -> None:
    """Take in .eml FILES; "-" reads one message from standard input.

    \b
    Exit status, for an MTA pipe:
      0   stored (a ticket, a reply, or set aside with a reason)
      1   refused: larger than mail_max_bytes (at most that + 1 byte is read)
      75  temporary failure (EX_TEMPFAIL), for anything unexpected: database
          locked or down, settings error, unknown --mailbox, unreadable file;
          the MTA keeps the message and tries again later
    """
    try:
        rejected = _ingest_all(files, mailbox_address)
    except Exception as exc:  # never a bounce for what may work on the next try
        if isinstance(exc, click.ClickException):
            text = exc.format_message()
        else:
            # The first line only: a database error's detail may quote the message.
            text = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
        click.echo(f"Error (temporary, try again later): {text}", err=True)
        sys.exit(EX_TEMPFAIL)
    if rejected:
        sys.exit(EX_REJECTED)


def _ingest_all(files, mailbox_address) -> bool:
    """Ingest each file; True when one of them was refused (too large)."""
    settings = _boot()
    from appliance.errors import DomainError
    from appliance.services import mail_intake
    limit = settings.mail_max_bytes + 1   # one byte more tells "too large" from "fits"
    rejected = False
    for name in files:
        raw = sys.stdin.buffer.read(limit) if name == "-" else _read(name, limit)
        try:
            result = mail_intake.ingest(raw, settings, mailbox_address=mailbox_address)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        # By length too: a refused message sent again is a "duplicate" of the refusal.
        rejected |= result.status == "rejected" or len(raw) > settings.mail_max_bytes
        click.echo(f"{name}: {result.status} ticket={result.ticket_id or '-'} "
                   f"mail={result.mail_message_id} {result.reason}".rstrip())
    return rejected


def _read(name: str, limit: int = -1) -> bytes:
    try:
        with open(name, "rb") as fh:
            return fh.read(limit)
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
