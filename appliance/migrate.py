"""Versioned schema migrations (peewee's migration runner over appliance/migrations).

Never run implicitly: `gongdan db upgrade` applies them, `gongdan db status` lists them.
Each file holds frozen model copies, so later model changes never alter old steps.
"""
from __future__ import annotations

from pathlib import Path

from playhouse.migrations import Runner

from appliance import pg_rewrite
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
    tables named by an applied migration's REWRITE_TABLES are then rewritten (_rewrite)."""
    runner = _runner()
    pending = {m.name: m for m in runner.status() if m.path is not None and not m.applied}
    try:
        done = list(runner.up())
    finally:  # also after a failed step: the steps before it committed
        applied = {m.name for m in runner.status() if m.applied} & set(pending)
        _remember([t for name in sorted(applied)
                   for t in getattr(pending[name].load(), "REWRITE_TABLES", ())])
    _rewrite()
    return done


# PostgreSQL: tables a migration left old row versions or dropped plaintext columns in,
# recorded before they are rewritten, so a rewrite that could not finish (an older
# transaction still open, a crash) is done by the next `db upgrade`.
_CREATE_LIST = 'CREATE TABLE IF NOT EXISTS "schema_rewrite" (table_name VARCHAR(64) PRIMARY KEY)'


def _remember(tables: list[str]) -> None:
    if not tables or not is_postgres():
        return
    database.execute_sql(_CREATE_LIST)
    for table in dict.fromkeys(tables):
        database.execute_sql('INSERT INTO "schema_rewrite" (table_name) VALUES (%s) '
                             'ON CONFLICT DO NOTHING', (table,))


def _rewrite() -> None:
    """A migration that moved plaintext personal data into encrypted columns dropped the
    plaintext column or replaced the rows. SQLite rebuilt the table or zeroed the freed
    space (secure_delete); PostgreSQL keeps both in the table's files until it is
    rewritten (appliance.pg_rewrite). `gongdan db upgrade` runs with web and worker
    stopped; if an older transaction (a pg_dump, a client) is still open after a minute,
    it stops with a message and the next `db upgrade` rewrites what is left."""
    if not is_postgres() or database.in_transaction():
        return
    database.execute_sql(_CREATE_LIST)
    tables = [r[0] for r in database.execute_sql(
        'SELECT table_name FROM "schema_rewrite" ORDER BY table_name').fetchall()]
    try:
        pg_rewrite.vacuum_full(tables, wait_seconds=REWRITE_WAIT_SECONDS, lock_wait="60s",
                               what="the upgrade")
    except pg_rewrite.OlderTransactionsOpen as exc:
        raise RuntimeError(f"the schema is upgraded, but the tables that held plaintext "
                           f"personal data were not rewritten: {exc}. Stop every other "
                           f"client of the database and run `gongdan db upgrade` again") \
            from None
    for table in tables:
        database.execute_sql('DELETE FROM "schema_rewrite" WHERE table_name = %s', (table,))


REWRITE_WAIT_SECONDS = 60.0
