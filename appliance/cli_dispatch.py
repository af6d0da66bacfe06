"""`gongdan dispatch ...`: maintenance of intelligent dispatch (agent statistics)."""
from __future__ import annotations

import click


@click.group()
def dispatch() -> None:
    """Dispatch: the agents' efficiency figures behind skills-based routing."""


def _boot():
    # one start-up path for every command: settings and key problems become a message
    from appliance.cli import _boot as boot  # here: appliance.cli imports this module
    return boot(queue=False)  # nothing to enqueue: the work is done in this process


@dispatch.command("stats")
def dispatch_stats() -> None:
    """Recompute every agent's efficiency figures now (as the nightly task does)."""
    settings = _boot()
    from appliance.services import agent_stats
    roll = agent_stats.recompute_all()
    click.echo(f"recomputed {roll.agents} staff over the last "
               f"{settings.dispatch_stats_window_days} days: {roll.with_figures} agents "
               f"with figures, {roll.rows} rows")
