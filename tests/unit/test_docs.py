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


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
            *sorted((ROOT / "provisioning").glob("*.md")), *sorted((ROOT / "packaging").glob("*.md"))]


def test_relative_links_in_the_docs_lead_to_files_that_exist():
    import re
    broken = []
    for md in _markdown_files():
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", md.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (md.parent / target).exists():
                broken.append(f"{md.relative_to(ROOT)} -> {target}")
    assert not broken, broken


def test_the_site_guides_exist_in_both_languages_and_name_only_real_playbooks_and_variables():
    import re
    prov = ROOT / "provisioning"
    known = set()
    for f in [*prov.rglob("*.yml"), *prov.rglob("*.yml.example")]:
        known |= set(re.findall(r"\b(gongdan_[a-z0-9_]+)", f.read_text(encoding="utf-8")))
    for name in ("install-guide", "operations"):
        for lang in ("", ".zh-CN"):
            text = (ROOT / "docs" / f"{name}{lang}.md").read_text(encoding="utf-8")
            for playbook in set(re.findall(r"\b([a-z-]+\.yml)\b", text)) - {"main.yml", "vault.yml"}:
                assert (prov / playbook).exists(), f"{name}{lang}.md names {playbook}"
            unknown = {v for v in re.findall(r"\b(gongdan_[a-z0-9_]+)", text)} - known
            assert not unknown, f"{name}{lang}.md names variables no role reads: {sorted(unknown)}"
