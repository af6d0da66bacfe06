#!/usr/bin/env python3
"""Build, sign and lock Gongdan's offline bundle (`make bundle`; packaging/README.md).

    bundle.py build --out dist [--source DIR] [--model PATH] [--signing-key PATH] [--version-check]
    bundle.py keygen --out-dir DIR        vendor-signing.key (0400) and vendor-signing.pub
    bundle.py lock                        packaging/requirements*.lock from the installed .venv

The build writes `gongdan-<version>-linux-x86_64.tar.gz` in the canonical format that
verify_bundle.py checks byte for byte. Run it with the project's Python 3.11 on x86-64
Linux (the appliance's platform): the wheels are chosen for that interpreter.
"""
from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:      # siblings import as top-level modules (no package here)
    sys.path.insert(0, str(HERE))

import bundle_frontend  # noqa: E402
import bundle_lock  # noqa: E402
import bundle_sbom  # noqa: E402
import bundle_sources  # noqa: E402
import verify_bundle as fmt  # noqa: E402
from bundle_keys import PASSPHRASE_ENV, keygen, load_signing_key  # noqa: E402,F401
from bundle_sources import BuildError  # noqa: E402

REPO = HERE.parent
LLAMA_WHEELS = Path.home() / ".cache/gongdan/llama-0.3.36-avx2"
WHEEL_CACHE = Path.home() / ".cache/gongdan/bundle-wheels"
DEFAULT_KEY = Path.home() / ".config/gongdan/vendor-signing.key"
_PIECE = 1 << 20


# --- inputs ------------------------------------------------------------------------------

def check_platform() -> None:
    if sys.version_info[:2] != (3, 11) or platform.machine() != "x86_64" \
            or not sys.platform.startswith("linux"):
        raise BuildError("build with CPython 3.11 on x86-64 Linux (the appliance's platform); "
                         f"this is Python {platform.python_version()} on {platform.machine()}")


def read_project(source: Path) -> dict:
    if not source.is_dir():
        raise BuildError(f"--source: {source} is not a directory")
    pyproject = source / "pyproject.toml"
    if not pyproject.is_file() or not (source / "appliance").is_dir():
        raise BuildError(f"--source: {source} is not a Gongdan source tree "
                         "(no pyproject.toml or appliance/)")
    project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    if project.get("name") != "gongdan" or not project.get("version"):
        raise BuildError(f"--source: {pyproject} does not describe the gongdan project")
    return project


def releases() -> dict:
    return tomllib.loads((HERE / "releases.toml").read_text(encoding="utf-8"))


def check_version(source: Path, version: str, commit: str) -> None:
    """--version-check: the version is stated once (pyproject = appliance.__version__) and,
    unless this is the previous release itself, newer than it."""
    from packaging.version import Version
    init = (source / "appliance/__init__.py").read_text(encoding="utf-8")
    if f'__version__ = "{version}"' not in init:
        raise BuildError(f"--version-check: appliance/__init__.py's __version__ differs from "
                         f"pyproject.toml's {version}: make them equal")
    previous = releases()["previous"]
    if commit != previous["commit"] and Version(version) <= Version(previous["version"]):
        raise BuildError(f"--version-check: version {version} is not newer than the released "
                         f"{previous['version']} (packaging/releases.toml): raise it")


def model_entry(path: Path) -> dict:
    """The model's name, file, pin and licence; the default model must match its pin."""
    from local_llm.registry import DEFAULT
    if not path.is_file():
        raise BuildError(f"--model: {path} does not exist; run `make model` (or pass --model "
                         "PATH to a GGUF file)")
    with open(path, "rb") as fh:
        if fh.read(4) != b"GGUF":
            raise BuildError(f"--model: {path} is not a GGUF file")
    digest = sha256_file(path)
    default = DEFAULT.entry
    if path.name == default.file and digest != default.sha256:
        raise BuildError(f"--model: {path} has SHA-256 {digest}, not the pinned "
                         f"{default.sha256}: reinstall it (`make model`)")
    is_default = digest == default.sha256
    return {"name": default.name if is_default else path.stem, "file": path.name,
            "sha256": digest, "size": path.stat().st_size,
            "license": DEFAULT.license if is_default else ""}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while piece := fh.read(_PIECE):
            h.update(piece)
    return h.hexdigest()


# --- wheels ------------------------------------------------------------------------------

def _pip(args: list[str], env: dict) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)  # nosec B603
    if r.returncode:
        raise BuildError(f"`pip {' '.join(args[:3])} ...` failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")


def build_gongdan_wheel(source: Path, work: Path, env: dict) -> Path:
    """From a clean copy of the source (no stale build/ or egg-info), .mo files compiled."""
    copy = work / "src"
    bundle_sources.copy_tree(source, bundle_sources.source_files(source, links=True), copy,
                             skip_top=("tests", "bench", "docs", "provisioning", "packaging"))
    bundle_sources.compile_translations(copy)
    bundle_frontend.build_assets(copy, env)   # Chart.js into webapp/static/vendor (decision 0041)
    out = work / "gongdan-wheel"
    _pip(["wheel", "--no-deps", "--wheel-dir", str(out), str(copy)], env)
    return next(out.glob("gongdan-*.whl"))


def dependency_wheels(pins: dict[str, str], env: dict, cache: Path | None) -> dict[str, Path]:
    """{canonical name: wheel} for exactly the pins: llama-cpp-python from the AVX2 build,
    the rest from PyPI through pip (pure-Python sdists become wheels here)."""
    found: dict[str, Path] = {}
    llama = pins.get("llama-cpp-python")
    if llama:
        match = sorted(LLAMA_WHEELS.glob(f"llama_cpp_python-{llama}-*.whl"))
        if not match:
            raise BuildError(f"no prebuilt llama-cpp-python {llama} wheel in {LLAMA_WHEELS}: "
                             "run `make venv` (it builds it once per machine)")
        found["llama-cpp-python"] = match[0]
    store = cache or Path(tempfile.mkdtemp(prefix="wheels-", dir=env["TMPDIR"]))
    store.mkdir(parents=True, exist_ok=True)
    with open(store / ".lock", "w") as lock:       # two builds at once share the cache
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _fill(store, pins, found, env)


def _fill(store: Path, pins: dict[str, str], found: dict[str, Path], env: dict) -> dict[str, Path]:
    from packaging.utils import canonicalize_name, parse_wheel_filename
    have = {}
    for wheel in store.glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        have[(canonicalize_name(name), str(version))] = wheel
    missing = [f"{n}=={v}" for n, v in sorted(pins.items())
               if n not in found and (n, v) not in have]
    if missing:
        _pip(["wheel", "--no-deps", "--wheel-dir", str(store), *missing], env)
        for wheel in store.glob("*.whl"):
            name, version, _, _ = parse_wheel_filename(wheel.name)
            have[(canonicalize_name(name), str(version))] = wheel
    for name, version in pins.items():
        if name not in found:
            if (name, version) not in have:
                raise BuildError(f"pip produced no wheel for {name}=={version}")
            found[name] = have[(name, version)]
    return found


def check_wheel_tags(wheels: list[Path]) -> None:
    from packaging.tags import sys_tags
    from packaging.utils import parse_wheel_filename
    supported = set(sys_tags())
    for wheel in wheels:
        if not parse_wheel_filename(wheel.name)[3] & supported:
            raise BuildError(f"{wheel.name} does not install on CPython 3.11 x86-64 Linux")


# --- the bundle ---------------------------------------------------------------------------

def provenance(source: Path, version: str, commit: str | None) -> tuple[str, bool, int]:
    """(commit, dirty, SOURCE_DATE_EPOCH): from git when the source is a checkout, else
    from --commit or packaging/releases.toml; the epoch from the environment or the commit."""
    dirty = False
    if commit is None and bundle_sources.is_git_root(source):
        commit = bundle_sources.git(source, "rev-parse", "HEAD")
        dirty = bool(bundle_sources.git(source, "status", "--porcelain"))
    previous = releases()["previous"]
    if commit is None and version == previous["version"]:
        commit = previous["commit"]
    commit = commit or "unknown"
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return commit, dirty, int(os.environ["SOURCE_DATE_EPOCH"])
    for where in (source, REPO):
        if commit != "unknown" and bundle_sources.is_git_root(where):
            try:
                return commit, dirty, int(bundle_sources.git(where, "show", "-s", "--format=%ct", commit))
            except BuildError:
                continue
    # `git archive` stamps every file with the commit time.
    return commit, dirty, int((source / "pyproject.toml").stat().st_mtime)


def collect(args, project: dict, work: Path, env: dict) -> tuple[dict[str, Path], dict]:
    """Every file of the bundle (path inside the top directory -> file on disk) and the
    manifest; nothing is copied that can be read from where it lies."""
    source = args.source.resolve()
    pins = bundle_lock.read_lock(_lock_for(source, "requirements.lock"))
    ansible_pins = bundle_lock.read_lock(_lock_for(source, "requirements-ansible.lock"))
    problems = bundle_lock.unsatisfied(bundle_lock.project_requirements(source), pins)
    if problems:
        raise BuildError("packaging/requirements.lock does not satisfy the source's "
                         "requirements: " + "; ".join(problems) + " (run `bundle.py lock`)")
    model = model_entry(args.model)
    files: dict[str, Path] = {}
    gongdan = build_gongdan_wheel(source, work, env)
    cache = None if args.no_wheel_cache else WHEEL_CACHE
    deps = dependency_wheels({**pins, **ansible_pins}, env, cache)
    check_wheel_tags([gongdan, *deps.values()])
    roles = {gongdan.name: "application"}
    for name, wheel in deps.items():
        roles[wheel.name] = "runtime" if name in pins else "ansible"
        files[f"wheels/{wheel.name}"] = wheel
    files[f"wheels/{gongdan.name}"] = gongdan
    files[f"model/{model['file']}"] = args.model.resolve()
    for rel in bundle_sources.source_files(REPO, "provisioning"):
        files[rel] = REPO / rel
    files["docs/README.md"] = REPO / "README.md"
    for rel in bundle_sources.source_files(REPO, "docs"):
        files[rel] = REPO / rel
    files["verify_bundle.py"] = HERE / "verify_bundle.py"
    return files, {"model": model, "roles": roles}


def _lock_for(source: Path, name: str) -> Path:
    """The source's own lock when it has one (later releases), else the current one."""
    own = source / "packaging" / name
    return own if own.is_file() else HERE / name


def glibc_needed(wheel_files: list[str]) -> str:
    """The newest glibc any manylinux wheel asks for (a wheel's least demanding tag)."""
    import re as _re
    from packaging.utils import parse_wheel_filename
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    need = (2, 17)
    for name in wheel_files:
        levels = []
        for tag in parse_wheel_filename(name)[3]:
            m = _re.match(r"manylinux_(\d+)_(\d+)_", tag.platform)
            level = (int(m[1]), int(m[2])) if m else legacy.get(tag.platform.rsplit("_x86_64", 1)[0])
            if level:
                levels.append(level)
        if levels:
            need = max(need, min(levels))
    return f"{need[0]}.{need[1]}"


def manifest_for(project, commit, dirty, epoch, model, wheel_rows) -> dict:
    import datetime as dt
    return {
        "format": 1, "name": "gongdan", "version": project["version"],
        "git_commit": commit, "git_dirty": dirty, "source_date_epoch": epoch,
        "build_time": dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python_tag": "cp311", "platform": "linux_x86_64", "model": model,
        # manylinux wheels' needs; llama-cpp-python is built on the build box (its glibc).
        "glibc_min": glibc_needed([w["file"] for w in wheel_rows]),
        "build_glibc": "-".join(platform.libc_ver()),
        "wheels": wheel_rows,
        "install": {"appliance": "pip install --no-index --find-links wheels gongdan",
                    "control_node": "pip install --no-index --find-links wheels ansible-core",
                    "model": "gongdan model add model/<file> --name <name> --sha256 <sha256> --use"},
    }


def build(args) -> Path:
    check_platform()
    project = read_project(args.source)
    version = project["version"]
    key = load_signing_key(args.signing_key)
    if not args.model.is_file():
        raise BuildError(f"--model: {args.model} does not exist; run `make model` (or pass "
                         "--model PATH to a GGUF file)")
    commit, dirty, epoch = provenance(args.source.resolve(), version, args.commit)
    if args.version_check:
        check_version(args.source, version, commit)
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".bundle-build-", dir=args.out))
    env = bundle_sources.build_env(epoch, work)
    try:
        files, extra = collect(args, project, work, env)
        return write(args.out, files, extra, project, commit, dirty, epoch, key, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write(out, files, extra, project, commit, dirty, epoch, key, work) -> Path:
    from packaging.utils import parse_wheel_filename
    digests = {rel: sha256_file(path) for rel, path in files.items()}
    rows, wheel_paths = [], {}
    for rel in sorted(r for r in files if r.startswith("wheels/")):
        name, ver, _, _ = parse_wheel_filename(files[rel].name)
        rows.append({"file": files[rel].name, "name": str(name), "version": str(ver),
                     "sha256": digests[rel], "role": extra["roles"][files[rel].name]})
        wheel_paths[files[rel].name] = (files[rel], digests[rel])
    manifest = manifest_for(project, commit, dirty, epoch, extra["model"], rows)
    generated = {
        "bundle.json": json.dumps(manifest, indent=2, sort_keys=True) + "\n",
        "sbom.cdx.json": json.dumps(bundle_sbom.build(manifest, wheel_paths,
                                                      digests[f"model/{extra['model']['file']}"]),
                                    indent=2, sort_keys=True) + "\n"}
    for rel, text in generated.items():
        (work / rel).write_text(text, encoding="utf-8")
        files[rel], digests[rel] = work / rel, hashlib.sha256(text.encode()).hexdigest()
    sums = fmt.sums_text(digests)
    (work / fmt.SUMS).write_bytes(sums)
    (work / fmt.SIG).write_bytes(base64.b64encode(key.sign(sums)) + b"\n")
    files[fmt.SUMS], files[fmt.SIG] = work / fmt.SUMS, work / fmt.SIG
    top = f"gongdan-{project['version']}"
    target = out / f"{top}-linux-x86_64.tar.gz"
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb", buffering=_PIECE) as fh:
        fmt.gzip_stored(tar_chunks(top, files, digests, epoch), fh)
    os.replace(partial, target)
    return target


def tar_chunks(top: str, files: dict[str, Path], digests: dict[str, str], epoch: int):
    """The canonical tar stream; each file is hashed again as it is read, so a file that
    changed since SHA256SUMS was written stops the build instead of shipping."""
    members = {top: None}
    for rel in files:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            members[f"{top}/{'/'.join(parts[:i])}"] = None
        members[f"{top}/{rel}"] = rel
    offset = 0
    for name in sorted(members, key=fmt.sort_key):
        rel = members[name]
        if rel is None:
            header = fmt.tar_header(name, 0, True, epoch)
            offset += len(header)
            yield header
            continue
        path = files[rel]
        size = path.stat().st_size
        yield fmt.tar_header(name, size, False, epoch)
        h, read = hashlib.sha256(), 0
        with open(path, "rb") as fh:
            while read < size and (piece := fh.read(min(_PIECE, size - read))):
                h.update(piece)
                read += len(piece)
                yield piece
        if read != size or (rel in digests and h.hexdigest() != digests[rel]):
            raise BuildError(f"{path} changed while the bundle was being written: build again")
        pad = b"\0" * (-size % fmt.BLOCK)
        offset += fmt.BLOCK + size + len(pad)
        yield pad
    yield fmt.tar_trailer(offset)


# --- command line ---------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/bundle.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build and sign the offline bundle")
    b.add_argument("--out", type=Path, required=True, help="output folder (e.g. dist)")
    b.add_argument("--source", type=Path, default=REPO,
                   help="application source tree to build the gongdan wheel from (default: this repository)")
    b.add_argument("--model", type=Path, default=None,
                   help="GGUF file (default: $TEST_MODEL_DIR or var/models, the default model)")
    b.add_argument("--signing-key", type=Path, default=DEFAULT_KEY,
                   help=f"Ed25519 private key, PEM (default: {DEFAULT_KEY}); passphrase from {PASSPHRASE_ENV}")
    b.add_argument("--commit", default=None, help="git commit to record when --source is not a checkout")
    b.add_argument("--version-check", action="store_true",
                   help="refuse unless the version is stated consistently and newer than the previous release")
    b.add_argument("--no-wheel-cache", action="store_true",
                   help=f"fetch every dependency wheel again instead of reusing {WHEEL_CACHE}")
    k = sub.add_parser("keygen", help="create the vendor's Ed25519 signing key pair")
    k.add_argument("--out-dir", type=Path, required=True)
    sub.add_parser("lock", help="write packaging/requirements*.lock from the installed environment")
    args = parser.parse_args(argv)
    try:
        return {"build": _cmd_build, "keygen": _cmd_keygen, "lock": _cmd_lock}[args.command](args)
    except (BuildError, bundle_lock.LockError, fmt.Refused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _cmd_build(args) -> int:
    if args.model is None:
        from local_llm.registry import DEFAULT
        model_dir = Path(os.environ.get("TEST_MODEL_DIR") or REPO / "var/models")
        args.model = DEFAULT.entry.path(model_dir)
    target = build(args)
    print(f"{target} ({target.stat().st_size:,} bytes)")
    return 0


def _cmd_keygen(args) -> int:
    from verify_bundle import key_fingerprint, load_public_key
    key_path, pub_path = keygen(args.out_dir)
    print(f"wrote {key_path} (mode 0400, "
          f"{'encrypted with ' + PASSPHRASE_ENV if os.environ.get(PASSPHRASE_ENV) else 'not encrypted'})")
    print(f"wrote {pub_path}; fingerprint {key_fingerprint(load_public_key(pub_path))}")
    return 0


def _cmd_lock(args) -> int:
    gongdan, ansible = bundle_lock.lock(REPO)
    bundle_lock.write_lock(bundle_lock.GONGDAN_LOCK, gongdan,
                           "gongdan's runtime dependency closure (pyproject [project].dependencies)")
    bundle_lock.write_lock(bundle_lock.ANSIBLE_LOCK, ansible,
                           "ansible-core's dependency closure, for an air-gapped control node")
    print(f"locked {len(gongdan)} runtime and {len(ansible)} ansible-core distributions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
