"""`gongdan db upgrade` on PostgreSQL leaves no plaintext behind when a migration moves
personal data into encrypted columns (appliance.migrate._rewrite): the dropped column's
values and the replaced row versions are gone from the table's data file.

PostgreSQL only (SQLite rebuilds the table and secure_delete zeroes the old pages: see
tests/domain/test_customer_names.py); reads the server's own data files, as root."""
from __future__ import annotations

import pytest

from appliance import migrate
from appliance.services import keys
from tests.domain.test_erasure_postgres import _table_bytes
from tests.migration_helpers import database_at, insert_row

NAME = "欧阳娜娜-upgrade-marker"


@pytest.fixture
def backend():
    return "postgres"


@pytest.mark.parametrize("rewrite", [True, False], ids=["rewritten", "without the rewrite"])
def test_the_plaintext_name_leaves_the_data_file_on_upgrade(settings, tmp_path, monkeypatch,
                                                           rewrite):
    if not rewrite:  # shows what the rewrite is for: without it the name stays on disk
        monkeypatch.setattr(migrate, "_rewrite", lambda: None)
    with database_at("0032_partial_indexes", "postgres", settings, tmp_path):
        keys.activate(settings, environ={})
        insert_row("customer", name=NAME, tags="[]")
        assert NAME.encode() in _table_bytes("customer")
        assert "0033_customer_name" in migrate.upgrade()
        assert (NAME.encode() in _table_bytes("customer")) is not rewrite


def test_a_rewrite_that_could_not_run_is_done_by_the_next_upgrade(settings, tmp_path,
                                                                  monkeypatch):
    from appliance import pg_rewrite

    def busy(*args, **kwargs):
        raise pg_rewrite.OlderTransactionsOpen("transactions older than the upgrade are "
                                               "still open")
    with database_at("0032_partial_indexes", "postgres", settings, tmp_path):
        keys.activate(settings, environ={})
        insert_row("customer", name=NAME, tags="[]")
        with monkeypatch.context() as m:
            m.setattr(pg_rewrite, "vacuum_full", busy)
            with pytest.raises(RuntimeError, match="run `gongdan db upgrade` again"):
                migrate.upgrade()
        assert not migrate.pending() and NAME.encode() in _table_bytes("customer")
        assert migrate.upgrade() == []          # nothing to migrate, the rewrite is done
        assert NAME.encode() not in _table_bytes("customer")
