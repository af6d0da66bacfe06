"""Rate limits on the AI and suggestion endpoints, per user, answered with 429 and a
Retry-After that says when the next request will pass (SECURITY.md "Rate limits ... AI
endpoints"). Drafts and summaries are counted in the database (all workers together);
the suggestion limits count per process (rate_window)."""
from __future__ import annotations

import datetime as dt
import re

import pytest

import webapp.views.agent_ai  # noqa: F401 - registers its routes on the agent blueprint
from appliance.models import AiDraft, utcnow
from appliance.services import assist, knowledge_suggest
from appliance.services.rate_window import SlidingWindow
from tests.factories import ticket
from webapp import ai_status


@pytest.fixture(autouse=True)
def model_available(monkeypatch):
    state = ai_status.AiStatus(True, "scripted", "0" * 64, "")
    monkeypatch.setattr(ai_status, "current", lambda settings, fresh=False: state)


def new_ticket(settings, org, subject="打印机不能打印") -> int:
    return ticket(settings, org.agent, subject, description="打印机不能打印了。",
                  department_id=org.after_sales).summary.id


def ask(browser, ticket_id: int, kind="reply"):
    page = browser.get(f"/agent/tickets/{ticket_id}").get_data(as_text=True)
    token = re.search(r'data-csrf="([^"]+)"', page).group(1)
    return browser.client.post(f"/agent/tickets/{ticket_id}/ai/drafts",
                               data={"kind": kind, "tone": "formal"},
                               headers={"X-CSRFToken": token, "Accept": "application/json"})


def test_drafts_and_summaries_in_progress_are_limited_per_user(login, settings, org):
    agent, lead = login("wangfang"), login("lead")
    tid = new_ticket(settings, org)
    for kind in assist.KINDS:   # reply, thread summary, customer summary
        assert ask(agent, tid, kind).status_code == 202
    r = ask(agent, new_ticket(settings, org, "另一个"))
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "ai_busy"
    assert r.headers["Retry-After"] == str(assist.OPEN_RETRY_S)
    assert ask(lead, tid).status_code == 202   # another user has a count of their own


def test_the_hourly_limit_says_when_the_oldest_request_leaves_the_window(login, settings, org,
                                                                      monkeypatch):
    monkeypatch.setattr(assist, "MAX_PER_HOUR", 2)
    agent = login("wangfang")
    tid = new_ticket(settings, org)
    for kind in ("reply", "thread_summary"):
        assert ask(agent, tid, kind).status_code == 202
    # Both finished; the older one was asked for 50 minutes ago.
    AiDraft.update(status="done").execute()
    oldest = AiDraft.select().order_by(AiDraft.id).first()
    AiDraft.update(created_at=utcnow() - dt.timedelta(minutes=50)).where(
        AiDraft.id == oldest.id).execute()
    r = ask(agent, tid, "customer_summary")
    assert r.status_code == 429
    assert 9 * 60 <= int(r.headers["Retry-After"]) <= 10 * 60


def test_ticket_suggestions_are_limited_per_user(login, settings, org, monkeypatch):
    monkeypatch.setattr(knowledge_suggest, "_ticket_window", SlidingWindow(2, 60))
    agent, lead = login("wangfang"), login("lead")
    tid = new_ticket(settings, org)
    path = f"/agent/tickets/{tid}/kb-suggestions"
    assert [agent.get(path).status_code for _ in range(2)] == [200, 200]
    r = agent.get(path)
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert lead.get(path).status_code == 200


def test_portal_suggestions_are_limited_per_customer(login, monkeypatch):
    monkeypatch.setattr(knowledge_suggest, "_suggest_window", SlidingWindow(2, 60))
    customer = login("zhangsan")
    assert [customer.get("/portal/kb/suggest?q=打印机不能打印").status_code
            for _ in range(2)] == [200, 200]
    r = customer.get("/portal/kb/suggest?q=打印机不能打印")
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert login("lisi").get("/portal/kb/suggest?q=打印机不能打印").status_code == 200


def test_the_window_counts_seconds_until_the_oldest_event_leaves():
    w = SlidingWindow(2, 30)
    assert w.retry_after("k") == 0
    assert w.allow("k") and w.allow("k") and not w.allow("k")
    assert 29 <= w.retry_after("k") <= 30 and w.retry_after("other") == 0
