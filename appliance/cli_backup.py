"""`gongdan backup create|verify|restore` (docs/decisions/0032-backups.md).

Exit status: 0 done; 1 the backup failed verification (altered, truncated, not a
backup) or the restore was refused or failed; 2 cannot check (keys missing or wrong,
file unreadable). Output names files and counts, never values or key material.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from appliance.keystore import KeyProblem
from appliance.settings import SettingsError, load_settings

KEYS_REMINDER = ("the keys are NOT in the backup: back up keys_dir ({}: master.key, "
                 "audit-hmac.key, audit-signing.key) separately, kept apart from the backups "
                 "and taken again after every `gongdan keys rotate`; a restore needs it")


def _settings():
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@click.group()
def backup() -> None:
    """Encrypted, authenticated backups: create, verify, restore."""


@backup.command("create")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="The backup file to write (must not exist).")
def backup_create(out: str) -> None:
    """Back up the database and attachments, encrypted under the master key."""
    from appliance.cli import _boot
    settings = _boot(queue=False)
    from appliance.services import backup as svc
    try:
        summary = svc.create(settings, Path(out))
    except (svc.BackupProblem, KeyProblem) as exc:
        _fail(f"backup failed: {exc}", 1)
    except OSError as exc:
        _fail(f"backup failed: {exc.__class__.__name__}: {exc.strerror or exc}", 1)
    svc.record("backup.created", detail={"bytes": summary.bytes, "files": summary.files})
    click.echo(f"wrote {summary.path}: {summary.bytes} bytes, database and "
               f"{summary.attachments} attachment files, in {summary.seconds:.1f} s")
    click.echo(KEYS_REMINDER.format(settings.keys_dir))
    click.echo("not in the backup: the search index (rebuilt by `gongdan search rebuild`), "
               "the task queue and the model files")


def _verification_failed(settings, exc: Exception) -> None:
    from appliance.services import backup as svc
    kind = getattr(exc, "kind", "failed")
    svc.record_failure(settings, kind)
    code = 2 if kind in ("wrong_key", "unreadable") else 1
    advice = (f" (keys_dir {settings.keys_dir}): use the keys_dir backed up with the "
              f"installation this backup comes from" if kind == "wrong_key" else "")
    _fail(f"backup NOT usable ({kind}): {exc}{advice}", code)


@backup.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
def backup_verify(file: str) -> None:
    """Decrypt and check the whole backup; changes nothing."""
    settings = _settings()
    from appliance.services import backup as svc
    from security.backup_stream import BackupError
    try:
        summary = svc.verify(settings, Path(file))
    except KeyProblem as exc:
        _fail(f"cannot verify: {exc}", 2)
    except (BackupError, svc.BackupProblem) as exc:
        _verification_failed(settings, exc)
    m = summary.manifest
    click.echo(f"OK: {summary.path} is intact ({summary.bytes} bytes, made "
               f"{m['created_at']} by Gongdan {m.get('app_version')}, {m['database']['backend']} "
               f"database and {summary.attachments} attachment files, "
               f"{len(m.get('migrations', []))} schema migrations)")


@backup.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True,
              help="Replace a non-empty installation (its files are renamed aside, not deleted).")
def backup_restore(file: str, force: bool) -> None:
    """Restore a backup (verified first). Stop web and worker before running it."""
    settings = _settings()
    from appliance.services import backup as svc
    from security.backup_stream import BackupError
    try:
        summary = svc.restore(settings, Path(file), force=force)
    except KeyProblem as exc:
        _fail(f"cannot restore: {exc}", 2)
    except BackupError as exc:
        _verification_failed(settings, exc)
    except svc.BackupProblem as exc:
        if exc.kind in ("not_empty", "in_use"):
            _fail(f"restore refused: {exc}", 1)
        if exc.kind == "wrong_key":
            _verification_failed(settings, exc)
        _fail(f"restore failed, nothing changed: {exc}", 1)
    click.echo(f"restored {summary.files} files from {summary.path} "
               f"({summary.attachments} attachments) in {summary.seconds:.1f} s")
    for moved in summary.set_aside:
        click.echo(f"kept the previous data as {moved}: delete it once you are satisfied")
    _after_restore(settings, summary)


def _after_restore(settings, summary) -> None:
    from appliance.cli import _boot
    _boot(queue=False)
    from appliance import migrate
    from appliance.services import backup as svc
    pending = migrate.pending()
    if pending:  # the models are newer than the restored schema: migrate, then check
        click.echo(f"the backup predates {len(pending)} schema migrations: run "
                   f"`gongdan db upgrade`, then `gongdan audit verify` and "
                   f"`gongdan search rebuild`")
        return
    checks = svc.check_restored(settings)
    svc.record("backup.restored", "success" if checks["audit_ok"] else "failure",
               {"files": summary.files, "created_at": summary.manifest.get("created_at")})
    click.echo(f"readable: {checks['tickets']} tickets, {checks['articles']} articles, "
               f"{checks['contacts']} contacts ({checks['encrypted_values']} encrypted values), "
               f"{checks['files']} attachment files")
    click.echo("run `gongdan search rebuild` now: the search index is not in backups")
    if not checks["audit_ok"]:
        _fail(f"the restored audit log does NOT verify ({checks['audit_records']} records): "
              f"run `gongdan audit verify` for the problems", 1)
    click.echo(f"audit log verifies: {checks['audit_records']} records")
