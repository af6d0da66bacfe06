"""Huey: the queue (SQLite file or Redis, from `queue_url`) and the tasks on it.

Web and worker both call `get_huey(settings)`, which registers the same tasks
under explicit names, so the consumer always knows what the web app enqueues.
Tasks carry job ids only (never PII); the job row says what to do.

Reliability: every task opens and closes its own database connection; a job
that fails (SQLite still locked after its busy timeout, index busy, ...) is
retried by Huey and, failing that, re-enqueued by the sweeper, which also runs
once when a worker starts, so jobs lost with a killed worker are picked up
at restart rather than at the next periodic sweep.
"""
from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path

from huey import RedisHuey, SqliteHuey, crontab

from appliance import jobs
from appliance.db import database
from appliance.settings import Settings

log = logging.getLogger(__name__)


def _make_huey(queue_url: str):
    # results=False: nobody reads task return values, and unread results would pile
    # up in the queue store forever.
    if queue_url.startswith("redis://"):
        return RedisHuey("gongdan", url=queue_url, results=False)
    path = queue_url[len("sqlite:///"):]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("gongdan", filename=path, results=False, timeout=30)


def _sweep(sweeper_seconds: int) -> int:
    with database.connection_context():
        n = jobs.sweep(sweeper_seconds)
    if n:
        log.info("sweeper re-enqueued %d unfinished jobs", n)
    return n


def _optimize_index() -> None:
    from appliance import registry, runtime
    optimize = getattr(registry.search_index(runtime.settings()), "optimize", None)
    if optimize is not None:
        optimize()


@lru_cache(maxsize=4)
def _build(queue_url: str, sweeper_seconds: int):
    huey = _make_huey(queue_url)
    first = threading.Lock()  # held forever by the first worker thread that starts

    @huey.task(name="gongdan.run_job", retries=3, retry_delay=5)
    def run_job(job_id: int) -> bool:
        with database.connection_context():
            return jobs.run_job(job_id)

    @huey.periodic_task(crontab(minute="*"), name="gongdan.sweep_jobs")
    def sweep_jobs() -> int:
        return _sweep(sweeper_seconds)

    @huey.periodic_task(crontab(hour="3", minute="17"), name="gongdan.nightly")
    def nightly() -> None:
        with database.connection_context():
            jobs.prune()
        # Merge index segments so that text of deleted or edited tickets leaves the disk.
        _optimize_index()

    @huey.on_startup(name="gongdan.sweep_at_start")
    def sweep_at_start() -> None:
        # Runs in every worker thread; one sweep per process is enough.
        if first.acquire(blocking=False):
            _sweep(sweeper_seconds)

    return huey, run_job


def get_huey(settings: Settings):
    return _build(settings.queue_url, settings.sweeper_seconds)[0]


def install_enqueuer(settings: Settings) -> None:
    """Send committed jobs to the Huey task."""
    run_job = _build(settings.queue_url, settings.sweeper_seconds)[1]
    jobs.set_enqueuer(lambda job_id: run_job(job_id))


def run_consumer(settings: Settings) -> None:
    """The worker process: Huey's consumer with its periodic tasks (blocks until stopped)."""
    from huey.consumer import Consumer
    # Idle workers poll a SQLite queue with a growing back-off; capping it at one second
    # keeps "saved → searchable" within seconds instead of Huey's default ten.
    Consumer(get_huey(settings), workers=settings.worker_threads, worker_type="thread",
             periodic=True, check_worker_health=True, max_delay=1.0).run()


def queue_health(settings: Settings) -> bool:
    try:
        get_huey(settings).pending_count()
        return True
    except Exception:
        return False
