"""Department scope of unpublished knowledge articles (docs/decisions/0033) through the
real app: the REST API /api/v1/kb and the staff pages answer 404 for another
department's draft, as for a missing article, and list or search only what is in scope.
Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

import appliance.services.knowledge_indexing  # noqa: F401  (registers "index_article")
from appliance import jobs
from appliance.models import Article, ArticleFile
from appliance.rules.access import SYSTEM
from appliance.services import knowledge, knowledge_files, knowledge_review
from appliance.services.attachments import Upload
from appliance.services.knowledge import ArticleInput
from tests.factories import ticket
from tests.web.apiclient import api  # noqa: F401

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def kb(org, settings):
    t = ticket(settings, org.agent, "退款审核太慢", department_id=org.after_sales).summary
    ai = knowledge.create_article(SYSTEM, ArticleInput("AI：退款审核流程", "售后工单里的退款审核步骤。"),
                                  ai_generated=True, source_ticket_id=t.id)
    knowledge_review.link_ticket_row(ai.id, t.id, "source", None)
    knowledge_review.transition(SYSTEM, ai.id, "submit")
    draft = knowledge.create_article(org.agent, ArticleInput("售后退款审核草稿", "退款审核内部步骤。"))
    knowledge_files.upload_files(org.agent, draft.id, [Upload("a.png", PNG)], settings)
    public = knowledge.create_article(org.agent, ArticleInput("退款审核说明", "退款审核一般两天。",
                                                              visibility="public"))
    knowledge_review.transition(org.admin, public.id, "approve")
    jobs.run_pending_inline()
    file_id = ArticleFile.get(ArticleFile.article == draft.id).id
    return {"ai": ai.id, "draft": draft.id, "public": public.id, "file": file_id}


def test_the_api_answers_404_for_another_departments_draft_on_every_route(api, kb):
    outsider, insider = api("lilei"), api("wangfang")
    for key in ("ai", "draft"):
        base = f"/kb/articles/{kb[key]}"
        for method, path, body in (("GET", base, None), ("GET", base + "/versions", None),
                                   ("GET", base + "/diff?from=1", None),
                                   ("GET", base + "/translations", None),
                                   ("PUT", base, {"title": "改"}),
                                   ("POST", base + "/actions", {"action": "return"}),
                                   ("POST", base + "/rollback", {"version": 1}),
                                   ("DELETE", base, None)):
            r = outsider.open(method, path, json=body)
            assert r.status_code == 404, (method, path, r.get_json())
        assert insider.get(base).status_code == 200
    missing = outsider.get(f"/kb/articles/{max(kb.values()) + 1000}")
    assert missing.status_code == 404
    assert outsider.get(f"/kb/articles/{kb['draft']}").get_json()["error"]["code"] == \
        missing.get_json()["error"]["code"]
    assert Article.get_by_id(kb["draft"]).title == "售后退款审核草稿"
    assert outsider.get(f"/kb/articles/{kb['public']}").status_code == 200


def test_the_api_lists_searches_and_queues_only_what_is_in_scope(api, kb):
    outsider, insider = api("lilei"), api("wangfang")
    listed = {a["id"] for a in outsider.get("/kb/articles?limit=100").get_json()["items"]}
    assert listed == {kb["public"]}
    found = outsider.get("/kb/search?q=退款审核").get_json()
    assert {h["article"]["id"] for h in found["items"]} == {kb["public"]} and found["total"] == 1
    assert {f["value"]: f["count"] for f in found["facets"]["status"]} == {"published": 1}
    assert outsider.get("/kb/review-queue").get_json()["items"] == []
    assert [i["article"]["id"] for i in insider.get("/kb/review-queue").get_json()["items"]] == [kb["ai"]]
    assert insider.get("/kb/search?q=退款审核").get_json()["total"] == 3


def test_the_staff_pages_answer_404_for_another_departments_draft(login, kb):
    outsider = login("lilei")
    for path in (f"/agent/kb/{kb['draft']}", f"/agent/kb/articles/{kb['ai']}",
                 f"/agent/kb/{kb['draft']}/edit", f"/agent/kb/{kb['draft']}/versions/1",
                 f"/agent/kb/files/{kb['file']}", f"/agent/kb/review/{kb['ai']}/merge"):
        assert outsider.get(path).status_code == 404, path
    listing = outsider.get("/agent/kb").get_data(as_text=True)
    assert "退款审核说明" in listing and "售后退款审核草稿" not in listing and "AI：退款审核流程" not in listing
    found = outsider.get("/agent/kb?q=退款审核").get_data(as_text=True)
    assert f'href="/agent/kb/{kb["public"]}"' in found  # titles are highlighted: look at links
    assert f'href="/agent/kb/{kb["draft"]}"' not in found and f'href="/agent/kb/{kb["ai"]}"' not in found
    assert "AI：退款审核流程" not in outsider.get("/agent/kb/review").get_data(as_text=True)
    insider = login("wangfang")
    assert insider.get(f"/agent/kb/{kb['draft']}").status_code == 200
    assert insider.get(f"/agent/kb/files/{kb['file']}").status_code == 200
    assert "AI：退款审核流程" in insider.get("/agent/kb/review").get_data(as_text=True)
