"""Satisfaction results: csat_report.results over N surveys (CSAT plus NPS), as the
results page and GET /api/v1/reports/csat compute them on every request.

    .venv/bin/python bench/csat_report_bench.py [-n 100000] [--runs 5]

Builds a fresh SQLite database in bench/out/csat/ (migrated), five departments, 50 agents
in 10 teams, 20 categories and N CSAT surveys (70 % answered, spread over 90 days) plus
N/10 NPS surveys, written in batches; then times results() for an administrator (every
department) and a supervisor (one) over the default 30 days and over 90 days.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from appliance import audit_keys, keystore, migrate  # noqa: E402
from appliance.bootstrap import boot  # noqa: E402
from appliance.db import database  # noqa: E402
from appliance.settings import Settings  # noqa: E402


def _setup(out: Path) -> Settings:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    s = Settings(database_url=f"sqlite:///{out}/csat.db", queue_url=f"sqlite:///{out}/q.db",
                 keys_dir=str(out / "keys"), secret_key="bench", log_level="WARNING")
    audit_keys.create(s)
    keystore.create_master(s)
    boot(s, queue=False)
    migrate.upgrade()
    return s


def _fill(n: int) -> tuple[list, float]:
    from appliance.models import Category, Department, Survey, Team, TeamMember, User
    rnd = random.Random(7)
    start = time.perf_counter()
    now = dt.datetime.utcnow()
    with database.atomic():
        depts = [Department.create(code=f"D{i}", name=f"部门{i}").id for i in range(5)]
        agents = [User.create(username=f"a{i}", display_name=f"坐席{i}", role="agent",
                              department=depts[i % 5], password_hash="x").id for i in range(50)]
        teams = [Team.create(department=depts[i % 5], name=f"组{i}").id for i in range(10)]
        for i, a in enumerate(agents):
            TeamMember.create(team=teams[i % 10], user=a)
        cats = [Category.create(name=f"类{i}", path=f"类{i}").id for i in range(20)]
    for kind, count in (("csat", n), ("nps", n // 10)):
        done = 0
        while done < count:
            rows = []
            for _ in range(min(10_000, count - done)):
                created = now - dt.timedelta(minutes=rnd.randrange(90 * 24 * 60))
                answered = rnd.random() < 0.7
                scale = range(1, 6) if kind == "csat" else range(11)
                rows.append({"kind": kind, "department": rnd.choice(depts),
                             "agent": rnd.choice(agents) if kind == "csat" else None,
                             "category": rnd.choice(cats) if kind == "csat" else None,
                             "created_at": created, "expires_at": created + dt.timedelta(days=14),
                             "rating": rnd.choice(scale) if answered else None,
                             "answered_at": created if answered else None,
                             "comment": "很好" if answered and rnd.random() < 0.01 else ""})
            with database.atomic():
                Survey.insert_many(rows).execute()
            done += len(rows)
    return depts, time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    _setup(ROOT / "bench" / "out" / "csat")
    depts, fill_s = _fill(args.n)
    from appliance.rules.access import Actor
    from appliance.services import csat_report
    admin = Actor(user_id=1, role="admin")
    lead = Actor(user_id=2, role="supervisor", department_id=depts[0])
    today = dt.datetime.utcnow().date()
    print(f"{args.n} CSAT + {args.n // 10} NPS surveys written in {fill_s:.1f} s")
    for who, actor in (("admin", admin), ("supervisor", lead)):
        for days in (30, 90):
            start = (today - dt.timedelta(days=days - 1)).isoformat()
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                rep = csat_report.results(actor, start, today.isoformat(), today=today)
                times.append(time.perf_counter() - t0)
            print(f"{who:10} {days:3} days: {rep.overall.sent:7d} surveys, median "
                  f"{statistics.median(times) * 1000:7.0f} ms, max {max(times) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
