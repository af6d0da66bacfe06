"""Time site.yml installing the offline bundle into a sandbox root on this machine (the
real playbooks, -c local; see docs/decisions/0035-provisioning.md), a second idempotent run,
and the installed appliance's idle memory (web + worker process trees, RSS).

    .venv/bin/python bench/provisioning_bench.py
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.bundle_fixture import build_bundle  # noqa: E402
from tests.provisioning.conftest import Site  # noqa: E402


def _tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants, in MiB."""
    pids, total = [pid], 0
    while pids:
        p = pids.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1])
            pids += [int(c) for t in Path(f"/proc/{p}/task").iterdir()
                     for c in (t / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return total / 1024


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gongdan-prov-bench-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        bundle, pub = build_bundle(tmp / "bundle")
        print(f"bundle build: {time.perf_counter() - t:.1f} s, {bundle.stat().st_size / 1e6:.0f} MB")
        site = Site(tmp / "root", bundle, pub)
        try:
            t = time.perf_counter()
            first = site.play("site.yml")
            print(f"site.yml first run (install from bundle, healthy): "
                  f"{time.perf_counter() - t:.1f} s, changed={first.changed}")
            t = time.perf_counter()
            second = site.play("site.yml")
            print(f"site.yml second run: {time.perf_counter() - t:.1f} s, changed={second.changed}")
            requests.get(f"http://127.0.0.1:{site.app_port}/healthz", timeout=30)
            time.sleep(20)
            for name in ("web", "worker"):
                pid = int((site.root / f"run/gongdan-{name}.pid").read_text())
                print(f"idle RSS {name}: {_tree_rss_mb(pid):.0f} MiB")
        finally:
            site.stop_all()


if __name__ == "__main__":
    main()
