"""upgrade.yml from the previous release's bundle (packaging/releases.toml), installed by
site.yml and holding data, to this tree's bundle: the data is kept, the new migrations are
applied, the new version serves through nginx, and a second upgrade run changes nothing."""
import json
import os
import subprocess

import pytest
import requests

from tests.provisioning.conftest import (READ_BACK, POPULATE, REPO, Site, _build,
                                         previous_commit)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def previous_bundle(tmp_path_factory, current_bundle):
    commit = previous_commit()
    has = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{commit}^{{commit}}"],
                         capture_output=True)
    if has.returncode != 0:
        pytest.skip(f"this clone lacks commit {commit} of the previous release")
    work = tmp_path_factory.mktemp("bundle-previous")
    src = work / "src"
    src.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    return _build(work, source=src), sorted(p.name for p in (src / "appliance/migrations").glob("0*.py"))


def test_upgrade_from_the_previous_release_keeps_data_and_migrates(tmp_path, previous_bundle,
                                                                    current_bundle):
    (old_bundle, old_pub), old_migrations = previous_bundle
    new_bundle, new_pub = current_bundle
    site = Site(tmp_path / "root", old_bundle, old_pub)
    try:
        site.play("site.yml")
        old_version = os.readlink(site.root / "opt/gongdan/current").rsplit("/", 1)[1]
        site.python(POPULATE)
        before = json.loads(site.python(READ_BACK).stdout)
        assert len(before["tickets"]) == 3 and before["attachment"]
        new_migrations = sorted(p.stem for p in (REPO / "appliance/migrations").glob("0*.py")
                                if p.name not in old_migrations)

        run = site.play("upgrade.yml", gongdan_bundle=str(new_bundle), gongdan_vendor_pubkey=str(new_pub))
        from appliance import __version__ as new_version
        assert old_version != new_version
        assert os.readlink(site.root / "opt/gongdan/current").endswith(f"/releases/{new_version}")
        assert (site.root / f"opt/gongdan/releases/{old_version}").is_dir()  # N kept for rollback
        backups = list((site.root / "var/backups/gongdan").glob(f"pre-upgrade-{old_version}-to-{new_version}-*.gdbk"))
        assert len(backups) == 1
        status = site.cli("db", "status").stdout
        assert "up to date" in status
        for name in new_migrations:
            assert f"[x] {name}" in status
        after = json.loads(site.python(READ_BACK).stdout)
        assert after["tickets"] == before["tickets"] and after["phone"] == before["phone"]
        assert after["attachment"] is True and after["audit"] >= before["audit"]
        assert site.cli("audit", "verify").returncode == 0

        site.launcher("nginx-start")
        cert = site.root / "etc/gongdan/tls/gongdan.crt"
        r = requests.get(f"https://localhost:{site.https_port}/version", verify=str(cert), timeout=10)
        assert r.json()["version"] == new_version
        again = site.play("upgrade.yml", gongdan_bundle=str(new_bundle), gongdan_vendor_pubkey=str(new_pub))
        assert again.changed == 0 and "failed=0" in run.output
    finally:
        site.stop_all()
