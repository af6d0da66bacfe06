"""The front-end packages in the bundle (docs/decisions/0041): Chart.js is installed from
the npm registry by the committed lock at build time, only its built file and licence go
into the gongdan wheel's webapp/static/vendor, the SBOM lists it (name, version, licence,
SHA-256) and stays valid CycloneDX; without node/npm the build says what to install."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.packaging.conftest import REPO, load_script

FRONTEND = REPO / "webapp" / "frontend"


def _tree(tmp_path: Path) -> Path:
    """A source copy holding only webapp/frontend, as bundle.py's clean copy does."""
    dest = tmp_path / "src" / "webapp" / "frontend"
    dest.mkdir(parents=True)
    for name in ("package.json", "package-lock.json", "vendor.mjs"):
        shutil.copy2(FRONTEND / name, dest / name)
    return tmp_path / "src"


def test_the_lock_pins_chart_js_with_an_integrity_hash():
    lock = json.loads((FRONTEND / "package-lock.json").read_text())
    chart = lock["packages"]["node_modules/chart.js"]
    assert chart["version"].startswith("4.") and chart["license"] == "MIT"
    assert chart["integrity"].startswith("sha512-")
    # never committed: installed packages and the built copies (git-ignored build output)
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert "webapp/static/vendor/" in ignored and "webapp/frontend/node_modules/" in ignored


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is missing (make test-deps installs it)")
def test_the_build_copies_the_built_chart_js_and_its_licence_only(tmp_path):
    frontend = load_script("bundle_frontend")
    tree = _tree(tmp_path)
    frontend.build_assets(tree, dict(__import__("os").environ))
    vendor = tree / "webapp" / "static" / "vendor"
    assert sorted(p.name for p in vendor.iterdir()) == [
        "chart.js.LICENSE.md", "chart.umd.js", "kurkle-color.LICENSE.md", "vendor.json"]
    listed = json.loads((vendor / "vendor.json").read_text())["components"]
    chart = next(c for c in listed if c["name"] == "chart.js")
    assert chart["license"] == "MIT" and chart["files"][0]["file"] == "chart.umd.js"
    assert chart["files"][0]["sha256"] == hashlib.sha256((vendor / "chart.umd.js").read_bytes()).hexdigest()
    assert "MIT License" in (vendor / "chart.js.LICENSE.md").read_text()
    assert not (tree / "webapp" / "frontend" / "node_modules").exists()


def test_without_node_the_build_and_make_assets_say_what_to_install(tmp_path, monkeypatch):
    frontend = load_script("bundle_frontend")
    tree = _tree(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(frontend.BuildError, match="apt-get install nodejs npm"):
        frontend.build_assets(tree, {})
    make = shutil.which("make", path="/usr/bin:/bin")
    if make:
        r = subprocess.run([make, "-C", str(REPO), "assets"], capture_output=True, text=True,
                           env={"PATH": str(tmp_path / "nothing-here")}, timeout=60)
        assert r.returncode != 0 and "apt-get install nodejs npm" in r.stderr


def test_the_sbom_lists_the_npm_packages_inside_gongdan_and_stays_valid_cyclonedx(tmp_path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    sbom = load_script("bundle_sbom")
    vendor = {"components": [
        {"name": "chart.js", "version": "4.5.1", "license": "MIT",
         "files": [{"file": "chart.umd.js", "sha256": "ab" * 32}]},
        {"name": "@kurkle/color", "version": "0.3.4", "license": "MIT",
         "files": [{"file": "kurkle-color.LICENSE.md", "sha256": "cd" * 32}]}]}
    wheel = tmp_path / "gongdan-0.2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("gongdan-0.2.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: gongdan\n"
                                                       "Version: 0.2.0\n\n")
        z.writestr("webapp/static/vendor/vendor.json", json.dumps(vendor))
    manifest = {"version": "0.2.0", "git_commit": "abc", "source_date_epoch": 1700000000,
                "wheels": [], "model": {"name": "m", "sha256": "ef" * 32, "file": "m.gguf",
                                        "size": 1, "license": "Apache-2.0"}}
    doc = sbom.build(manifest, {wheel.name: (wheel, "00" * 32)}, "ef" * 32)
    nested = {c["name"]: c for c in doc["metadata"]["component"]["components"]}
    assert nested["chart.js"]["purl"] == "pkg:npm/chart.js@4.5.1"
    assert nested["chart.js"]["licenses"] == [{"license": {"id": "MIT"}}]
    assert nested["chart.js"]["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    assert nested["@kurkle/color"]["purl"] == "pkg:npm/%40kurkle/color@0.3.4"
    assert all(c["type"] != "library" for c in doc["components"])   # wheels only at the top
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(doc)) is None
