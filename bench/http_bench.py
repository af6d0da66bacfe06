"""HTTP benchmarks through gunicorn on loopback: queue pages, ticket pages, search,
API ticket creation, and the memory of the web workers.

    .venv/bin/python bench/http_bench.py                  # starts `gongdan serve` itself
    .venv/bin/python bench/http_bench.py --url http://127.0.0.1:8000 --pid <gunicorn master>
    .venv/bin/python bench/http_bench.py --only mixed --rates 10 20 30   # open loop, see below

Uses the bench database and logins made by bench/load_million.py. The server is the
product's own `gongdan serve` (same settings file, workers and threads), bound to a
free loopback port. Every scenario is bounded (a number of requests, or seconds for
creation), runs on its own client threads with keep-alive connections, and is
preceded by an unmeasured warm-up that reaches every worker. Results print as a
Markdown table and are saved to bench/out/http-results-t<threads>.json.

`--threads N` is a closed loop: N clients that ask again the moment an answer arrives, so
with 4 of them the two cores are saturated and p95 is mostly time in line. `mixed` is an
open loop: queue, ticket and search pages (45/45/10%) arriving at random at a given rate
whatever the server's speed, the way a floor of agents loads it (scenarios.mixed_open_loop).
"""
from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import common  # noqa: E402  (bench/common.py; puts the repo root on sys.path)
from client import Client, login
import scenarios

TARGETS = {"queue": 100.0, "ticket": 100.0, "search": 300.0}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=common.OUT)
    p.add_argument("--url", help="use a running server instead of starting one")
    p.add_argument("--pid", type=int, help="gunicorn master pid of --url (for RSS)")
    p.add_argument("--threads", type=int, default=4, help="client threads for page scenarios")
    p.add_argument("--rounds", type=int, default=25, help="passes over the queue views")
    p.add_argument("--tickets", type=int, default=300, help="ticket pages to fetch")
    p.add_argument("--search-rounds", type=int, default=3, help="passes over the search queries")
    p.add_argument("--create-seconds", type=float, default=30.0)
    p.add_argument("--create-threads", type=int, default=8)
    p.add_argument("--only", nargs="*", default=[], help="queue ticket search create mixed")
    p.add_argument("--rates", type=float, nargs="*", default=[10.0, 20.0, 30.0],
                   help="mixed: requests per second offered, one run per rate")
    p.add_argument("--mixed-seconds", type=float, default=60.0, help="mixed: seconds per rate")
    p.add_argument("--worker", action="store_true",
                   help="run `gongdan worker` during creation (indexes each new ticket)")
    args = p.parse_args(argv)
    server = None if args.url else start_server(args.out)
    base, pid = (args.url, args.pid) if args.url else (server[0], server[1].pid)
    try:
        results = run(args, base, pid)
    finally:
        if server:
            server[1].terminate()
            server[1].wait(timeout=30)
    print_results(results)
    if server:
        errors = (args.out / "gunicorn.log").read_text(errors="replace").count("Traceback")
        print(f"server log: {args.out / 'gunicorn.log'} ({errors} tracebacks)")
    name = f"http-results-t{args.threads}.json"
    (args.out / name).write_text(json.dumps(results, indent=1, ensure_ascii=False))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(out: Path) -> tuple[str, subprocess.Popen]:
    """`gongdan serve` on the bench config; its pid is gunicorn's master (serve execs it)."""
    port = free_port()
    env = common.bench_env(out, bind=f"127.0.0.1:{port}")
    # The server's stderr goes to a file: an unread pipe fills up and blocks the workers.
    log = out / "gunicorn.log"
    with open(log, "wb") as f:
        proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "serve"], env=env,
                                cwd=common.ROOT, stdout=subprocess.DEVNULL, stderr=f)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("gunicorn exited:\n" + log.read_text(errors="replace")[-3000:])
        try:
            if Client(base).get("/version")[0] == 200:
                return base, proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    sys.exit("gunicorn did not answer within 60 s")


def run(args, base: str, pid: int | None) -> dict:
    logins = common.read_logins(args.out)
    cookies = {role: login(base, v["username"], v["password"], v["totp"])
               for role, v in logins.items()
               if role in ("agent", "supervisor", "admin")}
    only = set(args.only) or {"queue", "ticket", "search", "create"}  # mixed: when asked
    out: dict = {"machine": common.machine(), "base": base, "scenarios": {}}
    out["rss_start"] = worker_rss(pid)
    rng = random.Random(7)
    if "queue" in only:
        out["scenarios"].update(scenarios.queue_pages(base, cookies, args.rounds, args.threads))
    if "ticket" in only:
        out["scenarios"].update(scenarios.ticket_pages(base, cookies, args.out, args.tickets,
                                                      args.threads, rng))
    if "search" in only:
        out["scenarios"].update(scenarios.search_pages(base, cookies["agent"],
                                                      args.search_rounds, args.threads))
    if "mixed" in only:
        for rate in args.rates:
            out["scenarios"].update(scenarios.mixed_open_loop(
                base, cookies, args.out, rate, args.mixed_seconds, rng))
    out["rss_after_reads"] = worker_rss(pid)
    if "create" in only:
        worker = start_worker(args.out) if args.worker else None
        try:
            out["scenarios"].update(scenarios.create_tickets(
                base, logins["admin"]["token"], args.create_seconds, args.create_threads, rng,
                args.out, server_cpu=(lambda: common.cpu_seconds(common.children(pid)))
                if pid else None))
        finally:
            if worker:
                worker.terminate()
                worker.wait(timeout=60)
        out["worker_during_create"] = bool(args.worker)
    out["rss_end"] = worker_rss(pid)
    out["server"] = {"workers": len(common.children(pid)) if pid else None}
    return out


def start_worker(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "appliance.cli", "worker"],
                            env=common.bench_env(out), cwd=common.ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def worker_rss(pid: int | None) -> dict:
    """RSS of the gunicorn master and each worker, in MiB."""
    if not pid:
        return {}
    return {"master": common.rss_kib(pid) / 1024,
            "workers": [round(common.rss_kib(c) / 1024, 1) for c in common.children(pid)]}


def print_results(r: dict) -> None:
    rows = []
    for name, s in r["scenarios"].items():
        kind = name.split(":")[-1] if name.startswith("mixed") else name.split(":")[0]
        target = TARGETS.get(kind)
        verdict = "" if target is None or not s["n"] else ("ok" if s["p95"] <= target else "MISS")
        if kind == "create":
            verdict = "ok" if s["rps"] >= 300 and not s["unreadable"] else "MISS"
        rows.append([name, s["n"], s["errors"], s["rps"], s["p50"], s["p95"], s["p99"],
                     f"p95 ≤ {target:.0f} ms" if target else "≥ 300 tickets/s, all readable",
                     verdict])
    print(common.table(["scenario", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms",
                        "target", "verdict"], rows))
    for key in ("rss_start", "rss_after_reads", "rss_end"):
        if r.get(key):
            print(f"{key}: master {r[key]['master']:.1f} MiB, workers {r[key]['workers']} MiB")
    for name, s in r["scenarios"].items():
        if "unreadable" in s:
            cpu = s.get("server_cpu_ms_per_ticket")
            print(f"{name}: created {s['n'] - s['errors']}, unreadable afterwards "
                  f"{s['unreadable']}, read back unlike the 201 body {s['differs_from_201']}, "
                  f"read-back p95 {s['read_p95']:.1f} ms"
                  + (f", CPU per created ticket: gunicorn workers {cpu:.2f} ms, client "
                     f"{s['client_cpu_ms_per_ticket']:.2f} ms" if cpu else ""))
    print(f"machine: {r['machine']}")


if __name__ == "__main__":
    main()
