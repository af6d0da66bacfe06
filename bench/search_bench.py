"""In-process search latency (appliance.services.search.search_tickets) for fixed
Chinese and English queries, and the rate of building the index.

    .venv/bin/python bench/search_bench.py                      # measure queries only
    .venv/bin/python bench/search_bench.py --rebuild            # index every ticket first
    .venv/bin/python bench/search_bench.py --rebuild --limit 50000   # only the newest 50k

--rebuild without --limit is `gongdan search rebuild` (appliance.services.indexing.rebuild).
With --limit the same documents (indexing.document) of the newest N tickets go to the
same back-end's rebuild(), to measure the indexing rate or to index a documented subset
when the whole database would take too long.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import common  # noqa: E402  (bench/common.py; puts the repo root on sys.path)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=common.OUT)
    p.add_argument("--rebuild", action="store_true", help="rebuild the index first")
    p.add_argument("--limit", type=int, help="with --rebuild: index only the newest N tickets")
    p.add_argument("--rounds", type=int, default=5, help="passes over the query list")
    p.add_argument("--index-dir", help="use this index folder instead of the bench config's "
                                       "(to keep indexes of several sizes side by side)")
    args = p.parse_args(argv)
    settings = common.boot(args.out)
    if args.index_dir:
        import dataclasses
        from appliance import runtime
        settings = dataclasses.replace(settings, index_dir=args.index_dir)
        runtime.configure(settings)
    result: dict = {"machine": common.machine(), "index_dir": settings.index_dir}
    if args.rebuild:
        result["rebuild"] = rebuild(settings, args.limit)
    result["queries"] = measure(settings, args.out, args.rounds)
    print_results(result)
    size = f"-{args.limit}" if args.limit else ""
    name = "search-results.json" if not args.rebuild else f"search-rebuild{size}-results.json"
    (args.out / name).write_text(json.dumps(result, indent=1, ensure_ascii=False))


def _progress(docs, total: int):
    """Pass documents through, printing the rate every 25k."""
    t0 = time.perf_counter()
    for i, doc in enumerate(docs, 1):
        if i % 25_000 == 0:
            rate = i / (time.perf_counter() - t0)
            print(f"  {i:>9,} / {total:,} docs  {rate:6.0f} docs/s  "
                  f"eta {(total - i) / rate / 60:5.1f} min", flush=True)
        yield doc


def rebuild(settings, limit: int | None) -> dict:
    from appliance import registry
    from appliance.models import Ticket
    from appliance.services import indexing
    top = Ticket.select(Ticket.id).order_by(Ticket.id.desc()).first().id
    first = max(1, top - limit + 1) if limit else 1
    total = Ticket.select().where(Ticket.id >= first).count()

    def docs(batch: int = 2000):
        last = first - 1
        while True:
            rows = list(Ticket.select().where((Ticket.id > last) & Ticket.merged_into.is_null())
                        .order_by(Ticket.id).limit(batch))
            if not rows:
                return
            yield from (indexing.document(t) for t in rows)
            last = rows[-1].id
    t0 = time.perf_counter()
    if limit:
        count = registry.search_index(settings).rebuild(_progress(docs(), total))
    else:
        count = indexing.rebuild()
    seconds = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in Path(settings.index_dir).rglob("*") if f.is_file())
    return {"docs": count, "first_id": first, "seconds": round(seconds, 1),
            "docs_per_s": round(count / seconds, 1), "index_mib": round(size / 2**20, 1)}


def measure(settings, out: Path, rounds: int) -> dict:
    from appliance.models import User
    from appliance.services import search, users
    logins = common.read_logins(out)
    result = {}
    for role in ("agent", "admin"):
        actor = users.actor_of(User.get(User.username == logins[role]["username"]))
        for lang, queries in common.QUERIES.items():
            for q in queries:  # warm-up: dictionaries, caches, the searcher
                search.search_tickets(actor, q, settings)
            times, totals = [], []
            for _ in range(rounds):
                for q in queries:
                    t = time.perf_counter()
                    _, total = search.search_tickets(actor, q, settings, limit=20)
                    times.append(time.perf_counter() - t)
                    totals.append(total)
            result[f"{role}:{lang}"] = {**common.stats_ms(times),
                                        "median_hits": sorted(totals)[len(totals) // 2]}
    return result


def print_results(r: dict) -> None:
    if "rebuild" in r:
        b = r["rebuild"]
        print(f"rebuild: {b['docs']:,} docs from id {b['first_id']:,} in {b['seconds']:,} s "
              f"= {b['docs_per_s']:,} docs/s; index {b['index_mib']:,} MiB")
    rows = [[name, s["n"], s["median_hits"], s["p50"], s["p95"], s["p99"], s["max"],
             "ok" if s["p95"] <= 300 else "MISS"] for name, s in r["queries"].items()]
    print(common.table(["actor:language", "queries", "median hits", "p50 ms", "p95 ms",
                        "p99 ms", "max ms", "p95 ≤ 300 ms"], rows))
    print(f"machine: {r['machine']}")


if __name__ == "__main__":
    main()
