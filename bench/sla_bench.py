"""SLA evaluation throughput (issue 10 target: 10,000 open tickets per minute).

    .venv/bin/python bench/sla_bench.py [-n 10000] [--seed 1] [--rounds 3]

Evaluates N random open tickets with appliance.rules.sla.evaluate against one Shanghai
office calendar (Mon–Fri 09:00–12:00 and 13:30–18:00, Chinese holidays and make-up days,
two admin closures). "now" is Mon 2026-10-12 11:00, so the tickets, created up to 30
days earlier, straddle the Mid-Autumn and National Day holidays and the make-up Sunday
Sep 20 and Saturday Oct 10. Ticket mix (fixed by --seed):
- priority 1–4 (10/25/45/20%) with first-response 1/2/4/8 h, next-response 2/4/8/16 h
  and resolution 8/16/40/80 business hours;
- 70% already have a first response, and of those half have a customer message waiting;
- 30% have a closed pause (1 h to 3 days), 15% a pause still open at now.

Prints the first round separately (per-day spans not yet cached in this process: what a
freshly started worker pays once) and the later rounds (warm), with tickets/s and the
p50/p95/p99 of one ticket's evaluation. No database: this measures the maths alone, which
is what a periodic SLA job would call once per open ticket.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from appliance.rules.business_calendar import WEEKDAYS, Closure, problems, weekly  # noqa: E402
from appliance.rules.sla import SlaTargets, evaluate  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 12, 11, 0, tzinfo=SH)
H = timedelta(hours=1)
TARGETS = {1: SlaTargets(1 * H, 2 * H, 8 * H), 2: SlaTargets(2 * H, 4 * H, 16 * H),
           3: SlaTargets(4 * H, 8 * H, 40 * H), 4: SlaTargets(8 * H, 16 * H, 80 * H)}


def calendar():
    return weekly("Asia/Shanghai",
                  {d: [("09:00", "12:00"), ("13:30", "18:00")] for d in WEEKDAYS[:5]},
                  chinese_holidays=True,
                  closures=(Closure(date(2026, 9, 15), date(2026, 9, 15), "office move"),
                            Closure(datetime(2026, 10, 9, 14, tzinfo=SH),
                                    datetime(2026, 10, 9, 16, tzinfo=SH), "fire drill")))


def tickets(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        created = NOW - timedelta(seconds=rng.randrange(60, 30 * 86400))
        span = (NOW - created).total_seconds()
        at = lambda lo=0.0, hi=1.0: created + timedelta(seconds=span * rng.uniform(lo, hi))  # noqa: E731
        t = {"created_at": created,
             "targets": TARGETS[rng.choices((1, 2, 3, 4), (10, 25, 45, 20))[0]],
             "first_response_at": None, "last_customer_message_at": None,
             "last_agent_reply_at": None, "pauses": []}
        if rng.random() < 0.7:
            t["first_response_at"] = t["last_agent_reply_at"] = at(0, 0.3)
            if rng.random() < 0.5:
                t["last_customer_message_at"] = at(0.4, 1.0)
        r = rng.random()
        if r < 0.30:
            ps = at(0, 0.8)
            t["pauses"].append((ps, min(NOW, ps + timedelta(seconds=rng.randrange(3600, 3 * 86400)))))
        elif r < 0.45:
            t["pauses"].append((at(0.5, 1.0), None))
        out.append(t)
    return out


def one_round(cal, batch) -> tuple[float, list[int], dict]:
    per, counts = [], {"breached": 0, "warning": 0, "paused": 0}
    started = time.perf_counter()
    for t in batch:
        t0 = time.perf_counter_ns()
        state = evaluate(cal, t["targets"], t["created_at"], t["first_response_at"],
                         t["last_customer_message_at"], t["last_agent_reply_at"], None,
                         t["pauses"], NOW)
        per.append(time.perf_counter_ns() - t0)
        for s in (state.first_response, state.next_response, state.resolution):
            if s is not None:
                counts["breached"] += s.breached
                counts["warning"] += s.warning is not None
                counts["paused"] += s.paused
    return time.perf_counter() - started, per, counts


def pct(values: list[int], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] / 1000   # µs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    cal = calendar()
    assert [p for p in problems(cal) if p.severity == "error"] == []
    batch = tickets(args.n, args.seed)
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.n} open tickets, now {NOW.isoformat()}")
    print("| round | seconds | tickets/s | p50 µs | p95 µs | p99 µs | breached | warning | paused |")
    print("|---|---|---|---|---|---|---|---|---|")
    warm = []
    for r in range(args.rounds):
        seconds, per, counts = one_round(cal, batch)
        label = "cold (1st)" if r == 0 else f"warm {r}"
        if r:
            warm.append(args.n / seconds)
        print(f"| {label} | {seconds:.2f} | {args.n / seconds:,.0f} | {pct(per, .5):.0f} | "
              f"{pct(per, .95):.0f} | {pct(per, .99):.0f} | {counts['breached']} | "
              f"{counts['warning']} | {counts['paused']} |")
    if warm:
        print(f"warm median {statistics.median(warm):,.0f} tickets/s = "
              f"{statistics.median(warm) * 60:,.0f} tickets/min (target 10,000/min)")


if __name__ == "__main__":
    main()
