"""Background jobs through a transactional outbox (see appliance.models.jobs).

`schedule()` is called inside a service's transaction; `unit_of_work()` commits
and then hands the new job ids to the enqueuer (the Huey task by default).
Handlers are registered by name and bring one object's derived state (the index
entry of a ticket, ...) up to date with the database. They must be idempotent:
a job can run twice, and two jobs for the same object can run at once.

Ordering: a change committed while a job for the same object is already running
gets its own job, never folded into the running one (which may have read the
older state). `run_job` skips a job when a newer, not yet started job for the
same object will do the same work, and runs the handler once more when a newer
job started while it ran, so the last write always reflects the latest state.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from typing import Callable

from appliance.db import database
from appliance.models import Job, utcnow

log = logging.getLogger(__name__)
_local = threading.local()
_handlers: dict[str, Callable[[int], None]] = {}
_batch_handlers: dict[str, Callable[[list[int]], None]] = {}
_enqueuer: Callable[[int], None] | None = None
BATCH_SIZE = 200


def handler(name: str):
    def register(fn):
        _handlers[name] = fn
        return fn
    return register


def batch_handler(name: str):
    """A handler that brings many objects up to date at once (one index commit for many
    tickets instead of one each); the jobs of that name are run in batches."""
    def register(fn):
        _batch_handlers[name] = fn
        return fn
    return register


def _known(name: str) -> bool:
    return name in _handlers or name in _batch_handlers


def set_enqueuer(fn: Callable[[int], None] | None) -> None:
    """Where committed job ids go: the Huey task in production, a list in some tests."""
    global _enqueuer
    _enqueuer = fn


def _pending() -> list[int]:
    if not hasattr(_local, "pending"):
        _local.pending = []
        _local.named = {}  # pending job id -> (name, object_id)
        _local.depth = 0
    return _local.pending


@contextlib.contextmanager
def unit_of_work():
    """A transaction whose scheduled jobs are enqueued only after it commits."""
    pending = _pending()
    _local.depth += 1
    try:
        with database.atomic():
            yield
    except BaseException:
        if _local.depth == 1:
            pending.clear()
            _local.named = {}
        raise
    finally:
        _local.depth -= 1
    if _local.depth == 0:
        ids, pending[:] = list(pending), []
        _local.enqueuing, _local.named = _local.named, {}
        try:
            for job_id in ids:
                _enqueue(job_id)
        finally:
            _local.enqueuing = {}


def committed_job(job_id: int) -> tuple[str, int] | None:
    """(name, object_id) of a job this thread committed and is handing to the enqueuer
    right now, so that the enqueuer need not read the row back; None otherwise."""
    return getattr(_local, "enqueuing", {}).get(job_id)


def _enqueue(job_id: int) -> None:
    if _enqueuer is None:
        return  # nothing to hand to; the sweeper will pick the job up
    try:
        _enqueuer(job_id)
    except Exception:  # queue down: the outbox row stays, the sweeper retries
        log.warning("could not enqueue job %s; the sweeper will retry", job_id, exc_info=True)


def schedule(name: str, object_id: int) -> int:
    """Record a job in the current transaction; coalesces with an identical one of this unit."""
    if not _known(name):
        import_handlers()
    pending = _pending()
    if (name, object_id) in _local.named.values():
        # Only jobs of this still-open transaction can be shared: no worker has seen them.
        # Confirmed in the database: a rolled-back savepoint may have removed the row.
        existing = (Job.select(Job.id).where((Job.id.in_(pending)) & (Job.name == name)
                                             & (Job.object_id == object_id)).first())
        if existing:
            return existing.id
    job = Job.create(name=name, object_id=object_id)
    pending.append(job.id)
    _local.named[job.id] = (name, object_id)
    return job.id


def _newer(job: Job):
    return Job.select(Job.id).where((Job.name == job.name) & (Job.object_id == job.object_id)
                                    & (Job.id > job.id))


def run_job(job_id: int) -> bool:
    """Run one job by id; safe to call twice. Returns True if its handler ran now."""
    job = Job.get_or_none(Job.id == job_id)
    if job is None or job.done_at is not None:
        return False
    if not _known(job.name):
        import_handlers()
    if job.name in _batch_handlers:
        return _run_batch(job)
    if _newer(job).where(Job.done_at.is_null() & (Job.attempts == 0)).exists():
        _mark_done(job_id)  # superseded: the newer job reads a state at least as recent
        return False
    Job.update(attempts=Job.attempts + 1).where(Job.id == job_id).execute()
    try:
        _handlers[job.name](job.object_id)
        if _newer(job).where(Job.done_at.is_null(False) | (Job.attempts > 0)).exists():
            # A newer job ran alongside; our write may have landed after its fresher one.
            _handlers[job.name](job.object_id)
    except Exception as exc:
        Job.update(last_error=type(exc).__name__ + ": " + str(exc)[:500]).where(
            Job.id == job_id).execute()
        raise
    _mark_done(job_id)
    return True


def _run_batch(job: Job) -> bool:
    """Run `job` together with up to BATCH_SIZE not yet started jobs of the same kind.

    Claiming is not exclusive: two workers may pick overlapping batches, which only
    repeats idempotent work. As in run_job, objects whose newer job started while
    this batch ran are handled once more, so the last write reflects the latest state.
    """
    others = list(Job.select().where((Job.name == job.name) & Job.done_at.is_null()
                                     & (Job.attempts == 0) & (Job.id != job.id))
                  .order_by(Job.id).limit(BATCH_SIZE - 1))
    claimed = [job] + others
    ids = [j.id for j in claimed]
    objects = sorted({j.object_id for j in claimed})
    Job.update(attempts=Job.attempts + 1).where(Job.id.in_(ids)).execute()
    run = _batch_handlers[job.name]
    try:
        run(objects)
        again = sorted({r.object_id for r in Job.select(Job.object_id).where(
            (Job.name == job.name) & Job.object_id.in_(objects) & (Job.id > max(ids))
            & (Job.done_at.is_null(False) | (Job.attempts > 0)))})
        if again:
            run(again)
    except Exception as exc:
        Job.update(last_error=type(exc).__name__ + ": " + str(exc)[:500]).where(
            Job.id.in_(ids)).execute()
        raise
    Job.update(done_at=utcnow(), last_error="").where(Job.id.in_(ids)).execute()
    return True


def _mark_done(job_id: int) -> None:
    Job.update(done_at=utcnow(), last_error="").where(Job.id == job_id).execute()


# A job that failed this often is left for an administrator (it shows in /healthz and
# `failed_jobs()`), instead of being retried for ever.
MAX_ATTEMPTS = 10


def stale_jobs(older_than_seconds: int, limit: int = 500) -> list[int]:
    """Unfinished jobs last enqueued longer ago than the threshold (for the sweeper)."""
    cutoff = utcnow() - dt.timedelta(seconds=older_than_seconds)
    rows = (Job.select(Job.id).where(Job.done_at.is_null() & (Job.enqueued_at < cutoff)
                                     & (Job.attempts < MAX_ATTEMPTS))
            .order_by(Job.id).limit(limit))
    return [r.id for r in rows]


def failed_jobs() -> int:
    """How many jobs gave up after MAX_ATTEMPTS (their last_error says why)."""
    return Job.select().where(Job.done_at.is_null() & (Job.attempts >= MAX_ATTEMPTS)).count()


def sweep(older_than_seconds: int) -> int:
    """Re-enqueue unfinished jobs; returns how many."""
    ids = stale_jobs(older_than_seconds)
    if ids:
        Job.update(enqueued_at=utcnow()).where(Job.id.in_(ids)).execute()
        for job_id in ids:
            _enqueue(job_id)
    return len(ids)


def prune(keep_days: int = 7) -> int:
    """Delete finished jobs older than `keep_days` (they only say what was done)."""
    cutoff = utcnow() - dt.timedelta(days=keep_days)
    return Job.delete().where(Job.done_at.is_null(False) & (Job.done_at < cutoff)).execute()


def run_pending_inline() -> int:
    """Run every unfinished job in this process (CLI maintenance and tests)."""
    count = 0
    # A list, not an open cursor: on SQLite a write begun while a SELECT is still stepping
    # fails with "database is locked" once another connection has committed meanwhile.
    for job in list(Job.select(Job.id).where(Job.done_at.is_null()).order_by(Job.id)):
        count += run_job(job.id)
    return count


def import_handlers() -> None:
    """Import every module that registers job handlers (lazily, to avoid cycles): the
    worker (appliance.tasks) and run_job here must know the same ones, or a job is a
    KeyError in run_job (the CLI's run_pending_inline runs every kind)."""
    import appliance.services.agent_stats  # noqa: F401
    import appliance.services.dispatch  # noqa: F401
    import appliance.services.presence  # noqa: F401
    import appliance.services.indexing  # noqa: F401
    import appliance.services.erasure  # noqa: F401
    import appliance.services.mail_fetch  # noqa: F401
    import appliance.services.mail_outbound  # noqa: F401
    import appliance.services.triage  # noqa: F401
    import appliance.services.ai_training  # noqa: F401
    import appliance.services.assist  # noqa: F401
    import appliance.services.callbacks  # noqa: F401
    import appliance.services.conversations  # noqa: F401
    import appliance.services.process_engine  # noqa: F401
    import appliance.services.knowledge_indexing  # noqa: F401
    import appliance.services.knowledge_learning  # noqa: F401
    import appliance.services.sla_timers  # noqa: F401
    import appliance.services.audit_verification  # noqa: F401
    import appliance.services.backup_runs  # noqa: F401
    import appliance.services.quality  # noqa: F401
