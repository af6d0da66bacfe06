"""Versioned schema migrations (peewee's migration runner over appliance/migrations).

Never run implicitly: `gongdan db upgrade` applies them, `gongdan db status` lists them.
Each file holds frozen model copies, so later model changes never alter old steps.
"""
from __future__ import annotations

from pathlib import Path

from playhouse.migrations import Runner

from appliance.db import database

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
    """Apply pending migrations in order; returns the names applied."""
    return list(_runner().up())
