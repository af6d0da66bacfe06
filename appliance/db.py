"""The database handle: one peewee proxy, bound from `database_url` at start-up.

SQLite runs in WAL mode with a busy timeout and foreign keys on; PostgreSQL uses
a connection per thread (peewee's default), autoconnect on.
"""
from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee
from playhouse.pool import PooledPostgresqlDatabase

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "cache_size": -64 * 1024,
    "secure_delete": "on",
    "temp_store": "memory",
}


def open_database(url: str) -> peewee.Database:
    """Create (not connect) the peewee database object for a URL."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # BEGIN IMMEDIATE: a write transaction takes the write lock up front and waits on
        # busy_timeout, instead of failing with SQLITE_BUSY when it upgrades from a read.
        return peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10, lock_type="IMMEDIATE")
    if url.startswith(("postgresql://", "postgres://")):
        u = urlparse(url)
        # A pool: close() hands the connection back instead of tearing it down, so a
        # request does not pay for a new PostgreSQL connection.
        return PooledPostgresqlDatabase(
            u.path.lstrip("/"), user=unquote(u.username or "") or None,
            password=unquote(u.password or "") or None, host=u.hostname, port=u.port or 5432,
            max_connections=32, stale_timeout=300, timeout=10)
    raise ValueError(f"unsupported database_url: {url.split('://')[0]}")


def bind_database(url: str) -> peewee.Database:
    db = open_database(url)
    database.initialize(db)
    return db


def is_postgres() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)


_PG_TEXT: dict[str, str] = {}


def run_sql(sql: str, params=()):
    """A statement written by hand for a hot path, with "?" placeholders (none inside
    literals), on either database; returns the cursor. Building a peewee query costs
    more CPU than SQLite spends running such a statement (docs/decisions/0056)."""
    if is_postgres():
        sql = _PG_TEXT.get(sql) or _PG_TEXT.setdefault(sql, sql.replace("?", "%s"))
    return database.execute_sql(sql, params)


# SQLite connections kept open between requests, per process. A gunicorn worker may have
# 150 threads (most for live-update streams, docs/decisions/0019) and requests rotate over
# the idle ones: each connection kept would hold its own page cache.
KEEP_SQLITE_CONNECTIONS = 8
_keepers: set[int] = set()
_keepers_lock = threading.Lock()


def end_request() -> None:
    """After a web request: PostgreSQL connections go back to the pool; a SQLite
    connection stays open for the thread's next request (opening one costs a file
    open and seven PRAGMAs), which is safe because nothing holds a transaction open,
    in the first KEEP_SQLITE_CONNECTIONS threads that ask; other threads close theirs."""
    if database.is_closed():
        return
    if not is_postgres():
        me = threading.get_ident()
        with _keepers_lock:
            if me in _keepers or len(_keepers) < KEEP_SQLITE_CONNECTIONS:
                _keepers.add(me)
                return
    database.close()
