from pathlib import Path

from appliance.settings import describe

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_in_the_configuration_page():
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [name for name, *_ in describe() if f"`{name}`" not in text]
    assert not missing, f"document these settings in docs/configuration.md: {missing}"


def test_the_readme_shows_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in text and "make test" in text
