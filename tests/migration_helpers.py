"""A database migrated only up to a given step, for tests of the next migration over data
written the old way (SQLite file or a fresh PostgreSQL database); the test's own
database is bound again afterwards."""
from __future__ import annotations

import contextlib
import datetime as dt
import uuid

from peewee import CharField, DateTimeField, IntegerField, JSONField, Model, TextField
from playhouse.migrations import Runner

from appliance import migrate
from appliance.db import bind_database, database
from tests.conftest import PG_DSN, _pg_admin


def runner() -> Runner:
    return Runner(database.obj, directory=migrate.MIGRATIONS_DIR, table_name=migrate.HISTORY_TABLE)


@contextlib.contextmanager
def database_at(step: str, backend: str, settings, tmp_path):
    name = f"gongdan_at_{uuid.uuid4().hex[:8]}"
    admin = None
    if backend == "postgres":
        admin = _pg_admin()
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
        url = f"{PG_DSN}/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    database.close()
    bind_database(url)
    try:
        runner().up(step)
        yield
    finally:
        database.close()
        bind_database(settings.database_url)
        if admin is not None:
            with admin.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s", (name,))
                cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.close()


def old_customer_tables():
    """customer and customer_contact as 0008 left them (no merged_* columns, contacts in
    plaintext): for tests of later migrations over rows written the old way."""
    class OldCustomer(Model):
        name = CharField()
        company = CharField(default="")
        tags = JSONField(default=list)
        notes = TextField(default="")
        created_at = DateTimeField(default=dt.datetime(2025, 1, 1))
        version = IntegerField(default=1)

        class Meta:
            database = database.obj
            table_name = "customer"

    class OldContact(Model):
        customer_id = IntegerField()
        kind = CharField()
        value = CharField()
        label = CharField(default="")

        class Meta:
            database = database.obj
            table_name = "customer_contact"
    return OldCustomer, OldContact


def insert_row(table: str, **values) -> int:
    """Insert a row into `table` as the database stands (an older schema than today's
    models), filling every other NOT NULL column with an empty value of its type; returns
    the new id. For tests that need rows the services of today cannot write there."""
    when = dt.datetime(2026, 1, 1)
    filler = {"int": 0, "big": 0, "sma": 0, "num": 0, "dec": 0, "rea": 0.0, "flo": 0.0,
              "dou": 0.0, "boo": False, "dat": when, "tim": when}
    row = dict(values)
    for col in database.get_columns(table):
        if col.name in row or col.primary_key or col.null:
            continue
        kind = col.data_type.lower()
        row[col.name] = next((v for k, v in filler.items() if kind.startswith(k)),
                             "[]" if "json" in kind else "")
    names = ", ".join(f'"{k}"' for k in row)
    marks = ", ".join([database.param] * len(row))
    cursor = database.execute_sql(f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
                                  + (' RETURNING "id"' if database.param == "%s" else ""),
                                  list(row.values()))
    return cursor.fetchone()[0] if database.param == "%s" else cursor.lastrowid
