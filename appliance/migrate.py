"""Versioned schema migrations (peewee's migration runner over appliance/migrations).

Never run implicitly: `gongdan db upgrade` applies them, `gongdan db status` lists them.
Each file holds frozen model copies, so later model changes never alter old steps.
"""
from __future__ import annotations

from pathlib import Path

from playhouse.migrations import Runner

from appliance.db import database, is_postgres

MIGRATIONS_DIR = str(Path(__file__).with_name("migrations"))
HISTORY_TABLE = "schema_migration"


def _runner() -> Runner:
    return Runner(database.obj, directory=MIGRATIONS_DIR, table_name=HISTORY_TABLE)


def status() -> list[tuple[str, bool]]:
    """(name, applied) for every migration, oldest first."""
    return [(m.name, bool(m.applied)) for m in _runner().status()]


def pending() -> list[str]:
    return [name for name, applied in status() if not applied]


def upgrade() -> list[str]:
    """Apply pending migrations in order; returns the names applied. On PostgreSQL, the
    tables named by an applied migration's REWRITE_TABLES are then rewritten (see
    _rewrite)."""
    runner = _runner()
    rewrite = [t for m in runner.status() if m.path is not None and not m.applied
               for t in getattr(m.load(), "REWRITE_TABLES", ())]
    applied = list(runner.up())
    _rewrite(list(dict.fromkeys(rewrite)))
    return applied


def _rewrite(tables: list[str]) -> None:
    """A migration that moved plaintext personal data into encrypted columns dropped the
    plaintext column. SQLite rebuilt the table (secure_delete zeroes the old pages), but
    PostgreSQL only marks a dropped column: its values stay in every row version until the
    table is rewritten. VACUUM FULL writes it anew (dropped columns as nulls, no dead
    versions) and removes the old file; it cannot run in a transaction, so the connection
    runs in autocommit for it. `gongdan db upgrade` runs with web and worker stopped."""
    if not tables or not is_postgres() or database.in_transaction():
        return
    conn = database.connection()
    before = conn.autocommit
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for table in tables:  # names from the migration files, never input
                cur.execute(f'VACUUM FULL "{table}"')
    finally:
        conn.autocommit = before
