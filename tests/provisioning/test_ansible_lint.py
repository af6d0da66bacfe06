"""provisioning/ passes ansible-lint's production profile offline (also `make ansible-lint`),
and uses ansible.builtin modules only: sites cannot download collections."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.provisioning.conftest import PROVISIONING

pytestmark = pytest.mark.slow
LINT = Path(sys.executable).parent / "ansible-lint"


def test_ansible_lint_production_profile_is_clean():
    if not LINT.exists():
        pytest.skip(f"{LINT} is missing (ansible-lint from the test extra)")
    r = subprocess.run([str(LINT), "--offline", "--profile", "production", "--nocolor"],
                       cwd=PROVISIONING, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Profile 'production' was required, and it passed" in r.stdout + r.stderr


def test_only_builtin_modules_are_used():
    modules = set()
    for path in PROVISIONING.rglob("*.yml"):
        if {"defaults", "inventories"} & set(path.relative_to(PROVISIONING).parts):
            continue  # variables (sysctl keys look like module names), not tasks
        modules |= set(re.findall(r"^\s+(?:- )?([a-z_]+\.[a-z_]+\.[a-z_]+):", path.read_text(), re.M))
    assert modules and all(m.startswith("ansible.builtin.") for m in modules), modules
