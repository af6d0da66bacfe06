"""The measured HTTP scenarios: queue pages, ticket pages, search pages, API creation.

Each returns {scenario name: figures}; figures are stats_ms() plus n, errors, rps.
"""
from __future__ import annotations

import html
import json
import random
import re
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import common
from client import Client, run_parallel

VIEWS = ("open", "mine", "unassigned", "all")
NEXT = re.compile(r'<a href="([^"]+)" id="next-page"')


def figures(run: dict) -> dict:
    return {**common.stats_ms(run["latencies"]), "errors": run["errors"], "rps": run["rps"]}


def _page(client: Client, job) -> bool:
    status, body, _ = client.request("GET", job[1], headers={"Cookie": job[0]})
    return status == 200


def _warm(base: str, jobs: list, threads: int) -> None:
    """Unmeasured passes so that every worker has loaded templates, caches and jieba.

    At least four connections, so that both gunicorn workers get some (a single
    keep-alive connection stays on one worker)."""
    run_parallel(base, {}, jobs * 2, max(4, threads), _page)


def queue_pages(base: str, cookies: dict[str, str], rounds: int, threads: int) -> dict:
    """First page of each named view for agent, supervisor and admin, then the next page."""
    firsts = [(cookie, f"/agent/?view={view}") for cookie in cookies.values() for view in VIEWS]
    _warm(base, firsts, threads)
    nexts = []
    client = Client(base)
    for cookie, path in firsts:
        status, body, _ = client.request("GET", path, headers={"Cookie": cookie})
        m = NEXT.search(body.decode())
        if m:
            nexts.append((cookie, html.unescape(m.group(1))))
    out = {}
    for view in VIEWS:
        jobs = [j for j in firsts if j[1].endswith(f"={view}")] * rounds
        out[f"queue:{view}"] = figures(run_parallel(base, {}, jobs, threads, _page))
    if nexts:
        out["queue:next page"] = figures(run_parallel(base, {}, nexts * rounds, threads, _page))
    return out


def _db(out: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{out}/bench.db?mode=ro", uri=True)


def _visible_ids(out: Path, username: str, n: int, rng: random.Random) -> list[int]:
    """Random tickets this user may open (admins: any; agents: their department's)."""
    db = _db(out)
    uid, role, dept = db.execute('SELECT id, role, department_id FROM "user" WHERE username = ?',
                                 (username,)).fetchone()
    top = db.execute("SELECT max(id) FROM ticket").fetchone()[0]
    ids: list[int] = []
    while len(ids) < n:
        batch = [rng.randint(1, top) for _ in range(n * 4)]
        q = f"SELECT id FROM ticket WHERE id IN ({','.join('?' * len(batch))})"
        if role != "admin":
            q += " AND (department_id = ? OR department_id IS NULL OR assignee_id = ?)"
        ids += [r[0] for r in db.execute(q, batch + ([dept, uid] if role != "admin" else []))]
    db.close()
    rng.shuffle(ids)
    return ids[:n]


def ticket_pages(base: str, cookies: dict[str, str], out: Path, n: int, threads: int,
                 rng: random.Random) -> dict:
    logins = common.read_logins(out)
    result = {}
    for role in ("agent", "admin"):
        ids = _visible_ids(out, logins[role]["username"], n, rng)
        jobs = [(cookies[role], f"/agent/tickets/{i}") for i in ids]
        _warm(base, jobs[:8], threads)
        result[f"ticket:{role}"] = figures(run_parallel(base, {}, jobs, threads, _page))
    return result


def search_pages(base: str, cookie: str, rounds: int, threads: int) -> dict:
    """The agent search page for the fixed Chinese and English queries."""
    result = {}
    for lang, queries in common.QUERIES.items():
        jobs = [(cookie, "/agent/search?q=" + quote(q)) for q in queries]
        _warm(base, jobs, threads)
        result[f"search:{lang}"] = figures(run_parallel(base, {}, jobs * rounds, threads, _page))
    return result


def _payloads(out: Path, rng: random.Random, n: int = 5000) -> list[bytes]:
    from appliance import demo_texts as texts
    db = _db(out)
    cats = {f"{p}/{c}": (cid, dept) for cid, c, p, dept in db.execute(
        "SELECT c.id, c.name, p.name, c.department_id FROM category c "
        "JOIN category p ON p.id = c.parent_id")}
    customers = db.execute("SELECT max(id) FROM customer").fetchone()[0]
    db.close()
    pool = texts.load_pool(common.DATA if common.DATA.is_dir() else None, rng, size=n)
    bodies = []
    for _ in range(n):
        src = pool.take("en" if rng.random() < 0.4 else "zh")
        cat, dept = cats[src.category]
        bodies.append(json.dumps({
            "subject": src.subject, "description": src.description, "priority": src.priority,
            "category_id": cat, "department_id": dept, "customer_id": rng.randint(1, customers),
            "channel": "api"}, ensure_ascii=False).encode())
    return bodies


class _Creator:
    """Client threads posting tickets until a deadline; collects ids and latencies."""

    def __init__(self, base: str, headers: dict, bodies: list[bytes], threads: int):
        self.base, self.headers, self.bodies, self.threads = base, headers, bodies, threads
        self.created: list[int] = []
        self.answers: dict[int, dict] = {}   # id -> the 201 body, compared with a later GET
        self.latencies: list[float] = []
        self.errors = 0
        self.lock = threading.Lock()

    def run(self, seconds: float) -> float:
        deadline = time.perf_counter() + seconds
        pool = [threading.Thread(target=self.loop, args=(k, deadline)) for k in range(self.threads)]
        t0 = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return time.perf_counter() - t0

    def loop(self, k: int, deadline: float) -> None:
        client, i = Client(self.base, self.headers), k
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            try:
                status, body, _ = client.request("POST", "/api/v1/tickets",
                                                 self.bodies[i % len(self.bodies)])
            except OSError:
                status, body = 0, b""
            with self.lock:
                self.latencies.append(time.perf_counter() - t)
                if status == 201:
                    doc = json.loads(body)
                    self.created.append(doc.get("summary", doc)["id"])
                    self.answers[self.created[-1]] = doc
                else:
                    self.errors += 1
            i += self.threads


def create_tickets(base: str, token: str, seconds: float, threads: int, rng: random.Random,
                   out: Path = common.OUT, server_cpu=None) -> dict:
    """POST /api/v1/tickets for `seconds` on `threads` threads, then read every one back.
    `server_cpu()`, when given, says how many CPU seconds the server has used so far."""
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    creator = _Creator(base, auth, _payloads(out, rng), threads)
    cpu0, client0 = (server_cpu() if server_cpu else None), time.process_time()
    wall = creator.run(seconds)
    cpu = server_cpu() - cpu0 if server_cpu else None
    client = time.process_time() - client0  # this process: the client threads share the cores
    differs = []

    def read(c: Client, i: int) -> bool:
        status, body, _ = c.get(f"/api/v1/tickets/{i}")
        if status == 200 and json.loads(body) != creator.answers[i]:
            differs.append(i)  # the 201 answered something else than the stored ticket
        return status == 200
    readback = run_parallel(base, auth, creator.created, threads, read)
    return {"create:api": {
        **common.stats_ms(creator.latencies), "errors": creator.errors,
        "rps": len(creator.created) / wall, "unreadable": readback["errors"],
        # With a worker running, triage and dispatch change tickets after the 201.
        "differs_from_201": len(differs),
        "server_cpu_ms_per_ticket": cpu * 1000 / len(creator.created)
        if cpu is not None and creator.created else None,
        "client_cpu_ms_per_ticket": client * 1000 / max(1, len(creator.created)),
        "read_p95": common.stats_ms(readback["latencies"])["p95"]}}


MIX = (("queue", 0.45), ("ticket", 0.45), ("search", 0.10))


def _mixed_jobs(cookies: dict[str, str], out: Path, rng: random.Random,
                n: int) -> list[tuple[str, str, str]]:
    """n (kind, cookie, path) requests drawn from MIX: queue views of all three users,
    ticket pages the agent or admin may open, and the agent's searches."""
    logins = common.read_logins(out)
    tickets = {role: _visible_ids(out, logins[role]["username"], n, rng)
               for role in ("agent", "admin")}
    queries = [q for qs in common.QUERIES.values() for q in qs]
    kinds, weights = zip(*MIX)
    jobs = []
    for k in rng.choices(kinds, weights, k=n):
        if k == "queue":
            role = rng.choice(list(cookies))
            jobs.append((k, cookies[role], f"/agent/?view={rng.choice(VIEWS)}"))
        elif k == "ticket":
            role = rng.choice(("agent", "admin"))
            jobs.append((k, cookies[role], f"/agent/tickets/{tickets[role].pop()}"))
        else:
            jobs.append((k, cookies["agent"], "/agent/search?q=" + quote(rng.choice(queries))))
    return jobs


def mixed_open_loop(base: str, cookies: dict[str, str], out: Path, rate: float,
                    seconds: float, rng: random.Random) -> dict:
    """Agents' page traffic as it arrives in a contact centre: requests at random
    (Poisson) times averaging `rate` per second, whatever the server's speed, each on
    its own keep-alive connection from a pool. A closed loop of N clients that fire again
    the moment an answer arrives measures saturation; this measures the latency agents
    see at a given load. Latency runs from the request's scheduled time, so time spent
    waiting for a free client thread counts too (no coordinated omission)."""
    n = max(1, int(rate * seconds))
    jobs = _mixed_jobs(cookies, out, rng, n)
    _warm(base, [(c, p) for _, c, p in jobs[:24]], 4)
    local = threading.local()
    samples: dict[str, list[float]] = {k: [] for k, _ in MIX}
    errors = {k: 0 for k, _ in MIX}
    lock = threading.Lock()

    def one(job, due: float) -> None:
        kind, cookie, path = job
        if not hasattr(local, "client"):
            local.client = Client(base)
        try:
            ok = _page(local.client, (cookie, path))
        except Exception:  # counted as an error in the figures
            ok = False
            local.client.close()
        with lock:
            samples[kind].append(time.perf_counter() - due)
            errors[kind] += 0 if ok else 1

    t0 = time.perf_counter()
    due = t0
    with ThreadPoolExecutor(32) as pool:
        for job in jobs:
            due += rng.expovariate(rate)
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(one, job, due)
    wall = time.perf_counter() - t0
    return {f"mixed {rate:g}/s:{k}": {**common.stats_ms(v), "errors": errors[k],
                                       "rps": len(v) / wall} for k, v in samples.items()}
