"""audit_retention_days: at least 180 days, refused with a message naming the key."""
import pytest

from appliance.settings import SettingsError, load_settings


def test_retention_defaults_to_a_year_and_refuses_less_than_180_days(tmp_path):
    env = {"GONGDAN_CONFIG": str(tmp_path / "none.toml")}
    assert load_settings(environ=env).audit_retention_days == 365
    assert load_settings(environ={**env, "GONGDAN_AUDIT_RETENTION_DAYS": "180"}
                         ).audit_retention_days == 180
    with pytest.raises(SettingsError, match="audit_retention_days.*at least 180"):
        load_settings(environ={**env, "GONGDAN_AUDIT_RETENTION_DAYS": "90"})
