"""Live updates through a real gunicorn (2 gthread workers, as `gongdan serve` starts it)
on a loopback port: an event written through one worker reaches streams on both workers
(SQLite polling, PostgreSQL LISTEN/NOTIFY, Redis pub/sub), a stream resumes after its
Last-Event-ID, a full worker answers 503 while pages still load, and a stopping worker
ends its streams at once."""
import time

import pytest
import requests

from appliance.models import LiveEvent
from appliance.services import comments, live, users
from tests.factories import ticket
from tests.live_client import SseReader, login, start_server, stop_server

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def backend(request):
    """The live back-end follows the stores: SQLite polls, PostgreSQL listens, and a Redis
    queue_url (here beside SQLite) makes the workers subscribe there."""
    return request.param


@pytest.fixture
def server(backend, settings, org, tmp_path):
    overrides = {"queue_url": "redis://127.0.0.1:6379/15"} if backend == "redis" else {}
    if backend == "sqlite":
        overrides["database_url"] = settings.database_url
    base, proc = start_server(settings, tmp_path, **overrides)
    yield base
    stop_server(proc)


def streams_on_both_workers(base, cookies, topics, seconds=30):
    """A stream on each worker (the second worker may still be starting: keep trying)."""
    found, deadline = {}, time.monotonic() + seconds
    while len(found) < 2 and time.monotonic() < deadline:
        r = SseReader(base, cookies, topics)
        assert r.status == 200, r.body
        if r.node in found:
            r.close()
            time.sleep(0.05)
        else:
            found[r.node] = r
    assert len(found) == 2, "every stream landed on one worker"
    return list(found.values())


def test_a_note_posted_through_the_api_reaches_streams_on_both_workers(server, settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    cookies = login(server, "wangfang", org.passwords["wangfang"])
    readers = streams_on_both_workers(server, cookies, f"ticket:{t.id},queue:open")
    for r in readers:
        r.next(kind="hello")
    _, token = users.create_api_token(org.admin, "live test")
    sent = time.monotonic()
    res = requests.post(f"{server}/api/v1/tickets/{t.id}/comments", timeout=10,
                        headers={"Authorization": f"Bearer {token}"},
                        json={"body": "请稍等", "internal": True})
    assert res.status_code == 201, res.text
    for r in readers:
        got = {(e.data["topic"], e.data["kind"]): e for e in (r.next(), r.next())}
        assert set(got) == {(f"ticket:{t.id}", "note_added"), ("queue:open", "changed")}
        assert got[(f"ticket:{t.id}", "note_added")].at - sent < 1.5
        r.close()


def test_a_stream_resumes_after_its_last_event_id(server, settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    cookies = login(server, "wangfang", org.passwords["wangfang"])
    first = SseReader(server, cookies, f"ticket:{t.id}")
    first.next(kind="hello")
    comments.add_comment(org.agent, t.id, "一", settings, internal=True)
    seen = first.next()
    first.close()
    comments.add_comment(org.agent, t.id, "二", settings, internal=True)
    comments.add_comment(org.agent, t.id, "三", settings, internal=True)
    again = SseReader(server, cookies, f"ticket:{t.id}", last_event_id=seen.id)
    ids = [again.next().id, again.next().id]
    assert ids == sorted(ids) and ids[0] > seen.id
    again.close()
    # Pruned past the reader's cursor (and older than the workers' buffers): it is told
    # to reload what it shows instead of silently missing events.
    LiveEvent.delete().where(LiveEvent.id < live.last_id()).execute()
    stale = SseReader(server, cookies, f"ticket:{t.id}", last_event_id=0)
    assert stale.next(kind=None).kind == "hello"
    assert stale.next(kind=None).kind == "reset"
    stale.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_full_worker_answers_503_pages_still_load_and_shutdown_ends_streams(
        backend, settings, org, tmp_path):
    base, proc = start_server(settings, tmp_path, web_workers=1, web_threads=2,
                              live_streams_per_worker=2)
    try:
        t = ticket(settings, org.agent, department_id=org.after_sales).summary
        cookies = login(base, "wangfang", org.passwords["wangfang"])
        held = [SseReader(base, cookies, f"ticket:{t.id}") for _ in range(2)]
        assert [r.status for r in held] == [200, 200]
        refused = SseReader(base, cookies, f"ticket:{t.id}")
        assert refused.status == 503
        assert int(refused.headers["retry-after"]) >= 30
        assert refused.json()["error"]["code"] == "busy"
        page = requests.get(f"{base}/agent/tickets/{t.id}", cookies=cookies, timeout=5)
        assert page.status_code == 200  # web_threads stay free for pages
        assert requests.get(f"{base}/live/poll?topics=ticket:{t.id}", cookies=cookies,
                            timeout=5).status_code == 200  # what the refused page does
        stopping = time.monotonic()
        proc.terminate()
        for r in held:
            assert r.ended.wait(10)
        assert time.monotonic() - stopping < 5  # not gunicorn's 30 s graceful timeout
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            stop_server(proc)
