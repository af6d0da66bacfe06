"""AI triage through the real queue: the worker triages new tickets, and fast jobs never
wait behind language-model work (lanes and priorities in appliance.tasks)."""
from __future__ import annotations

import signal
import threading
import time

import pytest

from appliance import jobs, runtime, tasks
from appliance.models import Job, Ticket, TriageRun
from appliance.ports import ModelBusy
from appliance.rules.access import SYSTEM
from tests.conftest import with_settings
from tests.factories import make_org, ticket
from tests.tasks.test_worker import Worker, wait_until

pytestmark = pytest.mark.slow


def fast_run(ticket_id: int) -> TriageRun | None:
    return TriageRun.select().where((TriageRun.ticket == ticket_id)
                                    & (TriageRun.stage == "fast")).first()


@pytest.fixture
def worker(settings, tmp_path):
    w = Worker(settings, tmp_path)
    # No model here: enrichment is skipped at once instead of holding the CPU.
    w.config.write_text(w.config.read_text(encoding="utf-8")
                        + f'model_dir = "{tmp_path / "no-model"}"\n', encoding="utf-8")
    yield w
    w.stop()
    if w.log.exists():
        print(w.log.read_text(encoding="utf-8", errors="replace")[-4000:])


def test_a_new_ticket_is_triaged_by_the_worker_within_seconds(settings, worker):
    org = make_org()
    worker.start()
    tasks.install_enqueuer(settings)
    created = time.monotonic()
    t = ticket(settings, org.customer, "打印机卡纸 printer jam").summary.id
    run = wait_until(lambda: fast_run(t), timeout=20, what="the worker's fast-path triage")
    assert Ticket.get_by_id(t).triage_state in ("auto", "review")
    assert run.created_at >= Ticket.get_by_id(t).created_at
    # One queue message carried both fast jobs of the new ticket (index and triage).
    wait_until(lambda: Job.select().where((Job.object_id == t) & Job.done_at.is_null()
                                          & Job.name.in_(tasks.RIDE_ALONG)).count() == 0,
               what="both fast jobs to finish")
    enrich = wait_until(lambda: TriageRun.select().where((TriageRun.ticket == t)
                                                         & (TriageRun.stage == "enrich")).first(),
                        what="the enrichment run")
    assert enrich.status == "skipped" and enrich.error  # no model: says why, ticket flows
    print(f"triaged {time.monotonic() - created:.2f}s after creation")


# --- lanes: an in-process consumer with a job that holds the model lane --------------------

class Gate:
    """A slow job: it signals when it starts and holds its thread until released."""

    def __init__(self):
        self.started: list[int] = []
        self.release = threading.Event()
        self.busy_once: set[int] = set()

    def run(self, object_id: int) -> None:
        if object_id in self.busy_once:
            self.busy_once.discard(object_id)
            raise ModelBusy("an interactive request goes first")
        self.started.append(object_id)
        self.release.wait(30)


@pytest.fixture
def gate(settings, monkeypatch):
    g = Gate()
    jobs.handler("test_model_work")(g.run)
    monkeypatch.setitem(tasks.SLOW_LANES, "test_model_work", "background")
    monkeypatch.setattr(tasks, "_lanes", {})
    monkeypatch.setitem(tasks.BUSY_RETRY_SECONDS, "background", 1)
    yield g
    g.release.set()


@pytest.fixture
def consumer(settings):
    """A real Huey consumer (threads, the SQLite queue) inside the test process."""
    runtime.configure(with_settings(settings, worker_threads=2, llm_concurrency=1))
    tasks.install_enqueuer(settings)
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    c = tasks.make_consumer(runtime.settings(), periodic=False, max_delay=0.2)
    c.start()
    yield c
    c.stop(graceful=True)
    for s, handler in saved.items():
        signal.signal(s, handler)


def schedule(name: str, object_id: int) -> int:
    with jobs.unit_of_work():
        return jobs.schedule(name, object_id)


def test_fast_jobs_run_while_model_work_holds_its_lane(settings, gate, consumer):
    slow = [schedule("test_model_work", i) for i in (1, 2, 3)]
    # Two consumer threads may take two of the messages at once; either may win the lane.
    wait_until(lambda: gate.started, timeout=20, what="the first model job to start")
    first = list(gate.started)
    started = time.monotonic()
    ids = [ticket(settings, SYSTEM, f"打印机 {i}").summary.id for i in range(5)]
    wait_until(lambda: all(fast_run(t) for t in ids), timeout=10,
               what="fast-path triage while the model lane is held")
    fast_s = time.monotonic() - started
    assert gate.started == first and len(first) == 1, \
        "only one model job at a time (llm_concurrency = 1)"
    assert sum(Job.get_by_id(j).done_at is None for j in slow) == 3
    gate.release.set()
    wait_until(lambda: all(Job.get_by_id(j).done_at for j in slow), timeout=20,
               what="the lane to work through the waiting model jobs")
    assert sorted(gate.started) == [1, 2, 3]
    assert fast_s < 5, f"fast jobs took {fast_s:.1f}s behind model work"


def test_a_busy_model_defers_the_job_without_counting_a_failure(settings, gate, consumer):
    gate.release.set()
    gate.busy_once.add(7)
    job = schedule("test_model_work", 7)
    wait_until(lambda: Job.get_by_id(job).done_at, timeout=15, what="the deferred job")
    row = Job.get_by_id(job)
    assert gate.started == [7] and row.attempts == 1 and row.last_error == ""


def test_a_new_ticket_is_one_message_whose_task_triages_first_and_indexes_later(settings):
    tasks.install_enqueuer(settings)
    t = ticket(settings, SYSTEM, "打印机卡纸").summary.id
    huey = tasks.get_huey(settings)
    [message] = [huey.serializer.deserialize(i) for i in huey.storage.enqueued_items()]
    index_job = Job.get((Job.name == "index_ticket") & (Job.object_id == t))
    assert message.args == (index_job.id,) and message.priority == tasks.FAST_PRIORITY
    sent_later = []
    tasks._run_fast(index_job.id, sent_later.append)
    assert fast_run(t) is not None  # triage ran in this message
    assert sent_later == [index_job.id] and Job.get_by_id(index_job.id).done_at is None
    later = [huey.serializer.deserialize(i) for i in huey.storage.enqueued_items()][1:]
    assert [m.name.rsplit(".", 1)[-1] for m in later] == ["run_job_llm"]  # enrichment
