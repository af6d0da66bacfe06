"""Chat and call intake: how fast /api/v1/intake/chat and /intake/call accept a posted
conversation (target p95 <= 200 ms; the AI step is queued, not timed).

    .venv/bin/python bench/intake_api.py                       # 500 requests, 4 clients
    .venv/bin/python bench/intake_api.py -n 2000 --clients 8
    .venv/bin/python bench/intake_api.py --database postgresql://postgres@127.0.0.1:5432/gd_bench

Uses its own site under bench/out/intake (a fresh SQLite database each run, or the
given PostgreSQL database, migrated), makes two integration tokens with the real CLI
(`gongdan integration add`), starts the product's `gongdan serve` on a free loopback
port (as bench/http_bench.py does), and posts N conversations, half chats and half
calls, from K client threads on keep-alive connections. Each has its own id; one in
four comes from a returning customer (matched by phone), the rest from new customers.
After the timed pass it re-posts 50 of them to time the idempotent replay (200).
Prints the latency percentiles, the error count and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import common  # noqa: E402  (bench/common.py; puts the repo root on sys.path)
from client import run_parallel
from http_bench import start_server

TARGET_P95_MS = 200.0
LINES = [("客户", "你好，我买的洗衣机不能脱水了，订单号 SO2026{n:06d}。"),
         ("坐席", "您好，请问是什么型号？什么时候开始出现的问题？"),
         ("客户", "型号 XQG100，前天开始的，一直显示 E21 错误。"),
         ("坐席", "好的，我为您登记上门维修，师傅会在 24 小时内联系您。"),
         ("customer", "Thanks, please call me at 138{n:08d} before coming.")]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", "--requests", type=int, default=500)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--out", type=Path, default=common.OUT / "intake")
    p.add_argument("--database", default="", help="PostgreSQL URL (default: fresh SQLite)")
    args = p.parse_args(argv)
    out = args.out.resolve()
    fresh_site(out, args.database)
    env = common.bench_env(out)
    tokens = {ch: make_token(env, ch) for ch in ("chat", "call")}
    load_before = os.getloadavg()
    base, proc = start_server(out)
    try:
        results = run(base, tokens, args.requests, args.clients)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    results["load_before"], results["load_after"] = load_before, os.getloadavg()
    report(results, args)
    (out / "intake-results.json").write_text(json.dumps(results, indent=1, default=str))


def fresh_site(out: Path, database: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in ("bench.db", "bench.db-wal", "bench.db-shm", "queue.db", "queue.db-wal",
                 "queue.db-shm"):
        (out / name).unlink(missing_ok=True)
    # Its own settings file, so that the CLI and `gongdan serve` use the same database.
    config = out / "gongdan.toml"
    config.write_text(
        f'database_url = "{database or f"sqlite:///{out}/bench.db"}"\n'
        f'queue_url = "sqlite:///{out}/queue.db"\nindex_dir = "{out}/index"\n'
        f'attachment_dir = "{out}/attachments"\nsecret_key = "{secrets.token_hex(32)}"\n'
        'log_level = "WARNING"\n', encoding="utf-8")
    os.chmod(config, 0o600)
    env = common.bench_env(out)
    subprocess.run([sys.executable, "-m", "appliance.cli", "db", "upgrade"], env=env,
                   cwd=common.ROOT, check=True, capture_output=True)


def make_token(env: dict, channel: str) -> str:
    r = subprocess.run([sys.executable, "-m", "appliance.cli", "integration", "add",
                        f"bench {channel}", "--channel", channel], env=env, cwd=common.ROOT,
                       check=True, capture_output=True, text=True)
    return r.stdout.strip().splitlines()[-1]


def payload(i: int, rng: random.Random) -> tuple[str, dict]:
    who = rng.randrange(i // 4 + 1) if i % 4 == 0 else i  # one in four: a returning customer
    phone = f"138{who:08d}"
    lines = [(s, t.format(n=i)) for s, t in LINES]
    if i % 2 == 0:
        return "chat", {"id": f"bench-chat-{i}", "channel": "web-chat",
                        "customer": {"name": f"客户{who}", "phone": phone},
                        "started_at": "2026-05-01T09:30:00+08:00",
                        "ended_at": "2026-05-01T09:41:00+08:00",
                        "messages": [{"speaker": s, "text": t} for s, t in lines]}
    return "call", {"call_id": f"bench-call-{i}", "caller": phone, "callee": "4008001234",
                    "agent": "1002", "start": "2026-05-01T01:30:00Z",
                    "end": "2026-05-01T01:34:10Z", "recording_ref": f"rec/{i}.wav",
                    "transcript": [{"speaker": "A" if s in ("客户", "customer") else "B",
                                    "text": t, "start": k * 10.0}
                                   for k, (s, t) in enumerate(lines)]}


def run(base: str, tokens: dict, n: int, clients: int) -> dict:
    rng = random.Random(5)
    jobs = [payload(i, rng) for i in range(n)]
    seen: dict[str, list[float]] = {"chat": [], "call": []}
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def post(client, job, expect=202):
        channel, body = job
        t = time.perf_counter()
        status, _, _ = client.request(
            "POST", f"/api/v1/intake/{channel}", json.dumps(body, ensure_ascii=False).encode(),
            {"Authorization": f"Bearer {tokens[channel]}", "Content-Type": "application/json"})
        with lock:
            seen[channel].append(time.perf_counter() - t)
            statuses[status] = statuses.get(status, 0) + 1
        return status == expect

    warm = [payload(n + i, rng) for i in range(clients * 2)]  # reach every worker first
    run_parallel(base, {}, warm, clients, post)
    seen["chat"].clear(), seen["call"].clear(), statuses.clear()
    timed = run_parallel(base, {}, jobs, clients, post)
    accepted, by_channel = dict(statuses), {k: common.stats_ms(v) for k, v in seen.items()}
    replay = run_parallel(base, {}, jobs[:50], clients, lambda c, j: post(c, j, expect=200))
    return {"machine": common.machine(), "requests": n, "clients": clients,
            "all": common.stats_ms(timed["latencies"]), **by_channel,
            "errors": timed["errors"], "rps": timed["rps"], "statuses": accepted,
            "replay": common.stats_ms(replay["latencies"]), "replay_errors": replay["errors"]}


def report(r: dict, args) -> None:
    a = r["all"]
    rows = [["accept (chat + call)", a["n"], a["p50"], a["p95"], a["p99"], a["max"], r["errors"]]]
    rows += [[f"  {ch} only", r[ch]["n"], r[ch]["p50"], r[ch]["p95"], r[ch]["p99"], r[ch]["max"], ""]
             for ch in ("chat", "call")]
    rows += [            ["replay (same payload, 200)", r["replay"]["n"], r["replay"]["p50"],
             r["replay"]["p95"], r["replay"]["p99"], r["replay"]["max"], r["replay_errors"]]]
    print(f"machine: {r['machine']}")
    print(f"database: {args.database or 'SQLite'}; {r['clients']} clients; "
          f"{r['rps']:.0f} requests/s; statuses {r['statuses']}")
    print(common.table(["scenario", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"],
                       rows))
    load = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    print(f"load average before {load(r['load_before'])}, after {load(r['load_after'])}")
    verdict = "meets" if a["p95"] <= TARGET_P95_MS else "MISSES"
    print(f"p95 {a['p95']:.1f} ms {verdict} the target of {TARGET_P95_MS:.0f} ms")


if __name__ == "__main__":
    main()
