"""`gongdan reports ...`: the report aggregates (docs/decisions/0040).

    gongdan reports refresh   # what the periodic task does every five minutes
    gongdan reports rebuild   # recompute every fact and bucket (after a time zone change)
    gongdan reports verify    # compare with a full recomputation; exit 1 on a difference
"""
from __future__ import annotations

import sys
import time

import click


@click.group()
def reports() -> None:
    """Report aggregates behind the dashboard."""


def _boot() -> None:
    from appliance.cli import _boot as boot
    boot(queue=False)


@reports.command("refresh")
def refresh_cmd() -> None:
    """Bring the aggregates up to date with the tickets changed since the last run."""
    _boot()
    from appliance.services import reports_refresh
    start = time.perf_counter()
    r = reports_refresh.refresh()
    click.echo(f"{'rebuilt' if r.rebuilt else 'refreshed'}: {r.tickets} tickets read, "
               f"{r.changed} facts written, {r.buckets} bucket keys "
               f"({time.perf_counter() - start:.1f} s)")


@reports.command("rebuild")
@click.option("--force", is_flag=True, help="Even if another rebuild is marked running.")
def rebuild_cmd(force: bool) -> None:
    """Recompute every fact and bucket from the ticket tables."""
    _boot()
    from appliance.errors import Conflict
    from appliance.services import reports_refresh
    start = time.perf_counter()
    try:
        r = reports_refresh.rebuild(force=force)
    except Conflict as exc:
        raise click.ClickException(f"{exc.message} (--force if it crashed)") from None
    click.echo(f"rebuilt: {r.changed} facts, {r.buckets} buckets "
               f"({time.perf_counter() - start:.1f} s)")


@reports.command("verify")
@click.option("--limit", default=20, show_default=True, help="Differences to print.")
def verify_cmd(limit: int) -> None:
    """Compare the stored aggregates with a full recomputation (reads only)."""
    _boot()
    from appliance.services import reports_verify
    problems = reports_verify.verify()
    for line in problems[:limit]:
        click.echo(line)
    if problems:
        click.echo(f"{len(problems)} differences; run `gongdan reports rebuild`", err=True)
        sys.exit(1)
    click.echo("the aggregates equal a full recomputation")
