"""The `gongdan` command: set-up, migrations, users, demo data, servers, search, config."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click

from appliance.settings import SettingsError, config_path, describe, load_settings
from appliance.keystore import KeyProblem


def _boot(queue: bool = True):
    from appliance.bootstrap import boot
    try:
        return boot(queue=queue)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyProblem as exc:
        raise click.ClickException(f"cannot start: {exc}") from None


@click.group()
def main() -> None:
    """Gongdan (工单) appliance command line."""


@main.command()
@click.option("--admin", "admin_name", default="admin", show_default=True)
@click.option("--security-admin", "security_name", default=None,
              help="Also create the first security administrator (三权分立) with this user name")
@click.option("--audit-admin", "audit_name", default=None,
              help="Also create the first audit administrator with this user name")
def init(admin_name: str, security_name: str | None, audit_name: str | None) -> None:
    """Create the config (if missing), migrate, and create the first admin."""
    path = config_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'secret_key = "{secrets.token_hex(32)}"\n', encoding="utf-8")
        os.chmod(path, 0o600)
        click.echo(f"wrote {path}")
    _create_master_key()
    create_audit_keys()
    _boot()
    from appliance import migrate
    for name in migrate.upgrade():
        click.echo(f"applied {name}")
    _reload_keys()
    from appliance.services import ai_admin
    ai_admin.seed_default_rules()  # idempotent: the built-in priority rules, editable later
    from appliance.models import User
    from appliance.rules.access import SYSTEM
    from appliance.services.users import create_user
    for role, name, display in (("security_admin", security_name, "Security administrator"),
                                ("audit_admin", audit_name, "Audit administrator")):
        if name and not User.select().where(User.role == role).exists():
            _, password = create_user(SYSTEM, name, display, role, must_change_password=True)
            click.echo(f"{role} user: {name}  one-time password: {password}  (change it at first login)")
    if User.select().where(User.role == "admin").exists():
        click.echo(f"an admin exists; to issue a new password run: gongdan user reset-password {admin_name}")
        return
    _, password = create_user(SYSTEM, admin_name, "Administrator", "admin", must_change_password=True)
    click.echo(f"admin user: {admin_name}  one-time password: {password}  (change it at first login)")


def _create_master_key() -> None:
    """A new installation's master key (an existing one is never overwritten)."""
    from appliance import keystore
    try:
        written = keystore.create_master(load_settings())
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if written:
        click.echo(f"wrote the master key {written} (mode 0400): back it up apart from the "
                   f"database; without it the encrypted data cannot be read")


def _reload_keys() -> None:
    """After migrating: check the key again and create the first data keys."""
    from appliance.services import keys
    try:
        keys.activate(load_settings())
    except KeyProblem as exc:
        raise click.ClickException(f"cannot start: {exc}") from None


@main.group()
def db() -> None:
    """Schema migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    _boot(queue=False)
    from appliance import migrate
    applied = migrate.upgrade()
    _reload_keys()
    click.echo("\n".join(f"applied {n}" for n in applied) or "database is up to date")


@db.command("status")
def db_status() -> None:
    """List migrations; exit status 1 when some are pending."""
    _boot(queue=False)
    from appliance import migrate
    rows = migrate.status()
    for name, applied in rows:
        click.echo(f"[{'x' if applied else ' '}] {name}")
    pending = [n for n, a in rows if not a]
    click.echo(f"{len(pending)} pending" if pending else "up to date")
    sys.exit(1 if pending else 0)


@main.group()
def user() -> None:
    """User accounts."""


@user.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice(["customer", "agent", "supervisor", "admin",
                                           "security_admin", "audit_admin"]), required=True)
@click.option("--department", "department_code", default=None, help="Department code")
@click.option("--email", default="")
def user_create(username, display_name, role, department_code, email) -> None:
    """Create a user with a generated one-time password."""
    _boot()
    from appliance.errors import DomainError
    from appliance.models import Department
    from appliance.rules.access import SYSTEM
    from appliance.services.users import create_user
    dept = None
    if department_code:
        d = Department.get_or_none(Department.code == department_code)
        if d is None:
            raise click.ClickException(f"no department with code {department_code}")
        dept = d.id
    try:
        _, password = create_user(SYSTEM, username, display_name, role, email=email,
                                  department_id=dept, must_change_password=True)
    except DomainError as exc:
        raise click.ClickException(f"{exc.message}: {exc.details}") from None
    click.echo(f"created {username}; one-time password: {password}")


def _user_id(username: str) -> int:
    from appliance.models import User
    u = User.get_or_none(User.username == username)
    if u is None:
        raise click.ClickException(f"no user {username}")
    return u.id


@user.command("disable")
@click.argument("username")
def user_disable(username) -> None:
    """Disable a user and end all of their sessions and tokens."""
    _boot()
    from appliance.rules.access import SYSTEM
    from appliance.services.users import disable_user
    disable_user(SYSTEM, _user_id(username))
    click.echo(f"disabled {username}")


@user.command("reset-password")
@click.argument("username")
def user_reset_password(username) -> None:
    """Set a generated one-time password the user must change at next login."""
    _boot()
    from appliance.rules.access import SYSTEM
    from appliance.services.users import reset_password
    password = reset_password(SYSTEM, _user_id(username))
    click.echo(f"{username}: one-time password {password}")


@main.group()
def demo() -> None:
    """Demo organisation and tickets."""


@demo.command("load")
@click.option("--tickets", default=300, show_default=True)
@click.option("--data-dir", default=None, help="Folder of the labelled datasets (../shared/data)")
def demo_load(tickets: int, data_dir: str | None) -> None:
    """Load the demo organisation and tickets (refuses if tickets exist)."""
    _boot()
    from appliance.demo import load_demo
    from appliance.errors import DomainError
    from appliance.jobs import run_pending_inline
    try:
        logins = load_demo(tickets, data_dir=Path(data_dir) if data_dir else None)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    _train_demo_classifiers()
    run_pending_inline()
    click.echo("demo logins (one-time view; also in var/demo-logins.txt):")
    for username, password, role in logins:
        click.echo(f"  {role:<10} {username:<12} {password}")


def _train_demo_classifiers() -> None:
    """Label descriptions from the demo departments, then classifiers from the demo's
    resolved tickets, so that the demo's new tickets are triaged by AI at once."""
    from appliance import runtime
    from appliance.services import ai_admin, ai_training
    ai_admin.seed_default_rules()
    ai_admin.seed_profiles_from_org()
    for result in ai_training.train(runtime.settings()):
        click.echo(f"AI triage, {result.field}: " + (
            f"{result.kind} classifier v{result.version} from {result.n_examples} tickets"
            if result.version else f"not trained ({result.skipped})"))


@main.command()
def serve() -> None:
    """Run the web app under gunicorn."""
    settings = _boot(queue=False)
    check_audit_keys(settings)
    # Each live-update stream holds a thread: web_threads stay free for everything else.
    threads = settings.web_threads + settings.live_streams_per_worker
    args = [sys.executable, "-m", "gunicorn", "--bind", settings.bind,
            "--workers", str(settings.web_workers), "--threads", str(threads),
            "--worker-class", "gthread", "--access-logfile", "-",
            # X-Forwarded-Proto (request.is_secure: HSTS, Secure cookies) only from nginx:
            "--forwarded-allow-ips", ",".join(settings.trusted_proxies),
            "--config", "python:webapp.gunicorn_conf", "webapp.wsgi:app"]
    os.execvp(args[0], args)  # nosec B606  # fixed argv: this interpreter running gunicorn


@main.command()
def worker() -> None:
    """Run the Huey consumer (background jobs and the sweeper)."""
    settings = _boot()
    check_audit_keys(settings)
    from appliance.tasks import run_consumer
    run_consumer(settings)


@main.group()
def search() -> None:
    """Full-text index."""


@search.command("rebuild")
def search_rebuild() -> None:
    """Recreate the ticket and the knowledge article indexes from the database."""
    _boot()
    from appliance.services.indexing import rebuild
    from appliance.services.knowledge_indexing import rebuild_articles
    click.echo(f"indexed {rebuild()} tickets")
    click.echo(f"indexed {rebuild_articles()} articles")


@main.group()
def config() -> None:
    """Configuration."""


@config.command("show")
def config_show() -> None:
    """Print effective settings, secrets masked."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"# from {config_path()} and GONGDAN_* environment variables")
    docs = {name: doc for name, _, _, doc in describe()}
    for key, value in settings.masked().items():
        click.echo(f"{key} = {value!r}    # {docs[key]}")




# Command groups that live in their own modules (kept apart so each stays small).
from appliance.cli_model import model  # noqa: E402
from appliance.cli_ai import ai  # noqa: E402
from appliance.cli_dispatch import dispatch  # noqa: E402
from appliance.cli_mail import mail, mailbox  # noqa: E402
from appliance.cli_intake import integration  # noqa: E402
from appliance.cli_audit import audit, check_audit_keys, create_audit_keys  # noqa: E402
from appliance.cli_ldap import ldap  # noqa: E402
from appliance.cli_keys import keys  # noqa: E402
from appliance.cli_backup import backup  # noqa: E402
from appliance.cli_reports import reports  # noqa: E402
import appliance.cli_ai_eval  # noqa: E402,F401  (adds `ai eval` to the group)

main.add_command(model)
main.add_command(ai)
main.add_command(dispatch)
main.add_command(mail)
main.add_command(mailbox)
main.add_command(integration)
main.add_command(ldap)
main.add_command(audit)
main.add_command(keys)
main.add_command(backup)
main.add_command(reports)


if __name__ == "__main__":
    main()
