"""site.yml into a sandbox root, twice; the installed appliance behind nginx over TLS;
backup -> destroyed data directory -> restore; an upgrade whose new release fails its
health check rolls back by itself. One installation serves every test here, in order."""
import json
import os
import shutil
import sqlite3
import stat

import pytest
import requests

from tests.provisioning.conftest import (POPULATE, READ_BACK, Site, _build, source_copy)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory, current_bundle):
    bundle, pubkey = current_bundle
    s = Site(tmp_path_factory.mktemp("site") / "root", bundle, pubkey)
    s.first = s.play("site.yml")
    s.second = s.play("site.yml")
    s.launcher("nginx-start")
    yield s
    s.stop_all()


def test_site_installs_and_a_second_run_changes_nothing(site):
    assert site.first.changed > 0
    assert site.second.changed == 0, site.second.changed_tasks()
    assert "changed=0" in site.second.output and "failed=0" in site.second.output


def test_the_appliance_answers_healthz_through_nginx_over_tls(site):
    cert = site.root / "etc/gongdan/tls/gongdan.crt"
    r = requests.get(f"https://localhost:{site.https_port}/healthz", verify=str(cert), timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok" and r.json()["checks"]["database"] is True
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    from appliance import __version__
    version = requests.get(f"https://localhost:{site.https_port}/version", verify=str(cert), timeout=10)
    assert version.json()["version"] == __version__
    plain = requests.get(f"http://localhost:{site.http_port}/healthz", allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://localhost:{site.https_port}/healthz"
    with pytest.raises(requests.exceptions.SSLError):  # the generated cert is the only trust
        requests.get(f"https://localhost:{site.https_port}/healthz", timeout=10)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_keys_config_and_data_are_closed_to_others(site):
    keys = site.root / "etc/gongdan/keys"
    assert _mode(keys) == 0o700
    for name in ("master.key", "audit-hmac.key", "audit-signing.key"):
        assert _mode(keys / name) == 0o400, name
    assert _mode(site.config) == 0o640
    assert _mode(site.root / "etc/gongdan/tls/gongdan.key") == 0o600
    assert _mode(site.root / "var/lib/gongdan") == 0o750
    assert _mode(site.root / "etc/gongdan/initial-logins.txt") == 0o600
    logins = (site.root / "etc/gongdan/initial-logins.txt").read_text().splitlines()
    passwords = [line.rsplit("one-time password: ", 1)[1].split()[0] for line in logins]
    assert len(passwords) == 3
    for password in passwords:  # no_log kept them out of the output
        assert password not in site.first.output
    assert site.vars["vault_gongdan_secret_key"] not in site.first.output + site.second.output


def test_units_are_sandboxed_and_the_config_matches_nginx(site):
    units = site.root / "etc/systemd/system"
    for name in ("gongdan-web.service", "gongdan-worker.service", "gongdan-backup.service"):
        text = (units / name).read_text()
        for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                     "ProtectHome=yes", "User=gongdan"):
            assert line in text, (name, line)
        assert f"ReadWritePaths={site.root}/var/lib/gongdan {site.root}/var/log/gongdan" in text
    assert "OnCalendar=" in (units / "gongdan-backup.timer").read_text()
    nginx = (site.root / "etc/nginx/sites-available/gongdan.conf").read_text()
    config = site.cli("config", "show").stdout
    assert "max_request_bytes = 33554432" in config
    assert f"backup_dir = '{site.root}/var/backups/gongdan'" in config   # the backup page's
    worker = (units / "gongdan-worker.service").read_text()
    assert f"{site.root}/var/backups/gongdan" in worker.split("ReadWritePaths=")[1].split()[2]
    assert "client_max_body_size 33554432;" in nginx
    assert "trusted_proxies = ('127.0.0.1', '::1')" in config
    assert "location /live/stream" in nginx and "proxy_buffering off;" in nginx
    assert "secure_cookies = True" in config
    status = site.cli("db", "status")
    assert "up to date" in status.stdout
    assert "qwen" in site.cli("model", "list").stdout


def test_backup_destroy_restore_brings_everything_back(site):
    site.python(POPULATE)
    before = json.loads(site.python(READ_BACK).stdout)
    assert before["attachment"] and before["phone"] and len(before["tickets"]) == 3
    backup_file = site.root.parent / "site-backup.gdbk"
    run = site.play("backup.yml", gongdan_backup_file=str(backup_file))
    assert backup_file.exists() and "is intact" in run.said
    assert "keys are not in it" in run.said
    site.launcher("stop")
    data = site.root / "var/lib/gongdan"
    shutil.rmtree(data)  # the keys live in etc/gongdan/keys, kept apart (decision 0032)
    run = site.play("restore.yml", gongdan_restore_file=str(backup_file))
    assert "failed=0" in run.output
    after = json.loads(site.python(READ_BACK).stdout)
    assert after["tickets"] == before["tickets"] and after["phone"] == before["phone"]
    assert after["attachment"] is True
    assert after["audit"] >= before["audit"]
    verify = site.cli("audit", "verify")
    assert verify.returncode == 0
    site.play("site.yml")  # the model (not in backups) comes back from the release


def test_restore_refuses_an_altered_backup_before_touching_anything(site):
    good = site.root.parent / "site-backup.gdbk"
    bad = site.root.parent / "altered.gdbk"
    raw = bytearray(good.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    bad.write_bytes(bytes(raw))
    db = site.root / "var/lib/gongdan/gongdan.db"
    before = db.stat().st_mtime_ns, site.launcher("status")
    run = site.play("restore.yml", check=False, gongdan_restore_file=str(bad))
    assert run.rc != 0 and "cannot be restored" in run.said and "Nothing was stopped" in run.said
    assert (db.stat().st_mtime_ns, site.launcher("status")) == before


def _broken_source(dest, version):
    """This tree as release `version` whose migration runs and whose /healthz always fails:
    a real release that installs, migrates, starts and then does not come up healthy."""
    src = source_copy(dest)
    for rel in ("pyproject.toml", "appliance/__init__.py"):
        p = src / rel
        p.write_text(p.read_text().replace('"0.2.0"', f'"{version}"', 1))
    (src / "appliance/migrations/0999_upgrade_probe.py").write_text(
        "def up(migrator, db):\n    db.execute_sql('CREATE TABLE upgrade_probe (id INTEGER)')\n\n\n"
        "def down(migrator, db):\n    db.execute_sql('DROP TABLE upgrade_probe')\n")
    health = src / "webapp/views/health.py"
    text = health.read_text()
    assert "ok = all(checks.values())" in text
    health.write_text(text.replace("ok = all(checks.values())", "ok = False"))
    return src


def test_a_failing_upgrade_rolls_back_to_the_running_release(site, tmp_path):
    from appliance import __version__ as current
    before = json.loads(site.python(READ_BACK).stdout)
    broken, broken_pub = _build(tmp_path / "b", source=_broken_source(tmp_path / "src", "0.2.1"))
    run = site.play("upgrade.yml", check=False, gongdan_bundle=str(broken),
                    gongdan_vendor_pubkey=str(broken_pub), gongdan_health_timeout=15)
    assert run.rc != 0
    assert "Upgrade to 0.2.1 FAILED" in run.said and f"rolled back to {current}" in run.said
    assert "restored from" in run.said  # its migration had run
    assert os.readlink(site.root / "opt/gongdan/current").endswith(f"/releases/{current}")
    assert (site.root / "opt/gongdan/releases/0.2.1/venv/bin/gongdan").exists()
    cert = site.root / "etc/gongdan/tls/gongdan.crt"
    r = requests.get(f"https://localhost:{site.https_port}/version", verify=str(cert), timeout=10)
    assert r.json()["version"] == current
    assert requests.get(f"https://localhost:{site.https_port}/healthz", verify=str(cert),
                        timeout=10).status_code == 200
    conn = sqlite3.connect(site.root / "var/lib/gongdan/gongdan.db")
    tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert "upgrade_probe" not in tables
    assert json.loads(site.python(READ_BACK).stdout)["tickets"] == before["tickets"]
    assert "up to date" in site.cli("db", "status").stdout


def test_rotate_keys_playbook_rewraps_online_and_data_stays_readable(site):
    before = json.loads(site.python(READ_BACK).stdout)
    run = site.play("rotate-keys.yml")
    assert "master key version 2" in run.said and "Back up" in run.said
    keys = site.root / "etc/gongdan/keys/master.key"
    assert _mode(keys) == 0o400
    assert "versions: [2]" in site.cli("keys", "status").stdout
    after = json.loads(site.python(READ_BACK).stdout)
    assert after["audit"] > before["audit"]  # the rotation is itself audited
    assert {**after, "audit": 0} == {**before, "audit": 0}
    cert = site.root / "etc/gongdan/tls/gongdan.crt"
    assert requests.get(f"https://localhost:{site.https_port}/healthz", verify=str(cert),
                        timeout=10).status_code == 200
