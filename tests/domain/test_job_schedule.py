"""The outbox's schedule(): coalescing within a transaction without reading the job table
for every job, and the enqueuer told each committed job's name and object."""
import pytest

from appliance import jobs, tasks
from appliance.models import Job


@pytest.fixture
def enqueued(settings):
    seen = []
    jobs.set_enqueuer(lambda job_id: seen.append((job_id, jobs.committed_job(job_id))))
    return seen


def test_one_job_per_name_and_object_in_a_transaction(settings, enqueued, queries):
    with jobs.unit_of_work():
        a = jobs.schedule("index_ticket", 5)
        b = jobs.schedule("triage_ticket", 5)
        c = jobs.schedule("index_ticket", 6)
        assert not any('FROM "job"' in q for q in queries)  # nothing to coalesce: no lookup
        assert jobs.schedule("index_ticket", 5) == a
    assert len({a, b, c}) == 3 and Job.select().count() == 3
    assert enqueued == [(a, ("index_ticket", 5)), (b, ("triage_ticket", 5)),
                        (c, ("index_ticket", 6))]
    assert jobs.committed_job(a) is None  # known only while being handed over
    with jobs.unit_of_work():
        later = jobs.schedule("index_ticket", 5)  # a new transaction: a job of its own
    assert later not in (a, b, c)


def test_a_job_rolled_back_with_a_savepoint_is_not_reused(settings, enqueued):
    with jobs.unit_of_work():
        with pytest.raises(RuntimeError), jobs.unit_of_work():
            jobs.schedule("index_ticket", 9)
            raise RuntimeError("inner step failed")
        kept = jobs.schedule("index_ticket", 9)
    row = Job.get_or_none(Job.id == kept)
    assert row is not None and (row.name, row.object_id) == ("index_ticket", 9)
    assert (kept, ("index_ticket", 9)) in enqueued


def test_a_failed_transaction_enqueues_nothing_and_forgets_its_jobs(settings, enqueued):
    with pytest.raises(RuntimeError), jobs.unit_of_work():
        jobs.schedule("index_ticket", 3)
        raise RuntimeError("rolled back")
    assert enqueued == [] and Job.select().count() == 0
    with jobs.unit_of_work():
        job = jobs.schedule("index_ticket", 3)
    assert Job.get_by_id(job).object_id == 3 and enqueued == [(job, ("index_ticket", 3))]


def test_the_enqueuer_reads_a_swept_jobs_name_from_the_outbox(settings):
    with jobs.unit_of_work():
        job = jobs.schedule("triage_ticket", 4)
    row = tasks._job_row(job)  # as the sweeper re-enqueues it: not committed by this thread
    assert (row.name, row.object_id) == ("triage_ticket", 4)
    assert tasks._job_row(job + 1000) is None


def test_the_sqlite_queue_commits_without_waiting_for_an_fsync(tmp_path):
    """WAL with synchronous=NORMAL: a message costs no fsync (the outbox and its sweeper
    resend what a power cut loses); huey alone would leave FULL."""
    huey, run_job, _ = tasks._build(f"sqlite:///{tmp_path}/queue.db", 60)
    with huey.storage.db() as cursor:
        assert cursor.execute("pragma synchronous").fetchone()[0] == 1      # NORMAL
        assert cursor.execute("pragma journal_mode").fetchone()[0] == "wal"
    huey.enqueue(run_job.s(1))
    assert huey.pending_count() == 1
