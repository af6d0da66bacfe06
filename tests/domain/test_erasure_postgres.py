"""PIPL erasure on PostgreSQL leaves no old row versions behind (services.erasure,
docs/decisions/0047): the erased name and contact are in the table's data file as dead
tuples right after the erasure, and gone once the follow-up job has rewritten the tables.

PostgreSQL only: the test reads the server's own data files (this machine's server, as
root); the SQLite side of the same promise is tests/domain/test_pii_grep.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from appliance import jobs
from appliance.db import database
from appliance.services import customers
from tests.factories import make_org

NAME = "欧阳娜娜-erasure-marker"


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
    c = customers.create_customer(org.admin, NAME, contacts=[
        {"kind": "phone", "value": "13812345678"}])
    jobs.run_pending_inline()
    assert NAME.encode() in _table_bytes("customer")
    contact_file = _relation_file("customer_contact")
    customers.erase(org.admin, c.id)
    assert NAME.encode() in _table_bytes("customer")   # a dead tuple: still in the file
    jobs.run_pending_inline()                          # erase_followup
    assert NAME.encode() not in _table_bytes("customer")
    # The contact table was written anew too (its old file, with the dead contact row
    # versions, is gone). Not n_dead_tup: VACUUM FULL does not reset that counter.
    assert _relation_file("customer_contact") != contact_file
    assert customers.get_customer(org.admin, c.id).name.startswith("Erased customer")
