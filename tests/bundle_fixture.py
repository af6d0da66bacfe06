"""Builds a real offline bundle (packaging/bundle.py) signed with a throw-away key.

`build_bundle(tmp_dir, source=None) -> (bundle_path, pubkey_path)` for any test, and the
session fixture `built_bundle`, which builds ONE bundle of this checkout per test session
however many conftests import it (tests/packaging, tests/provisioning). The private key
lies beside the public one (`pubkey_path.with_name("vendor-signing.key")`).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLE_PY = REPO / "packaging" / "bundle.py"
_BUILT: dict[str, tuple[Path, Path]] = {}


def model_path() -> Path:
    """The default model the Makefile's `model`/`test-model` targets put in place."""
    from local_llm.registry import DEFAULT
    return DEFAULT.entry.path(os.environ.get("TEST_MODEL_DIR") or REPO / "var/models")


def keygen(out_dir: Path) -> Path:
    """A key pair in out_dir (made once); returns the public key."""
    pub = out_dir / "vendor-signing.pub"
    if not pub.exists():
        env = {k: v for k, v in os.environ.items() if k != "GONGDAN_SIGNING_PASSPHRASE"}
        subprocess.run([sys.executable, str(BUNDLE_PY), "keygen", "--out-dir", str(out_dir)],
                       check=True, capture_output=True, env=env)
    return pub


def build_bundle(tmp_dir, source=None, *, extra_args=()) -> tuple[Path, Path]:
    """Build into tmp_dir/dist with a key pair in tmp_dir/keys; raise with pip's or the
    builder's message on failure."""
    tmp_dir = Path(tmp_dir)
    pub = keygen(tmp_dir / "keys")
    cmd = [sys.executable, str(BUNDLE_PY), "build", "--out", str(tmp_dir / "dist"),
           "--signing-key", str(pub.with_name("vendor-signing.key")), "--model", str(model_path()),
           *(["--source", str(source)] if source else []), *extra_args]
    env = {k: v for k, v in os.environ.items()
           if k not in ("GONGDAN_SIGNING_PASSPHRASE", "SOURCE_DATE_EPOCH")}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    if r.returncode:
        raise RuntimeError(f"bundle build failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return Path(r.stdout.strip().splitlines()[-1].split(" (")[0]), pub


@pytest.fixture(scope="session")
def built_bundle(tmp_path_factory) -> tuple[Path, Path]:
    """(bundle_path, pubkey_path) of this checkout's bundle, built once per session."""
    if not model_path().is_file():
        pytest.skip(f"the default model {model_path()} is missing (run `make test-model`)")
    if "repo" not in _BUILT:
        _BUILT["repo"] = build_bundle(tmp_path_factory.mktemp("bundle"))
    return _BUILT["repo"]
