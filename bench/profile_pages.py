"""Where a page's time goes: cProfile of agent pages served in-process (Flask test client).

    .venv/bin/python bench/profile_pages.py /agent/?view=open /agent/tickets/123
    .venv/bin/python bench/profile_pages.py --as admin --repeat 50 --top 30 /agent/?view=all
    .venv/bin/python bench/profile_pages.py POST:/api/v1/tickets    # API creation, bench token

Logs in by creating a server-side session directly (no password, no CSRF: this is a
profiler, not a benchmark) and prints each path's mean time plus the top functions by
cumulative time, and the SQL statement count per request. A path written POST:/api/...
is posted a sample ticket as JSON with the bench admin's API token. The app is built
with the queue wired (as in gunicorn), so enqueueing after commit is profiled too.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from pathlib import Path

import common  # noqa: E402  (bench/common.py; puts the repo root on sys.path)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="+")
    p.add_argument("--out", type=Path, default=common.OUT)
    p.add_argument("--as", dest="role", default="agent", choices=("agent", "supervisor", "admin"))
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--sql", action="store_true", help="also list one request's SQL statements")
    args = p.parse_args(argv)
    from appliance.settings import load_settings
    from webapp import create_app
    app = create_app(load_settings(common.config_path(args.out), environ={}))
    client = app.test_client()
    client.set_cookie("gd_session", _session(args.out, args.role))
    token = common.read_logins(args.out)["admin"]["token"]
    for path in args.paths:
        profile(client, path, args.repeat, args.top, token, args.sql)


def _session(out: Path, role: str) -> str:
    from appliance.db import database
    from appliance.models import User
    from appliance.services import users
    username = common.read_logins(out)[role]["username"]
    with database.connection_context():
        return users.start_session(User.get(User.username == username), "127.0.0.1", "profiler")


SAMPLE = {"subject": "快递三天了还没有送到", "description": "订单显示已发货，物流信息一直没有更新。",
          "priority": 3, "channel": "api"}


def profile(client, path: str, repeat: int, top: int, token: str, sql: bool = False) -> None:
    from appliance.db import database
    if path.startswith("POST:"):
        url = path[len("POST:"):]
        call = lambda: client.post(url, json=SAMPLE, headers={  # noqa: E731
            "Authorization": f"Bearer {token}"})
    else:
        call = lambda: client.get(path)  # noqa: E731
    status = call().status_code  # warm-up
    seen: list[str] = []
    statements = _count_sql(database, call, seen)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for _ in range(repeat):
        call()
    prof.disable()
    mean = (time.perf_counter() - t0) / repeat * 1000
    print(f"\n=== {path}: HTTP {status}, {mean:.1f} ms/request (profiled), "
          f"{statements} SQL statements/request")
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    print("\n".join(line for line in buf.getvalue().splitlines()[6:] if line.strip()))
    if sql:
        print("\n".join(seen))


def _count_sql(database, fn, seen: list[str]) -> int:
    """SQL statements one request runs (wraps the connection's execute_sql); their text
    (first 160 characters) goes to `seen`."""
    db = database.obj
    original, count = db.execute_sql, [0]

    def counting(sql, params=None, *a, **k):
        count[0] += 1
        seen.append(sql[:160])
        return original(sql, params, *a, **k)
    db.execute_sql = counting
    try:
        fn()
    finally:
        db.execute_sql = original
    return count[0]


if __name__ == "__main__":
    main()
