"""`gongdan reports refresh | rebuild | verify` on a real site (docs/decisions/0040)."""
from __future__ import annotations


def test_the_report_commands_rebuild_refresh_and_verify(site):
    site("db", "upgrade")
    r = site("reports", "rebuild")
    assert r.stdout.startswith("rebuilt: 0 facts")
    assert "refreshed:" in site("reports", "refresh").stdout
    r = site("reports", "verify")
    assert "the aggregates equal a full recomputation" in r.stdout


def test_verify_fails_when_the_aggregates_were_tampered_with(site):
    import sqlite3
    site("db", "upgrade")
    site("reports", "rebuild")
    from appliance.models.reports import BUCKET_MEASURES
    db = sqlite3.connect(site.path / "g.db")
    cols = ", ".join(BUCKET_MEASURES)
    zeros = ", ".join("5" if m == "created" else "0" for m in BUCKET_MEASURES)
    db.execute(f"INSERT INTO report_bucket (grain, day, department_id, channel, category_id, "
               f"agent_id, {cols}) VALUES ('d', '2026-01-01', 0, 'web', 0, 0, {zeros})")
    db.commit()
    db.close()
    r = site("reports", "verify", check=False)
    assert r.returncode == 1 and "bucket ('d'" in r.stdout
    assert "1 differences" in r.stderr
