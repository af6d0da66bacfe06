"""A small keep-alive HTTP client for the benchmarks, and a parallel runner.

http.client rather than requests: on a 2-core box the client shares the CPU with
gunicorn, and http.client costs a fraction of requests' per-call overhead, so the
figures are more about the server and less about the load generator.
"""
from __future__ import annotations

import http.client
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from typing import Callable
from urllib.parse import urlencode, urlsplit

CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


class Client:
    """One keep-alive connection (per thread); reconnects once if the server closed it."""

    def __init__(self, base: str, headers: dict[str, str] | None = None):
        u = urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.headers = dict(headers or {})
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPMessage]:
        all_headers = {**self.headers, **(headers or {})}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=all_headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, data, resp.headers
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str) -> tuple[int, bytes, http.client.HTTPMessage]:
        return self.request("GET", path)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def login(base: str, username: str, password: str, totp: str = "") -> str:
    """Log in through the form (CSRF token included), with the authenticator's code when
    the account has one (`totp`: its secret); returns the Cookie header to send."""
    c = Client(base)
    status, body, headers = c.get("/login")
    jar = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        jar.load(value)
    token = CSRF.search(body.decode())
    if status != 200 or not token:
        raise RuntimeError(f"login page: HTTP {status}, csrf token found: {bool(token)}")
    form = urlencode({"csrf_token": token.group(1), "username": username, "password": password})
    status, body, headers = c.request("POST", "/login", form.encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{k}={m.value}" for k, m in jar.items())})
    for value in headers.get_all("Set-Cookie") or []:
        jar.load(value)
    if status != 302 or "gd_session" not in jar:
        raise RuntimeError(f"login as {username} failed: HTTP {status}")
    if "/login/verify" in (headers.get("Location") or ""):
        _second_step(c, jar, username, totp)
    c.close()
    return "; ".join(f"{k}={m.value}" for k, m in jar.items() if m.value)


def _second_step(c: Client, jar: SimpleCookie, username: str, secret: str) -> None:
    """The TOTP step of the login. A code's time step can be used once: when this one's
    was used already (the enrolment, or a login moments ago), the next step's code, which
    the server accepts for clock drift, is tried."""
    import pyotp
    if not secret:
        raise RuntimeError(f"{username} needs a second factor and the bench has no secret")
    cookie = {"Cookie": "; ".join(f"{k}={m.value}" for k, m in jar.items())}
    for offset in (0, 30):
        status, body, _ = c.request("GET", "/login/verify", None, cookie)
        token = CSRF.search(body.decode())
        form = urlencode({"csrf_token": token.group(1) if token else "",
                          "code": pyotp.TOTP(secret).at(time.time() + offset)})
        status, _, headers = c.request("POST", "/login/verify", form.encode(), {
            **cookie, "Content-Type": "application/x-www-form-urlencoded"})
        if status == 302:
            for value in headers.get_all("Set-Cookie") or []:
                jar.load(value)   # the session may be renewed once it is complete
            return
    raise RuntimeError(f"second step for {username} failed: HTTP {status}")


def run_parallel(base: str, headers: dict[str, str], jobs: list, threads: int,
                 call: Callable[[Client, object], bool]) -> dict:
    """Run `call(client, job)` for every job on `threads` threads; time each call.

    Returns latencies (s), error count, wall time and requests per second.
    """
    local = threading.local()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def one(job) -> None:
        if not hasattr(local, "client"):
            local.client = Client(base, headers)
        t = time.perf_counter()
        try:
            ok = call(local.client, job)
        except Exception:  # a failed request is an error in the figures, not a crash
            ok = False
            local.client.close()
        dt = time.perf_counter() - t
        with lock:
            latencies.append(dt)
            errors[0] += 0 if ok else 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, jobs))
    wall = time.perf_counter() - t0
    return {"latencies": latencies, "errors": errors[0], "wall": wall,
            "rps": len(latencies) / wall if wall else 0.0}
