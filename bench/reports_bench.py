"""Reports dashboard at N tickets (issue 10: each dashboard loads in <= 1 s at 1,000,000).

    .venv/bin/python bench/reports_bench.py [-n 1000000] [--runs 7] [--keep]
    .venv/bin/python bench/reports_bench.py -n 200000 --pg postgresql://postgres@127.0.0.1:5432
    .venv/bin/python bench/reports_bench.py --reuse     # time a database kept with --keep

Builds a fresh database (SQLite in bench/out/reports/, or a throwaway PostgreSQL database
with --pg), migrated, with 10 departments, 60 agents, 30 categories and N tickets spread
over two years (hour-of-day profile, five channels, most old tickets resolved, a backlog
in recent weeks) with first replies, customer follow-ups, assignment and reopen events,
SLA rows (some breached), CSAT and NPS surveys, AI triage runs and knowledge links,
written with batched INSERTs (the services would take hours at this size).

Then: `reports rebuild` (the full recomputation, timed), services.reports.dashboard for
several filters (p50/p95 of --runs calls each), drill_down's first page, an incremental
refresh with nothing changed and one after 1,000 tickets changed (reassigned, resolved,
reopened: ticket rows and timeline events as the services write them).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path

import peewee as pw

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from appliance import audit_keys, keystore, migrate  # noqa: E402
from appliance.bootstrap import boot  # noqa: E402
from appliance.db import database, is_postgres  # noqa: E402
from appliance.settings import Settings  # noqa: E402

DAYS = 730
CHANNELS = ("web", "email", "phone", "chat", "api")
CHANNEL_WEIGHTS = (30, 30, 20, 15, 5)
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 6, 10, 14, 14, 12, 9, 11, 13, 13, 12, 10, 7, 5, 4, 3, 2, 1]
CHUNK = 20_000


def setup(out: Path, pg: str | None) -> tuple[Settings, str | None]:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    pg_name = None
    url = f"sqlite:///{out}/reports.db"
    if pg:
        import psycopg2
        pg_name = f"gongdan_bench_{uuid.uuid4().hex[:8]}"
        conn = psycopg2.connect(pg + "/postgres")
        conn.autocommit = True
        conn.cursor().execute(f'CREATE DATABASE "{pg_name}"')
        conn.close()
        url = f"{pg}/{pg_name}"
    s = Settings(database_url=url, queue_url=f"sqlite:///{out}/q.db", keys_dir=str(out / "keys"),
                 secret_key="bench", log_level="WARNING", timezone="Asia/Shanghai")
    audit_keys.create(s)
    keystore.create_master(s)
    boot(s, queue=False)
    migrate.upgrade()
    return s, pg_name


def insert(model, rows: list[dict]) -> None:
    """Batched INSERT through the DB-API (Model.insert_many spends its time building SQL)."""
    if not rows:
        return
    fields = [f for f in model._meta.sorted_fields if f.name != "id"]
    defaults = {f.name: (f.default() if callable(f.default) else f.default) for f in fields}
    cols = ", ".join(f'"{f.column_name}"' for f in fields)
    table = model._meta.table_name
    # JSON columns as text (the field's db_value wraps SQLite's json() around it)
    conv = [(lambda v: json.dumps(v, ensure_ascii=False)) if isinstance(f, pw.JSONField)
            else f.db_value for f in fields]
    values = [tuple(c(r.get(f.name, defaults[f.name])) for f, c in zip(fields, conv))
              for r in rows]
    if is_postgres():
        from psycopg2.extras import execute_values
        execute_values(database.cursor(), f'INSERT INTO "{table}" ({cols}) VALUES %s', values,
                       page_size=2000)
    else:
        marks = ", ".join("?" * len(fields))
        database.cursor().executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', values)


def make_org(rng: random.Random) -> dict:
    from appliance.models import Article, Category, Department, SlaPolicy, User
    from appliance.services import customer_names
    o = {"depts": [], "agents": {}, "cats": {}}
    with database.atomic():
        for d in range(10):
            dept = Department.create(code=f"D{d}", name=f"部门{d}")
            o["depts"].append(dept.id)
            o["agents"][dept.id] = [User.create(username=f"a{d}_{i}", display_name=f"坐席{d}-{i}",
                                                role="agent", department=dept.id).id
                                    for i in range(6)]
            o["cats"][dept.id] = [Category.create(name=f"类{d}-{i}", path=f"类{d}-{i}",
                                                  department=dept.id).id for i in range(3)]
        o["customers"] = [customer_names.create(f"客户{i}").id for i in range(200)]
        o["policy"] = SlaPolicy.create(name="标准", resolution_minutes=1440).id
        # written long ago: an article changed since the last refresh re-reads its tickets
        old = dt.datetime.utcnow() - dt.timedelta(days=DAYS + 30)
        o["articles"] = [Article.create(title=f"文章{i}", status=rng.choice(
            ("published", "published", "archived", "draft")), created_at=old,
            updated_at=old).id for i in range(100)]
        o["admin"] = User.create(username="admin", display_name="管理员", role="admin").id
    return o


def ticket_rows(rng: random.Random, o: dict, tid: int, now: dt.datetime) -> dict:
    """One ticket and everything hanging off it, as rows per model name."""
    age = rng.random() * DAYS
    day = now - dt.timedelta(days=age)
    created = day.replace(hour=rng.choices(range(24), HOUR_WEIGHTS)[0], minute=rng.randrange(60))
    created = min(created, now - dt.timedelta(minutes=1))
    dept = rng.choice(o["depts"])
    agent = rng.choice(o["agents"][dept]) if rng.random() < 0.93 else None
    done = rng.random() < (0.985 if age > 30 else 0.6)
    out = {"Comment": [], "TimelineEvent": [], "Survey": [], "TicketSla": [], "TriageRun": [],
           "ArticleTicket": [], "ArticleUse": []}
    t = {"id": tid, "number": f"GD-{tid:08d}", "subject": "打印机无法打印", "channel":
         rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0], "department": dept,
         "category": rng.choice(o["cats"][dept] + [None]), "assignee": agent,
         "customer": rng.choice(o["customers"]), "created_at": created, "updated_at": created,
         "priority": rng.randint(1, 4)}
    if agent:
        at = created + dt.timedelta(minutes=rng.expovariate(1 / 40))
        t.update(assigned_at=at, assignment_mode="auto")
        out["TimelineEvent"].append({"ticket": tid, "kind": "assigned", "field": "assignee_id",
                                     "after": agent, "created_at": at})
        if rng.random() < 0.1:
            out["TimelineEvent"].append({"ticket": tid, "kind": "assigned", "field": "assignee_id",
                                         "before": agent, "after": agent,
                                         "created_at": at + dt.timedelta(hours=1)})
        if rng.random() < 0.9:
            first = created + dt.timedelta(minutes=rng.expovariate(1 / 120))
            t["first_response_at"] = first
            out["Comment"].append({"ticket": tid, "author": agent, "author_kind": "agent",
                                   "body": "您好", "created_at": first})
            if rng.random() < 0.2:
                out["Comment"].append({"ticket": tid, "author_kind": "customer", "body": "还是不行",
                                       "created_at": first + dt.timedelta(hours=2)})
    if done and agent:
        resolved = created + dt.timedelta(hours=rng.expovariate(1 / 20))
        t.update(status="resolved" if age < 3 else "closed", is_open=False, resolved_at=resolved,
                 updated_at=resolved)
        if rng.random() < 0.05:
            out["TimelineEvent"].append({"ticket": tid, "kind": "reopened", "field": "status",
                                         "created_at": resolved - dt.timedelta(minutes=30)})
        if rng.random() < 0.3:
            rating = rng.choice((None, 5, 5, 4, 4, 3, 2, 1)) if rng.random() < 0.5 else None
            out["Survey"].append({"ticket": tid, "resolved_at": resolved, "department": dept,
                                  "agent": agent, "category": t["category"], "created_at": resolved,
                                  "expires_at": resolved + dt.timedelta(days=14), "rating": rating,
                                  "answered_at": resolved if rating else None})
        if rng.random() < 0.1:
            out["ArticleTicket"].append({"article": rng.choice(o["articles"]), "ticket": tid,
                                         "kind": "related", "created_at": resolved})
        if rng.random() < 0.05:
            out["ArticleUse"].append({"article": rng.choice(o["articles"]), "kind": "snippet",
                                      "ticket": tid, "created_at": resolved})
    else:
        t.update(status=rng.choice(("new", "open", "pending_customer")), is_open=True)
    if rng.random() < 0.5:
        out["TicketSla"].append({"ticket": tid, "policy": o["policy"], "is_open": t["is_open"],
                                 "breached": rng.random() < 0.08})
    if rng.random() < 0.3:
        out["TriageRun"].append({"ticket": tid, "stage": "fast", "status": "applied",
                                 "created_at": created, "suggestions": {
                                     "department": {"value": str(dept if rng.random() < 0.8
                                                                 else o["depts"][0])},
                                     "priority": {"value": str(rng.randint(1, 4))}}})
    out["Ticket"] = [t]
    out["TimelineEvent"].append({"ticket": tid, "kind": "created", "created_at": created})
    return out


def fill(n: int, o: dict) -> float:
    import appliance.models as m
    rng = random.Random(42)
    now = dt.datetime.utcnow()
    start = time.perf_counter()
    for lo in range(1, n + 1, CHUNK):
        batch: dict[str, list] = {}
        for tid in range(lo, min(n, lo + CHUNK - 1) + 1):
            for name, rows in ticket_rows(rng, o, tid, now).items():
                batch.setdefault(name, []).extend(rows)
        with database.atomic():
            for name in ("Ticket", "Comment", "TimelineEvent", "Survey", "TicketSla",
                         "TriageRun", "ArticleTicket", "ArticleUse"):
                insert(getattr(m, name), batch.get(name, []))
        print(f"  {min(n, lo + CHUNK - 1):>9,} tickets", end="\r", flush=True)
    with database.atomic():   # NPS surveys: one per customer and quarter
        insert(m.Survey, [{"kind": "nps", "customer": c, "department": rng.choice(o["depts"]),
                           "created_at": now - dt.timedelta(days=q * 91 + rng.randrange(30)),
                           "expires_at": now, "rating": rng.choice((None, 3, 7, 9, 10)),
                           "period_key": f"nps:{c}:{q}"}
                          for c in o["customers"] for q in range(8)])
    if is_postgres():
        database.execute_sql("SELECT setval(pg_get_serial_sequence('ticket', 'id'), %s)", (n,))
        database.execute_sql("ANALYZE")
    else:
        database.execute_sql("ANALYZE")
    return time.perf_counter() - start


def timed(fn, runs: int) -> tuple[float, float, object]:
    samples, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, out


def change_tickets(k: int, o: dict) -> None:
    """k random tickets changed as the services change them: a reassignment (ticket row
    and timeline event), some resolved or reopened."""
    from appliance.models import Ticket, TimelineEvent, utcnow
    rng = random.Random(5)
    n = Ticket.select().count()
    now = utcnow()
    with database.atomic():
        for tid in rng.sample(range(1, n + 1), k):
            t = Ticket.get_by_id(tid)
            agent = rng.choice(o["agents"][t.department_id])
            changes = {"assignee": agent, "assigned_at": now, "updated_at": now,
                       "version": t.version + 1}
            if rng.random() < 0.3 and t.is_open:
                changes.update(status="resolved", is_open=False, resolved_at=now)
            Ticket.update(**changes).where(Ticket.id == tid).execute()
            TimelineEvent.create(ticket=tid, kind="assigned", field="assignee_id",
                                 before=t.assignee_id, after=agent, created_at=now)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--pg", default=None, help="PostgreSQL server DSN (a database is created)")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    p.add_argument("--reuse", action="store_true",
                   help="time the kept SQLite database again (no load, no rebuild)")
    args = p.parse_args(argv)
    out = ROOT / "bench" / "out" / "reports"
    if args.reuse:
        reuse(out, args)
        return
    settings, pg_name = setup(out, args.pg)
    from appliance.services import reports_refresh
    o = make_org(random.Random(1))
    print(f"reports bench: {args.n:,} tickets, {'PostgreSQL' if args.pg else 'SQLite'}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"load: {fill(args.n, o):.1f} s")
    t0 = time.perf_counter()
    r = reports_refresh.rebuild()
    print(f"\nrebuild (full recomputation): {time.perf_counter() - t0:.1f} s "
          f"({r.tickets:,} facts, {r.buckets:,} buckets)")
    measure(o, args)
    database.close()
    if pg_name and not args.keep:
        import psycopg2
        conn = psycopg2.connect(args.pg + "/postgres")
        conn.autocommit = True
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{pg_name}"')
        conn.close()
    if not args.keep and not pg_name:
        shutil.rmtree(out, ignore_errors=True)


def reuse(out: Path, args) -> None:
    from appliance.models import Category, Department, User
    s = Settings(database_url=f"sqlite:///{out}/reports.db", queue_url=f"sqlite:///{out}/q.db",
                 keys_dir=str(out / "keys"), secret_key="bench", log_level="WARNING",
                 timezone="Asia/Shanghai")
    boot(s, queue=False)
    depts = [d.id for d in Department.select().order_by(Department.id)]
    o = {"depts": depts,
         "agents": {d: [u.id for u in User.select().where(User.department == d)
                        .order_by(User.id)] for d in depts},
         "cats": {d: [c.id for c in Category.select().where(Category.department == d)
                      .order_by(Category.id)] for d in depts}}
    print(f"reports bench (reused {out}/reports.db)")
    measure(o, args)


def measure(o: dict, args) -> None:
    from appliance.rules.access import SYSTEM
    from appliance.services import reports, reports_refresh
    today = reports.site_today()
    year = today - dt.timedelta(days=365)
    dept = o["depts"][3]
    agent = o["agents"][dept][2]
    cases = [("30 days", reports.ReportFilter(today - dt.timedelta(days=29), today)),
             ("1 year", reports.ReportFilter(year, today)),
             ("1 year, one department", reports.ReportFilter(year, today, department_id=dept)),
             ("1 year, one agent", reports.ReportFilter(year, today, agent_id=agent)),
             ("1 year, one channel", reports.ReportFilter(year, today, channel="email")),
             ("1 year, one category", reports.ReportFilter(year, today,
                                                           category_id=o["cats"][dept][0])),
             ("30 days, department + channel", reports.ReportFilter(
                 today - dt.timedelta(days=29), today, department_id=dept, channel="phone"))]
    rows = []
    for name, flt in cases:
        p50, p95, board = timed(lambda flt=flt: reports.dashboard(SYSTEM, flt), args.runs)
        rows.append((f"dashboard, {name}", p50, p95, int(board.figure("volume").numerator)))
    for name, flt in cases[:2]:
        p50, p95, page = timed(lambda flt=flt: reports.drill_down(SYSTEM, flt, "volume", None),
                               args.runs)
        rows.append((f"drill_down page 1, volume, {name}", p50, p95, page.total))
    p50, p95, _ = timed(reports_refresh.refresh, 3)
    rows.append(("refresh, nothing changed", p50, p95, 0))
    change_tickets(1000, o)
    t0 = time.perf_counter()
    r = reports_refresh.refresh()
    took = time.perf_counter() - t0
    rows.append(("refresh after 1,000 tickets changed", took, took, r.changed))
    t0 = time.perf_counter()
    print(f"\n{'what':<48} {'p50 ms':>9} {'p95 ms':>9} {'count':>10}")
    for name, a, b, c in rows:
        print(f"{name:<48} {a * 1000:>9.1f} {b * 1000:>9.1f} {c:>10,}")
    worst = max(b for name, a, b, c in rows if name.startswith("dashboard"))
    print(f"\nslowest dashboard p95: {worst * 1000:.0f} ms (target <= 1000 ms): "
          f"{'PASS' if worst <= 1 else 'FAIL'}")


if __name__ == "__main__":
    main()
