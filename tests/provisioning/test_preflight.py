"""Bad input stops site.yml in preflight, before anything is written: each failure names
what is wrong and what to do, and the root directory stays untouched (never created)."""
import shutil

import pytest

from tests.provisioning.conftest import PROVISIONING, Site

pytestmark = pytest.mark.slow


@pytest.fixture
def make_site(tmp_path, current_bundle):
    def make(**overrides):
        bundle, pubkey = current_bundle
        return Site(tmp_path / "root", bundle, pubkey, vars=overrides)
    return make


def _stopped_early(site, run, *messages):
    assert run.rc != 0
    for message in messages:
        assert message in run.said, run.output[-4000:]
    assert not site.root.exists(), sorted(p.name for p in site.root.rglob("*"))[:20]
    assert "PLAY [Harden the hosts]" not in run.output


def test_a_tampered_bundle_is_refused(make_site, tmp_path, current_bundle):
    bundle, _ = current_bundle
    tampered = tmp_path / bundle.name
    shutil.copyfile(bundle, tampered)
    with open(tampered, "r+b") as fh:  # one byte, in the middle (inside the model)
        fh.seek(tampered.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0x01]))
    site = make_site(gongdan_bundle=str(tampered))
    run = site.play("site.yml", check=False)
    _stopped_early(site, run, "did NOT verify against the vendor key", "Do not install it")


def test_a_bundle_signed_by_another_key_is_refused(make_site, tmp_path):
    other = tmp_path / "other.pub"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    site = make_site(gongdan_vendor_pubkey=str(other))
    run = site.play("site.yml", check=False)
    _stopped_early(site, run, "did NOT verify against the vendor key")


def test_a_missing_inventory_variable_is_named(make_site, tmp_path):
    inventory = tmp_path / "inventory"
    shutil.copytree(PROVISIONING / "inventories/single", inventory)
    main = inventory / "group_vars/all/main.yml"
    text = main.read_text()
    assert "\ngongdan_server_name:" in text
    main.write_text("\n".join(l for l in text.splitlines() if not l.startswith("gongdan_server_name:")))
    site = make_site()
    del site.vars["gongdan_server_name"], site.vars["vault_gongdan_secret_key"]
    run = site.play("site.yml", inventory=inventory / "hosts.yml", check=False)
    _stopped_early(site, run, "Required variable gongdan_server_name is not set",
                   "Required variable gongdan_secret_key is not set", "ansible-vault")


def test_an_unsupported_os_is_refused(make_site):
    site = make_site(gongdan_supported_os=[{"distribution": "Ubuntu", "major_version": "24"}])
    run = site.play("site.yml", check=False)
    _stopped_early(site, run, "is not supported", "Ubuntu 24", "Install on a supported release")


@pytest.mark.parametrize("override, message", [
    ({"gongdan_min_disk_gb": 1_000_000}, "Not enough disk space"),
    ({"gongdan_min_memory_mb": 100_000_000}, "Not enough memory"),
])
def test_too_little_disk_or_memory_is_refused(make_site, override, message):
    site = make_site(**override)
    run = site.play("site.yml", check=False)
    _stopped_early(site, run, message, "run again")
