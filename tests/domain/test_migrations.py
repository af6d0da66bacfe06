"""Migrations: versioned, explicit, and producing exactly the schema the models declare."""
from playhouse.migrations import _resolve_diff

from appliance import migrate
from appliance.db import database


def test_after_upgrade_the_schema_matches_the_models_and_nothing_is_pending(settings):
    assert migrate.pending() == []
    assert [name for name, applied in migrate.status()] == sorted(
        name for name, _ in migrate.status())
    diff = _resolve_diff(database.obj, "appliance.models:ALL_MODELS")
    assert not diff, diff


def test_upgrade_is_idempotent(settings):
    assert migrate.upgrade() == []
