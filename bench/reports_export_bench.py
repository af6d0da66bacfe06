"""Report exports (docs/decisions/0041): a drill-down ticket list of N tickets (the export
cap is 10,000) turned into rows with customer name, phone and e-mail (decrypted, masked
for a reader without full contacts), then written as CSV and as XLSX.

    .venv/bin/python bench/reports_export_bench.py [-n 10000] [--runs 3]

Builds a fresh SQLite database in bench/out/reports_export/ (migrated) with N tickets of
N/5 customers, each with an encrypted phone and e-mail, and times
reports_export.ticket_table (full and masked reader), to_csv and to_xlsx.
"""
from __future__ import annotations

import argparse
import datetime as dt
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
    s = Settings(database_url=f"sqlite:///{out}/r.db", queue_url=f"sqlite:///{out}/q.db",
                 keys_dir=str(out / "keys"), secret_key="bench", log_level="WARNING")
    audit_keys.create(s)
    keystore.create_master(s)
    boot(s, queue=False)
    migrate.upgrade()
    from appliance.services import keys
    keys.activate(s, environ={})  # after migrating: the first data keys
    return s


def _fill(n: int) -> list[int]:
    from appliance.models import Department, Ticket, User
    from appliance.services import contacts, customer_names
    now = dt.datetime.utcnow()
    with database.atomic():
        dept = Department.create(code="AS", name="售后").id
        agent = User.create(username="a1", display_name="坐席一", role="agent", department=dept,
                            password_hash="x").id
        customers = []
        for i in range(max(1, n // 5)):
            c = customer_names.create(f"客户{i:05d}").id
            contacts.add(c, "phone", f"138{i:08d}")
            contacts.add(c, "email", f"c{i}@example.com")
            customers.append(c)
        rows = [{"number": f"GD-B-{i:07d}", "subject": f"=SUM(A1) 打印机故障 {i}",
                 "channel": "email", "status": "open", "department": dept, "assignee": agent,
                 "customer": customers[i % len(customers)], "created_at": now}
                for i in range(n)]
        for k in range(0, n, 500):
            Ticket.insert_many(rows[k:k + 500]).execute()
    return [t for (t,) in Ticket.select(Ticket.id).order_by(Ticket.id.desc()).tuples()]


def _time(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    _setup(ROOT / "bench" / "out" / "reports_export")
    from appliance.rules.access import ROLE_PERMISSIONS, Actor
    from appliance.services import reports_export as rx
    ids = _fill(args.n)
    full = Actor(user_id=0, role="admin")
    masked = Actor(user_id=0, role="supervisor", department_id=None, permissions=frozenset(
        ROLE_PERMISSIONS["supervisor"] - {"customer.view_pii", "customer.view_pii_worked"}))
    with database.connection_context():
        t_full, rows = _time(lambda: rx.ticket_table(full, ids), args.runs)
        t_masked, _ = _time(lambda: rx.ticket_table(masked, ids), args.runs)
        t_csv, csv_bytes = _time(lambda: rx.to_csv(rx.TICKET_COLUMNS, rows), args.runs)
        t_xlsx, xlsx_bytes = _time(lambda: rx.to_xlsx("tickets", rx.TICKET_COLUMNS, rows), args.runs)
    print(f"tickets: {len(ids)}, customers: {max(1, args.n // 5)}, runs: {args.runs} (median)")
    print("| step | time | size |\n|---|---|---|")
    print(f"| rows, reader with full contacts | {t_full * 1000:.0f} ms | {len(rows)} rows |")
    print(f"| rows, reader with masked contacts | {t_masked * 1000:.0f} ms | {len(rows)} rows |")
    print(f"| CSV (BOM, formula guard) | {t_csv * 1000:.0f} ms | {len(csv_bytes) / 1024:.0f} KiB |")
    print(f"| XLSX (openpyxl write-only, text cells) | {t_xlsx * 1000:.0f} ms | "
          f"{len(xlsx_bytes) / 1024:.0f} KiB |")


if __name__ == "__main__":
    main()
