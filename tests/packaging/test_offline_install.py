"""The verified bundle installs and runs with no network at all: inside a network namespace
with only loopback, `pip install --no-index` from its wheels (no compiler may run), then
web + worker answer /healthz, take a ticket, triage it with the bundled model, and find it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DRIVER = Path(__file__).with_name("offline_smoke.py")


def _appliance_python() -> str:
    """Debian's python3.11 (what a site has), else the one that made .venv."""
    if Path("/usr/bin/python3.11").exists():
        return "/usr/bin/python3.11"
    return os.path.realpath(sys.executable)


def _netns_available() -> str | None:
    if os.geteuid() != 0:
        return "the offline install test needs root for `unshare --net` (a loopback-only namespace)"
    if not shutil.which("unshare") or not shutil.which("ip"):
        return "`unshare` (util-linux) or `ip` (iproute2) is not installed"
    r = subprocess.run(["unshare", "--net", "ip", "link", "set", "lo", "up"], capture_output=True, text=True)
    if r.returncode:
        return f"`unshare --net` does not work here: {r.stderr.strip()}"
    return None


def test_the_bundle_installs_offline_and_triages_and_finds_a_ticket(extracted, tmp_path):
    reason = _netns_available()
    if reason:
        pytest.skip(reason)
    python = _appliance_python()
    report_path = tmp_path / "report.json"
    script = (f"ip link set lo up && ! ip route get 1.1.1.1 >/dev/null 2>&1 && "
              f"exec {python} {DRIVER} {extracted} {tmp_path} {report_path} {python}")
    r = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True,
                       timeout=420)
    assert report_path.exists(), f"no report (no network route check or driver crash):\n{r.stdout}{r.stderr}"
    report = json.loads(report_path.read_text())
    assert r.returncode == 0 and report["ok"], json.dumps(report, indent=1, ensure_ascii=False)[-6000:]
    assert report["compiler_called"] == "" and not report["pip_built_something"]
    assert "llama-cpp-python-0.3.36" in report["installed"][0] and "gongdan-" in report["installed"][0]
    assert report["healthz"]["status"] == "ok"
    assert report["healthz"]["ai"] == {"available": True, "model": report["model"]["name"], "reason": ""}
    enrich = next(run for run in report["triage"]["runs"] if run["stage"] == "enrich")
    assert enrich["status"] == "applied", enrich
    assert (enrich["model"], enrich["model_sha256"]) == (report["model"]["name"], report["model"]["sha256"])
    assert enrich["applied"].get("summary", {}).get("after")        # the model wrote a summary
    assert all(report["ticket"]["id"] in ids for ids in report["search"].values())
    out = Path(os.environ.get("TEST_OUTPUT", Path(__file__).resolve().parents[2] / "test-output"))
    out.mkdir(exist_ok=True)
    (out / "offline-install-report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
