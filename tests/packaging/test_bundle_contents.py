"""The bundle `make bundle` builds: verified by the standalone verifier and by hand
(openssl + sha256sum), and holding everything an air-gapped site needs."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess

import pytest

from local_llm.registry import DEFAULT
from tests.packaging.conftest import REPO, VERIFY_PY, verify

pytestmark = pytest.mark.slow


def test_the_built_bundle_verifies_and_the_verifier_says_what_it_checked(built_bundle):
    bundle, pub = built_bundle
    assert re.fullmatch(r"gongdan-0\.\d+\.\d+-linux-x86_64\.tar\.gz", bundle.name)
    r = verify(bundle, pub)
    assert r.returncode == 0, r.stderr
    for checked in ("gzip: canonical header", "CRC-32 and length match", "canonical headers",
                    "signature: SHA256SUMS signed by SHA256:", "checksums: all", "bundle: gongdan"):
        assert checked in r.stdout


def test_debians_own_python3_with_python3_cryptography_can_run_the_verifier(built_bundle):
    """What a site runs before anything from the bundle is installed."""
    bundle, pub = built_bundle
    system = shutil.which("python3", path="/usr/bin")
    if not system or subprocess.run([system, "-c", "import cryptography"]).returncode:
        pytest.skip("/usr/bin/python3 with the python3-cryptography package is not installed")
    r = subprocess.run([system, str(VERIFY_PY), "--pubkey", str(pub), str(bundle)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "verified: every byte" in r.stdout, r.stderr


def test_the_manual_check_with_openssl_and_sha256sum_agrees(extracted, built_bundle, tmp_path):
    if not shutil.which("openssl") or not shutil.which("sha256sum"):
        pytest.skip("openssl or sha256sum (coreutils) is not installed")
    _, pub = built_bundle
    sig = tmp_path / "sig.bin"
    sig.write_bytes(base64.b64decode((extracted / "SHA256SUMS.sig").read_bytes()))
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pub), "-rawin",
                        "-in", str(extracted / "SHA256SUMS"), "-sigfile", str(sig)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Signature Verified Successfully" in r.stdout, r.stdout + r.stderr
    r = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=extracted,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    listed = [line.split("  ", 1)[1] for line in (extracted / "SHA256SUMS").read_text().splitlines()]
    on_disk = sorted(str(p.relative_to(extracted)) for p in extracted.rglob("*") if p.is_file())
    assert listed == sorted(listed)
    assert listed == [p for p in on_disk if p not in ("SHA256SUMS", "SHA256SUMS.sig")]


def test_the_bundle_holds_wheels_model_playbooks_docs_and_the_verifier(extracted):
    manifest = json.loads((extracted / "bundle.json").read_text())
    assert manifest["name"] == "gongdan" and extracted.name == f"gongdan-{manifest['version']}"
    assert manifest["python_tag"] == "cp311" and manifest["platform"] == "linux_x86_64"
    assert re.fullmatch(r"[0-9a-f]{40}", manifest["git_commit"])
    wheels = {w["name"]: w for w in manifest["wheels"]}
    assert sorted(p.name for p in (extracted / "wheels").iterdir()) == sorted(w["file"] for w in manifest["wheels"])
    assert wheels["llama-cpp-python"]["version"] == "0.3.36"
    assert wheels["gongdan"]["role"] == "application" and wheels["ansible-core"]["role"] == "ansible"
    assert {"flask", "peewee", "huey", "whoosh3", "jieba", "scikit-learn", "cryptography"} <= set(wheels)
    model = manifest["model"]
    assert (model["name"], model["file"], model["sha256"]) == (
        DEFAULT.entry.name, DEFAULT.entry.file, DEFAULT.entry.sha256)
    model_file = extracted / "model" / model["file"]
    assert model_file.stat().st_size == model["size"] == DEFAULT.entry.size
    for rel in ("provisioning/README.md", "docs/README.md", "docs/benchmarks.md",
                "docs/decisions/0034-offline-bundle.md"):
        assert (extracted / rel).is_file(), rel
    assert (extracted / "provisioning/README.md").read_bytes() == (REPO / "provisioning/README.md").read_bytes()
    assert (extracted / "verify_bundle.py").read_bytes() == VERIFY_PY.read_bytes()


def test_the_sbom_lists_every_wheel_with_its_hash_the_model_and_gongdan_itself(extracted):
    sbom = json.loads((extracted / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    assert sbom["serialNumber"].startswith("urn:uuid:")
    root = sbom["metadata"]["component"]
    assert (root["name"], root["type"], root["purl"]) == ("gongdan", "application",
                                                         f"pkg:pypi/gongdan@{root['version']}")
    libraries = {c["name"].lower(): c for c in sbom["components"] if c["type"] == "library"}
    wheel_files = sorted((extracted / "wheels").iterdir())
    assert len(libraries) == len(wheel_files) - 1          # all but gongdan's own wheel
    for c in libraries.values():
        assert c["purl"] == f"pkg:pypi/{re.sub(r'[-_.]+', '-', c['name']).lower()}@{c['version']}"
        wheel = extracted / "wheels" / next(p["value"] for p in c["properties"] if p["name"] == "gongdan:wheel")
        assert c["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(wheel.read_bytes()).hexdigest()}]
    assert libraries["flask"]["licenses"]          # licences where the metadata states them
    (model,) = [c for c in sbom["components"] if c["type"] == "machine-learning-model"]
    assert model["hashes"][0]["content"] == DEFAULT.entry.sha256 and model["licenses"]


def test_the_sbom_is_valid_cyclonedx_1_5_by_the_official_schema(extracted):
    # cyclonedx-python-lib ships the CycloneDX JSON schemas (offline) and validates strictly.
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    validator = JsonStrictValidator(SchemaVersion.V1_5)
    text = (extracted / "sbom.cdx.json").read_text()
    assert validator.validate_str(text) is None
    broken = json.loads(text)
    broken["components"][0]["hashes"][0]["alg"] = "SHA-257"   # not an algorithm of the schema
    assert validator.validate_str(json.dumps(broken)) is not None  # the validator does validate
