"""Retrieval quality of the knowledge search: recall@1, recall@5 and MRR of the customer
portal's article search over two labelled sets (bench/kb_datasets.py).

    .venv/bin/python bench/knowledge_retrieval.py                    # both sets
    .venv/bin/python bench/knowledge_retrieval.py --show-misses      # list what was missed
    .venv/bin/python bench/knowledge_retrieval.py --no-synonyms      # without the admin's synonyms
    .venv/bin/python bench/knowledge_retrieval.py --all-queries      # every Bitext instruction

Everything goes through the product's services into a fresh database and a fresh Whoosh
index under bench/out/kb-retrieval/ (recreated each run): synonym sets by
knowledge_search.save_synonym_set, articles by knowledge.create_article then
knowledge_review.transition(approve), the index by the "index_article" job handler, and
every query by knowledge_search.search_articles(scope="portal") as a portal customer.
Both sets share the index, as a bilingual knowledge base would; `--language` filters
each query to its set's language instead.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/knowledge_retrieval.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench import kb_datasets as kb  # noqa: E402

TOP_K = 5


@dataclass
class Outcome:
    """One set's figures; `ranks` holds the 1-based rank of the expected article (0 = not in
    the top `TOP_K`) for every query, in the set's order."""
    name: str
    articles: int
    queries: int
    ranks: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    misses: list[dict] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)

    def recall(self, k: int) -> float:
        return sum(1 for r in self.ranks if 0 < r <= k) / max(1, len(self.ranks))

    def mrr(self) -> float:
        return sum(1 / r for r in self.ranks if r) / max(1, len(self.ranks))


# --- loading through the services -------------------------------------------------------------

def load_set(kbset: kb.KbSet, admin, *, synonyms: bool = True) -> dict[int, str]:
    """Configure the set's synonyms, create and publish its articles (public), and bring the
    index up to date by running the pending jobs. Returns article id -> dataset key."""
    from appliance.services import knowledge, knowledge_review
    if synonyms:
        from appliance.services import knowledge_search
        for words in kbset.synonyms:
            knowledge_search.save_synonym_set(admin, None, list(words))
    ids = {}
    for a in kbset.articles:
        v = knowledge.create_article(admin, knowledge.ArticleInput(
            title=a.title, body=a.body, language=a.language, visibility="public", tags=a.tags))
        knowledge_review.transition(admin, v.id, "approve", expected_version=v.version)
        ids[v.id] = a.key
    index_pending()
    return ids


def index_pending() -> int:
    """Run the outbox jobs (index_article and any other) in this process."""
    from appliance import jobs
    from appliance.services import knowledge_indexing  # noqa: F401  (registers index_article)
    return jobs.run_pending_inline()


def portal_search(actor, scope: str = "portal"):
    """The product's search as `actor` sees it: (article id, title, matched terms) best first."""
    from appliance.services import knowledge_search

    def run(text: str, language: str | None, limit: int):
        page = knowledge_search.search_articles(actor, text, scope=scope, language=language,
                                                limit=limit, log=False)
        return [(h.article.id, h.article.title, list(h.terms)) for h in page.hits]
    return run


def rank_of(hits, ids: dict[int, str], expected: str) -> int:
    for i, (article_id, _, _) in enumerate(hits, 1):
        if ids.get(article_id) == expected:
            return i
    return 0


def evaluate(kbset: kb.KbSet, search, ids: dict[int, str], *, language: str | None = None,
             limit: int = TOP_K) -> Outcome:
    """Run every query of the set through `search` (see portal_search)."""
    titles = {a.key: a.title for a in kbset.articles}
    out = Outcome(kbset.name, len(kbset.articles), len(kbset.queries))
    for q in kbset.queries:
        started = time.perf_counter()
        hits = search(q.text, language, limit)
        out.seconds.append(time.perf_counter() - started)
        r = rank_of(hits, ids, q.expected)
        out.ranks.append(r)
        out.by_kind.setdefault(q.kind or "-", []).append(r)
        if r != 1:
            out.misses.append({"query": q.text, "kind": q.kind, "expected": titles[q.expected],
                               "rank": r, "got": [title for _, title, _ in hits[:3]],
                               "terms": hits[0][2] if hits else []})
    return out


# --- the run ------------------------------------------------------------------------------

def fresh_store(out: Path):
    """A new database, index and queue under `out` (removed first), migrated and bound."""
    from appliance import jobs, migrate
    marker = out / ".kb-retrieval"
    if out.exists() and any(out.iterdir()) and not marker.exists():
        raise SystemExit(f"{out} is not empty and was not made by this script; use another --out")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    marker.touch()
    settings = common.boot(out)
    migrate.upgrade()
    jobs.set_enqueuer(None)  # jobs stay in the outbox; index_pending() runs them here
    return settings


def actors():
    """An administrator (writes and publishes) and a portal customer (searches)."""
    import secrets
    from appliance.models import User
    from appliance.rules.access import SYSTEM
    from appliance.services import customers, users
    users.create_user(SYSTEM, "kb-admin", "KB admin", "admin")
    customers.sign_up("kb-customer", "KB customer", "kb-customer@example.com",
                      "Kb-" + secrets.token_urlsafe(12))
    get = lambda name: users.actor_of(User.get(User.username == name))  # noqa: E731
    return get("kb-admin"), get("kb-customer")


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=common.OUT / "kb-retrieval")
    p.add_argument("--no-synonyms", action="store_true", help="do not configure the synonym sets")
    p.add_argument("--show-misses", action="store_true", help="print every query not ranked first")
    p.add_argument("--all-queries", action="store_true", help="every Bitext instruction (4,514)")
    p.add_argument("--per-intent", type=int, default=30, help="Bitext queries per intent")
    p.add_argument("--responses", type=int, default=3, help="Bitext responses per article")
    p.add_argument("--seed", type=int, default=kb.SEED, help="Bitext: which responses and queries")
    p.add_argument("--language", action="store_true",
                   help="filter each query to its set's language")
    p.add_argument("--only", choices=["en", "zh"], help="one set only")
    args = p.parse_args(argv)
    sets = []
    if args.only != "zh":
        sets.append(kb.bitext_set(responses=args.responses, seed=args.seed,
                                  queries_per_intent=0 if args.all_queries else args.per_intent))
    if args.only != "en":
        sets.append(kb.zh_set())
    fresh_store(args.out)
    admin, customer = actors()
    started = time.perf_counter()
    ids = {}
    for s in sets:
        ids.update(load_set(s, admin, synonyms=not args.no_synonyms))
    load_s = time.perf_counter() - started
    search = portal_search(customer)
    for s in sets:  # warm-up: jieba's dictionary, the searcher
        evaluate(s.only([s.articles[0].key]), search, ids)
    outcomes = [evaluate(s, search, ids, language=s.language if args.language else None)
                for s in sets]
    result = report(outcomes, args, load_s)
    (args.out / "knowledge-retrieval-results.json").write_text(
        json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return result


def report(outcomes: list[Outcome], args, load_s: float) -> dict:
    rows, result = [], {"machine": common.machine(), "synonyms": not args.no_synonyms,
                        "seed": args.seed,
                        "language_filter": args.language, "load_seconds": round(load_s, 1)}
    for o in outcomes:
        lat = common.stats_ms(o.seconds)
        rows.append([o.name, o.articles, o.queries, f"{o.recall(1):.3f}", f"{o.recall(TOP_K):.3f}",
                     f"{o.mrr():.3f}", lat["p50"], lat["p95"],
                     "ok" if o.recall(TOP_K) >= 0.90 else "MISS"])
        kinds = {k: {"n": len(r), "r1": round(sum(1 for x in r if x == 1) / len(r), 3),
                     "r5": round(sum(1 for x in r if x) / len(r), 3)} for k, r in o.by_kind.items()}
        result[o.name] = {"articles": o.articles, "queries": o.queries,
                          "recall@1": round(o.recall(1), 4),
                          f"recall@{TOP_K}": round(o.recall(TOP_K), 4),
                          "mrr": round(o.mrr(), 4), "latency_ms": lat, "by_kind": kinds,
                          "misses": o.misses}
    print(common.table(["set", "articles", "queries", "recall@1", f"recall@{TOP_K}", "MRR",
                        "p50 ms", "p95 ms", "recall@5 ≥ 0.90"], rows))
    for o in outcomes:
        if len(o.by_kind) > 1:
            print(f"\n{o.name} by kind of query:")
            print(common.table(["kind", "queries", "recall@1", f"recall@{TOP_K}"],
                               [[k, v["n"], f"{v['r1']:.3f}", f"{v['r5']:.3f}"]
                                for k, v in sorted(result[o.name]["by_kind"].items())]))
    if args.show_misses:
        print_misses(outcomes)
    print(f"\nsynonyms: {'on' if result['synonyms'] else 'off'}; language filter: "
          f"{'on' if args.language else 'off'}; loading + indexing {load_s:.1f} s")
    print(f"machine: {result['machine']}")
    return result


def print_misses(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        print(f"\n{o.name}: {len(o.misses)} queries not ranked first (rank 0 = not in top {TOP_K})")
        by_expected = defaultdict(list)
        for m in o.misses:
            by_expected[m["expected"]].append(m)
        for expected, ms in sorted(by_expected.items(), key=lambda kv: -len(kv[1])):
            print(f"  expected {expected!r}: {len(ms)}")
            for m in ms:
                kind = f" [{m['kind']}]" if m["kind"] else ""
                print(f"    rank {m['rank']}{kind} {m['query']!r} -> {m['got']} terms={m['terms']}")


if __name__ == "__main__":
    main()
