"""packaging/requirements*.lock: they satisfy pyproject's requirements, are closed under
the locked wheels' own requirements (for the appliance's Python), and the bundle holds
exactly those versions."""
from __future__ import annotations

import json

import pytest
from packaging.utils import canonicalize_name

from tests.packaging.conftest import REPO, load_script


@pytest.fixture(scope="module")
def lock():
    return load_script("bundle_lock")


def test_the_lock_satisfies_every_runtime_requirement_of_pyproject(lock):
    pins = lock.read_lock(lock.GONGDAN_LOCK)
    assert lock.unsatisfied(lock.project_requirements(REPO), pins) == []
    assert "gongdan" not in pins and pins["llama-cpp-python"] == "0.3.36"


def test_the_lock_refuses_a_pin_that_misses_a_requirement(lock):
    from packaging.requirements import Requirement
    problems = lock.unsatisfied([Requirement("flask>=99"), Requirement("nosuch>=1")],
                                {"flask": "3.1.0"})
    assert problems == ["flask>=99 (locked 3.1.0)", "nosuch>=1 (not locked)"]


def test_the_runtime_and_ansible_locks_agree_on_shared_packages(lock):
    pins, ansible = lock.read_lock(lock.GONGDAN_LOCK), lock.read_lock(lock.ANSIBLE_LOCK)
    assert "ansible-core" in ansible
    assert {n: pins[n] for n in set(pins) & set(ansible)} == {n: ansible[n] for n in set(pins) & set(ansible)}


@pytest.mark.slow
def test_the_locks_are_closed_and_the_bundle_holds_exactly_those_wheels(lock, extracted):
    pins = lock.read_lock(lock.GONGDAN_LOCK)
    ansible = lock.read_lock(lock.ANSIBLE_LOCK)
    manifest = json.loads((extracted / "bundle.json").read_text())
    in_bundle = {canonicalize_name(w["name"]): w["version"] for w in manifest["wheels"]}
    assert in_bundle.pop("gongdan") == manifest["version"]
    assert in_bundle == {**pins, **ansible}
    for locked, role in ((pins, "runtime"), (ansible, "ansible")):
        for w in manifest["wheels"]:
            if w["role"] != role:
                continue
            missing = lock.unsatisfied(lock.wheel_requirements(extracted / "wheels" / w["file"]), locked)
            assert missing == [], f"{w['file']} needs {missing}, which its lock lacks"
    gongdan = next(w for w in manifest["wheels"] if w["role"] == "application")
    assert lock.unsatisfied(lock.wheel_requirements(extracted / "wheels" / gongdan["file"]), pins) == []
