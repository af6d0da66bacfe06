"""The proof side of the report aggregates (docs/decisions/0040): recompute every fact from
the raw rows and sum the buckets in Python — not with the SQL the refresh uses — and list
whatever differs from the stored rows. `gongdan reports verify` and the tests call it.

Holds every fact in memory: meant for tests and sites of some hundred thousand tickets;
at a million, `gongdan reports rebuild` is the cheaper way back to a known state.
"""
from __future__ import annotations

from appliance.models.reports import (BUCKET_MEASURES, CREATED_MEASURES, HOURS,
                                      RESOLVED_MEASURES, ReportBucket, ReportFact)
from appliance.services.reports_refresh import (DIMS, FACT_COLUMNS, _day, _normal,
                                                _with_day_grain, _zero, full_facts, same,
                                                zone)


def verify() -> list[str]:
    """What differs between the stored aggregates and a full recomputation (empty: equal).
    Reads only; the facts are compared row by row, the buckets cell by cell."""
    tz = zone()
    problems: list[str] = []
    fresh: dict[tuple, dict] = {}
    for kind, rows in full_facts(tz):
        fresh.update({(kind, i): r for i, r in rows.items()})
    stored = {(r["kind"], r["ref_id"]): _normal(r) for r in ReportFact.select(
        *[getattr(ReportFact, c) for c in FACT_COLUMNS]).dicts()}
    for key in sorted(set(fresh) | set(stored)):
        a, b = fresh.get(key), stored.get(key)
        if a is None or b is None or not same(a, b):
            problems.append(f"fact {key}: stored {b} != recomputed {a}")
    want = {_bucket_key(r): r for r in _buckets_from(fresh.values())}
    have = {_bucket_key(r): r for r in (_bucket_normal(r) for r in ReportBucket.select().dicts())}
    for key in sorted(set(want) | set(have), key=str):
        a, b = want.get(key), have.get(key)
        if a is None or b is None or any(a[m] != b[m] for m in BUCKET_MEASURES):
            problems.append(f"bucket {key}: stored {b} != recomputed {a}")
    return problems


def _bucket_key(r: dict) -> tuple:
    return (r["grain"], r["day"]) + tuple(r[d] for d in DIMS)


def _bucket_normal(r: dict) -> dict:
    r.pop("id", None)
    r["day"] = _day(r["day"])
    return {k: int(v) if k in BUCKET_MEASURES else v for k, v in r.items()}


def _buckets_from(rows) -> list[dict]:
    """Buckets summed in Python from fact rows: the full recomputation `verify` compares
    against, independent of the SQL in bucket_rows."""
    full: dict[tuple, dict] = {}
    for f in rows:
        dims = tuple(f[d] for d in DIMS)
        c = full.setdefault((f["day"],) + dims, _zero((f["day"],) + dims, "f"))
        for m in CREATED_MEASURES:
            c[m] += f[m]
        c[HOURS[f["hour"]]] += f["created"]
        if f["frt_bin"] >= 0:
            c[f"frt_b{f['frt_bin']:02d}"] += 1
        if f["rday"] is not None:
            r = full.setdefault((f["rday"],) + dims, _zero((f["rday"],) + dims, "f"))
            for m in RESOLVED_MEASURES:
                r[m] += f[m]
    return _with_day_grain(full)
