"""Huey: the queue (SQLite file or Redis, from `queue_url`) and the tasks on it.

Web and worker both call `get_huey(settings)`, which registers the same tasks
under explicit names, so the consumer always knows what the web app enqueues.
Tasks carry job ids only (never PII); the job row says what to do.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from huey import RedisHuey, SqliteHuey, crontab

from appliance import jobs
from appliance.db import database
from appliance.settings import Settings

log = logging.getLogger(__name__)


def _make_huey(queue_url: str):
    if queue_url.startswith("redis://"):
        return RedisHuey("gongdan", url=queue_url)
    path = queue_url[len("sqlite:///"):]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("gongdan", filename=path)


@lru_cache(maxsize=4)
def _build(queue_url: str, sweeper_seconds: int):
    huey = _make_huey(queue_url)

    @huey.task(name="gongdan.run_job", retries=3, retry_delay=5)
    def run_job(job_id: int) -> bool:
        with database.connection_context():
            return jobs.run_job(job_id)

    @huey.periodic_task(crontab(minute="*"), name="gongdan.sweep_jobs")
    def sweep_jobs() -> int:
        with database.connection_context():
            n = jobs.sweep(sweeper_seconds)
        if n:
            log.info("sweeper re-enqueued %d unfinished jobs", n)
        return n

    return huey, run_job


def get_huey(settings: Settings):
    return _build(settings.queue_url, settings.sweeper_seconds)[0]


def install_enqueuer(settings: Settings) -> None:
    """Send committed jobs to the Huey task."""
    run_job = _build(settings.queue_url, settings.sweeper_seconds)[1]
    jobs.set_enqueuer(lambda job_id: run_job(job_id))


def queue_health(settings: Settings) -> bool:
    try:
        get_huey(settings).pending_count()
        return True
    except Exception:
        return False
