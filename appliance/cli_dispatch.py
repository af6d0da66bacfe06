"""`gongdan dispatch ...`: maintenance of intelligent dispatch (agent statistics)."""
from __future__ import annotations

import click


@click.group()
def dispatch() -> None:
    """Dispatch: the agents' efficiency figures behind skills-based routing."""


def _boot():
    from appliance.bootstrap import boot
    from appliance.settings import SettingsError
    try:
        return boot(queue=False)  # nothing to enqueue: the work is done in this process
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@dispatch.command("stats")
def dispatch_stats() -> None:
    """Recompute every agent's efficiency figures now (as the nightly task does)."""
    settings = _boot()
    from appliance.services import agent_stats
    roll = agent_stats.recompute_all()
    click.echo(f"recomputed {roll.agents} staff over the last "
               f"{settings.dispatch_stats_window_days} days: {roll.with_figures} agents "
               f"with figures, {roll.rows} rows")
