"""`gongdan ldap test` and `gongdan ldap sync`: the enterprise directory (decision 0028)."""
from __future__ import annotations

import click


def _settings():
    from appliance.cli import _boot
    settings = _boot(queue=False)
    if not settings.ldap_url:
        raise click.ClickException("ldap_url is not set: directory login is off")
    return settings


@click.group()
def ldap() -> None:
    """Enterprise directory (LDAP / Active Directory) login."""


@ldap.command("test")
@click.option("--user", "username", default=None,
              help="Also look this user up and show the groups, role and department it maps to")
def ldap_test(username: str | None) -> None:
    """Connect (TLS as configured), bind as the service account and count the users."""
    from appliance.services import directory
    from appliance.services.directory_ldap import DirectoryUnavailable
    settings = _settings()
    try:
        count = directory.check_connection(settings)
        found = directory.look_up(settings, username) if username else None
    except DirectoryUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    tls = ("TLS" if settings.ldap_url.startswith("ldaps://") else
           "StartTLS" if settings.ldap_starttls else "no TLS")
    click.echo(f"connected to {settings.ldap_url} ({tls}), bound as "
               f"{settings.ldap_bind_dn or 'anonymous'}; {count} users match "
               f"{settings.ldap_user_filter} under {settings.ldap_user_base}")
    if username:
        if found is None:
            raise click.ClickException(f"no single directory entry for {username}")
        entry, role, department = found
        click.echo(f"{entry.dn}\n  user name: {entry.username}\n  groups: "
                   f"{', '.join(entry.groups) or '(none)'}\n  role: "
                   f"{role or '(no mapped group: cannot log in)'}\n  department: "
                   f"{department or '(none)'}")


@ldap.command("sync")
@click.option("--dry-run", is_flag=True, help="List the changes without making them")
def ldap_sync(dry_run: bool) -> None:
    """Update directory accounts; disable those gone from the directory or its groups."""
    from appliance.services import directory
    from appliance.services.directory_ldap import DirectoryUnavailable
    settings = _settings()
    try:
        changes = directory.sync(settings, dry_run=dry_run)
    except DirectoryUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    for change in changes:
        click.echo(f"{change.username}: {change.what}")
    click.echo(f"{len(changes)} changes" + (" (dry run: nothing was changed)" if dry_run else ""))
