"""Live updates: how long an event takes to reach every open page (target p95 <= 1 s with
200 open connections).

    .venv/bin/python bench/live_latency.py                   # 200 streams, 2 notes/s, 60 s
    .venv/bin/python bench/live_latency.py --streams 200 --rate 5 --seconds 60
    .venv/bin/python bench/live_latency.py --database postgresql://postgres@127.0.0.1:5432/gd_bench_live

Uses its own site under bench/out/live (a fresh SQLite database each run, or the given
PostgreSQL database, migrated and emptied), with --agents agents of one department, one
ticket they all have open, 50 more tickets and --backlog old live events. Starts the
product's `gongdan serve` (2 workers, settings as shipped) on a loopback port, logs the
agents in through the form, and opens --streams server-sent-event streams from one asyncio
client (raw HTTP/1.0 connections; each stream follows the ticket and the "all open"
queue, as the ticket page and a queue page do). A refused stream (503: its worker is
full) is retried after a second, as a page would after polling a while.

Then one admin posts internal notes to the ticket through the REST API at --rate per
second for --seconds. For every note and every stream: the time from the API request's
start, and from its response, to the note's event arriving on the stream. Also the CPU
and resident memory of the gunicorn workers while idle with all streams open, and while
the notes flow, and the load average.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import common  # noqa: E402  (bench/common.py; puts the repo root on sys.path)
from client import Client, login
from http_bench import start_server

TARGET_P95_MS = 1000.0
TICK = os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--streams", type=int, default=200)
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--rate", type=float, default=2.0, help="notes per second")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--backlog", type=int, default=100_000, help="old live events in the table")
    p.add_argument("--out", type=Path, default=common.OUT / "live")
    p.add_argument("--database", default="", help="PostgreSQL URL (default: fresh SQLite)")
    args = p.parse_args(argv)
    out = args.out.resolve()
    site = fresh_site(out, args)
    load_before = os.getloadavg()
    base, proc = start_server(out)
    try:
        results = asyncio.run(run(base, proc.pid, site, args))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    results.update(load_before=load_before, load_after=os.getloadavg(),
                   machine=common.machine(), args=vars(args) | {"out": str(out)})
    report(results, args)
    (out / "live-results.json").write_text(json.dumps(results, indent=1, default=str))


# --- the site ----------------------------------------------------------------------------------

def fresh_site(out: Path, args) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    for name in ("bench.db", "bench.db-wal", "bench.db-shm", "queue.db", "queue.db-wal",
                 "queue.db-shm"):
        (out / name).unlink(missing_ok=True)
    config = out / "gongdan.toml"
    config.write_text(
        f'database_url = "{args.database or f"sqlite:///{out}/bench.db"}"\n'
        f'queue_url = "sqlite:///{out}/queue.db"\nindex_dir = "{out}/index"\n'
        f'attachment_dir = "{out}/attachments"\nsecret_key = "{secrets.token_hex(32)}"\n'
        'log_level = "WARNING"\nai_enabled = false\n', encoding="utf-8")
    os.chmod(config, 0o600)
    env = common.bench_env(out)
    subprocess.run([sys.executable, "-m", "appliance.cli", "db", "upgrade"], env=env,
                   cwd=common.ROOT, check=True, capture_output=True)
    common.boot(out)
    if args.database:
        from appliance.db import database
        from appliance.models import ALL_MODELS
        tables = ", ".join(f'"{m._meta.table_name}"' for m in ALL_MODELS)
        database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return populate(args)


def populate(args) -> dict:
    """One department, its agents, the ticket they all watch, old events; an admin token."""
    from appliance.models import LiveEvent, User, utcnow
    from appliance.rules.access import SYSTEM
    from appliance.services import org, tickets, users
    from appliance import runtime
    dept = org.save_department(SYSTEM, "AS", "售后", "After-sales")
    agents = []
    for i in range(args.agents):
        _, password = users.create_user(SYSTEM, f"agent{i:02d}", f"坐席{i:02d}", "agent",
                                        department_id=dept.id)
        agents.append((f"agent{i:02d}", password))
    admin, _ = users.create_user(SYSTEM, "benchadmin", "管理员", "admin")
    admin_actor = users.actor_of(User.get_by_id(admin.id))
    _, token = users.create_api_token(admin_actor, "live bench")
    first = None
    for i in range(51):
        t = tickets.create_ticket(admin_actor, tickets.TicketInput(
            subject=f"洗衣机不能脱水 #{i}", department_id=dept.id, channel="phone"),
            runtime.settings()).summary
        first = first or t.id
    old = utcnow().replace(year=2020)
    for start in range(0, args.backlog, 5000):
        LiveEvent.insert_many([{"ticket_id": first + 1 + (k % 50), "kind": "note_added",
                                "internal": True, "created_at": old}
                               for k in range(start, min(start + 5000, args.backlog))]).execute()
    return {"ticket": first, "agents": agents, "token": token}


# --- the streams -------------------------------------------------------------------------------

class Stream:
    """One page's stream on its own connection; arrival times of the notes' events."""

    def __init__(self, port: int, cookie: str, topics: str):
        self.port, self.cookie, self.topics = port, cookie, topics
        self.arrivals: dict[int, float] = {}   # live event id -> time.monotonic()
        self.hints = 0
        self.refused = 0
        self.statuses: dict[str, int] = {}   # of the refusals
        self.node = ""
        self.ready = asyncio.Event()

    async def run(self) -> None:
        while True:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            writer.write((f"GET /live/stream?topics={self.topics} HTTP/1.0\r\n"
                          f"Host: 127.0.0.1\r\nCookie: {self.cookie}\r\n"
                          "Accept: text/event-stream\r\n\r\n").encode())
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            if " 200 " in head.split("\r\n")[0]:
                break
            self.refused += 1
            status = head.split("\r\n")[0].split(" ")[1]
            self.statuses[status] = self.statuses.get(status, 0) + 1
            writer.close()
            await asyncio.sleep(1.0)
        for line in head.split("\r\n"):
            if line.lower().startswith("x-gongdan-worker:"):
                self.node = line.split(":", 1)[1].strip()
        self.ready.set()
        try:
            while True:
                block = await reader.readuntil(b"\n\n")
                now = time.monotonic()
                if not block.startswith(b"id: "):
                    continue
                data = json.loads(block.split(b"data: ", 1)[1])
                if data["kind"] == "note_added":
                    self.arrivals[data["id"]] = now
                else:
                    self.hints += 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def post_notes(base: str, token: str, ticket: int, rate: float, seconds: float,
               sent: list) -> None:
    """Sequential notes at a steady rate: (request start, response end) per note."""
    c = Client(base, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    interval, start = 1.0 / rate, time.monotonic()
    for k in range(int(rate * seconds)):
        delay = start + k * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t0 = time.monotonic()
        status, body, _ = c.request("POST", f"/api/v1/tickets/{ticket}/comments",
                                    json.dumps({"body": f"进度更新 {k}", "internal": True}).encode())
        if status != 201:
            raise RuntimeError(f"note {k}: HTTP {status} {body[:200]!r}")
        sent.append((t0, time.monotonic()))
    c.close()


async def run(base: str, master: int, site: dict, args) -> dict:
    port = int(base.rsplit(":", 1)[1])
    cookies = [login(base, u, pw) for u, pw in site["agents"]]
    topics = f"ticket:{site['ticket']},queue:open"
    streams = [Stream(port, cookies[i % len(cookies)], topics) for i in range(args.streams)]
    tasks = [asyncio.create_task(s.run()) for s in streams]
    opened = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in streams)), 120)
    connect_s = time.monotonic() - opened
    workers = common.children(master)
    idle = await measure(workers, 10.0)
    sent: list = []
    thread = threading.Thread(target=post_notes, args=(base, site["token"], site["ticket"],
                                                       args.rate, args.seconds, sent))
    cpu0, t0 = cpu_ticks(workers), time.monotonic()
    thread.start()
    while thread.is_alive():
        await asyncio.sleep(0.2)
    await asyncio.sleep(3.0)  # the last events on their way
    busy = {"cpu_percent": cpu_percent(cpu0, cpu_ticks(workers), time.monotonic() - t0),
            "rss_mib": rss(workers)}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return summarize(streams, sent, connect_s, idle, busy, workers)


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out[pid] = int(fields[11]) + int(fields[12])  # utime + stime
    return out


def cpu_percent(before: dict, after: dict, seconds: float) -> list[float]:
    return [round(100 * (after[p] - before[p]) / TICK / seconds, 1) for p in before]


def rss(pids: list[int]) -> list[float]:
    return [round(common.rss_kib(p) / 1024, 1) for p in pids]


async def measure(workers: list[int], seconds: float) -> dict:
    before, t0 = cpu_ticks(workers), time.monotonic()
    await asyncio.sleep(seconds)
    return {"cpu_percent": cpu_percent(before, cpu_ticks(workers), time.monotonic() - t0),
            "rss_mib": rss(workers)}


def summarize(streams, sent, connect_s, idle, busy, workers) -> dict:
    # The k-th note's event is the k-th note_added id (one sender, one ticket, in order).
    ids = sorted({i for s in streams for i in s.arrivals})
    from_start, from_reply, missing = [], [], 0
    for k, (t_start, t_reply) in enumerate(sent):
        if k >= len(ids):
            missing += len(streams)
            continue
        for s in streams:
            at = s.arrivals.get(ids[k])
            if at is None:
                missing += 1
                continue
            from_start.append(at - t_start)
            from_reply.append(max(0.0, at - t_reply))
    api = [b - a for a, b in sent]
    per_node: dict[str, int] = {}
    for s in streams:
        per_node[s.node] = per_node.get(s.node, 0) + 1
    return {"streams": len(streams), "notes": len(sent), "deliveries": len(from_start),
            "missing": missing, "refused": sum(s.refused for s in streams),
            "refused_by_status": _merged([s.statuses for s in streams]),
            "streams_per_worker": sorted(per_node.values()), "connect_s": round(connect_s, 1),
            "queue_hints": sum(s.hints for s in streams),
            "from_request": common.stats_ms(from_start), "from_response": common.stats_ms(from_reply),
            "api": common.stats_ms(api), "idle": idle, "busy": busy, "workers": workers}


def _merged(counts: list[dict]) -> dict:
    out: dict = {}
    for c in counts:
        for k, v in c.items():
            out[k] = out.get(k, 0) + v
    return out


def report(r: dict, args) -> None:
    print(f"\n{r['machine']}")
    print(f"{r['streams']} streams ({r['streams_per_worker']} per worker, {r['refused']} "
          f"refusals while connecting {r['refused_by_status']}, all open after "
          f"{r['connect_s']} s); "
          f"{r['notes']} notes at {args.rate}/s; {r['deliveries']} deliveries, "
          f"{r['missing']} missing; {r['queue_hints']} queue hints\n")
    rows = [[name, s["n"], s["p50"], s["p95"], s["p99"], s["max"]]
            for name, s in (("API request start → event on a stream", r["from_request"]),
                            ("API response → event on a stream", r["from_response"]),
                            ("API request (POST note)", r["api"]))]
    print(common.table(["latency (ms)", "n", "p50", "p95", "p99", "max"], rows))
    print(f"\nworkers: idle with all streams open CPU {r['idle']['cpu_percent']} %, "
          f"RSS {r['idle']['rss_mib']} MiB; while notes flow CPU {r['busy']['cpu_percent']} %, "
          f"RSS {r['busy']['rss_mib']} MiB")
    print(f"load average before {r['load_before']}, after {r['load_after']}")
    verdict = "met" if r["from_request"]["p95"] <= TARGET_P95_MS and not r["missing"] else "MISSED"
    print(f"target p95 <= {TARGET_P95_MS:.0f} ms to every open page: {verdict}")


if __name__ == "__main__":
    main()
