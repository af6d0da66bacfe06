"""`gongdan keys status|rotate`: the encryption keys (docs/decisions/0030-encryption-at-rest.md)."""
from __future__ import annotations

import click


def _boot():
    from appliance.cli import _boot as boot  # here: appliance.cli imports this module
    return boot(queue=False)


@click.group()
def keys() -> None:
    """Encryption keys: master key versions and data keys."""


@keys.command("status")
def keys_status() -> None:
    """Where the master key comes from, its versions, the data keys and their use."""
    settings = _boot()
    from appliance.services import key_rotation
    info = key_rotation.status(settings)
    click.echo(f"master key: {info['source']}  versions: {info['master_versions']}")
    if info["rotation_unfinished"]:
        click.echo("a rotation is unfinished: run `gongdan keys rotate` to finish it")
    for k in info["data_keys"]:
        state = f"retired {k['retired_at']:%Y-%m-%d %H:%M}" if k["retired_at"] else "active"
        click.echo(f"data key {k['id']:>4}  {k['purpose']:<5}  master v{k['master_version']}  "
                   f"{state:<24} values: {k['values']}")


@keys.command("rotate")
@click.option("--reencrypt", is_flag=True,
              help="Also move every encrypted value and file to a new data key.")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows per transaction while re-encrypting.")
def keys_rotate(reencrypt: bool, batch: int) -> None:
    """New master key version, data keys re-wrapped online; resumable."""
    settings = _boot()
    from appliance.keystore import KeyProblem
    from appliance.services import key_rotation
    try:
        r = key_rotation.rotate(settings, reencrypt=reencrypt, batch=batch)
    except KeyProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'resumed: ' if r.resumed else ''}master key version {r.master_version}; "
               f"{r.rewrapped} data keys re-wrapped"
               + (f"; {r.reencrypted} values and {r.files} files re-encrypted" if reencrypt else ""))
    click.echo("back up the key file now: the previous master key version is gone from it")
