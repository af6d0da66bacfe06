"""Audit log: `gongdan audit verify` over N records, and the cost of one audit.record.

    .venv/bin/python bench/audit_verify.py [-n 1000000] [--record-calls 2000] [--keep]

Builds a fresh SQLite database in bench/out/audit/ (migrated, with its own audit keys),
inserts N chained records (the same canonical form and HMAC as audit.record, written in
batches of 10,000 in one transaction each, so the set-up takes seconds, not the hours of
N separate commits), signs a checkpoint every 100,000 records, then times
appliance.services.audit.verify() — the code `gongdan audit verify` runs — end to end.
Then times audit.record itself, one committed record per call, the way a login records
its event. Target (issue 8): 1,000,000 records verified in <= 60 s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
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
from security import audit_chain  # noqa: E402

ACTIONS = ("auth.login", "auth.logout", "customer.pii_viewed", "user.updated",
           "auth.login_failed", "token.created")


def _setup(out: Path) -> Settings:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    s = Settings(database_url=f"sqlite:///{out}/audit.db", queue_url=f"sqlite:///{out}/q.db",
                 keys_dir=str(out / "keys"), secret_key="bench", log_level="WARNING")
    audit_keys.create(s)
    keystore.create_master(s)  # start-up also wants the encryption master key
    boot(s, queue=False)
    migrate.upgrade()
    return s


def _fill(n: int, key: bytes) -> float:
    from appliance.services import audit
    start = time.perf_counter()
    prev, seq, t0 = audit_chain.GENESIS, 0, dt.datetime(2026, 1, 1)
    cols = ", ".join(f'"{c}"' for c in audit.COLUMNS)
    sql = f'INSERT INTO "audit_record" ({cols}) VALUES ({", ".join("?" * len(audit.COLUMNS))})'
    while seq < n:
        rows = []
        for _ in range(min(10_000, n - seq)):
            seq += 1
            at = t0 + dt.timedelta(seconds=seq)
            rec = {"seq": seq, "at": audit.iso(at), "actor_id": seq % 500 + 1,
                   "actor_name": f"user{seq % 500 + 1}", "ip": f"10.0.{seq % 250}.{seq % 200}",
                   "action": ACTIONS[seq % len(ACTIONS)], "object_type": "user",
                   "object_id": str(seq % 5000),
                   "result": "failure" if seq % 17 == 0 else "success",
                   "detail": audit_chain.canonical_detail({"n": seq % 97})}
            prev = audit_chain.chain_mac(key, prev, rec)
            rows.append(tuple(rec[c] for c in audit_chain.FIELDS) + (prev,))
        with database.atomic():
            database.cursor().executemany(sql, [r[:1] + (r[1].replace("T", " "),) + r[2:]
                                                for r in rows])
        if seq % 100_000 == 0 or seq == n:
            with database.atomic():
                database.execute_sql('DELETE FROM "audit_head"')
                database.execute_sql('INSERT INTO "audit_head" ("id", "seq", "mac") '
                                     'VALUES (1, ?, ?)', (seq, prev))
            audit.checkpoint("periodic")
    return time.perf_counter() - start


def _time_verify() -> tuple[float, object]:
    from appliance.services import audit
    start = time.perf_counter()
    report = audit.verify()
    return time.perf_counter() - start, report


def _time_record(calls: int) -> list[float]:
    from appliance.services import audit
    times = []
    for i in range(calls):
        t = time.perf_counter()
        audit.record("bench.record", actor_id=None, ip="10.0.0.1", object_type="user",
                     object_id=i, detail={"i": i})
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--record-calls", type=int, default=2000)
    ap.add_argument("--keep", action="store_true", help="keep bench/out/audit afterwards")
    args = ap.parse_args()
    out = Path(os.environ.get("GONGDAN_BENCH_OUT", ROOT / "bench" / "out")) / "audit"
    s = _setup(out)
    keys = audit_keys.load(s)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, SQLite file {out / 'audit.db'}")
    fill = _fill(args.n, keys.hmac)
    size = (out / "audit.db").stat().st_size / 2**20
    print(f"inserted {args.n:,} chained records in {fill:.1f} s (database {size:.0f} MiB)")
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elapsed, report = _time_verify()
    print(f"verify: {report.records:,} records, {report.checkpoints} checkpoints, "
          f"{'OK' if report.ok else 'PROBLEMS ' + str(len(report.problems))} in "
          f"{elapsed:.1f} s ({report.records / elapsed:,.0f} records/s)")
    times = _time_record(args.record_calls)
    q = statistics.quantiles(times, n=100)
    print(f"audit.record ({args.record_calls} calls, one commit each, on {args.n:,} records): "
          f"mean {statistics.mean(times) * 1e3:.2f} ms, p50 {q[49] * 1e3:.2f} ms, "
          f"p95 {q[94] * 1e3:.2f} ms, p99 {q[98] * 1e3:.2f} ms")
    database.close()
    if not args.keep:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
