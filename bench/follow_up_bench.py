"""Follow-up visits (回访): what a resolution, the agent's pages and the report cost over N
visits.

    .venv/bin/python bench/follow_up_bench.py [-n 50000] [--rules 50] [--runs 5]

Builds a fresh SQLite database in bench/out/follow_up/ (migrated): five departments, 50
agents, 20 categories, N resolved tickets each with one visit (spread over 90 days; 70 %
closed with an outcome, the rest scheduled) and R non-overlapping rules (one category
each). Times, median and max of --runs: follow_up.on_resolved for a ticket that matches
no rule (the cost every resolution pays), "My follow-ups" and the department queue
(follow_up.mine / department_queue), and follow_up_summary for an administrator and a
supervisor over 30 and 90 days.
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

OUTCOMES = ("satisfied", "satisfied", "satisfied", "not_solved", "unreachable")


def _setup(out: Path) -> Settings:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    s = Settings(database_url=f"sqlite:///{out}/fu.db", queue_url=f"sqlite:///{out}/q.db",
                 keys_dir=str(out / "keys"), secret_key="bench", log_level="WARNING")
    audit_keys.create(s)
    keystore.create_master(s)
    boot(s, queue=False)
    migrate.upgrade()
    return s


def _org():
    from appliance.models import Category, Department, User
    from appliance.services import customer_names
    with database.atomic():
        depts = [Department.create(code=f"D{i}", name=f"部门{i}").id for i in range(5)]
        agents = [User.create(username=f"a{i}", display_name=f"坐席{i}", role="agent",
                              department=depts[i % 5], password_hash="x").id for i in range(50)]
        cats = [Category.create(name=f"类{i}", path=f"类{i}").id for i in range(100)]
        customers = [customer_names.create(f"客户{i}").id for i in range(500)]
    return depts, agents, cats, customers


def _fill(n: int, depts, agents, cats, customers) -> float:
    from appliance.models import FollowUpVisit, Ticket
    rnd = random.Random(11)
    now = dt.datetime.utcnow()
    start = time.perf_counter()
    done = 0
    while done < n:
        batch = min(5_000, n - done)
        tickets, visits = [], []
        for i in range(done, done + batch):
            resolved = now - dt.timedelta(minutes=rnd.randrange(90 * 24 * 60))
            agent = rnd.choice(agents)
            dept = depts[agents.index(agent) % 5]
            tickets.append({"number": f"GD-2026-{i + 1:07d}", "subject": "卡纸",
                            "status": "resolved", "is_open": False, "department": dept,
                            "assignee": agent, "customer": rnd.choice(customers),
                            "category": rnd.choice(cats[:20]), "resolved_at": resolved})
        with database.atomic():
            Ticket.insert_many(tickets).execute()
            numbers = [t["number"] for t in tickets]
            by_number = dict(Ticket.select(Ticket.number, Ticket.id)
                             .where(Ticket.number.in_(numbers)).tuples())
            ids = [by_number[x] for x in numbers]
            for tid, t in zip(ids, tickets):
                closed = rnd.random() < 0.7
                due = t["resolved_at"] + dt.timedelta(days=1)
                visits.append({"ticket": tid, "resolved_at": t["resolved_at"],
                               "department": t["department"], "agent": t["assignee"],
                               "resolver": t["assignee"], "customer": t["customer"],
                               "script": "您好", "due_at": due,
                               "status": "closed" if closed else "scheduled",
                               "outcome": rnd.choice(OUTCOMES) if closed else "",
                               "done_by": t["assignee"] if closed else None,
                               "done_at": due if closed else None,
                               "attempts": 1 if closed else 0})
            FollowUpVisit.insert_many(visits).execute()
        done += batch
    return time.perf_counter() - start


def _rules(count: int, cats) -> None:
    from appliance.rules.access import SYSTEM
    from appliance.services import follow_up_rules
    for i in range(count):
        follow_up_rules.save_rule(SYSTEM, None, {"name": f"规则{i}", "script": "您好",
                                                 "category_ids": [cats[20 + i]]})


def _time(fn, runs: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, max(times) * 1000, result


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=50_000)
    p.add_argument("--rules", type=int, default=50)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    s = _setup(ROOT / "bench" / "out" / "follow_up")
    depts, agents, cats, customers = _org()
    fill_s = _fill(args.n, depts, agents, cats, customers)
    _rules(min(args.rules, 80), cats)
    from appliance.models import Ticket
    from appliance.rules.access import Actor
    from appliance.services import follow_up, follow_up_report
    print(f"{args.n} visits on {args.n} tickets written in {fill_s:.1f} s; "
          f"{min(args.rules, 80)} rules")
    t = Ticket.select().first()
    rows = [("on_resolved (no rule matches)", lambda: follow_up.on_resolved(t, t.resolved_at, s))]
    agent = Actor(user_id=agents[0], role="agent", department_id=depts[0])
    lead = Actor(user_id=agents[5], role="supervisor", department_id=depts[0])
    admin = Actor(user_id=agents[1], role="admin")
    rows += [("mine (agent)", lambda: len(follow_up.mine(agent))),
             ("department_queue (supervisor)", lambda: len(follow_up.department_queue(lead)))]
    today = dt.datetime.utcnow().date()
    for who, actor in (("admin", admin), ("supervisor", lead)):
        for days in (30, 90):
            start = today - dt.timedelta(days=days - 1)
            rows.append((f"follow_up_summary {who} {days} days",
                         lambda a=actor, st=start: follow_up_report.follow_up_summary(
                             a, st, today).totals.total))
    for name, fn in rows:
        median, worst, result = _time(fn, args.runs)
        print(f"{name:40} median {median:7.1f} ms, max {worst:7.1f} ms  (result {result})")


if __name__ == "__main__":
    main()
