"""The command line creates the first security and audit administrators (三权分立,
docs/decisions/0029-roles-and-permissions.md)."""
import sqlite3


def _roles(site) -> dict:
    conn = sqlite3.connect(site.path / "g.db")
    return dict(conn.execute('SELECT username, role FROM "user"').fetchall())


def test_init_creates_the_three_separated_administrators(site):
    r = site("init", "--security-admin", "sec", "--audit-admin", "auditor")
    assert "security_admin user: sec" in r.stdout and "audit_admin user: auditor" in r.stdout
    assert r.stdout.count("one-time password:") == 3
    assert _roles(site) == {"admin": "admin", "sec": "security_admin", "auditor": "audit_admin"}
    again = site("init", "--security-admin", "sec2")
    assert "sec2" not in again.stdout  # one exists already: nothing new


def test_user_create_takes_the_administrator_roles(site):
    site("init")
    r = site("user", "create", "audit2", "--name", "审计员", "--role", "audit_admin")
    assert "one-time password:" in r.stdout
    assert _roles(site)["audit2"] == "audit_admin"
    r = site("user", "create", "x", "--name", "X", "--role", "root", check=False)
    assert r.returncode != 0 and "root" in r.stderr
