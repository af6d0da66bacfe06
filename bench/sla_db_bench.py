"""The periodic SLA run against a real database (issue 10 target: 10,000 open tickets per
minute without falling behind).

    .venv/bin/python bench/sla_db_bench.py [-n 10000] [--batch 500] [--rounds 3]
                                           [--pg postgresql://postgres@127.0.0.1:5432]

Builds a fresh database (a SQLite file in a temporary folder, or a throwaway PostgreSQL
database with --pg, dropped at the end), migrated, with two departments — 售后 on an
office calendar in Shanghai (Mon–Fri 09:00–12:00, 13:30–18:00, Chinese holidays) and
物流 24/7 — an agent and a lead each, 200 customers (10% tagged vip), five policies
(VIP first, then P1–P4 with 1/2/4/8 h first response, 2/4/8/16 h next response, 8/16/40/80
h resolution, warnings at 75 and 90%, notify the lead at 90 and on breach), and N open
tickets created up to 30 days ago by batched INSERTs (bench data, not measured): 70% with
a first agent reply, half of those with a customer message since; 30% with a status
history through pending_customer (half of them still pending).

Then runs services.sla_timers.tick — what the worker runs every minute — `--rounds`
times with the same "now": the first round records every warning and breach (timeline
entries and notifications), the later ones find nothing new (the steady state). Prints
seconds per round, tickets/s and tickets/min, and the events recorded.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

H = 60   # minutes


def setup(url: str, tmp: Path):
    from appliance import migrate, runtime
    from appliance.db import bind_database
    from appliance.settings import Settings
    s = Settings(database_url=url, queue_url=f"sqlite:///{tmp / 'queue.db'}",
                 index_dir=str(tmp / "index"), attachment_dir=str(tmp / "att"),
                 secret_key="bench", timezone="UTC", keys_dir=str(tmp / "keys"),
                 model_dir=str(tmp / "no-model"))
    bind_database(url)
    runtime.configure(s)
    migrate.upgrade()
    return s


def organisation() -> dict:
    from appliance.rules.access import SYSTEM
    from appliance.services import org, sla_config, users
    a = org.save_department(SYSTEM, "AS", "售后", "After-sales")
    b = org.save_department(SYSTEM, "LOG", "物流", "Logistics")
    ids = {"depts": [a.id, b.id], "agents": []}
    for name, role, dept in (("agent1", "agent", a.id), ("lead1", "supervisor", a.id),
                             ("agent2", "agent", b.id), ("lead2", "supervisor", b.id)):
        u, _ = users.create_user(SYSTEM, name, name, role, department_id=dept)
        if role == "agent":
            ids["agents"].append((u.id, dept))
    office = {d: [["09:00", "12:00"], ["13:30", "18:00"]]
              for d in ("monday", "tuesday", "wednesday", "thursday", "friday")}
    always = {d: [["00:00", "24:00"]] for d in ("monday", "tuesday", "wednesday", "thursday",
                                                 "friday", "saturday", "sunday")}
    sla_config.save_calendar(SYSTEM, None, {"name": "售后", "department_id": a.id,
                                            "time_zone": "Asia/Shanghai", "week": office,
                                            "chinese_holidays": True})
    sla_config.save_calendar(SYSTEM, None, {"name": "物流", "department_id": b.id,
                                            "time_zone": "Asia/Shanghai", "week": always})
    esc = [{"at": 90, "action": "notify_lead"}, {"at": 100, "action": "notify_lead"}]
    sla_config.save_policy(SYSTEM, None, {"name": "VIP", "order": 5, "tiers": ["vip"],
                                          "first_response_minutes": 30,
                                          "next_response_minutes": H,
                                          "resolution_minutes": 4 * H, "escalations": esc})
    for p, (fr, nr, res) in enumerate(((1, 2, 8), (2, 4, 16), (4, 8, 40), (8, 16, 80)), 1):
        sla_config.save_policy(SYSTEM, None, {
            "name": f"P{p}", "order": 10 + p, "priorities": [p],
            "first_response_minutes": fr * H, "next_response_minutes": nr * H,
            "resolution_minutes": res * H, "escalations": esc})
    return ids


def tickets(n: int, ids: dict, now: dt.datetime, seed: int = 1) -> None:
    """N open tickets with replies and status history, by batched INSERTs."""
    from appliance.db import database
    from appliance.models import Comment, Ticket, TimelineEvent
    from appliance.services import customer_names
    rng = random.Random(seed)
    customers = []
    with database.atomic():
        for i in range(200):
            customers.append(customer_names.create(f"客户{i}",
                                                   tags=["vip"] if i % 10 == 0 else []).id)
    for start in range(0, n, 1000):
        rows, extra = [], []
        for i in range(start, min(n, start + 1000)):
            created = now - dt.timedelta(seconds=rng.randrange(60, 30 * 86400))
            span = (now - created).total_seconds()

            def at(lo=0.0, hi=1.0, created=created, span=span):
                return created + dt.timedelta(seconds=span * rng.uniform(lo, hi))
            agent, dept = rng.choice(ids["agents"])
            t = {"number": f"B-{i:07d}", "subject": "bench", "status": "open", "is_open": True,
                 "priority": rng.choices((1, 2, 3, 4), (10, 25, 45, 20))[0],
                 "department": dept, "assignee": agent, "customer": rng.choice(customers),
                 "channel": rng.choice(("web", "email", "phone")), "created_at": created,
                 "updated_at": created}
            plan = {"replies": [], "status": []}
            if rng.random() < 0.7:
                first = at(0, 0.3)
                t["first_response_at"] = first
                plan["replies"].append(("agent", first))
                if rng.random() < 0.5:
                    plan["replies"].append(("customer", at(0.4, 1.0)))
            r = rng.random()
            if r < 0.30:
                p = at(0.3, 0.9)
                plan["status"].append((p, "open", "pending_customer"))
                if r < 0.15:
                    plan["status"].append((at(0.9, 1.0), "pending_customer", "open"))
                else:
                    t["status"] = "pending_customer"
            rows.append(t)
            extra.append(plan)
        with database.atomic():
            Ticket.insert_many(rows).execute()
            numbers = [r["number"] for r in rows]
            got = dict(Ticket.select(Ticket.number, Ticket.id).where(
                Ticket.number.in_(numbers)).tuples())
            comments, events = [], []
            for t, plan in zip(rows, extra):
                tid = got[t["number"]]
                for kind, when in sorted(plan["replies"], key=lambda x: x[1]):
                    comments.append({"ticket": tid, "author_kind": kind, "body": "…",
                                     "created_at": when})
                for when, before, after in plan["status"]:
                    events.append({"ticket": tid, "kind": "status_changed", "field": "status",
                                   "before": before, "after": after, "created_at": when})
            for i in range(0, len(comments), 500):
                Comment.insert_many(comments[i:i + 500]).execute()
            for i in range(0, len(events), 500):
                TimelineEvent.insert_many(events[i:i + 500]).execute()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pg", default="", help="PostgreSQL server URL (without a database)")
    args = ap.parse_args()
    from appliance.models import Notification, SlaEvent, TicketSla, utcnow
    from appliance.services import sla_timers
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pg_name = None
        if args.pg:
            import psycopg2
            pg_name = f"gongdan_slabench_{uuid.uuid4().hex[:8]}"
            admin = psycopg2.connect(args.pg + "/postgres")
            admin.autocommit = True
            admin.cursor().execute(f'CREATE DATABASE "{pg_name}"')
            url = f"{args.pg}/{pg_name}"
        else:
            url = f"sqlite:///{tmp / 'gongdan.db'}"
        try:
            setup(url, tmp)
            from appliance import keystore
            from appliance.services import keys
            from appliance import audit_keys, runtime
            audit_keys.create(runtime.settings())
            keystore.create_master(runtime.settings(), environ={})
            keys.activate(runtime.settings(), environ={})
            ids = organisation()
            now = utcnow()
            t0 = time.perf_counter()
            tickets(args.n, ids, now)
            print(f"python {platform.python_version()}, {os.cpu_count()} cpus, "
                  f"{'PostgreSQL' if args.pg else 'SQLite'}, load "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            print(f"{args.n} open tickets loaded in {time.perf_counter() - t0:.1f} s; "
                  f"batch {args.batch}")
            print("| round | seconds | tickets/s | tickets/min | events | notifications |")
            print("|---|---|---|---|---|---|")
            for r in range(args.rounds):
                t0 = time.perf_counter()
                count = sla_timers.tick(("pending_customer",), args.batch, now=now)
                secs = time.perf_counter() - t0
                label = "1st (records events)" if r == 0 else f"again {r}"
                print(f"| {label} | {secs:.2f} | {count / secs:,.0f} | {count / secs * 60:,.0f} "
                      f"| {SlaEvent.select().count()} | {Notification.select().count()} |")
            rows = TicketSla.select().count()
            breached = TicketSla.select().where(TicketSla.breached).count()
            print(f"stored: {rows} ticket_sla rows, {breached} breached")
        finally:
            from appliance.db import database
            database.close()
            if pg_name:
                cur = admin.cursor()
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s", (pg_name,))
                cur.execute(f'DROP DATABASE IF EXISTS "{pg_name}"')
                admin.close()


if __name__ == "__main__":
    main()
