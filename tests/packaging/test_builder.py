"""bundle.py as the vendor runs it: key generation, refusals of bad input before any
work, and two builds of the same commit that list the same files and versions."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile

import pytest

from tests.bundle_fixture import BUNDLE_PY, build_bundle, keygen, model_path
from tests.packaging.conftest import verify


def bundle_py(*args, env=None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "GONGDAN_SIGNING_PASSPHRASE"}
    return subprocess.run([sys.executable, str(BUNDLE_PY), *args], capture_output=True, text=True,
                          env={**base, **(env or {})}, timeout=120)


def test_keygen_writes_a_0400_private_key_and_a_public_key_and_never_overwrites(tmp_path):
    r = bundle_py("keygen", "--out-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    key, pub = tmp_path / "vendor-signing.key", tmp_path / "vendor-signing.pub"
    assert stat.S_IMODE(key.stat().st_mode) == 0o400
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert "fingerprint SHA256:" in r.stdout and "BEGIN" not in r.stdout
    again = bundle_py("keygen", "--out-dir", str(tmp_path))
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr


def test_an_encrypted_key_needs_its_passphrase(tmp_path):
    r = bundle_py("keygen", "--out-dir", str(tmp_path), env={"GONGDAN_SIGNING_PASSPHRASE": "s3cret-pass"})
    assert r.returncode == 0 and "encrypted" in r.stdout
    assert "ENCRYPTED PRIVATE KEY" in (tmp_path / "vendor-signing.key").read_text()
    r = bundle_py("build", "--out", str(tmp_path / "dist"),
                  "--signing-key", str(tmp_path / "vendor-signing.key"))
    assert r.returncode == 1 and "GONGDAN_SIGNING_PASSPHRASE" in r.stderr
    r = bundle_py("build", "--out", str(tmp_path / "dist"), "--signing-key",
                  str(tmp_path / "vendor-signing.key"), "--model", str(tmp_path / "none.gguf"),
                  env={"GONGDAN_SIGNING_PASSPHRASE": "wrong"})
    assert r.returncode == 1 and "wrong GONGDAN_SIGNING_PASSPHRASE" in r.stderr


@pytest.mark.parametrize("case", ["missing model", "not a model", "missing key", "unknown source",
                                  "not a source tree"])
def test_bad_input_to_the_builder_is_refused_with_the_option_named(case, tmp_path):
    pub = keygen(tmp_path / "keys")
    args = {"--signing-key": str(pub.with_name("vendor-signing.key")), "--model": str(model_path())}
    expect = {"missing model": "--model", "not a model": "is not a GGUF file",
              "missing key": "--signing-key", "unknown source": "--source",
              "not a source tree": "is not a Gongdan source tree"}[case]
    if case == "missing model":
        args["--model"] = str(tmp_path / "absent.gguf")
    elif case == "not a model":
        (tmp_path / "fake.gguf").write_bytes(b"not gguf" * 10)
        args["--model"] = str(tmp_path / "fake.gguf")
    elif case == "missing key":
        args["--signing-key"] = str(tmp_path / "absent.key")
    elif case == "unknown source":
        args["--source"] = str(tmp_path / "no-such-dir")
    else:
        (tmp_path / "src").mkdir()
        args["--source"] = str(tmp_path / "src")
    r = bundle_py("build", "--out", str(tmp_path / "dist"), *[x for kv in args.items() for x in kv])
    assert r.returncode == 1 and expect in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not list((tmp_path / "dist").glob("*.tar.gz")) if (tmp_path / "dist").exists() else True


def test_the_verifier_names_a_bad_public_key(built_bundle, tmp_path):
    bundle, _ = built_bundle
    (tmp_path / "bad.pub").write_text("not a key")
    r = verify(bundle, tmp_path / "bad.pub")
    assert r.returncode == 2 and "--pubkey" in r.stderr


def _listing(bundle):
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile(next(n for n in names if n.endswith("/bundle.json"))))
    return names, [(w["name"], w["version"]) for w in manifest["wheels"]], manifest


@pytest.mark.slow
def test_two_builds_of_the_same_commit_list_the_same_files_and_versions(built_bundle, tmp_path):
    first, pub = built_bundle
    shutil.copytree(pub.parent, tmp_path / "keys")   # the same key: Ed25519 is deterministic
    second, _ = build_bundle(tmp_path)               # another folder, later, wheels reused
    names1, wheels1, m1 = _listing(first)
    names2, wheels2, m2 = _listing(second)
    assert names1 == names2 and wheels1 == wheels2
    assert (m1["git_commit"], m1["source_date_epoch"]) == (m2["git_commit"], m2["source_date_epoch"])
    if not (m1["git_dirty"] or m2["git_dirty"]):
        # A clean checkout (CI): the whole file is the same, byte for byte.
        assert first.read_bytes() == second.read_bytes()


def _fake_source(root, version: str, init_version: str):
    (root / "appliance").mkdir(parents=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "gongdan"\nversion = "{version}"\n')
    (root / "appliance/__init__.py").write_text(f'__version__ = "{init_version}"\n')
    return root


@pytest.mark.parametrize("version, init_version, expect", [
    ("0.2.0", "0.1.9", "__version__ differs"),
    ("0.1.0", "0.1.0", "is not newer than the released 0.1.0"),
])
def test_version_check_refuses_an_inconsistent_or_stale_version(tmp_path, version, init_version, expect):
    pub = keygen(tmp_path / "keys")
    source = _fake_source(tmp_path / "src", version, init_version)
    r = bundle_py("build", "--out", str(tmp_path / "dist"), "--source", str(source), "--version-check",
                  "--commit", "0" * 40, "--signing-key", str(pub.with_name("vendor-signing.key")),
                  "--model", str(model_path()))
    assert r.returncode == 1 and expect in r.stderr, r.stderr


def _releases():
    import tomllib
    return tomllib.loads((BUNDLE_PY.parent / "releases.toml").read_text())["previous"]


def test_releases_toml_names_the_previous_release_by_its_full_commit():
    previous = _releases()
    assert len(previous["commit"]) == 40 and previous["tag"] == f"v{previous['version']}"
    tag = subprocess.run(["git", "-C", str(BUNDLE_PY.parents[1]), "rev-parse", "-q", "--verify",
                          f"{previous['tag']}^{{commit}}"], capture_output=True, text=True)
    if tag.returncode == 0:                   # tags may not travel to CI clones; commits do
        assert tag.stdout.strip() == previous["commit"]


@pytest.mark.slow
def test_the_previous_release_builds_from_git_archive_of_its_commit(tmp_path):
    previous = _releases()
    repo = BUNDLE_PY.parents[1]
    has = subprocess.run(["git", "-C", str(repo), "cat-file", "-e", previous["commit"]], capture_output=True)
    if has.returncode:
        pytest.skip(f"commit {previous['commit'][:12]} of the previous release is not in this clone "
                    "(shallow clone? `git fetch --unshallow`)")
    source = tmp_path / "src"
    source.mkdir()
    archive = subprocess.run(["git", "-C", str(repo), "archive", previous["commit"]], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    bundle, pub = build_bundle(tmp_path, source=source)
    assert bundle.name == f"gongdan-{previous['version']}-linux-x86_64.tar.gz"
    assert verify(bundle, pub).returncode == 0
    _, wheels, manifest = _listing(bundle)
    assert (manifest["version"], manifest["git_commit"], manifest["git_dirty"]) == (
        previous["version"], previous["commit"], False)
    assert ("gongdan", previous["version"]) in wheels
    assert (bundle.parent.parent / "keys").is_dir() and not (source / "build").exists()
