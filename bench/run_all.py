"""Run the benchmarks in order: load, index, in-process search, HTTP (`make bench`).

    .venv/bin/python bench/run_all.py                    # 1M tickets, full index (~40 min here)
    .venv/bin/python bench/run_all.py -n 20000           # a quick small run
    .venv/bin/python bench/run_all.py --index-limit 250000   # index only the newest 250k

The load is skipped when the bench database already has tickets (it is never run
twice: reuse bench/out/, or delete it for a fresh start), and so is the index
build when --skip-index is given. Each step is its own process, as in production.
"""
from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import common  # noqa: E402  (bench/common.py)

HERE = Path(__file__).resolve().parent


def has_tickets(out: Path) -> bool:
    path = out / "bench.db"
    if not path.exists():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute("SELECT EXISTS (SELECT 1 FROM ticket)").fetchone()[0] == 1
    except sqlite3.Error:
        return False


def step(title: str, script: str, *args: str) -> None:
    print(f"\n## {title}\n$ python bench/{script} {' '.join(args)}", flush=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(HERE / script), *args], check=True, cwd=common.ROOT)
    print(f"({time.perf_counter() - t0:.0f} s)", flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", "--tickets", type=int, default=1_000_000)
    p.add_argument("--index-limit", type=int, default=0,
                   help="index only the newest N tickets (0: all; see docs/benchmarks.md)")
    p.add_argument("--skip-index", action="store_true", help="reuse the existing index")
    p.add_argument("--create-seconds", default="30")
    args = p.parse_args(argv)
    out = ["--out", str(common.OUT)]
    print(f"# Gongdan benchmarks\nmachine: {common.machine()}\nbench folder: {common.OUT}")
    if has_tickets(common.OUT):
        print("\n(bench database already loaded: skipping load_million)")
    else:
        step("Bulk load", "load_million.py", "-n", str(args.tickets), *out)
    if not args.skip_index:
        limit = ["--limit", str(args.index_limit)] if args.index_limit else []
        step("Search index build", "search_bench.py", "--rebuild", *limit, *out)
    step("Search, in-process", "search_bench.py", *out)
    step("HTTP, one client at a time (latency)", "http_bench.py", "--threads", "1",
         "--only", "queue", "ticket", "search", *out)
    step("HTTP, four concurrent clients, then API creation", "http_bench.py", "--threads", "4",
         "--create-seconds", args.create_seconds, *out)


if __name__ == "__main__":
    main()
