"""`gongdan integration ...`: tokens a chat system or PBX uses to post conversations to
/api/v1/intake/chat or /intake/call (the admin page /admin/integrations does the same).

The secret is printed once, on its own line, so a script can take it with `tail -1`;
only its SHA-256 is stored.
"""
from __future__ import annotations

import click

from appliance.services.integrations import CHANNELS


def _boot():
    # one start-up path for every command: settings and key problems become a message
    from appliance.cli import _boot as boot  # here: appliance.cli imports this module
    return boot(queue=False)


@click.group()
def integration() -> None:
    """Integration tokens for the chat and call intake API."""


@integration.command("add")
@click.argument("name")
@click.option("--channel", type=click.Choice(CHANNELS), required=True,
              help="What the token may post: chat conversations or phone calls.")
def integration_add(name, channel) -> None:
    _boot()
    from appliance.errors import DomainError
    from appliance.rules.access import SYSTEM
    from appliance.services import integrations
    try:
        view, secret = integrations.create_token(SYSTEM, name, channel)
    except DomainError as exc:
        raise click.ClickException(f"{exc.message}: {exc.details}") from None
    click.echo(f"integration token {view.id} ({view.channel}) {view.name}; it is shown once:",
               err=True)
    click.echo(secret)


@integration.command("list")
def integration_list() -> None:
    _boot()
    from appliance.rules.access import SYSTEM
    from appliance.services import integrations
    for v in integrations.list_tokens(SYSTEM):
        used = v.last_used_at.isoformat(timespec="seconds") if v.last_used_at else "never"
        state = "revoked" if v.revoked else "active"
        click.echo(f"{v.id}\t{v.channel}\t{state}\tlast used {used}\t{v.name}")


@integration.command("revoke")
@click.argument("token_id", type=int)
def integration_revoke(token_id) -> None:
    _boot()
    from appliance.errors import NotFound
    from appliance.rules.access import SYSTEM
    from appliance.services import integrations
    try:
        view = integrations.revoke_token(SYSTEM, token_id)
    except NotFound:
        raise click.ClickException(f"no integration token {token_id}") from None
    click.echo(f"integration token {view.id} revoked")
