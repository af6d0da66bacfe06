"""Shared fixtures: real SQLite files and a real PostgreSQL database per run.

`backend` is "sqlite" by default; tests/domain overrides it to run every domain
test on both SQLite and PostgreSQL. Each test gets an empty, migrated database:
SQLite from a migrated template file copied per test, PostgreSQL from one
throwaway database per run, truncated between tests.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from pathlib import Path

import psycopg2
import pytest

from appliance import jobs, migrate, runtime
from appliance.db import bind_database, database
from appliance.models import ALL_MODELS
from appliance.settings import Settings

PG_DSN = os.environ.get("GONGDAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"


# `make test` runs the suite in two passes (docs/decisions/0048): the bulk on two pytest-xdist
# workers, then these files alone, because they measure wall-clock time or run the model
# against a deadline, which a second busy worker on a 2-core box would distort.
SERIAL_FILES = {
    "tests/domain/test_assist.py", "tests/domain/test_live.py",
    "tests/packaging/test_offline_install.py",
    "tests/e2e/test_ai_draft.py", "tests/ops/test_ai_eval_cli.py",
    "tests/unit/test_conversation_extract.py", "tests/unit/test_mail_probe.py",
    "tests/unit/test_model_registry.py", "tests/unit/test_process_conditions.py",
    "tests/web/test_admin_mailboxes.py", "tests/web/test_live_gunicorn.py",
}
SERIAL_DIRS = ("tests/llm/", "tests/tasks/")
# One xdist worker each: the bundle is built once per worker (tests/bundle_fixture.py), and
# one browser at a time is plenty on 2 cores. Every other module is a group of its own, so
# module-scoped fixtures run once.
GROUPS = {"tests/packaging/": "bundle", "tests/provisioning/": "bundle", "tests/e2e/": "e2e"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    root = Path(__file__).resolve().parents[1]
    for item in items:
        rel = Path(item.fspath).resolve().relative_to(root).as_posix()
        if rel in SERIAL_FILES or rel.startswith(SERIAL_DIRS):
            item.add_marker(pytest.mark.serial)
        group = next((g for prefix, g in GROUPS.items() if rel.startswith(prefix)), rel)
        item.add_marker(pytest.mark.xdist_group(group))


def _pg_admin():
    conn = psycopg2.connect(PG_DSN + "/postgres")
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def pg_database():
    """A throwaway PostgreSQL database for this run, migrated once, dropped at the end."""
    name = f"gongdan_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = _pg_admin()
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_DSN} is required for the domain suite: {exc}")
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
    url = f"{PG_DSN}/{name}"
    bind_database(url)
    migrate.upgrade()
    database.close()
    yield url
    database.close()
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    bind_database(f"sqlite:///{path}")
    migrate.upgrade()
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    return path


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def settings(request, backend, tmp_path):
    """Settings for one test, with its own empty migrated database, bound and configured."""
    if backend == "postgres":
        url = request.getfixturevalue("pg_database")
    else:
        template = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "gongdan.db")
        url = f"sqlite:///{tmp_path / 'gongdan.db'}"
    s = Settings(database_url=url, queue_url=f"sqlite:///{tmp_path / 'queue.db'}",
                 index_dir=str(tmp_path / "index"), attachment_dir=str(tmp_path / "attachments"),
                 backup_dir=str(tmp_path / "backups"),
                 # No model unless a test asks for the real one (tests/llm fixtures):
                 # AI-unavailable paths must not depend on what is installed in ./var.
                 model_dir=str(tmp_path / "models"),
                 secret_key="test-secret-" + uuid.uuid4().hex, timezone="UTC",
                 default_locale="en")  # tests read English unless they ask for zh-CN
    # Tests not about the second factor log in with one step; tests/web/test_auth_*.py
    # restore the default (admin roles must use TOTP) with with_settings.
    s = dataclasses.replace(s, mfa_required_roles=())
    # Audit keys of this test only (the audit log refuses to write without them).
    s = dataclasses.replace(s, keys_dir=str(tmp_path / "keys"))
    from appliance import audit_keys
    audit_keys.create(s)
    bind_database(url)
    if backend == "postgres":
        _truncate_all()
    runtime.configure(s)
    # Encryption at rest: this test's own master key, checked against its database and
    # the first data keys created, as `gongdan init` + start-up do (docs/decisions/0030).
    from appliance import keystore
    from appliance.services import keys
    keystore.create_master(s, environ={})
    keys.activate(s, environ={})
    jobs.set_enqueuer(None)
    yield s
    jobs.set_enqueuer(None)
    database.close()


def _truncate_all() -> None:
    """Empty every table and restart every sequence, as TRUNCATE ... RESTART IDENTITY would.
    DELETE is ~10x faster on these nearly empty tables (TRUNCATE makes new files for each
    of ~80 tables and their indexes: 0.5-1 s per test). The replica role skips foreign-key
    and append-only triggers, like TRUNCATE does (the tests connect as a superuser)."""
    with database.atomic():
        database.execute_sql("SET LOCAL session_replication_role = replica")
        for model in ALL_MODELS:
            database.execute_sql(f'DELETE FROM "{model._meta.table_name}"')
        sequences = database.execute_sql(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'").fetchall()
        for (name,) in sequences:
            database.execute_sql(f'ALTER SEQUENCE "{name}" RESTART')


def with_settings(s: Settings, **changes) -> Settings:
    return dataclasses.replace(s, **changes)


@pytest.fixture(autouse=True)
def fast_password_hashing(request, monkeypatch):
    """Cheap Argon2id parameters in-process (like Django's test hasher); tests marked
    `real_hashing` and every subprocess (CLI, gunicorn, browser tests) use the real cost."""
    if request.node.get_closest_marker("real_hashing"):
        return
    from argon2 import PasswordHasher

    from security import passwords
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", cheap.hash("dummy-password"))


@pytest.fixture(autouse=True)
def fresh_rate_windows():
    """In-process rate limits count per user id, and ids repeat from one test database
    to the next: each test starts with no counts."""
    from appliance.services import rate_window
    rate_window.clear_all()


@pytest.fixture(scope="session")
def output_dir():
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


@pytest.fixture
def use_model(monkeypatch):
    """Put a TextModel (the real one from tests/llm, or a scripted one) behind the registry."""
    from appliance import registry

    def install(model):
        monkeypatch.setattr(registry, "text_model", lambda settings: model)
        return model
    return install


class Statements(list):
    """SQL strings in order; `with_params` holds the same as (sql, params) pairs."""

    def __init__(self):
        super().__init__()
        self.with_params: list[tuple] = []

    def clear(self) -> None:
        super().clear()
        self.with_params.clear()


@pytest.fixture
def queries(monkeypatch):
    """The SQL statements run from here on, in order (to show reads have no N+1, or to
    EXPLAIN one of them)."""
    seen = Statements()
    db = database.obj
    original = db.execute_sql

    def counting(sql, *args, **kwargs):
        seen.append(sql)
        seen.with_params.append((sql, args[0] if args else kwargs.get("params")))
        return original(sql, *args, **kwargs)
    monkeypatch.setattr(db, "execute_sql", counting)
    return seen
