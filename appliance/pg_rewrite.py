"""Rewriting PostgreSQL tables so that old row versions leave the data files.

PostgreSQL keeps a row's replaced and deleted versions, and the values of a dropped
column, in the table's files until the table is rewritten. Where those versions hold
personal data that must go (an erasure, decision 0047; a migration that moved plaintext
into encrypted columns, decision 0050), VACUUM FULL writes the table anew (dropped
columns as nulls, no dead versions) and removes the old file, as secure_delete does for
SQLite. It keeps a dead version that a still-open older transaction might see, so it
first waits for those to end. VACUUM cannot run in a transaction: the connection is
switched to autocommit for it.
"""
from __future__ import annotations

import time

from appliance.db import database, is_postgres


class OlderTransactionsOpen(RuntimeError):
    """Old row versions cannot be dropped yet: try again later."""


# Still open, of what was open when the rewrite began: transactions holding an id anywhere
# in the cluster (every new snapshot's xmin, VACUUM's own included, stays below the oldest
# of them) and snapshots of other sessions in this database (a report, pg_dump; a plain
# VACUUM's does not hold old rows back).
_OLDER_OPEN = """
SELECT txid_snapshot_xmin(txid_current_snapshot()) < %(start)s,
       (SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()
           AND backend_xmin IS NOT NULL
           AND pid NOT IN (SELECT pid FROM pg_stat_progress_vacuum)
           AND age(backend_xmin) > age((%(start)s %% 4294967296)::text::xid))
"""


def vacuum_full(tables, *, wait_seconds: float, lock_wait: str, what: str) -> None:
    """VACUUM FULL each of `tables` (fixed names from the code, never input) once every
    transaction older than this call has ended; raises OlderTransactionsOpen when one
    outlasts `wait_seconds`. `what` names the change in that message."""
    if not tables or not is_postgres():
        return
    conn = database.connection()
    before = conn.autocommit
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            _wait_for_older_transactions(cur, wait_seconds, what)
            cur.execute(f"SET lock_timeout = '{lock_wait}'")
            for table in tables:
                cur.execute(f'VACUUM FULL "{table}"')
            cur.execute("RESET lock_timeout")
    finally:
        conn.autocommit = before


def _wait_for_older_transactions(cur, wait_seconds: float, what: str) -> None:
    cur.execute("SELECT txid_snapshot_xmax(txid_current_snapshot())")
    start = cur.fetchone()[0]
    deadline = time.monotonic() + wait_seconds
    while True:
        cur.execute(_OLDER_OPEN, {"start": start})
        ids_open, snapshots_open = cur.fetchone()
        if not ids_open and not snapshots_open:
            return
        if time.monotonic() >= deadline:
            raise OlderTransactionsOpen(
                f"transactions older than {what} are still open after {wait_seconds:.0f} s "
                f"(snapshots in this database: {snapshots_open}, writers anywhere on the "
                f"server: {'yes' if ids_open else 'no'}); the old row versions stay until a "
                f"later try")
        time.sleep(0.2)
