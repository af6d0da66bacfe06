"""The front-end packages inside the gongdan wheel (docs/decisions/0041): built in the
clean source copy as `make assets` builds them (npm ci from the committed lock, then
webapp/frontend/vendor.mjs copies the built files and licences to webapp/static/vendor),
and listed in the SBOM from the vendor.json that step writes."""
from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

from bundle_sources import BuildError

VENDOR_JSON = "webapp/static/vendor/vendor.json"


def build_assets(tree: Path, env: dict) -> None:
    """npm ci + vendor.mjs in `tree` (a source copy); a source without webapp/frontend
    (an older release) has nothing to build."""
    frontend = tree / "webapp" / "frontend"
    if not (frontend / "package-lock.json").is_file():
        return
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        raise BuildError("node and npm are needed to build the front-end assets "
                         "(Debian: apt-get install nodejs npm)")
    for cmd, cwd in (([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund",
                       "--loglevel=error"], frontend),
                     ([node, str(frontend / "vendor.mjs")], tree)):
        r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)  # nosec B603
        if r.returncode:
            raise BuildError(f"`{' '.join(Path(c).name for c in cmd[:2])}` failed in {cwd}:\n"
                             f"{r.stdout[-2000:]}{r.stderr[-2000:]}")
    shutil.rmtree(frontend / "node_modules", ignore_errors=True)  # not part of the wheel


def components(gongdan_wheel: Path) -> list[dict]:
    """CycloneDX components of the npm packages shipped inside the wheel (nested under
    gongdan's own component: they travel in its wheel, not as wheels of their own)."""
    with zipfile.ZipFile(gongdan_wheel) as z:
        try:
            listed = json.loads(z.read(VENDOR_JSON))["components"]
        except KeyError:
            return []
    out = []
    for c in listed:
        purl = f"pkg:npm/{c['name'].replace('@', '%40')}@{c['version']}"
        main = c["files"][0]
        out.append({"type": "library", "bom-ref": purl, "name": c["name"],
                    "version": c["version"], "purl": purl,
                    "hashes": [{"alg": "SHA-256", "content": main["sha256"]}],
                    "licenses": [{"license": {"id": c["license"]}}] if c.get("license") else [],
                    "properties": [{"name": "gongdan:file",
                                    "value": f"webapp/static/vendor/{f['file']}"}
                                   for f in c["files"]]})
    return out
