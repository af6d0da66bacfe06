"""/live/* through the Flask app on a real SQLite file: who may follow what, what the
pages carry, the polling fallback, presence, and a stream's first messages."""
import datetime as dt
import json
import re

import pytest

from appliance.models import UserSession, utcnow
from appliance.live import hub as hubs
from appliance.services import comments, tickets
from tests.factories import ticket


@pytest.fixture(autouse=True)
def no_hub_left():
    yield
    hubs.stop_hub()


@pytest.fixture
def t(settings, org):
    return ticket(settings, org.agent, department_id=org.after_sales).summary


def live_div(html: str) -> str:
    m = re.search(r'<div id="live".*?></div>', html, re.S)
    assert m, "no #live on the page"
    return m.group(0)


def attr(div: str, name: str) -> str:
    return re.search(name + r'="([^"]*)"', div).group(1)


def test_ticket_queue_and_board_pages_follow_their_topics(login, t):
    agent = login("wangfang")
    div = live_div(agent.get(f"/agent/tickets/{t.id}").get_data(as_text=True))
    assert attr(div, "data-topics") == f"ticket:{t.id}"
    assert int(attr(div, "data-since")) >= 1
    assert attr(div, "data-msg-viewing") == "{name} is viewing this ticket"
    assert attr(live_div(agent.get("/agent/?view=mine").get_data(as_text=True)),
                "data-topics") == "queue:mine"
    lead = login("lead")
    assert attr(live_div(lead.get("/agent/board").get_data(as_text=True)),
                "data-topics") == "board"


def test_a_page_follows_from_what_it_showed(login, settings, org, t):
    agent = login("wangfang")
    since = int(attr(live_div(agent.get(f"/agent/tickets/{t.id}").get_data(as_text=True)),
                     "data-since"))
    comments.add_comment(org.supervisor, t.id, "新回复", settings)
    events = agent.get(f"/live/poll?topics=ticket:{t.id}&since={since}").get_json()["events"]
    assert [e["kind"] for e in events] == ["reply_added", "status_changed"]  # not "created"


def test_a_stream_for_a_ticket_the_reader_may_not_see_is_404(login, t):
    other = login("lilei")
    for path in (f"/live/stream?topics=ticket:{t.id}", f"/live/poll?topics=ticket:{t.id}",
                 f"/live/stream?topics=queue:open,ticket:{t.id}", "/live/stream?topics=ticket:99999"):
        r = other.get(path)
        assert r.status_code == 404, path
        assert r.get_json()["error"]["code"] == "not_found"


def test_bad_requests_name_the_field_and_logged_out_readers_get_401(login, browser, t):
    agent = login("wangfang")
    r = agent.get("/live/stream?topics=queue:everything")
    assert r.status_code == 400 and "topics" in r.get_json()["error"]["details"]["fields"]
    r = agent.get(f"/live/poll?topics=ticket:{t.id}&since=abc")
    assert r.status_code == 400 and "since" in r.get_json()["error"]["details"]["fields"]
    assert agent.get("/live/stream?topics=board").status_code == 403
    r = browser().get(f"/live/stream?topics=ticket:{t.id}")
    assert r.status_code == 401 and r.is_json  # JSON, not the login page


def test_queue_hints_never_leak_another_departments_tickets(login, settings, org, t):
    agent, other = login("wangfang"), login("lilei")
    since = agent.get("/live/poll?topics=queue:open").get_json()["cursor"]
    tickets.update_ticket(org.agent, t.id, {"priority": 1}, settings)
    mine = agent.get(f"/live/poll?topics=queue:open,queue:all&since={since}").get_json()
    assert {(e["topic"], e["ticket_id"]) for e in mine["events"]} == {
        ("queue:open", t.id), ("queue:all", t.id)}
    theirs = other.get(f"/live/poll?topics=queue:open,queue:all&since={since}").get_json()
    assert theirs["events"] == [] and theirs["cursor"] == since
    assert login("zhangsan").get("/live/poll?topics=queue:open").status_code == 403


def test_a_customer_follows_their_own_ticket_without_internal_events(login, settings, org):
    t = ticket(settings, org.customer).summary
    since = login("zhangsan").get(f"/live/poll?topics=ticket:{t.id}").get_json()["cursor"]
    comments.add_comment(org.agent, t.id, "内部", settings, internal=True)
    comments.add_comment(org.agent, t.id, "您好", settings)
    kinds = [e["kind"] for e in login("zhangsan").get(
        f"/live/poll?topics=ticket:{t.id}&since={since}").get_json()["events"]]
    assert "note_added" not in kinds and "reply_added" in kinds


def test_presence_beats_and_lists_with_csrf(login, t):
    agent, lead = login("wangfang"), login("lead")
    r = agent.client.post("/live/presence", json={"ticket_id": t.id, "state": "replying"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "csrf_failed"
    token = agent.csrf(f"/agent/tickets/{t.id}")
    r = agent.client.post("/live/presence", json={"ticket_id": t.id, "state": "replying"},
                          headers={"X-CSRFToken": token})
    assert r.status_code == 200
    seen = lead.get(f"/live/presence?ticket_id={t.id}").get_json()["viewers"]
    assert [(v["name"], v["state"], v["me"]) for v in seen] == [("王芳", "replying", False)]
    r = agent.client.post("/live/presence", data={"ticket_id": t.id, "state": "left",
                                                  "csrf_token": token})  # sendBeacon's form
    assert r.status_code == 200 and lead.get(
        f"/live/presence?ticket_id={t.id}").get_json()["viewers"] == []
    r = agent.client.post("/live/presence", json={"ticket_id": "x", "state": "viewing"},
                          headers={"X-CSRFToken": token})
    assert r.status_code == 400 and "ticket_id" in r.get_json()["error"]["details"]["fields"]
    assert login("lilei").get(f"/live/presence?ticket_id={t.id}").status_code == 404


def test_a_stream_says_hello_replays_from_its_cursor_then_follows(login, settings, org, t):
    agent = login("wangfang")
    r = agent.get(f"/live/stream?topics=ticket:{t.id}&since=0", buffered=False)
    assert r.status_code == 200 and r.mimetype == "text/event-stream"
    assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Gongdan-Worker"]
    chunks = iter(r.response)
    assert next(chunks).startswith(b"retry: ")
    assert next(chunks).startswith(b"event: hello\n")
    replayed = next(chunks).decode()
    assert replayed.startswith("id: 1\n") and json.loads(replayed.split("data: ")[1])["kind"] == "created"
    comments.add_comment(org.supervisor, t.id, "回复", settings)
    live = next(chunks).decode()
    payload = json.loads(live.split("data: ")[1])
    assert payload == {"topic": f"ticket:{t.id}", "id": payload["id"], "kind": "reply_added",
                       "ticket_id": t.id, "version": payload["version"],
                       "actor_id": org.supervisor.user_id}
    r.close()
    assert hubs.hub_for(settings).streams == 0  # closing the response gave the slot back


def test_listening_does_not_keep_a_session_alive(login, t):
    agent = login("wangfang")
    old = (utcnow() - dt.timedelta(minutes=5)).replace(microsecond=0)
    UserSession.update(last_seen_at=old).execute()
    assert agent.get(f"/live/poll?topics=ticket:{t.id}").status_code == 200
    assert agent.get(f"/live/presence?ticket_id={t.id}").status_code == 200
    assert {s.last_seen_at for s in UserSession.select()} == {old}
    agent.get("/agent/")  # a page the agent opens does count
    assert {s.last_seen_at for s in UserSession.select()} != {old}
