"""`gongdan audit ...`: verify the chain, sign a checkpoint, export, show the public key.

Exit status of `verify`: 0 intact, 1 a problem found (one line each), 2 cannot verify
(keys missing or unusable, unreadable checkpoint file).
"""
from __future__ import annotations

import datetime as dt
import sys

import click


def create_audit_keys() -> None:
    """`gongdan init`: the audit keys of a new installation (existing ones are kept)."""
    from appliance import audit_keys
    from appliance.settings import SettingsError, load_settings
    try:
        written = audit_keys.create(load_settings())
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    for path in written:
        click.echo(f"wrote audit key {path}")


def check_audit_keys(settings) -> None:
    from appliance import audit_keys
    try:
        audit_keys.check(settings)
    except audit_keys.AuditKeyProblem as exc:
        raise click.ClickException(f"cannot start: {exc}") from None


@click.group()
def audit() -> None:
    """Tamper-evident audit log."""


def _boot():
    from appliance.cli import _boot as boot
    settings = boot(queue=False)
    from appliance import audit_keys
    try:
        audit_keys.check(settings)
    except audit_keys.AuditKeyProblem as exc:
        click.echo(f"cannot verify: {exc}", err=True)
        sys.exit(2)
    return settings


def _print_report(report) -> None:
    for p in report.problems:
        click.echo(f"PROBLEM {p.kind} at seq {p.seq}: {p.message}")
    if report.more_problems:
        click.echo(f"... and {report.more_problems} more problems")
    span = (f"seq {report.first_seq}..{report.last_seq}" if report.records else "no records")
    status = "OK" if report.ok else "TAMPERED"
    click.echo(f"{status}: {report.records} records ({span}), {report.checkpoints} checkpoints")


@audit.command("verify")
@click.option("--checkpoints", "cp_file", type=click.Path(dir_okay=False),
              help="Checkpoints exported earlier (an export in JSONL, or checkpoint lines).")
def verify(cp_file: str | None) -> None:
    """Check every record against the chain and the signed checkpoints."""
    _boot()
    from appliance.errors import ValidationError
    from appliance.services import audit as audit_service
    from appliance.services.audit_export import read_checkpoints
    extra = []
    if cp_file:
        try:
            with open(cp_file, encoding="utf-8") as fh:
                extra = read_checkpoints(fh)
        except (OSError, ValidationError) as exc:
            click.echo(f"cannot read {cp_file}: {getattr(exc, 'fields', exc)}", err=True)
            sys.exit(2)
    report = audit_service.verify(extra)
    _print_report(report)
    sys.exit(0 if report.ok else 1)


@audit.command("verify-export")
@click.argument("export_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--hmac-key", "hmac_file", type=click.Path(exists=True, dir_okay=False),
              required=True, help="A copy of the installation's audit-hmac.key.")
@click.option("--public-key", "pub_file", type=click.Path(exists=True, dir_okay=False),
              help="The public key to trust (default: the one in the export's header).")
def verify_export(export_file: str, hmac_file: str, pub_file: str | None) -> None:
    """Check a JSONL export off the box (needs no database)."""
    from cryptography.hazmat.primitives import serialization

    from appliance.services.audit_export import read_export
    from security import audit_chain
    with open(export_file, encoding="utf-8") as fh:
        header, records, cps = read_export(fh)
    pem = open(pub_file, "rb").read() if pub_file else header.get("public_key", "").encode()
    try:
        public = serialization.load_pem_public_key(pem)
        key = bytes.fromhex(open(hmac_file, encoding="ascii").read().strip())
    except ValueError as exc:
        click.echo(f"cannot verify: bad key ({exc})", err=True)
        sys.exit(2)
    partial = bool(header.get("filters"))
    report = audit_chain.verify(key, public, records, cps, partial=partial)
    _print_report(report)
    sys.exit(0 if report.ok else 1)


@audit.command("checkpoint")
def checkpoint() -> None:
    """Sign the chain's current end now."""
    _boot()
    from appliance.services import audit as audit_service
    cp = audit_service.checkpoint("manual")
    click.echo("no records yet: nothing to sign" if cp is None else
               f"checkpoint at seq {cp['seq']} head {cp['head_mac']} key {cp['key_id']}")


def _when(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("expected an ISO date or time (UTC), e.g. 2026-11-01",
                                 param_hint=name) from None
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None) if t.tzinfo else t


@audit.command("export")
@click.option("--since", default=None, help="From this UTC date/time (ISO).")
@click.option("--until", default=None, help="Before this UTC date/time (ISO).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write here instead of to standard output.")
def export(since, until, fmt, out) -> None:
    """Export records (and, in JSONL, the checkpoints and public key) for off-box checks."""
    _boot()
    from appliance.rules.access import SYSTEM
    from appliance.services import audit as audit_service
    filters = audit_service.Filters(since=_when(since, "--since"), until=_when(until, "--until"))
    lines = audit_service.export(SYSTEM, filters, fmt)
    fh = open(out, "w", encoding="utf-8", newline="") if out else sys.stdout
    try:
        for line in lines:
            fh.write(line)
    finally:
        if out:
            fh.close()
    if out:
        click.echo(f"wrote {out}", err=True)


@audit.command("public-key")
def public_key() -> None:
    """Print the checkpoint-signing public key (PEM) to keep off the box."""
    settings = _boot()
    from appliance import audit_keys
    keys = audit_keys.load(settings)
    click.echo(keys.public_pem.rstrip())
    click.echo(f"# key id {keys.key_id}", err=True)


@audit.command("prune")
def prune() -> None:
    """Delete records older than audit_retention_days (behind a signed anchor)."""
    _boot()
    from appliance.services import audit as audit_service
    click.echo(f"pruned {audit_service.prune()} records")
