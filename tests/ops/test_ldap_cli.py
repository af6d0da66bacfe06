"""`gongdan ldap test` and `gongdan ldap sync` against a real slapd (tests/ldap_server.py)."""
import json
import sqlite3
import sys

from tests.ldap_server import group_dn, running_slapd


def _env(server, **extra):
    env = {"GONGDAN_LDAP_URL": server.url, "GONGDAN_LDAP_CA_FILE": server.ca_file,
           "GONGDAN_LDAP_BIND_DN": server.service_dn,
           "GONGDAN_LDAP_BIND_PASSWORD": server.service_password,
           "GONGDAN_LDAP_USER_BASE": server.people, "GONGDAN_LDAP_TIMEOUT_SECONDS": "3",
           "GONGDAN_LDAP_GROUP_ROLES": json.dumps({group_dn("agents"): "agent"})}
    return {**env, **extra}


def test_ldap_test_counts_users_and_says_clearly_what_is_wrong(site, tmp_path_factory):
    site("init")
    with running_slapd(tmp_path_factory.mktemp("slapd"), groups=("agents",)) as server:
        server.add_user("alice", "alice-directory-pw", cn="Alice Li", groups=("agents",))
        r = site("ldap", "test", "--user", "alice", extra_env=_env(server))
        assert "(StartTLS)" in r.stdout and "1 users match (uid={username})" in r.stdout
        assert "role: agent" in r.stdout and group_dn("agents") in r.stdout
        bad = site("ldap", "test", check=False,
                   extra_env=_env(server, GONGDAN_LDAP_BIND_PASSWORD="not-the-password"))
        assert bad.returncode != 0 and "refused the service account (ldap_bind_dn)" in bad.stderr
        assert "not-the-password" not in bad.stdout + bad.stderr
        env = _env(server)
        server.stop()
    down = site("ldap", "test", check=False, extra_env=env)
    assert down.returncode != 0 and f"cannot reach the directory at 127.0.0.1:{server.port}" \
        in down.stderr
    off = site("ldap", "test", check=False)
    assert off.returncode != 0 and "ldap_url is not set" in off.stderr
    plain = site("ldap", "test", check=False, extra_env={
        **env, "GONGDAN_LDAP_URL": "ldap://ldap.example.com", "GONGDAN_LDAP_STARTTLS": "false"})
    assert plain.returncode != 0 and "ldap_starttls" in plain.stderr


def test_ldap_sync_dry_run_lists_changes_and_sync_disables_a_removed_user(site, tmp_path_factory):
    site("init")
    with running_slapd(tmp_path_factory.mktemp("slapd"), groups=("agents",)) as server:
        server.add_user("alice", "alice-directory-pw", cn="Alice Li", groups=("agents",))
        login = ("from appliance.bootstrap import boot; boot(queue=False); "
                 "from appliance.services import users; "
                 "print(users.authenticate('alice', 'alice-directory-pw').auth_source)")
        r = site(cmd=[sys.executable, "-c", login], extra_env=_env(server))
        assert r.stdout.strip() == "ldap"  # the first login created the account
        assert "0 changes" in site("ldap", "sync", "--dry-run", extra_env=_env(server)).stdout
        server.delete_user("alice")
        r = site("ldap", "sync", "--dry-run", extra_env=_env(server))
        assert "alice: disable: not in the directory" in r.stdout and "dry run" in r.stdout
        with sqlite3.connect(site.path / "g.db") as conn:
            assert conn.execute("SELECT active FROM user WHERE username='alice'").fetchone() == (1,)
        r = site("ldap", "sync", extra_env=_env(server))
        assert "alice: disable: not in the directory" in r.stdout and "1 changes" in r.stdout
        with sqlite3.connect(site.path / "g.db") as conn:
            assert conn.execute("SELECT active, directory_disabled FROM user "
                                "WHERE username='alice'").fetchone() == (0, 1)
