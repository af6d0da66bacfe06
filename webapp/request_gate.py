"""At most web_threads ordinary requests of one process at work at once.

`gongdan serve` gives each gunicorn worker web_threads + live_streams_per_worker threads,
the extra ones for live-update streams that mostly wait (docs/decisions/0019). Without
this gate any request could use them, so a burst (every page reconnecting after a
restart, a load test) would run 150 requests at once per worker: more than the
PostgreSQL pool holds (32: "max connections exceeded" after 10 s) and as many SQLite
connections. The gate keeps ordinary work at the concurrency it had before streams
existed; a stream passes it for its set-up only and streams outside it. Static files
need no database and skip it.
"""
from __future__ import annotations

import threading

from flask import Flask, g, request
from werkzeug.exceptions import ServiceUnavailable

WAIT_SECONDS = 30.0


def init_app(app: Flask) -> None:
    """Register before the database hook (webapp.create_app), so that a request holds a
    connection only once it is through the gate."""
    gate = threading.BoundedSemaphore(app.config["GONGDAN"].web_threads)

    @app.before_request
    def _enter():
        if request.path.startswith("/static/"):
            return None
        if not gate.acquire(timeout=WAIT_SECONDS):
            raise ServiceUnavailable(retry_after=5)  # a page, or JSON under /api/ and /live/
        g.through_gate = True
        return None

    @app.teardown_request
    def _leave(exc):
        if g.pop("through_gate", False):
            gate.release()
