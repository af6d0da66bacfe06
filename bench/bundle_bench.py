"""Size, build time, verification, offline install time and idle memory of the bundle.

    .venv/bin/python bench/bundle_bench.py [--cold] [--keep]

Builds the bundle of this checkout with a throw-away key under
$GONGDAN_BENCH_OUT/bundle (default bench/out/bundle), verifies and extracts it with
packaging/verify_bundle.py, then runs tests/packaging/offline_smoke.py inside a
loopback-only network namespace (`unshare --net`, root): a fresh virtualenv from Debian's
python3.11, `pip install --no-index` from the bundle's wheels with every compiler
replaced by a failing one, `gongdan init`, the model registered, web + worker started, a
ticket triaged by the bundled model and found by search. Prints the figures; the idle
memory is the resident set of web (gunicorn master + worker) and worker (Huey consumer
with the model loaded) a few seconds after the triage. --cold fetches every dependency
wheel again (pip's own cache still applies).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess  # nosec B404  # our own scripts, fixed arguments
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("GONGDAN_BENCH_OUT", ROOT / "bench" / "out")) / "bundle"
BUNDLE_PY = ROOT / "packaging" / "bundle.py"
VERIFY_PY = ROOT / "packaging" / "verify_bundle.py"
DRIVER = ROOT / "tests" / "packaging" / "offline_smoke.py"


def timed(cmd: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)  # nosec B603
    if r.returncode:
        sys.exit(f"{' '.join(map(str, cmd[:3]))} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return time.perf_counter() - t0, r


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="do not reuse the bundle wheel cache")
    parser.add_argument("--keep", action="store_true", help=f"keep {OUT} afterwards")
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in ("GONGDAN_SIGNING_PASSPHRASE", "SOURCE_DATE_EPOCH")}
    timed([sys.executable, str(BUNDLE_PY), "keygen", "--out-dir", str(OUT / "keys")], env=env)
    build_s, r = timed([sys.executable, str(BUNDLE_PY), "build", "--out", str(OUT / "dist"),
                        "--signing-key", str(OUT / "keys/vendor-signing.key"),
                        *(["--no-wheel-cache"] if args.cold else [])], env=env)
    bundle = Path(r.stdout.strip().splitlines()[-1].split(" (")[0])
    pub = OUT / "keys/vendor-signing.pub"
    verify_s, _ = timed([sys.executable, str(VERIFY_PY), "--pubkey", str(pub), str(bundle)])
    extract_s, _ = timed([sys.executable, str(VERIFY_PY), "--pubkey", str(pub), str(bundle),
                          "--extract", str(OUT / "site")])
    (top,) = (OUT / "site").iterdir()
    manifest = json.loads((top / "bundle.json").read_text())
    print(f"bundle: {bundle.name}, {bundle.stat().st_size / 1e6:,.1f} MB "
          f"({len(manifest['wheels'])} wheels, model {manifest['model']['size'] / 1e6:,.1f} MB)")
    print(f"build: {build_s:.1f} s ({'cold wheel cache' if args.cold else 'wheel cache warm'})")
    print(f"verify: {verify_s:.1f} s; verify + extract: {extract_s:.1f} s")
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("offline install: skipped (needs root and `unshare` for a loopback-only namespace)")
        return 0
    python = "/usr/bin/python3.11" if Path("/usr/bin/python3.11").exists() else sys.executable
    work = OUT / "install"
    work.mkdir()
    report_path = OUT / "report.json"
    subprocess.run(["unshare", "--net", "sh", "-c",  # nosec B603 B607
                    f"ip link set lo up && exec {python} {DRIVER} {top} {work} {report_path} {python}"],
                   check=False, timeout=900)
    report = json.loads(report_path.read_text())
    if not report.get("ok"):
        sys.exit(f"offline install failed: {report.get('error')}")
    enrich = next(run for run in report["triage"]["runs"] if run["stage"] == "enrich")
    rss = report["rss_kib"]
    print(f"offline install ({python}): venv + pip install --no-index {report['install_seconds']:.1f} s, "
          f"compiler called: {'yes' if report['compiler_called'] else 'no'}")
    print(f"smoke: healthz {report['healthz']['status']}, ticket {report['ticket']['number']} "
          f"enriched by {enrich['model']} in {enrich['duration_ms'] / 1000:.1f} s, found by search")
    print(f"idle memory: web {rss['serve'] / 1024:,.0f} MiB + worker {rss['worker'] / 1024:,.0f} MiB "
          f"= {(rss['serve'] + rss['worker']) / 1024:,.0f} MiB (model loaded)")
    print(f"whole offline run (install, init, start, triage, search): {report['total_seconds']:.0f} s")
    if not args.keep:
        shutil.rmtree(OUT, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
