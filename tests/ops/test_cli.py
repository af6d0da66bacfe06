"""The `gongdan` command, run as a real subprocess against real files."""
import os
import sqlite3
import subprocess
import sys


def test_init_migrates_and_prints_a_generated_one_time_admin_password(site):
    r = site("init")
    assert "applied 0001_initial" in r.stdout and "one-time password:" in r.stdout
    password = r.stdout.split("one-time password: ")[1].split()[0]
    assert len(password) >= 12
    again = site("init")
    assert "an admin exists" in again.stdout and "one-time password:" not in again.stdout


def test_db_status_lists_pending_migrations_and_exits_1_until_upgraded(site):
    r = site("db", "status", check=False)
    assert r.returncode == 1 and "[ ] 0001_initial" in r.stdout
    site("db", "upgrade")
    r = site("db", "status")
    assert "[x] 0001_initial" in r.stdout and "up to date" in r.stdout


def test_sqlite_runs_in_wal_mode(site):
    site("db", "upgrade")
    conn = sqlite3.connect(site.path / "g.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_user_create_disable_and_reset_password(site):
    site("init")
    r = site("user", "create", "wang", "--name", "王芳", "--role", "agent")
    assert "one-time password:" in r.stdout
    assert "disabled wang" in site("user", "disable", "wang").stdout
    assert "one-time password" in site("user", "reset-password", "wang").stdout
    r = site("user", "create", "wang", "--name", "X", "--role", "agent", check=False)
    assert r.returncode != 0 and "already taken" in r.stderr


def test_config_show_masks_secrets(site):
    r = site("config", "show")
    assert "secret_key = '********'" in r.stdout and "cli-test-secret" not in r.stdout


def test_a_bad_setting_stops_every_command_with_the_key_named(site):
    r = site("config", "show", check=False, extra_env={"GONGDAN_PAGE_SIZE": "lots"})
    assert r.returncode != 0 and "page_size" in r.stderr
    r = site("db", "status", check=False, extra_env={"GONGDAN_DATABSE_URL": "x"})
    assert r.returncode != 0 and "databse_url" in r.stderr


def test_the_web_app_never_migrates_on_start(site):
    code = ("from webapp import create_app; app = create_app(); "
            "print(app.test_client().get('/healthz').status_code)")
    r = subprocess.run([sys.executable, "-c", code], env={**os.environ,
                       "GONGDAN_CONFIG": str(site.path / "gongdan.toml")},
                       capture_output=True, text=True, timeout=60, cwd=site.path)
    assert r.returncode == 0, r.stderr
    db = site.path / "g.db"
    tables = sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall() \
        if db.exists() else []
    assert ("ticket",) not in tables
