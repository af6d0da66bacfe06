"""Knowledge search at size: article search latency, indexing rates, similar tickets.

    .venv/bin/python bench/knowledge_search.py                        # 50,000 articles, 100,000 tickets
    .venv/bin/python bench/knowledge_search.py --articles 5000 --tickets 10000   # quick look

Everything happens in a fresh folder (--out, default a new temp dir): a bench database
loaded by bench/load_million.py (tickets with conversations, from ../shared/data),
N articles generated from the same datasets (bitext responses for English; Chinese
shopping complaints and SMP2017 requests recombined into problem / cause / steps
articles), a category tree, and both Whoosh indexes. Then:

1. articles/s: `rebuild_articles()` (bulk, as `gongdan search rebuild`) and the queue
   path (`index_article` jobs run by appliance.jobs in batches, as the worker does);
2. tickets/s: the newest --new-tickets tickets are left out of the ticket index build
   and then indexed through `index_ticket` jobs in batches, as the queue does (the real
   appliance.services.indexing path: database reads, PII masking, jieba, one commit
   per batch) — sustained over all of them;
3. search_articles p50/p95/p99 (staff and portal) over a mixed zh/en query set, with
   facets, highlights, the hit rows from the database and the search log insert;
4. similar_resolved_tickets and similar_articles over real ticket texts.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: E402  (bench/common.py; puts the repo root on sys.path)

ZH_CAUSES = ("可能是配送环节延误", "通常是批次质量问题", "多为系统同步延迟导致", "一般是支付渠道处理中",
             "可能是账户安全策略触发", "常见于高峰期订单积压", "往往是商品描述与实物不符")
ZH_STEPS = ("核对订单号和收货信息", "在订单详情页提交售后申请", "上传商品照片和问题描述", "联系快递公司查询物流",
            "等待一到三个工作日审核", "审核通过后原路退款", "如仍未解决请转人工客服", "重启设备后再次尝试",
            "更新 App 到最新版本", "检查网络连接和账户登录状态")
EN_STEPS = ("Check the order number and the delivery address.", "Open the order page and choose Help.",
            "Attach a photo of the item.", "Wait one to three business days for the review.",
            "The refund goes back to the original payment method.", "Restart the app and sign in again.",
            "Contact the carrier with the tracking number.", "Ask for a human agent if nothing helps.")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, default=50_000)
    p.add_argument("--tickets", type=int, default=100_000, help="tickets in the database and index")
    p.add_argument("--new-tickets", type=int, default=3_000, help="indexed through the job path")
    p.add_argument("--queries", type=int, default=200, help="distinct search strings (half zh)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, help="bench folder (default: a new temp dir)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--measure-only", action="store_true",
                   help="reuse the database and indexes already in --out; only measure")
    p.add_argument("--reindex", action="store_true",
                   help="reuse the database (tickets and articles) and the ticket index in --out "
                        "(a run cut short after building them); re-index the newest --new-tickets "
                        "tickets through the job path, rebuild the article index, then measure")
    args = p.parse_args(argv)
    out = (args.out or Path(tempfile.mkdtemp(prefix="kb-bench-"))).resolve()
    rng = random.Random(args.seed)
    result: dict = {"machine": common.machine(), "out": str(out), "articles": args.articles,
                    "tickets": args.tickets}
    if not (args.measure_only or args.reindex):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(common.ROOT / "bench" / "load_million.py"), "-n",
                        str(args.tickets), "--out", str(out), "--fresh"], check=True, cwd=common.ROOT)
        result["load_tickets_s"] = round(time.perf_counter() - t0, 1)
    settings = common.boot(out)
    if args.reindex:
        result["tickets_reindex"] = reindex_tickets(args.new_tickets)
        result["articles_index"] = index_articles(settings)
    elif not args.measure_only:
        result["tickets_index"] = index_tickets(settings, args.tickets, args.new_tickets)
        categories = make_categories(rng)
        result["articles_insert_s"] = insert_articles(rng, args.articles, categories)
        result["articles_index"] = index_articles(settings)
    from appliance.models import Article, Ticket
    result["articles"], result["tickets"] = Article.select().count(), Ticket.select().count()
    queries = query_set(rng, args.queries)
    result["search_articles"] = measure_search(queries, args.rounds)
    result["similar"] = measure_similar(rng, args.rounds)
    print(json.dumps(result, indent=1, ensure_ascii=False))
    name = ("knowledge-search-measure.json" if args.measure_only else
            "knowledge-search-reindex.json" if args.reindex else "knowledge-search-results.json")
    (out / name).write_text(json.dumps(result, indent=1, ensure_ascii=False))


# --- data ----------------------------------------------------------------------------------

def make_categories(rng: random.Random) -> list[int]:
    """A two-level tree (like an admin's): 8 parents with 5 children each; leaf ids."""
    from appliance.rules.access import SYSTEM
    from appliance.services import org
    leaves = []
    for i in range(8):
        parent = org.save_category(SYSTEM, f"知识分类{i}")
        leaves += [org.save_category(SYSTEM, f"子类{i}-{j}", parent_id=parent.id).id for j in range(5)]
    return leaves


def _zh_article(rng, pool) -> tuple[str, str, list[str]]:
    from appliance import demo_texts as texts
    main, more = pool.take("zh"), [pool.take("zh") for _ in range(rng.randint(1, 3))]
    steps = rng.sample(ZH_STEPS, rng.randint(3, 5))
    body = (f"## 问题\n{main.description}\n\n## 原因\n{rng.choice(ZH_CAUSES)}。"
            + "".join(f"类似反馈：{m.description}\n" for m in more)
            + "\n## 解决方法\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)))
    title = f"{main.subject}怎么办" if rng.random() < 0.5 else f"如何处理：{main.subject}"
    return title[:200], body, [main.category.split("/")[-1], main.product][:rng.randint(0, 2)] or [texts.SKILLS[0]]


def _en_article(rng, pool) -> tuple[str, str, list[str]]:
    main, more = pool.take("en"), [pool.take("en") for _ in range(rng.randint(0, 2))]
    steps = rng.sample(EN_STEPS, rng.randint(2, 4))
    body = (f"## Problem\n{main.description}\n\n## Answer\n{main.reply or ''}\n\n"
            + "".join(f"Related: {m.description}\n" for m in more)
            + "\n## Steps\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)))
    title = main.subject if rng.random() < 0.5 else f"How to: {main.subject}"
    return title[:200], body, [main.category.split("/")[-1]]


def insert_articles(rng: random.Random, n: int, categories: list[int]) -> float:
    """Rows in bulk (the services would take hours and are not what is measured here)."""
    import datetime as dt

    from appliance import demo_texts as texts
    from appliance.db import database
    from appliance.models import Article
    from load_million import insert
    pool = texts.load_pool(common.DATA, rng, size=20_000)
    fields = [Article.title, Article.body, Article.language, Article.visibility, Article.status,
              Article.tags, Article.category, Article.created_at, Article.updated_at]
    statuses = ("published",) * 8 + ("draft", "in_review", "archived")
    t0, rows = time.perf_counter(), []
    now = dt.datetime(2026, 11, 1)
    for i in range(n):
        lang = "zh" if rng.random() < 0.6 else "en"
        title, body, tags = (_zh_article if lang == "zh" else _en_article)(rng, pool)
        when = str(now - dt.timedelta(minutes=n - i))
        rows.append((title, body, lang, "public" if rng.random() < 0.7 else "internal",
                     rng.choice(statuses), json.dumps(tags, ensure_ascii=False),
                     rng.choice(categories), when, when))
        if len(rows) == 5000 or i == n - 1:
            with database.atomic():
                insert(Article, rows, fields)
            rows = []
    return round(time.perf_counter() - t0, 1)


# --- indexing --------------------------------------------------------------------------------

def _run_jobs(name: str) -> None:
    from appliance import jobs
    from appliance.models import Job
    while True:
        job = Job.select(Job.id).where((Job.name == name) & Job.done_at.is_null()).order_by(Job.id).first()
        if job is None:
            return
        jobs.run_job(job.id)  # claims up to jobs.BATCH_SIZE jobs of that name, one index commit


def _schedule(name: str, ids: list[int]) -> None:
    from appliance import jobs
    for first in range(0, len(ids), 1000):
        with jobs.unit_of_work():
            for i in ids[first:first + 1000]:
                jobs.schedule(name, i)


def index_tickets(settings, n: int, new: int) -> dict:
    from appliance import registry
    from appliance.models import Ticket
    from appliance.services import indexing
    cut = n - new
    t0 = time.perf_counter()

    def docs():
        last = 0
        while last < cut:
            rows = list(Ticket.select().where((Ticket.id > last) & (Ticket.id <= cut))
                        .order_by(Ticket.id).limit(2000))
            if not rows:
                return
            yield from (indexing.document(t) for t in rows)
            last = rows[-1].id
    built = registry.search_index(settings).rebuild(docs())
    build_s = time.perf_counter() - t0
    ids = [t.id for t in Ticket.select(Ticket.id).where(Ticket.id > cut).order_by(Ticket.id)]
    _schedule("index_ticket", ids)
    t1 = time.perf_counter()
    _run_jobs("index_ticket")
    job_s = time.perf_counter() - t1
    return {"rebuild_docs": built, "rebuild_s": round(build_s, 1), "rebuild_docs_per_s": round(built / build_s, 1),
            "job_path_tickets": len(ids), "job_path_s": round(job_s, 1),
            "job_path_tickets_per_s": round(len(ids) / job_s, 1)}


def reindex_tickets(n: int) -> dict:
    """The newest n tickets again through the job path (each an update: delete + add)."""
    from appliance.models import Ticket
    ids = [t.id for t in Ticket.select(Ticket.id).order_by(Ticket.id.desc()).limit(n)][::-1]
    _schedule("index_ticket", ids)
    t0 = time.perf_counter()
    _run_jobs("index_ticket")
    job_s = time.perf_counter() - t0
    return {"job_path_tickets": len(ids), "job_path_s": round(job_s, 1),
            "job_path_tickets_per_s": round(len(ids) / job_s, 1)}


def index_articles(settings) -> dict:
    from appliance.models import Article
    from appliance.services import knowledge_indexing
    t0 = time.perf_counter()
    count = knowledge_indexing.rebuild_articles()
    rebuild_s = time.perf_counter() - t0
    ids = [a.id for a in Article.select(Article.id).order_by(Article.id.desc()).limit(2000)]
    _schedule("index_article", ids)
    t1 = time.perf_counter()
    _run_jobs("index_article")
    job_s = time.perf_counter() - t1
    size = sum(f.stat().st_size for f in (Path(settings.index_dir) / "kb").rglob("*") if f.is_file())
    return {"rebuild_docs": count, "rebuild_s": round(rebuild_s, 1),
            "rebuild_articles_per_s": round(count / rebuild_s, 1), "job_path_articles": len(ids),
            "job_path_s": round(job_s, 1), "job_path_articles_per_s": round(len(ids) / job_s, 1),
            "index_mib": round(size / 2**20, 1)}


# --- searching --------------------------------------------------------------------------------

def query_set(rng: random.Random, n: int) -> dict[str, list[str]]:
    """What people type: short zh phrases (SMP2017 requests, complaint fragments, the fixed
    ticket-search words) and en customer messages (bitext instructions, banking77)."""
    from appliance import demo_texts as texts
    pool = texts.load_pool(common.DATA, random.Random(99), size=2000)
    zh, en = list(common.QUERIES["zh"]), list(common.QUERIES["en"])
    while len(zh) < n // 2:
        s = pool.take("zh").description
        start = rng.randrange(0, max(1, len(s) - 12))
        zh.append(s[start:start + rng.randint(4, 12)])
    while len(en) < n - n // 2:
        words = pool.take("en").description.split()
        en.append(" ".join(words[:rng.randint(3, 8)]))
    return {"zh": zh[:n // 2], "en": en[:n - n // 2]}


def _timed(fn, items, rounds: int, warm_up=()) -> dict:
    """`first`: each item's first run (nothing about it cached yet; dictionaries, the
    searcher and per-segment values warmed by `warm_up`); `again`: the later rounds,
    where the article index's decoded-postings cache holds the common words."""
    for item in warm_up:
        fn(item)
    first, again = [], []
    for r in range(rounds):
        for item in items:
            t = time.perf_counter()
            fn(item)
            (again if r else first).append(time.perf_counter() - t)
    return {"first": {k: round(v, 1) for k, v in common.stats_ms(first).items()},
            "again": {k: round(v, 1) for k, v in common.stats_ms(again).items()}}


def measure_search(queries: dict[str, list[str]], rounds: int) -> dict:
    """Each query set is measured in a fresh index object (empty caches), after a
    warm-up on the fixed ticket-search words (common.QUERIES)."""
    from appliance import registry
    from appliance.rules.access import Actor
    from appliance.services import knowledge_search as ks
    staff = Actor(user_id=1, role="admin")
    customer = Actor(user_id=2, role="customer", customer_id=1)
    warm = common.QUERIES["zh"] + common.QUERIES["en"]
    mixed = [q for pair in zip(queries["zh"], queries["en"]) for q in pair]
    runs = {"staff:mixed": (lambda q: ks.search_articles(staff, q), mixed),
            "portal:mixed": (lambda q: ks.search_articles(customer, q, scope="portal"), mixed),
            "staff:zh": (lambda q: ks.search_articles(staff, q), queries["zh"]),
            "staff:en": (lambda q: ks.search_articles(staff, q), queries["en"])}
    out = {}
    for name, (fn, items) in runs.items():
        registry._knowledge_index.cache_clear()  # a new index object: no cached postings
        out[name] = _timed(fn, [q for q in items if q not in warm], rounds, warm_up=warm)
    found = [ks.search_articles(staff, q, log=False).total for q in mixed]
    out["totals"] = {"median": sorted(found)[len(found) // 2], "no_result": sum(1 for f in found if not f)}
    return out


def measure_similar(rng: random.Random, rounds: int) -> dict:
    from appliance.models import Comment, Ticket
    from appliance.rules.access import Actor
    from appliance.services import knowledge_search as ks
    staff = Actor(user_id=1, role="admin")
    top = Ticket.select(Ticket.id).order_by(Ticket.id.desc()).first().id
    texts = []
    for tid in rng.sample(range(1, top + 1), 60):
        t = Ticket.get_by_id(tid)
        replies = " ".join(c.body for c in Comment.select(Comment.body).where(Comment.ticket == tid))
        texts.append(f"{t.subject}\n{t.description}\n{replies}")
    lengths = sorted(len(x) for x in texts)
    return {"texts": len(texts), "text_chars_median": lengths[len(lengths) // 2],
            "text_chars_max": lengths[-1],
            "similar_resolved_tickets": _timed(lambda x: ks.similar_resolved_tickets(staff, x), texts,
                                               rounds, warm_up=texts[:5]),
            "similar_articles": _timed(lambda x: ks.similar_articles(x, None, include_unpublished=True),
                                       texts, rounds, warm_up=texts[:5])}


if __name__ == "__main__":
    main()
