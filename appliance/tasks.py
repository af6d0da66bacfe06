"""Huey: the queue (SQLite file or Redis, from `queue_url`) and the tasks on it.

Web and worker both call `get_huey(settings)`, which registers the same tasks
under explicit names, so the consumer always knows what the web app enqueues.
Tasks carry job ids only (never PII); the job row says what to do.

Reliability: every task opens and closes its own database connection; a job
that fails (SQLite still locked after its busy timeout, index busy, ...) is
retried by Huey and, failing that, re-enqueued by the sweeper, which also runs
once when a worker starts, so jobs lost with a killed worker are picked up
at restart rather than at the next periodic sweep (periodic tasks: appliance.periodic).

Two speeds. Fast jobs (indexing, the triage fast path) go to "gongdan.run_job" with a
high priority, so they are always dequeued ahead of slow ones. Slow jobs (the language
model, training) go to "gongdan.run_job_llm" and run in lanes: each lane lets at most
`llm_concurrency` threads in, and the consumer has that many threads more than
`worker_threads`, so a generation can never take the threads fast jobs need. A slow
message that finds its lane full is dropped; the thread in the lane takes the job from
the outbox when it is done with its own (see `_serve_lane`).
"""
from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import threading
import time
from functools import lru_cache
from pathlib import Path

from huey import PriorityRedisHuey, SqliteHuey
from huey.storage import SqliteStorage
from peewee import Case

from appliance import jobs, periodic
from appliance.db import database, run_sql
from appliance.models import Job, utcnow
from appliance.ports import ModelBusy
from appliance.settings import Settings

log = logging.getLogger(__name__)

FAST_PRIORITY = 100
INDEX_PRIORITY = 90        # an index job sent back by a message that carried triage
INTERACTIVE_PRIORITY = 50
BACKGROUND_PRIORITY = 0
# Jobs that hold a thread for seconds or minutes, by lane. Everything else is fast.
SLOW_LANES = {"enrich_ticket": "background", "train_classifiers": "background",
              "ai_draft": "interactive", "analyse_conversation": "background",
              "draft_article": "background", "quality_rubric": "background"}
LANE_PRIORITY = {"background": BACKGROUND_PRIORITY, "interactive": INTERACTIVE_PRIORITY}
# Slow jobs that wait for every other job of their lane: a backlog of quality rubrics
# (tens of seconds each on a small box) must never hold up a chat or call becoming a
# ticket, or a ticket's summary.
LAST_IN_LANE = ("quality_rubric",)
# Fast jobs a ticket change creates together; one queue message runs them all, in this
# order (triage first: it should not wait for a search-index commit).
RIDE_ALONG = ("triage_ticket", "dispatch_ticket", "index_ticket")
LATER = ("index_ticket",)  # sent back at INDEX_PRIORITY by a message that carries triage
URGENT = tuple(n for n in RIDE_ALONG if n not in LATER)  # these may skip their own message
LANE_NICE = {"background": 10, "interactive": 5}
DRAIN_SECONDS = 30.0       # a lane thread hands the rest back to the queue after this
# A job the model was too busy for is tried again after this (an agent's draft sooner).
BUSY_RETRY_SECONDS = {"background": 10, "interactive": 2}


class _QueueStorage(SqliteStorage):
    """Huey's SQLite store with synchronous=NORMAL: in WAL mode a commit no longer waits
    for an fsync (huey leaves SQLite's FULL, or offers OFF, which can corrupt the file on
    a power cut). A power cut may lose the last messages, never the file; the job outbox
    in the main database and its sweeper send those again (docs/decisions/0003)."""

    def _create_connection(self):
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


class _QueueHuey(SqliteHuey):
    storage_class = _QueueStorage


def _make_huey(queue_url: str):
    # results=False: nobody reads task return values, and unread results would pile
    # up in the queue store forever.
    if queue_url.startswith("redis://"):
        # The priority variant: fast jobs must overtake queued model work (Redis >= 5).
        return PriorityRedisHuey("gongdan", url=queue_url, results=False)
    path = queue_url[len("sqlite:///"):]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return _QueueHuey("gongdan", filename=path, results=False, timeout=30)


def _import_handlers() -> None:
    # Job handlers register on import; web and worker must know the same ones.
    jobs.import_handlers()


@lru_cache(maxsize=4)
def _build(queue_url: str, sweeper_seconds: int):
    huey = _make_huey(queue_url)
    _import_handlers()

    @huey.task(name="gongdan.run_job", retries=3, retry_delay=5, priority=FAST_PRIORITY)
    def run_job(job_id: int) -> bool:
        with database.connection_context():
            return _run_fast(job_id, lambda j: huey.enqueue(run_job.s(j, priority=INDEX_PRIORITY)))

    @huey.task(name="gongdan.run_job_llm", priority=BACKGROUND_PRIORITY)
    def run_job_llm(job_id: int) -> None:
        with database.connection_context():
            _serve_lane(job_id, lambda i, delay=None: _send_slow(huey, run_job_llm, i, delay))

    periodic.register(huey, sweeper_seconds)
    return huey, run_job, run_job_llm


def get_huey(settings: Settings):
    return _build(settings.queue_url, settings.sweeper_seconds)[0]


def install_enqueuer(settings: Settings) -> None:
    """Send committed jobs to the Huey task of their speed."""
    huey, run_job, run_job_llm = _build(settings.queue_url, settings.sweeper_seconds)
    jobs.set_enqueuer(lambda job_id: _enqueue(huey, run_job, run_job_llm, job_id))


_sent = threading.local()


def _enqueue(huey, run_job, run_job_llm, job_id: int) -> None:
    row = _job_row(job_id)
    if row is not None and row.name in SLOW_LANES:
        _send_slow(huey, run_job_llm, job_id)
        return
    if row is not None and row.name in URGENT and _rides_along(job_id, row.object_id):
        return
    later = row is not None and row.name in LATER and not _carries(job_id, row.object_id)
    huey.enqueue(run_job.s(job_id, priority=INDEX_PRIORITY if later else FAST_PRIORITY))
    if row is not None and row.name in RIDE_ALONG:
        _recent().append((job_id, row.object_id))


def _job_row(job_id: int) -> Job | None:
    """The job's name and object: known to the unit of work that has just committed it
    (a job's name and object never change), read from the outbox otherwise (the sweeper)."""
    known = jobs.committed_job(job_id)
    if known is not None:
        return Job(id=job_id, name=known[0], object_id=known[1])
    return Job.select(Job.name, Job.object_id).where(Job.id == job_id).first()


_JOB = Job._meta.table_name
_CARRIES = (f'SELECT 1 FROM "{_JOB}" WHERE "name" IN ({", ".join("?" * len(URGENT))})'  # nosec B608  # values are parameters
            ' AND "object_id" = ? AND "id" > ? AND "done_at" IS NULL AND "attempts" = 0 LIMIT 1')


def _carries(job_id: int, object_id: int) -> bool:
    """Whether this message will carry a triage job committed with it (see _run_fast).
    Hand-written SQL: asked on every creation (db.run_sql)."""
    return run_sql(_CARRIES, (*URGENT, object_id, job_id)).fetchone() is not None


def _recent() -> collections.deque:
    if not hasattr(_sent, "recent"):
        _sent.recent = collections.deque(maxlen=64)
    return _sent.recent


def _rides_along(job_id: int, object_id: int) -> bool:
    """True when a message this thread sent for an older, not yet started job of the same
    object is still queued: its task runs this job too (`_run_fast`), because this
    job was committed before that task looks for companions the last time."""
    mates = [j for j, o in _recent() if o == object_id and j < job_id]
    if not mates:
        return False
    sql = (f'SELECT 1 FROM "{_JOB}" WHERE "id" IN ({", ".join("?" * len(mates))})'  # nosec B608  # values are parameters
           ' AND "attempts" = 0 AND "done_at" IS NULL LIMIT 1')
    return run_sql(sql, mates).fetchone() is not None


def _run_fast(job_id: int, send_later) -> bool:
    """Run a fast job and its companions (not yet started fast jobs of the same object
    committed after it). When triage rides along, it runs first and the search-index
    job goes back to the queue at INDEX_PRIORITY: under a burst, index commits (one
    writer at a time) must not hold up triage. Companions are looked up again at the
    end, for those whose message was skipped while this job had not started
    (`_rides_along`). A failing companion stays in the outbox for the sweeper; the
    job's own failure is raised for Huey to retry."""
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        return False
    batch = sorted([job] + _companions(job), key=lambda j: (_rank(j.name), j.id))
    carrying = len(batch) > 1
    ran, error = False, None
    for j in batch:
        if carrying and j.name in LATER:
            _defer(j, send_later)
            continue
        try:
            done = _run_index(j.id, send_later) if j.name in LATER else jobs.run_job(j.id)
        except Exception as exc:
            if j.id == job_id:
                error = exc
            else:
                _companion_failed(j, job_id)
            continue
        ran = done if j.id == job_id else ran
    for j in _companions(job):
        if j.name not in URGENT:
            continue  # it has its own message (the index gate runs it, one writer at a time)
        try:
            jobs.run_job(j.id)
        except Exception:
            _companion_failed(j, job_id)
    if error is not None:
        raise error
    return ran


def _defer(j: Job, send_later) -> None:
    """Send an index job back to the queue, unless a newer one for the same object has
    not started yet (triage schedules one when it changes routing): that one will
    index a state at least as recent, so this one is done (as jobs.run_job would)."""
    now = Job.select(Job.done_at, Job.attempts).where(Job.id == j.id).first()
    if now is None or now.done_at is not None or now.attempts:
        return  # an index batch has taken it already
    newer = Job.select().where((Job.name == j.name) & (Job.object_id == j.object_id)
                               & (Job.id > j.id) & Job.done_at.is_null() & (Job.attempts == 0))
    if newer.exists():
        Job.update(done_at=utcnow(), last_error="").where(Job.id == j.id).execute()
    else:
        send_later(j.id)


def _run_index(job_id: int, send_later) -> bool:
    """Index jobs on one thread at a time (the index has one writer: a second thread
    would only wait for the lock while triage waits for a thread). A message that finds
    the gate taken is dropped: the thread inside runs every not yet started index job
    (batches) before it leaves."""
    ran = False
    while job_id is not None:
        if not _index_gate.enter():
            return ran
        deadline = time.monotonic() + DRAIN_SECONDS
        try:
            while job_id is not None and time.monotonic() < deadline:
                ran = jobs.run_job(job_id) or ran
                job_id = _index_gate.next_pending()
        finally:
            _index_gate.leave()
        if job_id is not None:  # long enough: hand the rest to the queue
            send_later(job_id)
            return ran
        job_id = _index_gate.next_pending()  # committed while the gate was being left
    return ran


def _companion_failed(j: Job, job_id: int) -> None:
    log.warning("job %s (with job %s) failed; the sweeper retries it", j.id, job_id,
                exc_info=True)


def _companions(job: Job) -> list[Job]:
    return list(Job.select(Job.id, Job.name, Job.object_id).where(
        Job.name.in_(RIDE_ALONG) & (Job.object_id == job.object_id) & (Job.id > job.id)
        & Job.done_at.is_null() & (Job.attempts == 0)).order_by(Job.id))


def _rank(name: str) -> int:
    return RIDE_ALONG.index(name) if name in RIDE_ALONG else len(RIDE_ALONG)


def _send_slow(huey, run_job_llm, job_id: int, delay: float | None = None) -> None:
    name = Job.select(Job.name).where(Job.id == job_id).scalar() or ""
    kind = SLOW_LANES.get(name, "background")
    lane = _lanes.get(kind)
    if delay is None and lane is not None and lane.held:
        # In the worker (the sweeper re-sending a backlog): the thread in the lane takes
        # due jobs from the outbox, so a message would only be dropped again.
        return
    huey.enqueue(run_job_llm.s(job_id, priority=LANE_PRIORITY[kind], delay=delay))


# --- lanes for slow jobs ----------------------------------------------------------------------

class _Lane:
    """At most `slots` jobs at a time, run on the lane's own threads at a lower CPU
    priority: llama.cpp's compute threads inherit it, so on a 2-core box a generation
    yields the CPU to fast jobs instead of slowing them down."""

    def __init__(self, kind: str, names: tuple[str, ...], slots: int):
        self.kind, self.names = kind, names
        self.slots = threading.BoundedSemaphore(slots)
        self.held = 0  # threads in the lane now (read without the lock: a hint)
        self._lock = threading.Lock()

    def run(self, fn, *args):
        """`fn(*args)` on a fresh daemon thread at the lane's CPU priority; waits for it.
        Daemon: a generation in progress must not keep a stopping worker alive."""
        result: dict = {}

        def target():
            _lower_priority(LANE_NICE[self.kind])
            try:
                result["value"] = fn(*args)
            except BaseException as exc:  # handed to the waiting thread
                result["error"] = exc
        thread = threading.Thread(target=target, name=f"lane-{self.kind}", daemon=True)
        thread.start()
        thread.join()
        if "error" in result:
            raise result["error"]
        return result.get("value")

    def enter(self) -> bool:
        if not self.slots.acquire(blocking=False):
            return False
        with self._lock:
            self.held += 1
        return True

    def leave(self) -> None:
        with self._lock:
            self.held -= 1
        self.slots.release()

    def next_pending(self) -> int | None:
        """The oldest job of this lane nobody has started and that is due; the kinds in
        LAST_IN_LANE only when no other job of the lane is."""
        last = Case(None, [(Job.name.in_(LAST_IN_LANE), 1)], 0)
        return (Job.select(Job.id).where(Job.name.in_(self.names) & Job.done_at.is_null()
                                         & (Job.attempts == 0) & (Job.enqueued_at <= utcnow()))
                .order_by(last, Job.id).limit(1).scalar())


_lanes: dict[str, _Lane] = {}
_lanes_lock = threading.Lock()
_index_gate = _Lane("index", LATER, 1)  # its jobs run on the calling (Huey) thread


def _lane(job_name: str) -> _Lane:
    from appliance import runtime
    kind = SLOW_LANES.get(job_name, "background")
    with _lanes_lock:
        if kind not in _lanes:
            names = tuple(n for n, k in SLOW_LANES.items() if k == kind)
            _lanes[kind] = _Lane(kind, names, lane_slots(runtime.settings()))
        return _lanes[kind]


def lane_slots(settings: Settings) -> int:
    return max(1, settings.llm_concurrency)


def _lower_priority(nice: int) -> None:
    # Linux applies `nice` per thread; threads started from this one inherit it.
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError):
        log.info("cannot lower the CPU priority of model work on this system")


def _serve_lane(job_id: int | None, send) -> None:
    """Run `job_id` and then the lane's other waiting jobs, if the lane has room."""
    name = Job.select(Job.name).where(Job.id == job_id).scalar() or ""
    lane = _lane(name)
    deadline = time.monotonic() + DRAIN_SECONDS
    while job_id is not None:
        if not lane.enter():
            return  # the thread in the lane takes this job from the outbox
        try:
            job_id = lane.run(_drain, lane, job_id, deadline, send)
        finally:
            lane.leave()
        if job_id is not None:  # long enough: let the queue (and shutdown) have a say
            send(job_id)
            return
        job_id = lane.next_pending()  # committed while the lane was being released


def _drain(lane: _Lane, job_id: int | None, deadline: float, send) -> int | None:
    """On a lane thread: run jobs until none is due or the deadline passed; returns
    the next due job when it stopped for the deadline."""
    with database.connection_context():
        while job_id is not None and time.monotonic() < deadline:
            _run_slow(job_id, send, BUSY_RETRY_SECONDS[lane.kind])
            job_id = lane.next_pending()
    return job_id


def _run_slow(job_id: int, send, retry_s: float) -> None:
    try:
        jobs.run_job(job_id)
    except ModelBusy:
        # Not a failure: give the attempt back and come back when the model is free.
        later = utcnow() + dt.timedelta(seconds=retry_s)
        Job.update(attempts=Job.attempts - 1, last_error="", enqueued_at=later).where(
            Job.id == job_id).execute()
        send(job_id, retry_s)
    except Exception:  # recorded on the job row by run_job; the sweeper retries it
        log.warning("slow job %s failed", job_id, exc_info=True)


def run_consumer(settings: Settings) -> None:
    """The worker process: Huey's consumer with its periodic tasks (blocks until stopped)."""
    from appliance.services import triage
    triage.allow_llm()  # this is the process that may load the language model
    make_consumer(settings).run()


def make_consumer(settings: Settings, **options):
    """Huey's consumer with worker_threads threads for fast jobs plus one per lane slot."""
    from huey.consumer import Consumer
    lanes = len(set(SLOW_LANES.values()))
    # Idle workers poll a SQLite queue with a growing back-off (Huey's default cap is ten
    # seconds). A quarter second bounds the pick-up of an agent's reply draft, which has
    # 2 s to show its first text; an idle poll is one indexed read (~0.1 ms), so the
    # handful of threads polling 4 times a second cost nothing measurable.
    options = {"workers": settings.worker_threads + lanes * lane_slots(settings),
               "worker_type": "thread", "periodic": True, "check_worker_health": True,
               "max_delay": 0.25, **options}
    return Consumer(get_huey(settings), **options)


def queue_health(settings: Settings) -> bool:
    try:
        get_huey(settings).pending_count()
        return True
    except Exception:
        return False
