"""AI assistance on the agent's ticket page through the real app: requesting a draft
(CSRF), polling it as JSON, following it as server-sent events, and the 404s that keep
other agents' drafts and invisible tickets out of reach. The model is scripted: what
it writes is the input under test (tests/domain/test_assist.py covers the job)."""
from __future__ import annotations

import json
import re

import pytest

import webapp.views.agent_ai as agent_ai  # registers its routes on the agent blueprint
from appliance.models import AiDraft, Job
from appliance.services import assist, knowledge
from tests.assist_fakes import ScriptedModel, run_jobs
from tests.factories import ticket
from webapp import ai_status


@pytest.fixture(autouse=True)
def model_available(monkeypatch):
    """The web only asks the registry whether the model is there; say it is."""
    state = ai_status.AiStatus(True, "scripted", "0" * 64, "")
    monkeypatch.setattr(ai_status, "current", lambda settings, fresh=False: state)


@pytest.fixture
def agent(login):
    return login("wangfang")


def html(response) -> str:
    return response.get_data(as_text=True)


def printer_ticket(settings, org, description="打印机不能打印了。") -> int:
    return ticket(settings, org.agent, "打印机不能打印", description=description,
                  department_id=org.after_sales).summary.id


def csrf_of(browser, ticket_id: int) -> str:
    return re.search(r'data-csrf="([^"]+)"', html(browser.get(f"/agent/tickets/{ticket_id}"))).group(1)


def ask(browser, ticket_id: int, kind="reply", tone="formal", token: str | None = None):
    token = token or csrf_of(browser, ticket_id)
    return browser.client.post(f"/agent/tickets/{ticket_id}/ai/drafts",
                               data={"kind": kind, "tone": tone},
                               headers={"X-CSRFToken": token, "Accept": "application/json"})


def events(body: str) -> list[tuple[str, dict]]:
    out = []
    for block in body.split("\n\n"):
        name = re.search(r"^event: (\w+)$", block, re.M)
        data = re.search(r"^data: (.*)$", block, re.M)
        if name:
            out.append((name.group(1), json.loads(data.group(1)) if data else {}))
    return out


# --- the ticket page -------------------------------------------------------------------------

def test_the_ticket_page_offers_drafts_and_summaries_without_inline_script(agent, settings, org):
    tid = printer_ticket(settings, org)
    page = html(agent.get(f"/agent/tickets/{tid}"))
    for marker in ('id="ai-assist"', 'data-ai-kind="reply"', 'data-ai-kind="thread_summary"',
                   'data-ai-kind="customer_summary"', 'id="ai-tone"', 'id="ai-insert"',
                   f'data-base="/agent/tickets/{tid}/ai"', "/static/ai.js"):
        assert marker in page, marker
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\s(style|on[a-z]+)=", page)


def test_the_status_endpoint_says_when_the_model_is_unavailable(agent, settings, org, monkeypatch):
    tid = printer_ticket(settings, org)
    assert agent.get(f"/agent/tickets/{tid}/ai/status").get_json()["available"] is True
    down = ai_status.AiStatus(False, "", "", "model file missing")
    monkeypatch.setattr(ai_status, "current", lambda settings, fresh=False: down)
    body = agent.get(f"/agent/tickets/{tid}/ai/status").get_json()
    assert body["available"] is False and "not available" in body["message"]
    r = ask(agent, tid)
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "ai_unavailable"
    assert AiDraft.select().count() == 0


# --- requesting and following a draft ----------------------------------------------------------

def test_a_draft_request_needs_a_csrf_token(agent, settings, org):
    tid = printer_ticket(settings, org)
    r = agent.client.post(f"/agent/tickets/{tid}/ai/drafts", data={"kind": "reply"})
    assert r.status_code == 400 and AiDraft.select().count() == 0
    r = agent.client.get(f"/agent/tickets/{tid}/ai/drafts", data={"kind": "reply"})
    assert r.status_code == 405


def test_request_then_poll_shows_the_written_draft_with_links_to_its_sources(
        agent, settings, org, use_model):
    a = knowledge.create_article(org.agent, knowledge.ArticleInput(
        "打印机无法打印怎么办", "关机一分钟后重启打印机。", "zh", "public"))
    knowledge.publish_article(org.supervisor, a.id)
    run_jobs("index_article")  # reply sources come from the article index
    tid = printer_ticket(settings, org)
    r = ask(agent, tid, tone="friendly")
    assert r.status_code == 202
    body = r.get_json()
    draft = body["draft"]
    assert (draft["status"], draft["tone"], draft["finished"]) == ("queued", "friendly", False)
    assert body["urls"] == {"poll": f"/agent/tickets/{tid}/ai/drafts/{draft['id']}",
                            "stream": f"/agent/tickets/{tid}/ai/drafts/{draft['id']}/events"}
    assert Job.get((Job.name == "ai_draft") & (Job.object_id == draft["id"])).done_at is None
    use_model(ScriptedModel(["您好，请重启打印机 [A1]。"]))
    run_jobs("ai_draft")
    polled = agent.get(body["urls"]["poll"]).get_json()["draft"]
    assert polled["status"] == "done" and polled["finished"] is True
    assert polled["text"] == "您好，请重启打印机 [A1]。"
    assert polled["citations"] == [{"marker": "A1", "kind": "article", "label": "打印机无法打印怎么办",
                                    "href": f"/agent/kb/{a.id}", "cited": True}]
    assert agent.get(polled["citations"][0]["href"]).status_code == 200


def test_the_event_stream_sends_the_draft_and_ends_when_it_is_done(agent, settings, org, use_model):
    tid = printer_ticket(settings, org)
    draft_id = ask(agent, tid).get_json()["draft"]["id"]
    use_model(ScriptedModel(["第一句。", "第二句。"]))
    run_jobs("ai_draft")
    r = agent.get(f"/agent/tickets/{tid}/ai/drafts/{draft_id}/events")
    assert r.status_code == 200 and r.mimetype == "text/event-stream"
    assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Accel-Buffering"] == "no"
    body = html(r)
    assert body.startswith("retry: ")
    assert events(body) == [("end", events(body)[0][1])]
    assert events(body)[0][1]["text"] == "第一句。第二句。"


def test_the_event_stream_is_bounded_and_sends_heartbeats_while_waiting(
        agent, settings, org, monkeypatch):
    monkeypatch.setattr(agent_ai, "STREAM_SECONDS", 0.6)
    monkeypatch.setattr(agent_ai, "HEARTBEAT_SECONDS", 0.2)
    monkeypatch.setattr(agent_ai, "POLL_SECONDS", 0.05)
    tid = printer_ticket(settings, org)
    draft_id = ask(agent, tid).get_json()["draft"]["id"]
    body = html(agent.get(f"/agent/tickets/{tid}/ai/drafts/{draft_id}/events"))
    assert [name for name, _ in events(body)] == ["draft"]  # sent once, unchanged since
    assert events(body)[0][1]["status"] == "queued"
    assert ": keep-alive" in body


def test_a_failed_draft_says_why_in_the_users_language(app, agent, settings, org, use_model):
    from appliance.ports import ModelUnavailable
    tid = printer_ticket(settings, org)
    draft_id = ask(agent, tid).get_json()["draft"]["id"]
    use_model(ScriptedModel(error=ModelUnavailable))
    run_jobs("ai_draft")
    draft = agent.get(f"/agent/tickets/{tid}/ai/drafts/{draft_id}").get_json()["draft"]
    assert draft["status"] == "failed" and draft["error"] == "unavailable"
    assert "not available" in draft["message"]
    agent.client.set_cookie("lang", "zh_CN")
    draft = agent.get(f"/agent/tickets/{tid}/ai/drafts/{draft_id}").get_json()["draft"]
    with app.test_request_context(headers={"Cookie": "lang=zh_CN"}):
        assert draft["message"] == str(agent_ai.REASONS["unavailable"])


def test_model_text_is_data_in_json_and_never_markup_on_the_page(agent, settings, org, use_model):
    tid = printer_ticket(settings, org, description="<script>alert(1)</script>")
    draft_id = ask(agent, tid).get_json()["draft"]["id"]
    use_model(ScriptedModel(['<img src=x onerror="alert(1)"> 见 [A9]']))
    run_jobs("ai_draft")
    r = agent.get(f"/agent/tickets/{tid}/ai/drafts/{draft_id}")
    assert r.mimetype == "application/json"
    assert r.get_json()["draft"]["text"] == '<img src=x onerror="alert(1)"> 见'
    assert "<img src=x" not in html(agent.get(f"/agent/tickets/{tid}"))


def test_bad_input_and_limits_answer_in_json(agent, settings, org, monkeypatch):
    tid = printer_ticket(settings, org)
    r = ask(agent, tid, kind="poem")
    assert r.status_code == 400 and set(r.get_json()["error"]["fields"]) == {"kind"}
    monkeypatch.setattr(assist, "MAX_OPEN_PER_USER", 1)
    assert ask(agent, tid).status_code == 202
    r = ask(agent, tid, kind="thread_summary")
    assert r.status_code == 429 and r.get_json()["error"]["message"]


# --- who may see what --------------------------------------------------------------------------

def test_other_agents_drafts_and_invisible_tickets_are_404(agent, login, settings, org):
    tid = printer_ticket(settings, org)
    draft_id = ask(agent, tid).get_json()["draft"]["id"]
    other = ticket(settings, org.agent2, "物流的", department_id=org.logistics).summary.id
    lilei, lead = login("lilei"), login("lead")
    token = csrf_of(lilei, other)
    assert ask(lilei, tid, token=token).status_code == 404
    assert lilei.get(f"/agent/tickets/{tid}/ai/status").status_code == 404
    for who in (lilei, lead):
        for path in (f"/agent/tickets/{tid}/ai/drafts/{draft_id}",
                     f"/agent/tickets/{tid}/ai/drafts/{draft_id}/events"):
            assert who.get(path).status_code == 404, path
    assert agent.get(f"/agent/tickets/{other}/ai/drafts/{draft_id}").status_code == 404
    assert agent.get(f"/agent/tickets/{tid}/ai/drafts/{draft_id + 99}").status_code == 404


def test_customers_and_visitors_cannot_reach_the_ai_endpoints(app, login, settings, org):
    tid = printer_ticket(settings, org)
    customer = login("zhangsan")
    assert customer.get(f"/agent/tickets/{tid}/ai/status").status_code == 403
    r = app.test_client().get(f"/agent/tickets/{tid}/ai/status")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_cited_article_page_escapes_the_article(agent, login, settings, org):
    a = knowledge.create_article(org.agent, knowledge.ArticleInput(
        "<script>alert(1)</script>标题", "正文 <b>粗</b>", "zh", "internal"))
    page = html(agent.get(f"/agent/kb/articles/{a.id}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;标题" in page and "<b>粗</b>" not in page
    assert agent.get(f"/agent/kb/articles/{a.id + 50}").status_code == 404
    assert login("zhangsan").get(f"/agent/kb/articles/{a.id}").status_code == 403
