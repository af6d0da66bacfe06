import pytest

from appliance.settings import SettingsError, load_settings


def write(tmp_path, text):
    p = tmp_path / "gongdan.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_apply_when_the_file_is_missing(tmp_path):
    s = load_settings(tmp_path / "missing.toml", environ={})
    assert s.database_url.startswith("sqlite:///") and s.queue_url.startswith("sqlite:///")


def test_environment_variables_override_the_file(tmp_path):
    p = write(tmp_path, 'database_url = "sqlite:///a.db"\npage_size = 20\n')
    s = load_settings(p, environ={"GONGDAN_PAGE_SIZE": "30", "GONGDAN_SECURE_COOKIES": "true"})
    assert s.database_url == "sqlite:///a.db" and s.page_size == 30 and s.secure_cookies is True


def test_an_unknown_key_stops_start_up_naming_the_key(tmp_path):
    p = write(tmp_path, 'databse_url = "sqlite:///a.db"\n')
    with pytest.raises(SettingsError, match="databse_url"):
        load_settings(p, environ={})


def test_an_unknown_environment_variable_is_named(tmp_path):
    with pytest.raises(SettingsError, match="GONGDAN_NOPE"):
        load_settings(tmp_path / "x.toml", environ={"GONGDAN_NOPE": "1"})


@pytest.mark.parametrize("text,key", [
    ('database_url = "mysql://x"', "database_url"),
    ('queue_url = "amqp://x"', "queue_url"),
    ('page_size = "many"', "page_size"),
    ('page_size = 0', "page_size"),
    ('secure_cookies = "perhaps"', "secure_cookies"),
    ('default_locale = "fr"', "default_locale"),
    ('timezone = "Mars/Olympus"', "timezone"),
    ('smtp_url = "smtp://mail.example.com:25"\nsmtp_security = "none"', "smtp_security"),
    ('smtp_url = "smtp://127.0.0.1.evil.example"\nsmtp_security = "none"', "smtp_security"),
])
def test_bad_values_stop_start_up_naming_the_key(tmp_path, text, key):
    with pytest.raises(SettingsError, match=key):
        load_settings(write(tmp_path, text + "\n"), environ={})


def test_a_broken_toml_file_is_reported_with_its_path(tmp_path):
    p = write(tmp_path, "database_url = \n")
    with pytest.raises(SettingsError, match=str(p)):
        load_settings(p, environ={})


def test_secrets_and_url_passwords_are_masked_for_display(tmp_path):
    p = write(tmp_path, 'secret_key = "s3cr3t"\ndatabase_url = "postgresql://gd:pw@db:5432/gd"\n')
    shown = load_settings(p, environ={}).masked()
    assert "s3cr3t" not in str(shown) and "pw@" not in str(shown)
    assert shown["database_url"] == "postgresql://gd:********@db:5432/gd"


@pytest.mark.parametrize("url", ["smtp://127.0.0.1:2525", "smtp://[::1]:25",
                                 "smtp://LocalHost:25", ""])
def test_plain_smtp_is_allowed_to_a_loopback_relay(tmp_path, url):
    p = write(tmp_path, f'smtp_url = "{url}"\nsmtp_security = "none"\n')
    assert load_settings(p, environ={}).smtp_security == "none"


def test_order_patterns_keep_their_case_and_commas_from_the_file(tmp_path):
    # Lower-casing would turn \D into \d and \S into \s: another pattern, silently.
    p = write(tmp_path, 'intake_order_patterns = ["HM[0-9]{12,14}", "EW-\\\\S+\\\\D"]\n')
    s = load_settings(p, environ={})
    assert s.intake_order_patterns == ("HM[0-9]{12,14}", r"EW-\S+\D")


def test_an_order_pattern_from_the_environment_is_one_pattern_or_a_json_list(tmp_path):
    missing = tmp_path / "x.toml"
    one = load_settings(missing, environ={"GONGDAN_INTAKE_ORDER_PATTERNS": "HM[0-9]{12,14}"})
    assert one.intake_order_patterns == ("HM[0-9]{12,14}",)
    two = load_settings(missing, environ={
        "GONGDAN_INTAKE_ORDER_PATTERNS": '["HM[0-9]{12,14}", "DA-[0-9]{4}-\\\\D{2}"]'})
    assert two.intake_order_patterns == ("HM[0-9]{12,14}", r"DA-[0-9]{4}-\D{2}")
    # Other lists still split on commas and compare in lower case.
    roles = load_settings(missing, environ={"GONGDAN_MFA_REQUIRED_ROLES": "Admin, supervisor"})
    assert roles.mfa_required_roles == ("admin", "supervisor")


def test_a_pattern_that_starts_with_a_character_class_is_one_pattern(tmp_path):
    s = load_settings(tmp_path / "x.toml", environ={"GONGDAN_INTAKE_ORDER_PATTERNS": "[A-Z]{2}[0-9]{12}"})
    assert s.intake_order_patterns == ("[A-Z]{2}[0-9]{12}",)


def test_a_broken_list_or_pattern_in_the_environment_names_the_setting(tmp_path):
    with pytest.raises(SettingsError, match="intake_order_patterns"):
        load_settings(tmp_path / "x.toml", environ={"GONGDAN_INTAKE_ORDER_PATTERNS": '["HM'})
    with pytest.raises(SettingsError, match="mfa_required_roles"):
        load_settings(tmp_path / "x.toml", environ={"GONGDAN_MFA_REQUIRED_ROLES": '["admin'})
