"""PIPL erasure on PostgreSQL leaves no old row versions behind (services.erasure,
docs/decisions/0047): the erased company (plaintext profile text; the name itself is
encrypted, decision 0050) and contact are in the table's data file as dead tuples right
after the erasure, and gone once the follow-up job has rewritten the tables.

PostgreSQL only: the test reads the server's own data files (this machine's server, as
root); the SQLite side of the same promise is tests/domain/test_pii_grep.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from appliance import jobs
from appliance.db import database
from appliance.models import Job
from appliance.services import customers, erasure
from tests.factories import make_org

NAME = "欧阳娜娜"
MARKER = "欧阳贸易-erasure-marker"   # the company: erased, stored in plaintext


@pytest.fixture
def backend():
    return "postgres"


def _relation_file(table: str) -> str:
    return database.execute_sql("SELECT pg_relation_filepath(%s)", (table,)).fetchone()[0]


def _table_bytes(table: str) -> bytes:
    database.execute_sql("CHECKPOINT")           # dirty pages into the files
    data_dir = database.execute_sql("SHOW data_directory").fetchone()[0]
    rel = database.execute_sql("SELECT pg_relation_filepath(%s)", (table,)).fetchone()[0]
    path = Path(data_dir) / rel
    if not path.exists():
        pytest.skip(f"the PostgreSQL data directory {data_dir} is not readable here")
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*"))
                    if p.name == path.name or p.name.startswith(path.name + "."))


def test_the_erased_name_leaves_the_data_files_once_the_job_ran(settings):
    org = make_org()
    c = customers.create_customer(org.admin, NAME, company=MARKER, contacts=[
        {"kind": "phone", "value": "13812345678"}])
    jobs.run_pending_inline()
    assert MARKER.encode() in _table_bytes("customer")
    assert NAME.encode() not in _table_bytes("customer")   # encrypted
    contact_file = _relation_file("customer_contact")
    customers.erase(org.admin, c.id)
    assert MARKER.encode() in _table_bytes("customer")   # a dead tuple: still in the file
    jobs.run_pending_inline()                            # erase_followup
    assert MARKER.encode() not in _table_bytes("customer")
    # The contact table was written anew too (its old file, with the dead contact row
    # versions, is gone). Not n_dead_tup: VACUUM FULL does not reset that counter.
    assert _relation_file("customer_contact") != contact_file
    assert customers.get_customer(org.admin, c.id).name.startswith("Erased customer")


def _holder(dbname: str, isolation: str):
    """A second session whose transaction began before the erasure: one holding a
    transaction id in another database, or a snapshot (a long report) in this one."""
    import psycopg2
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=dbname)
    conn.set_session(isolation_level=isolation)
    with conn.cursor() as cur:
        cur.execute("SELECT txid_current()" if isolation == "READ COMMITTED" else
                    "SELECT count(*) FROM customer")
    return conn


@pytest.mark.parametrize("where", ["writer in another database", "snapshot in this database"])
def test_the_job_waits_for_older_transactions_and_tries_again(settings, monkeypatch, where):
    monkeypatch.setattr(erasure, "SNAPSHOT_WAIT_SECONDS", 1.0)
    org = make_org()
    c = customers.create_customer(org.admin, NAME, company=MARKER)
    jobs.run_pending_inline()
    this_db = database.execute_sql("SELECT current_database()").fetchone()[0]
    holder = (_holder("postgres", "READ COMMITTED") if where.startswith("writer")
              else _holder(this_db, "REPEATABLE READ"))
    try:
        customers.erase(org.admin, c.id)
        with pytest.raises(erasure.OlderTransactionsOpen):
            jobs.run_pending_inline()
        # VACUUM FULL now would have copied the dead version: the job did not pretend.
        assert MARKER.encode() in _table_bytes("customer")
        [(error,)] = Job.select(Job.last_error).where(Job.name == "erase_followup").tuples()
        assert "still open" in error and NAME not in error and MARKER not in error
    finally:
        holder.rollback()
        holder.close()
    assert jobs.run_pending_inline() == 1            # the next try
    assert MARKER.encode() not in _table_bytes("customer")
