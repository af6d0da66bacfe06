"""The real queue: `gongdan worker` processes, the outbox sweeper, SQLite and Redis stores."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from appliance import jobs, registry, tasks
from appliance.models import Job
from appliance.rules.access import SYSTEM
from appliance.services import indexing, search
from search.whoosh_index import file_lock
from tests.conftest import ROOT, with_settings
from tests.factories import ticket

pytestmark = pytest.mark.slow
REDIS_URL = os.environ.get("GONGDAN_TEST_REDIS", "redis://127.0.0.1:6379/13")


class Worker:
    """`gongdan worker` as a child process, with its own config file and log."""

    def __init__(self, settings, tmp_path: Path):
        self.config = tmp_path / "worker.toml"
        self.config.write_text("".join(f'{k} = "{getattr(settings, k)}"\n' for k in (
            "database_url", "queue_url", "index_dir", "attachment_dir", "secret_key",
            "keys_dir"))
            + "sweeper_seconds = 1\nlog_level = \"WARNING\"\n", encoding="utf-8")
        self.log = tmp_path / "worker.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "GONGDAN_CONFIG": str(self.config)}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "worker"], cwd=ROOT,
                                         env=env, stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """Like a power cut: no chance to finish or clean up."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Huey's graceful shutdown
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker(settings, tmp_path):
    w = Worker(settings, tmp_path)
    yield w
    w.stop()
    if w.log.exists():
        print(w.log.read_text(encoding="utf-8", errors="replace")[-4000:])  # shown on failure


def searchable(settings, word: str) -> list[int]:
    results, _ = search.search_tickets(SYSTEM, word, settings)
    return [r.ticket.id for r in results]


def wait_until(check, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def job_of(ticket_id: int) -> Job:
    return Job.select().where((Job.name == "index_ticket") & (Job.object_id == ticket_id)) \
        .order_by(Job.id.desc()).get()


def test_a_ticket_saved_through_the_service_becomes_searchable_through_the_worker(settings, worker):
    worker.start()
    tasks.install_enqueuer(settings)
    t = ticket(settings, SYSTEM, "打印机卡纸 worker").summary.id
    wait_until(lambda: searchable(settings, "卡纸") == [t], what="the worker to index the ticket")
    assert job_of(t).done_at is not None


def test_a_job_cut_off_by_a_killed_worker_is_swept_and_finished_after_restart(settings, worker):
    registry.search_index(settings).health()  # create the index before holding its lock
    worker.start()
    tasks.install_enqueuer(settings)
    with file_lock(Path(settings.index_dir) / "write.lock"):  # the worker's write will wait here
        cut = ticket(settings, SYSTEM, "断电 工单").summary.id
        wait_until(lambda: Job.get_by_id(job_of(cut).id).attempts >= 1, what="the worker to start the job")
        worker.kill()
    jobs.set_enqueuer(None)  # recorded in the outbox, never handed to the queue
    lost = ticket(settings, SYSTEM, "遗漏 工单").summary.id
    assert job_of(cut).done_at is None and job_of(lost).done_at is None
    time.sleep(1.5)  # older than sweeper_seconds
    worker.start()
    # 90 s: a restarted worker imports the app and jieba before its first sweep, which on a
    # loaded CI box took longer than 30 s once.
    wait_until(lambda: set(searchable(settings, "工单")) == {cut, lost}, timeout=90,
               what="the sweeper's jobs")
    assert job_of(cut).done_at is not None and job_of(lost).done_at is not None


def test_the_worker_waits_out_a_locked_sqlite_database_instead_of_failing(settings, worker):
    jobs.set_enqueuer(None)
    t = ticket(settings, SYSTEM, "锁表 测试").summary.id
    holder = sqlite3.connect(settings.database_url[len("sqlite:///"):], timeout=10)
    holder.execute("BEGIN IMMEDIATE")  # take SQLite's single write lock
    worker.start()
    tasks.install_enqueuer(settings)
    tasks._build(settings.queue_url, settings.sweeper_seconds)[1](job_of(t).id)
    time.sleep(2.0)
    assert job_of(t).done_at is None
    holder.rollback()
    holder.close()
    wait_until(lambda: searchable(settings, "锁表") == [t], what="the job after the lock is released")
    assert job_of(t).last_error == ""


def test_a_job_run_twice_has_no_double_effect(settings):
    t = ticket(settings, SYSTEM, "重复 执行").summary.id
    job = job_of(t).id
    assert jobs.run_job(job) is True
    assert jobs.run_job(job) is False
    indexing.index_ticket(t)  # a redelivered task after the job row was lost
    indexing.index_ticket(t)
    results, total = search.search_tickets(SYSTEM, "重复", settings)
    assert total == 1 and [r.ticket.id for r in results] == [t]
    assert Job.get_by_id(job).attempts == 1


def test_a_change_during_a_running_job_gets_its_own_job_and_older_jobs_step_aside(settings):
    t = ticket(settings, SYSTEM, "并发 修改").summary.id
    running = job_of(t).id
    Job.update(attempts=1).where(Job.id == running).execute()  # a worker has started it
    with jobs.unit_of_work():
        newer = jobs.schedule("index_ticket", t)
        assert jobs.schedule("index_ticket", t) == newer  # same transaction: one job
    assert newer != running
    with jobs.unit_of_work():
        newest = jobs.schedule("index_ticket", t)
    # Indexing runs in batches: the first job takes every not-yet-started one with it
    # (one index commit), so the newest state is written and the others have nothing left.
    assert jobs.run_job(newer) is True
    assert Job.get_by_id(newest).done_at is not None
    assert jobs.run_job(newest) is False
    assert Job.get_by_id(running).done_at is None  # the running one is its worker's to finish
    assert searchable(settings, "并发") == [t]


def test_indexing_jobs_run_in_batches_with_one_commit(settings):
    from appliance.services import indexing
    ids = [ticket(settings, SYSTEM, f"批量 {i}").summary.id for i in range(5)]
    commits = []
    index = indexing.registry.search_index(settings)
    original = index.apply
    index.apply = lambda ups, dels: commits.append(len(ups)) or original(ups, dels)
    try:
        first = job_of(ids[0]).id
        assert jobs.run_job(first) is True
    finally:
        index.apply = original
    assert commits == [5]
    assert sorted(searchable(settings, "批量")) == sorted(ids)


def test_a_job_overtaken_by_a_newer_one_writes_once_more(settings):
    calls = []

    @jobs.handler("test_probe")
    def probe(object_id: int) -> None:
        calls.append(object_id)
        if len(calls) == 1:  # meanwhile a newer job for the same object starts elsewhere
            Job.create(name="test_probe", object_id=object_id, attempts=1)

    with jobs.unit_of_work():
        job = jobs.schedule("test_probe", 7)
    assert jobs.run_job(job) is True
    assert calls == [7, 7]


def test_queued_task_messages_carry_only_the_job_id(settings):
    tasks.install_enqueuer(settings)
    t = ticket(settings, SYSTEM, "机密主题 13700001111", description="机密描述 secret-text").summary.id
    huey = tasks.get_huey(settings)
    messages = [huey.serializer.deserialize(item) for item in huey.storage.enqueued_items()]
    assert [(m.args, m.kwargs) for m in messages] == [((job_of(t).id,), {})]
    assert messages[0].name.endswith("gongdan.run_job")
    queue_file = Path(settings.queue_url[len("sqlite:///"):])
    raw = b"".join(p.read_bytes() for p in queue_file.parent.glob(queue_file.name + "*"))
    for needle in ("机密", "13700001111", "secret-text"):
        assert needle.encode() not in raw


@pytest.fixture
def redis_settings(settings):
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is required for the queue tests: {exc}")
    yield with_settings(settings, queue_url=REDIS_URL)
    client.flushdb()
    client.close()


def test_a_redis_backed_queue_runs_the_same_jobs(redis_settings, tmp_path):
    worker = Worker(redis_settings, tmp_path)
    worker.start()
    try:
        tasks.install_enqueuer(redis_settings)
        t = ticket(redis_settings, SYSTEM, "红色 队列").summary.id
        wait_until(lambda: searchable(redis_settings, "队列") == [t], what="the Redis worker")
    finally:
        worker.stop()


def test_a_job_that_keeps_failing_stops_being_retried_and_is_reported(settings):
    from appliance import jobs
    from appliance.jobs import unit_of_work
    from appliance.models import Job
    with unit_of_work():
        job_id = jobs.schedule("index_ticket", 999_999)
    Job.update(attempts=jobs.MAX_ATTEMPTS, last_error="IndexBusy: lock").where(
        Job.id == job_id).execute()
    assert jobs.sweep(0) == 0
    assert jobs.failed_jobs() == 1


def test_quality_rubrics_wait_for_every_other_job_of_their_lane(settings):
    """A backlog of rubrics (tens of seconds each) must not hold up a call becoming a
    ticket: the background lane takes them only when nothing else of it is due."""
    with jobs.unit_of_work():
        older = [jobs.schedule("quality_rubric", n) for n in (1, 2)]
        call = jobs.schedule("analyse_conversation", 7)
    lane = tasks._Lane("background", ("enrich_ticket", "analyse_conversation",
                                      "quality_rubric"), 1)
    assert lane.next_pending() == call
    Job.update(done_at=Job.enqueued_at).where(Job.id == call).execute()
    assert lane.next_pending() == older[0]
