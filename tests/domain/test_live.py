"""Live events on SQLite and PostgreSQL: written with every timeline record, read back by
a process's hub (one listener thread) and handed to the right subscribers; back-ends that
wake the hub (polling, LISTEN/NOTIFY, Redis); pruning."""
import datetime as dt
import threading
import time

import pytest

from appliance import runtime
from appliance.db import database
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.live import backends
from appliance.live.hub import Full, Hub
from appliance.models import LiveEvent, utcnow
from appliance.services import comments, live, tickets
from tests.conftest import with_settings
from tests.factories import make_org, ticket


@pytest.fixture
def org(settings):
    return make_org()


@pytest.fixture
def hub(settings):
    made = []

    def make(s=None, **kw):
        h = Hub(s or settings, **kw)
        made.append(h)
        return h
    yield make
    for h in made:
        h.stop()


def kinds(ticket_id):
    return [(e.kind, e.internal) for e in live.read_after(0) if e.ticket_id == ticket_id]


def test_every_timeline_record_publishes_an_event_in_the_same_transaction(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    comments.add_comment(org.agent, t.id, "内部备注", settings, internal=True)
    tickets.update_ticket(org.admin, t.id, {"department_id": org.logistics}, settings)
    assert kinds(t.id) == [("created", False), ("note_added", True), ("field_changed", False)]
    moved = live.read_after(0)[-1]
    assert moved.data == {"department_id": [org.after_sales, org.logistics]}
    assert moved.ticket.department_id == org.logistics and moved.version == 3
    with pytest.raises(RuntimeError), unit_of_work():
        comments.add_comment(org.admin, t.id, "rolled back", settings)
        raise RuntimeError("the change fails")
    assert len(kinds(t.id)) == 3


def test_payloads_carry_ids_never_text(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    comments.add_comment(org.agent, t.id, "客户电话 13800138000", settings)
    for e in live.read_after(0):
        assert "13800138000" not in repr(e) and "客户" not in repr(e)


def test_the_hub_hands_an_event_to_its_ticket_and_queue_followers_only(settings, org, hub):
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    h = hub()
    mine = h.subscribe(org.agent, (f"ticket:{t.id}", "queue:open"))
    other = h.subscribe(org.agent2, ("queue:open", "queue:all"))
    done = threading.Event()

    def write():  # another thread, another connection: as another request would
        comments.add_comment(org.supervisor, t.id, "回复", settings)
        database.close()
        done.set()
    threading.Thread(target=write).start()
    assert done.wait(10)
    got = [mine.get(3), mine.get(3)]
    assert {(d["topic"], d["kind"]) for _, _, d in got if isinstance(d, dict)} >= {
        (f"ticket:{t.id}", "reply_added"), ("queue:open", "changed")}
    assert other.get(0.5) is None


def test_a_full_hub_refuses_another_stream_until_one_closes(settings, org, hub):
    h = hub(with_settings(settings, live_streams_per_worker=2))
    a = h.subscribe(org.agent, ("queue:open",))
    h.subscribe(org.agent, ("queue:mine",))
    with pytest.raises(Full):
        h.subscribe(org.agent, ("queue:all",))
    h.unsubscribe(a)
    h.unsubscribe(a)  # twice: counted once
    h.subscribe(org.agent, ("queue:all",))
    assert h.streams == 2


def test_recent_events_come_from_memory_after_the_hub_started(settings, org, hub):
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    h = hub()
    sub = h.subscribe(org.agent, (f"ticket:{t.id}",))
    start = h.cursor
    comments.add_comment(org.agent, t.id, "一", settings, internal=True)
    assert sub.get(3) is not None
    assert h.recent(start - 1) is None  # before the hub started: the caller reads the table
    assert [e.kind for e in h.recent(start)] == ["note_added"]


def test_stopping_the_hub_closes_every_stream(settings, org, hub):
    h = hub()
    sub = h.subscribe(org.agent, ("queue:open",))
    h.stop()
    assert sub.get(1) == "closed"


def test_prune_drops_old_events_but_keeps_the_newest(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    comments.add_comment(org.agent, t.id, "x", settings, internal=True)
    later = utcnow() + dt.timedelta(hours=30)
    newest = live.last_id()
    assert live.prune(24, now=later) == 1
    assert [e.id for e in LiveEvent.select()] == [newest]
    assert live.prune(24, now=later) == 0


def test_only_registered_topics_take_events_and_followers_are_checked(settings, org):
    with pytest.raises(ValueError):
        live.publish("nothing:1", "x")
    live.register_topic("demo", lambda actor, key: key == "1" and actor.is_staff)
    event_id = live.publish("demo:1", "step_done", data={"step": 2})
    assert live.read_after(event_id - 1)[0].topic == "demo:1"
    with pytest.raises(ValueError):
        live.publish("demo:1", "big", data={"text": "x" * 600})
    live.authorize(org.agent, ("demo:1", "queue:open"))
    with pytest.raises(NotFound):
        live.authorize(org.agent, ("demo:2",))
    with pytest.raises(ValidationError):
        live.authorize(org.agent, ("other:2",))
    with pytest.raises(PermissionDenied):
        live.authorize(org.customer, ("queue:open",))
    with pytest.raises(PermissionDenied):
        live.authorize(org.agent, ("board",))
    live.authorize(org.supervisor, ("board",))


def test_ticket_topics_need_a_ticket_the_reader_may_see(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    live.authorize(org.agent, (f"ticket:{t.id}",))
    with pytest.raises(NotFound):
        live.authorize(org.agent2, (f"ticket:{t.id}",))
    with pytest.raises(NotFound):
        live.authorize(org.customer, (f"ticket:{t.id}",))


# --- back-ends ----------------------------------------------------------------------------------

def test_postgres_wakes_the_listener_at_commit_not_before(settings, backend):
    if backend != "postgres":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    b = backends.PostgresBackend(settings)
    try:
        assert b.wait(0.1) is None  # listening now
        with database.atomic():
            b.notify(1)
            assert b.wait(0.3) is None  # not committed yet
        assert b.wait(2) == 0
    finally:
        b.close()


def test_an_event_committed_out_of_order_on_postgres_is_still_delivered(settings, backend,
                                                                        org, hub):
    if backend != "postgres":
        pytest.skip("SQLite has one writer: its ids always commit in order")
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    h = hub()
    sub = h.subscribe(org.agent, (f"ticket:{t.id}",))
    first_written, second_done = threading.Event(), threading.Event()

    def slow():
        with database.atomic():
            live.publish_ticket(t.id, "slow")
            first_written.set()
            second_done.wait(10)
            time.sleep(0.5)  # the hub has read the later id meanwhile
        database.close()
    thread = threading.Thread(target=slow)
    thread.start()
    assert first_written.wait(10)
    live.publish_ticket(t.id, "fast")
    second_done.set()
    thread.join()
    got = [sub.get(5), sub.get(5)]
    assert sorted(d[2]["kind"] for d in got if d) == ["fast", "slow"]


def test_redis_announces_ids_the_hub_waits_for(settings, org, hub):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.fail("Redis on 127.0.0.1:6379 is needed (make services)")
    s = with_settings(settings, queue_url="redis://127.0.0.1:6379/15", live_backend="redis")
    b = backends.RedisBackend(s)
    try:
        assert b.wait(0.2) is None  # subscribed now
        b.notify(41)
        b.notify(42)
        assert b.wait(2) == 42
    finally:
        b.close()
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    runtime.configure(s)  # writers notify through the configured back-end
    h = hub(s, backend=backends.RedisBackend(s))
    sub = h.subscribe(org.agent, (f"ticket:{t.id}",))
    time.sleep(0.3)
    started = time.monotonic()
    comments.add_comment(org.agent, t.id, "via redis", s, internal=True)
    assert sub.get(3)[2]["kind"] == "note_added"
    assert time.monotonic() - started < 0.5  # woken, not the 1 s fallback read
    h.backend.close()


def test_auto_picks_redis_then_postgres_then_polling(settings):
    pick = backends.backend_name
    assert pick(with_settings(settings, database_url="sqlite:///x.db")) == "poll"
    assert pick(with_settings(settings, database_url="postgresql://db/g")) == "postgres"
    assert pick(with_settings(settings, queue_url="redis://r:6379/0")) == "redis"
    assert pick(with_settings(settings, live_backend="poll",
                              queue_url="redis://r:6379/0")) == "poll"
