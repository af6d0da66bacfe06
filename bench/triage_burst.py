"""Burst of new tickets → fast-path triage latency, through the real worker.

Creates a fresh SQLite site in a temporary folder, loads resolved history from the
Bitext customer-support sample (../shared/data) and trains the classifiers, starts
`gongdan worker`, then creates N tickets through tickets.create_ticket spread evenly
over D seconds from 4 threads (like gunicorn's threads), and prints p50/p95/max of the
time from ticket creation to its fast-path TriageRun. Model enrichment runs in the
same worker meanwhile (unless --no-llm), as it would on the appliance.

    .venv/bin/python -m bench.triage_burst [--tickets 500] [--seconds 60] [--no-llm]
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "bitext" / "customer_support_sample.csv"


def rows() -> list[tuple[str, str]]:
    with DATA.open(encoding="utf-8") as f:
        return [(r["instruction"], r["category"]) for r in csv.DictReader(f)]


def setup(tmp: Path, no_llm: bool):
    from appliance import migrate, runtime
    from appliance.db import bind_database
    from appliance.settings import Settings
    s = Settings(database_url=f"sqlite:///{tmp / 'gongdan.db'}",
                 queue_url=f"sqlite:///{tmp / 'queue.db'}", index_dir=str(tmp / "index"),
                 attachment_dir=str(tmp / "att"), secret_key="bench", timezone="UTC",
                 keys_dir=str(tmp / "keys"),
                 model_dir=str(tmp / "no-model") if no_llm else str(ROOT / "var" / "models"))
    from bench.common import site_keys
    site_keys(s)
    bind_database(s.database_url)
    runtime.configure(s)
    migrate.upgrade()
    return s


def history(data: list[tuple[str, str]], n: int) -> dict[str, int]:
    """Resolved tickets, one department per Bitext category (bulk rows: not what is measured)."""
    from appliance.db import database
    from appliance.models import Department, Ticket
    depts = {}
    for cat in sorted({c for _, c in data}):
        depts[cat] = Department.create(code=cat[:32], name=cat.title()).id
    with database.atomic():
        for i, (text, cat) in enumerate(data[:n]):
            Ticket.create(number=f"H-{i:06d}", subject=text[:255], description=text,
                          status="closed", is_open=False, department=depts[cat],
                          priority=2 if cat in ("ACCOUNT", "PAYMENT") else 3,
                          urgency="high" if cat == "PAYMENT" else "medium", triage_state="done")
    return depts


def start_worker(s, tmp: Path) -> subprocess.Popen:
    config = tmp / "gongdan.toml"
    config.write_text("".join(f'{k} = "{getattr(s, k)}"\n' for k in (
        "database_url", "queue_url", "index_dir", "attachment_dir", "secret_key", "model_dir",
        "timezone", "keys_dir")) + 'log_level = "WARNING"\n', encoding="utf-8")
    env = {**os.environ, "GONGDAN_CONFIG": str(config)}
    log = (tmp / "worker.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "appliance.cli", "worker"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def burst(s, texts: list[str], seconds: float, threads: int = 4) -> list[float]:
    """Create the tickets on schedule; returns how long each create_ticket call took."""
    from appliance.db import database
    from appliance.rules.access import SYSTEM
    from appliance.services import tickets
    start, took = time.monotonic() + 1.0, []

    def run(k: int) -> None:
        for i in range(k, len(texts), threads):
            time.sleep(max(0.0, start + i * seconds / len(texts) - time.monotonic()))
            t0 = time.monotonic()
            tickets.create_ticket(SYSTEM, tickets.TicketInput(subject=texts[i][:255],
                                                              description=texts[i], channel="api"), s)
            took.append(time.monotonic() - t0)
        database.close()

    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for p in pool:
        p.start()
    for p in pool:
        p.join()
    return took


def latencies(first_id: int, n: int, timeout: float = 300) -> list[float]:
    from appliance.models import Ticket, TriageRun
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        q = (TriageRun.select(TriageRun.created_at, Ticket.created_at)
             .join(Ticket, on=(Ticket.id == TriageRun.ticket))
             .where((TriageRun.stage == "fast") & (Ticket.id >= first_id)))
        done = [(ran - created).total_seconds() for ran, created in q.tuples()]
        if len(done) >= n:
            return done
        time.sleep(0.5)
    raise SystemExit(f"only {len(done)} of {n} tickets triaged after {timeout:.0f}s")


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 \
        else values[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--history", type=int, default=2000)
    ap.add_argument("--no-llm", action="store_true", help="no model: enrichment is skipped")
    args = ap.parse_args()
    data = rows()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        s = setup(tmp, args.no_llm)
        history(data, args.history)
        from appliance import tasks
        from appliance.models import Ticket, TriageRun
        from appliance.services import ai_training
        t0 = time.monotonic()
        trained = ai_training.train(s)
        print(f"trained in {time.monotonic() - t0:.1f}s:",
              ", ".join(f"{r.field}={r.kind}:{r.version}" if r.version else f"{r.field}=none"
                        for r in trained))
        worker = start_worker(s, tmp)
        try:
            time.sleep(3)  # consumer start-up
            tasks.install_enqueuer(s)
            first = (Ticket.select(Ticket.id).order_by(Ticket.id.desc()).scalar() or 0) + 1
            texts = [t for t, _ in data[args.history:args.history + args.tickets]]
            took = burst(s, texts, args.seconds)
            lat = latencies(first, len(texts))
        finally:
            worker.terminate()
            worker.wait(30)
        enriched = TriageRun.select().where(TriageRun.stage == "enrich").count()
        auto = Ticket.select().where((Ticket.id >= first) & (Ticket.triage_state == "auto")).count()
        print(f"{len(texts)} tickets over {args.seconds:.0f}s; create_ticket p50 "
              f"{pct(took, 50) * 1000:.0f} ms, p95 {pct(took, 95) * 1000:.0f} ms")
        print(f"creation → fast-path triage: p50 {pct(lat, 50):.2f}s  p95 {pct(lat, 95):.2f}s  "
              f"max {max(lat):.2f}s")
        print(f"applied automatically: {auto}/{len(texts)}; enrichment runs by then: {enriched}")


if __name__ == "__main__":
    main()
