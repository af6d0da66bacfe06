"""A real gunicorn for the live-update tests (as `gongdan serve` starts it) and a small
server-sent-events reader: each stream its own TCP connection, read on its own thread."""
from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(settings, folder: Path, **overrides) -> tuple[str, subprocess.Popen]:
    """`gongdan serve` on a loopback port with the test's database; waits for /healthz."""
    port = free_port()
    values = {"database_url": settings.database_url, "queue_url": settings.queue_url,
              "index_dir": settings.index_dir, "attachment_dir": settings.attachment_dir,
              "model_dir": settings.model_dir, "secret_key": settings.secret_key,
              "keys_dir": settings.keys_dir,
              "timezone": "UTC", "default_locale": "en", "bind": f"127.0.0.1:{port}",
              "web_workers": 2, **overrides}
    cfg = folder / f"live-{port}.toml"
    cfg.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()),
                   encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGDAN_")}
    env["GONGDAN_CONFIG"] = str(cfg)
    log = open(folder / f"web-{port}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "serve"], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(folder / f'web-{port}.log').read_text()[-2000:]}")
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return base, proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become healthy")


def stop_server(proc: subprocess.Popen, timeout: float = 20) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def login(base: str, username: str, password: str) -> dict:
    """The session cookie of a real login through the form."""
    s = requests.Session()
    html = s.get(base + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = s.post(base + "/login", data={"username": username, "password": password,
                                      "csrf_token": token}, allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[:300]
    return s.cookies.get_dict()


@dataclass
class Sse:
    kind: str          # "message" or the event name (hello, reset, gone, bye)
    data: dict
    id: int | None
    at: float          # time.monotonic() when it arrived


class SseReader:
    """GET /live/stream on a new connection (HTTP/1.0: the body is the raw stream, no
    chunking, closed at the end); events go to a queue read by `next`."""

    def __init__(self, base: str, cookies: dict, topics: str, since: int | None = None,
                 last_event_id: int | None = None):
        host, port = base.removeprefix("http://").split(":")
        path = f"/live/stream?topics={topics}" + (f"&since={since}" if since is not None else "")
        lines = [f"GET {path} HTTP/1.0", f"Host: {host}:{port}", "Accept: text/event-stream",
                 "Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items())]
        if last_event_id is not None:
            lines.append(f"Last-Event-ID: {last_event_id}")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.file = self.sock.makefile("rb")
        self.status = int(self.file.readline().split()[1])
        self.headers = {}
        while (line := self.file.readline().decode("latin-1").strip()):
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.node = self.headers.get("x-gongdan-worker")
        self.events: queue.Queue = queue.Queue()
        self.ended = threading.Event()
        self.sock.settimeout(None)
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = self.file.read().decode()
            self.close()

    def json(self) -> dict:
        return json.loads(self.body)

    def _read(self) -> None:
        fields: dict = {}
        try:
            for raw in self.file:
                line = raw.decode().rstrip("\n")
                if line:
                    if not line.startswith(":"):
                        name, _, value = line.partition(": ")
                        fields[name] = value
                    continue
                if "data" in fields:
                    self.events.put(Sse(fields.get("event", "message"), json.loads(fields["data"]),
                                        int(fields["id"]) if "id" in fields else None,
                                        time.monotonic()))
                fields = {}
        except (OSError, ValueError):
            pass
        finally:
            self.ended.set()

    def next(self, timeout: float = 5, kind: str | None = "message") -> Sse:
        """The next event (of `kind`, skipping others; None: any)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind or 'event'} within {timeout} s")
            try:
                e = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if kind is None or e.kind == kind:
                return e

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
