"""The bundle built once per session (tests/bundle_fixture.py), its verified extraction,
and packaging/'s scripts loaded from their files (packaging/ is not a Python package: it
would shadow PyPI's `packaging`)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bundle_fixture import BUNDLE_PY, REPO, built_bundle  # noqa: F401  (fixture)

VERIFY_PY = REPO / "packaging" / "verify_bundle.py"


def load_script(name: str):
    """A module of packaging/ by file (its siblings import as top-level modules)."""
    if str(BUNDLE_PY.parent) not in sys.path:
        sys.path.insert(0, str(BUNDLE_PY.parent))
    spec = importlib.util.spec_from_file_location(name, BUNDLE_PY.parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def verify(bundle: Path, pubkey: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(VERIFY_PY), "--pubkey", str(pubkey), str(bundle),
                           *extra], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def extracted(built_bundle, tmp_path_factory) -> Path:  # noqa: F811
    """The session's bundle, verified and extracted by verify_bundle.py --extract."""
    bundle, pub = built_bundle
    dest = tmp_path_factory.mktemp("extracted")
    r = verify(bundle, pub, "--extract", str(dest))
    assert r.returncode == 0, r.stdout + r.stderr
    (top,) = dest.iterdir()
    return top
