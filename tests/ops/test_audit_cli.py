"""`gongdan audit ...` through the real command line: exit codes and messages."""
import json
import os
import sqlite3
import stat

import pytest


@pytest.fixture
def site_ready(site):
    site("init")
    return site


def _keys(site):
    return site.path / "keys"


def _db(site):
    return sqlite3.connect(site.path / "g.db")


def test_init_creates_the_audit_keys_read_only_for_the_owner(site):
    for f in _keys(site).glob("audit-*"):
        f.unlink()
    r = site("init")
    assert "wrote audit key" in r.stdout
    keys = _keys(site)
    for name in ("audit-hmac.key", "audit-signing.key"):
        assert stat.S_IMODE(os.stat(keys / name).st_mode) == 0o400
    r = site("audit", "public-key")
    assert r.stdout.startswith("-----BEGIN PUBLIC KEY-----")


def test_verify_passes_then_fails_with_one_line_per_problem(site_ready):
    r = site_ready("audit", "verify")
    assert r.returncode == 0 and r.stdout.strip().startswith("OK:")
    assert "checkpoint at seq" in site_ready("audit", "checkpoint").stdout
    with _db(site_ready) as db:
        db.execute("DROP TRIGGER audit_record_no_update")
        db.execute("UPDATE audit_record SET actor_name = 'mallory' WHERE seq = 1")
    r = site_ready("audit", "verify", check=False)
    assert r.returncode == 1
    assert "PROBLEM edited at seq 1: record seq 1 does not match its MAC (edited)" in r.stdout
    assert "TAMPERED" in r.stdout


def test_an_exported_checkpoint_reveals_a_truncated_log(site_ready):
    site_ready("audit", "checkpoint")
    out = site_ready.path / "export.jsonl"
    site_ready("audit", "export", "--format", "jsonl", "--out", str(out))
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["type"] == "header" and "BEGIN PUBLIC KEY" in lines[0]["public_key"]
    assert any(x["type"] == "checkpoint" for x in lines)
    last = max(x["seq"] for x in lines if x["type"] == "record")
    with _db(site_ready) as db:  # the intruder removes the tail, its checkpoints and head
        for t in ("audit_record_no_delete", "audit_checkpoint_no_delete"):
            db.execute(f"DROP TRIGGER {t}")
        db.execute("DELETE FROM audit_record WHERE seq >= ?", (last - 1,))
        db.execute("DELETE FROM audit_checkpoint")
        db.execute("DELETE FROM audit_head")
    assert site_ready("audit", "verify", check=False).returncode == 0
    r = site_ready("audit", "verify", "--checkpoints", str(out), check=False)
    assert r.returncode == 1 and "PROBLEM truncated" in r.stdout


def test_an_export_verifies_off_the_box_with_the_hmac_key(site_ready):
    out = site_ready.path / "export.jsonl"
    site_ready("audit", "export", "--out", str(out))
    key = site_ready.path / "keys" / "audit-hmac.key"
    r = site_ready("audit", "verify-export", str(out), "--hmac-key", str(key))
    assert r.stdout.startswith("OK:")
    text = out.read_text(encoding="utf-8").replace('"result":"success"', '"result":"failure"', 1)
    out.write_text(text, encoding="utf-8")
    r = site_ready("audit", "verify-export", str(out), "--hmac-key", str(key), check=False)
    assert r.returncode == 1 and "PROBLEM edited" in r.stdout


def test_csv_export_to_standard_output(site_ready):
    r = site_ready("audit", "export", "--format", "csv", "--since", "2000-01-01")
    assert r.stdout.splitlines()[0].startswith("seq,at,actor_id")
    r = site_ready("audit", "export", "--since", "yesterday", check=False)
    assert r.returncode == 2 and "--since" in r.stderr


def test_missing_or_open_keys_stop_verify_and_start_up_with_what_to_do(site_ready):
    key = site_ready.path / "keys" / "audit-hmac.key"
    os.chmod(key, 0o644)
    r = site_ready("audit", "verify", check=False)
    assert r.returncode == 2 and "chmod 0400" in r.stderr
    r = site_ready("worker", check=False)
    assert r.returncode != 0 and "chmod 0400" in r.stderr
    os.chmod(key, 0o600)
    key.unlink()
    r = site_ready("audit", "verify", check=False)
    assert r.returncode == 2 and "gongdan init" in r.stderr
