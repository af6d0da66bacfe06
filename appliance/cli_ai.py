"""`gongdan ai ...`: train, evaluate, inspect and roll back the triage classifiers."""
from __future__ import annotations

import click


@click.group()
def ai() -> None:
    """AI triage: classifiers that learn from resolved tickets."""


def _boot():
    # one start-up path for every command: settings and key problems become a message
    from appliance.cli import _boot as boot  # here: appliance.cli imports this module
    return boot()


def _fail(exc) -> click.ClickException:
    return click.ClickException(f"{exc.message}: {exc.details}" if exc.details else exc.message)


@ai.command("train")
@click.option("--field", type=click.Choice(["department", "category", "priority", "urgency"]),
              default=None, help="Train one field only (default: all four).")
def ai_train(field: str | None) -> None:
    """Build and activate a new classifier version now (in this process)."""
    settings = _boot()
    from appliance.services import ai_training
    for r in ai_training.train(settings, field, force=True):
        if r.skipped:
            click.echo(f"{r.field:<10} not built: {r.skipped}")
            continue
        m = r.metrics
        quality = (f"  accuracy {m['accuracy']:.1%}  macro-F1 {m['macro_f1']:.3f} "
                   f"on {m['holdout']} held out") if "accuracy" in m else ""
        click.echo(f"{r.field:<10} version {r.version} ({r.kind}, {r.n_examples} examples){quality}")


@ai.command("status")
def ai_status() -> None:
    """Model availability, active classifier versions and the triage backlog."""
    settings = _boot()
    from appliance.services import ai_admin
    s = ai_admin.ai_status(settings)
    click.echo(f"ai_enabled      {s.enabled}")
    model = f"{s.model_name} ({s.model_sha256[:12]})" if s.model_available else \
        f"unavailable: {s.model_reason}"
    click.echo(f"model           {model}")
    for field, tag in s.classifiers.items():
        click.echo(f"classifier      {field:<10} {tag or '(none: tickets go to review)'}")
    click.echo(f"pending triage  {s.pending_triage}")
    click.echo(f"review queue    {s.review_queue}")
    for name, n in s.pending_jobs.items():
        click.echo(f"jobs waiting    {name:<18} {n}")


@ai.command("rollback")
@click.argument("field", type=click.Choice(["department", "category", "priority", "urgency"]))
@click.option("--version", "version", type=int, default=None,
              help="Version to activate (default: the one before the active version).")
def ai_rollback(field: str, version: int | None) -> None:
    """Activate an earlier classifier version of FIELD."""
    _boot()
    from appliance.errors import DomainError
    from appliance.services import ai_training
    try:
        row = ai_training.rollback(field, version)
    except DomainError as exc:
        raise _fail(exc) from None
    click.echo(f"{field}: version {row.version} ({row.kind}) is active")


@ai.command("retriage")
@click.argument("ticket_number")
def ai_retriage(ticket_number: str) -> None:
    """Triage TICKET_NUMBER again (the worker runs it); fields people set stay."""
    _boot()
    from appliance.errors import DomainError
    from appliance.rules.access import SYSTEM
    from appliance.services import tickets, triage
    try:
        triage.request_retriage(SYSTEM, tickets.find_ticket_id(SYSTEM, ticket_number))
    except DomainError as exc:
        raise _fail(exc) from None
    click.echo(f"{ticket_number.strip().upper()}: queued for triage")


@ai.command("seed")
def ai_seed() -> None:
    """Create the default priority rules (if there are none) and label profile stubs."""
    _boot()
    from appliance.services import ai_admin
    click.echo(f"{ai_admin.seed_default_rules()} rules, "
               f"{ai_admin.seed_profiles_from_org()} label profiles created")
