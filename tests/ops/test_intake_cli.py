"""`gongdan integration add/list/revoke` as an operator runs them."""
import hashlib
import sqlite3


def test_integration_tokens_are_added_listed_and_revoked_and_stored_only_hashed(site):
    site("init")
    r = site("integration", "add", "PBX 呼叫中心", "--channel", "call")
    secret = r.stdout.strip().splitlines()[-1]
    assert secret.startswith("gdi_") and len(secret) > 40
    assert "shown once" in r.stderr
    with sqlite3.connect(site.path / "g.db") as conn:
        stored = conn.execute("SELECT token_hash, channel FROM integration_token").fetchall()
    assert stored == [(hashlib.sha256(secret.encode()).hexdigest(), "call")]
    listing = site("integration", "list").stdout
    assert "1\tcall\tactive\tlast used never\tPBX 呼叫中心" in listing and secret not in listing
    assert "revoked" in site("integration", "revoke", "1").stdout
    assert "1\tcall\trevoked" in site("integration", "list").stdout
    missing = site("integration", "revoke", "99", check=False)
    assert missing.returncode != 0 and "no integration token 99" in missing.stderr
    bad = site("integration", "add", "x", "--channel", "fax", check=False)
    assert bad.returncode != 0
