"""REST API /api/v1/kb: articles through their life cycle, versions, translations,
deflections, the review queue and metrics — and a customer's token never reaching an
internal or unpublished article by any route. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from appliance import jobs
from appliance.models import Article, ArticleUse, KnowledgeSearch, utcnow
from appliance.services import comments, knowledge, knowledge_review, tickets
from appliance.services.knowledge import ArticleInput
from tests.factories import ticket
from tests.web.apiclient import api  # noqa: F401

ARTICLE_KEYS = {"id", "title", "body", "language", "visibility", "status", "tags",
                "category_id", "owner", "review_by", "translation_group", "ai_generated",
                "update_of", "version", "created_at", "updated_at", "published_at"}


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def make(org, title: str, *, visibility: str = "public", status: str = "published",
         language: str = "zh", translation_of: int | None = None) -> int:
    a = knowledge.create_article(org.agent, ArticleInput(
        title=title, body=f"{title}：先重启设备。", language=language, visibility=visibility,
        translation_of=translation_of))
    for action in {"draft": (), "in_review": ("submit",),
                   "published": ("submit", "approve")}[status]:
        knowledge_review.transition(org.admin, a.id, action)
    return a.id


def error(r) -> dict:
    return r.get_json()["error"]


def fields(r) -> set[str]:
    assert r.status_code == 400, r.get_json()
    return set(error(r)["details"]["fields"])


# -- writing ------------------------------------------------------------------------------

def test_staff_create_a_draft_and_read_it_back_with_its_etag(api, org):
    agent = api("wangfang")
    r = agent.post("/kb/articles", json={"title": "打印机卡纸", "body": "1. 打开前盖\n2. 取纸",
                                         "tags": ["打印机", "卡纸"], "review_by": "2027-01-31"})
    assert r.status_code == 201, r.get_json()
    a = r.get_json()
    assert set(a) == ARTICLE_KEYS | {"reject_reason"}
    assert (a["status"], a["language"], a["visibility"], a["version"]) == ("draft", "zh",
                                                                          "internal", 1)
    assert a["owner"] == {"id": org.agent.user_id, "name": "王芳"}
    assert a["review_by"] == "2027-01-31" and a["translation_group"] == a["id"]
    assert r.headers["ETag"] == '"1"'
    assert agent.get(f"/kb/articles/{a['id']}").get_json() == a


def test_bad_article_input_names_each_field(api, org):
    agent = api("wangfang")
    assert fields(agent.post("/kb/articles", json={})) == {"title", "body"}
    assert fields(agent.post("/kb/articles", json={"title": "t", "body": "b", "colour": 1})) \
        == {"colour"}
    assert fields(agent.post("/kb/articles", json={"title": "  ", "body": "b"})) == {"title"}
    assert fields(agent.post("/kb/articles", json={"title": "t", "body": "b", "language": "fr",
                                                   "visibility": "all"})) == {"language",
                                                                              "visibility"}
    assert fields(agent.post("/kb/articles", json={
        "title": "t", "body": "b", "review_by": "soon", "category_id": 99_999})) \
        == {"review_by", "category_id"}
    assert fields(agent.post("/kb/articles", json={"title": "t", "body": "b",
                                                   "tags": ["x"] * 21})) == {"tags"}
    r = agent.post("/kb/articles", data="{", content_type="application/json")
    assert r.status_code == 400 and error(r)["code"] == "invalid_json"
    assert agent.post("/kb/articles", data="x", content_type="text/plain").status_code == 415


def test_put_keeps_fields_left_out_and_refuses_a_stale_version(api, org):
    agent = api("wangfang")
    a = agent.post("/kb/articles", json={"title": "退款流程", "body": "第一版",
                                         "tags": ["退款"]}).get_json()
    path = f"/kb/articles/{a['id']}"
    r = agent.open("PUT", path, json={"body": "第二版", "expected_version": 1, "note": "补充"})
    assert r.status_code == 200, r.get_json()
    b = r.get_json()
    assert (b["title"], b["body"], b["tags"], b["version"]) == ("退款流程", "第二版", ["退款"], 2)
    r = agent.open("PUT", path, json={"title": "旧的", "expected_version": 1})
    assert r.status_code == 409 and error(r)["details"]["current_version"] == 2
    r = agent.open("PUT", path, json={"title": "旧的"}, headers={"If-Match": '"1"'})
    assert r.status_code == 409
    r = agent.open("PUT", path, json={"title": "新的"}, headers={"If-Match": '"2"'})
    assert r.status_code == 200 and r.get_json()["title"] == "新的"
    assert agent.get(path).get_json()["body"] == "第二版"
    assert fields(agent.open("PUT", path, json={"visibility": "everyone"})) == {"visibility"}
    assert agent.open("PUT", "/kb/articles/99999", json={"title": "x"}).status_code == 404


def test_life_cycle_actions_follow_who_reviews(api, org):
    agent, lead = api("wangfang"), api("lead")
    a = agent.post("/kb/articles", json={"title": "发票", "body": "如何开票"}).get_json()
    act = lambda who, **body: who.post(f"/kb/articles/{a['id']}/actions", json=body)  # noqa: E731
    r = act(agent, action="submit", expected_version=1)
    assert r.status_code == 200 and r.get_json()["status"] == "in_review"
    assert act(agent, action="approve").status_code == 403
    assert fields(act(lead, action="reject")) == {"reason"}
    assert fields(act(lead, action="publish")) == {"action"}
    assert act(lead, action="approve", expected_version=1).status_code == 409
    r = act(lead, action="approve")
    assert r.status_code == 200 and r.get_json()["status"] == "published"
    assert r.get_json()["published_at"]
    r = act(lead, action="submit")
    assert r.status_code == 409 and error(r)["details"]["status"] == "published"
    assert agent.open("PUT", f"/kb/articles/{a['id']}", json={"title": "x"}).status_code == 403


def test_a_rejected_proposal_keeps_its_reason_for_staff_only(api, org):
    a = make(org, "重复的文章", status="in_review")
    r = api("lead").post(f"/kb/articles/{a}/actions", json={"action": "reject",
                                                           "reason": "与 #1 重复"})
    assert r.status_code == 200 and r.get_json()["reject_reason"] == "与 #1 重复"
    assert api("wangfang").get(f"/kb/articles/{a}").get_json()["status"] == "rejected"


def test_delete_removes_a_draft_but_a_used_article_must_be_archived(api, org, settings):
    agent, lead = api("wangfang"), api("lead")
    draft = make(org, "草稿", status="draft")
    assert agent.delete(f"/kb/articles/{draft}").status_code == 403  # reviewers only
    r = lead.delete(f"/kb/articles/{draft}")
    assert r.status_code == 204
    assert lead.get(f"/kb/articles/{draft}").status_code == 404
    used = make(org, "被引用")
    t = ticket(settings, org.agent, "打印机", department_id=org.after_sales).summary.id
    reply = comments.add_comment(org.agent, t, "请看这篇文章", settings)
    knowledge_review.record_use(org.agent, used, "link", ticket_id=t, comment_id=reply.id)
    r = lead.delete(f"/kb/articles/{used}")
    assert r.status_code == 409 and error(r)["details"]["uses"] == 1
    assert lead.post(f"/kb/articles/{used}/actions", json={"action": "archive"}).status_code == 200
    assert lead.delete(f"/kb/articles/{used}").status_code == 409
    assert lead.get(f"/kb/articles/{used}").get_json()["status"] == "archived"
    assert lead.delete("/kb/articles/99999").status_code == 404


def test_versions_diff_and_rollback(api, org):
    agent = api("wangfang")
    a = agent.post("/kb/articles", json={"title": "重置密码", "body": "第一步\n第二步"}).get_json()
    path = f"/kb/articles/{a['id']}"
    agent.open("PUT", path, json={"body": "第一步\n新的第二步", "tags": ["密码"]})
    r = agent.get(path + "/versions")
    assert [v["version"] for v in r.get_json()["items"]] == [2, 1]
    assert r.get_json()["items"][1]["editor"] == {"id": org.agent.user_id, "name": "王芳"}
    d = agent.get(path + "/diff?from=1&to=2").get_json()
    assert (d["from"]["version"], d["to"]["version"]) == (1, 2)
    assert {"op": "-", "text": "第二步"} in d["body"] and {"op": "+", "text": "新的第二步"} in d["body"]
    assert d["fields"] == [{"field": "tags", "before": [], "after": ["密码"]}]
    assert agent.get(path + "/diff?from=1").get_json()["to"]["version"] == 2
    assert fields(agent.get(path + "/diff")) == {"from"}
    assert agent.get(path + "/diff?from=9").status_code == 404
    r = agent.post(path + "/rollback", json={"version": 1, "expected_version": 2})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["body"], r.get_json()["version"]) == ("第一步\n第二步", 3)
    stale = agent.post(path + "/rollback", json={"version": 1, "expected_version": 2})
    assert stale.status_code == 409
    assert fields(agent.post(path + "/rollback", json={})) == {"version"}


def test_list_filters_and_pages(api, org):
    ids = [make(org, f"文章 {i}", language="en" if i % 2 else "zh") for i in range(5)]
    make(org, "草稿", status="draft")
    admin = api("admin")
    r = admin.get("/kb/articles?status=published&limit=2")
    page = r.get_json()
    assert r.status_code == 200 and len(page["items"]) == 2 and page["next_offset"] == 2
    seen = [a["id"] for a in page["items"]]
    while page["next_offset"] is not None:
        page = admin.get("/kb/articles?status=published&limit=2"
                         f"&offset={page['next_offset']}").get_json()
        seen += [a["id"] for a in page["items"]]
    assert sorted(seen) == sorted(ids)
    en = admin.get("/kb/articles?language=en").get_json()["items"]
    assert sorted(a["id"] for a in en) == [ids[1], ids[3]]
    for bad in ("status=gone", "language=fr", "limit=0", "limit=101", "offset=-1",
                "category_id=x"):
        assert admin.get("/kb/articles?" + bad).status_code == 400, bad


# -- what customers reach -----------------------------------------------------------------

@pytest.fixture
def kb(org):
    public = make(org, "如何重置密码")
    internal = make(org, "内部：重置密码的后台操作", visibility="internal")
    draft = make(org, "草稿：重置密码", status="draft")
    public_en = make(org, "How to reset a password", language="en", translation_of=public)
    internal_en = make(org, "Internal reset steps", language="en", visibility="internal",
                       translation_of=internal)
    return {"public": public, "internal": internal, "draft": draft, "public_en": public_en,
            "internal_en": internal_en}


def test_a_customer_lists_and_reads_published_public_articles_only(api, kb):
    customer = api("zhangsan")
    listed = customer.get("/kb/articles?limit=100").get_json()["items"]
    assert sorted(a["id"] for a in listed) == sorted([kb["public"], kb["public_en"]])
    assert all(set(a) == ARTICLE_KEYS for a in listed)  # no reject_reason for customers
    assert customer.get("/kb/articles?status=draft").get_json()["items"] == []
    for hidden in (kb["internal"], kb["draft"], kb["internal_en"], 99_999):
        for suffix in ("", "/translations", "/versions", "/diff?from=1"):
            r = customer.get(f"/kb/articles/{hidden}{suffix}")
            assert r.status_code == 404, (hidden, suffix)
        assert customer.post(f"/kb/articles/{hidden}/deflections").status_code == 404
    assert customer.get(f"/kb/articles/{kb['public']}").status_code == 200


def test_translations_show_only_what_the_caller_may_read(api, kb):
    r = api("zhangsan").get(f"/kb/articles/{kb['public']}/translations")
    assert [a["id"] for a in r.get_json()["items"]] == [kb["public_en"]]
    r = api("wangfang").get(f"/kb/articles/{kb['internal']}/translations")
    assert [a["id"] for a in r.get_json()["items"]] == [kb["internal_en"]]


def test_customers_cannot_write_or_act_on_any_article(api, kb):
    customer = api("zhangsan")
    assert customer.post("/kb/articles", json={"title": "t", "body": "b"}).status_code == 403
    for target in (kb["public"], kb["internal"]):
        path = f"/kb/articles/{target}"
        assert customer.open("PUT", path, json={"title": "x"}).status_code == 403
        assert customer.post(path + "/actions", json={"action": "archive"}).status_code == 403
        assert customer.post(path + "/rollback", json={"version": 1}).status_code == 403
        assert customer.delete(path).status_code == 403
    assert customer.get("/kb/review-queue").status_code == 403
    assert customer.get("/kb/metrics").status_code == 403


def test_search_never_shows_a_customer_an_internal_article(api, kb):
    import appliance.services.knowledge_indexing  # noqa: F401  (registers "index_article")
    jobs.run_pending_inline()
    staff = api("wangfang").get("/kb/search?q=重置密码")
    assert staff.status_code == 200, staff.get_json()
    staff_ids = {h["article"]["id"] for h in staff.get_json()["items"]}
    assert {kb["public"], kb["internal"]} <= staff_ids
    customer = api("zhangsan")
    for query in ("q=重置密码", "q=重置密码&visibility=internal", "q=重置密码&status=draft",
                  "q=reset", "q=Internal", "q=后台操作"):
        r = customer.get("/kb/search?" + query)
        assert r.status_code == 200, r.get_json()
        got = {h["article"]["id"] for h in r.get_json()["items"]}
        assert got <= {kb["public"], kb["public_en"]}, query
        counts = {f["value"]: f["count"] for f in r.get_json()["facets"].get("visibility", [])}
        assert counts.get("internal", 0) == 0, query
    body = customer.get("/kb/search?q=重置密码").get_json()
    assert [h["article"]["id"] for h in body["items"]] == [kb["public"]]
    hit = body["items"][0]
    assert hit["terms"] and hit["score"] > 0 and "<mark>" in "".join(hit["highlights"].values())
    assert body["total"] == 1


def test_bad_search_parameters_are_400(api, kb):
    client = api("wangfang")
    for bad in ("q=" + "x" * 501, "q=x&limit=0", "q=x&offset=-1", "q=x&language=fr",
                "q=x&visibility=secret", "q=x&status=gone"):
        assert client.get("/kb/search?" + bad).status_code == 400, bad


# -- deflections, review queue, metrics ---------------------------------------------------

def test_a_customer_deflection_counts_once_and_shows_in_the_metrics(api, kb):
    customer = api("zhangsan")
    r = customer.post(f"/kb/articles/{kb['public']}/deflections")
    assert r.status_code == 201 and r.get_json() == {"article_id": kb["public"], "counted": True}
    r = customer.post(f"/kb/articles/{kb['public']}/deflections")
    assert r.status_code == 200 and r.get_json()["counted"] is False
    assert ArticleUse.select().where(ArticleUse.kind == "deflection").count() == 1
    # Staff clicks would inflate the reuse figures: refused.
    assert api("wangfang").post(f"/kb/articles/{kb['public']}/deflections").status_code == 403
    assert ArticleUse.select().where(ArticleUse.kind == "deflection").count() == 1
    m = api("lead").get("/kb/metrics").get_json()
    assert m["reuse"]["deflections"] == 1
    assert m["reuse"]["top"] == [{"article": {"id": kb["public"], "name": "如何重置密码"},
                                  "uses": 1, "inserted": 0, "deflections": 1, "cited": 0}]


def test_the_review_queue_lists_articles_in_review_for_staff(api, org):
    waiting = make(org, "待审核", status="in_review")
    make(org, "草稿", status="draft")
    r = api("wangfang").get("/kb/review-queue")
    assert r.status_code == 200
    [item] = r.get_json()["items"]
    assert item["article"]["id"] == waiting and item["can_review"] is False
    assert item["target"] is None and item["sources"] == []
    assert api("lead").get("/kb/review-queue").get_json()["items"][0]["can_review"] is True
    assert api("wangfang").get("/kb/review-queue?limit=0").status_code == 400


def test_metrics_are_for_supervisors_and_admins_with_days_checked(api, kb):
    r = api("lead").get("/kb/metrics?days=7")
    assert r.status_code == 200
    m = r.get_json()
    assert m["days"] == 7 and m["coverage"] == {"numerator": 0, "denominator": 0, "ratio": None}
    assert m["by_status"]["published"] == 4 and m["by_status"]["draft"] == 1
    assert set(m) == {"days", "since", "until", "coverage", "reuse", "stale_count", "stale",
                      "no_result_searches", "no_result", "by_status", "ai_pending_review"}
    assert api("admin").get("/kb/metrics").get_json()["days"] == 30
    r = api("wangfang").get("/kb/metrics")
    assert r.status_code == 403 and error(r)["code"] == "forbidden"
    for bad in ("0", "366", "x"):
        assert fields(api("admin").get("/kb/metrics?days=" + bad)) == {"days"}


def test_every_kb_route_needs_a_token(app, kb):
    """Every rule under /api/v1/kb and every method it takes, found in the app's URL map
    (so a route added later is covered too), path arguments filled with 1."""
    client = app.test_client()
    routes = sorted({(method, re.sub(r"<[^>]+>", "1", rule.rule))
                     for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/kb")
                     for method in rule.methods - {"HEAD", "OPTIONS"}})
    assert len(routes) >= 7 and ("POST", "/api/v1/kb/articles/1/deflections") in routes, routes
    for method, path in routes:
        r = client.open(path, method=method)
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)


# -- the metrics page (/agent/kb/metrics) -------------------------------------------------

def test_the_metrics_page_shows_the_figures_to_knowledge_managers(login, kb, settings, org):
    t = ticket(settings, org.agent, "重置密码", department_id=org.after_sales).summary.id
    knowledge_review.record_use(org.agent, kb["public"], "snippet", ticket_id=t)
    tickets.transition_ticket(org.agent, t, "resolved", settings)
    ticket_id = ticket(settings, org.agent, "无关", department_id=org.after_sales).summary.id
    tickets.transition_ticket(org.agent, ticket_id, "resolved", settings)
    Article.update(review_by=utcnow().date() - dt.timedelta(days=3)).where(
        Article.id == kb["public"]).execute()
    KnowledgeSearch.create(query="<b>发票抬头</b>", scope="portal", results=0)
    r = login("lead").get("/agent/kb/metrics?days=7")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert '<strong id="kb-coverage-ratio">50.0 %</strong>' in page
    assert "Tickets resolved in the period that are linked to a published or archived article: 1 of 2." in page
    assert 'id="kb-reuse-inserted">1<' in page and 'id="kb-stale-count">1<' in page
    assert f'id="kb-stale-{kb["public"]}"' in page and "3 days" in page
    assert "&lt;b&gt;发票抬头&lt;/b&gt;" in page and "<b>发票抬头" not in page
    assert 'id="kb-status-published">4<' in page
    assert 'class="current" id="kb-period-7"' in page


def test_the_metrics_page_is_refused_to_agents_and_customers(login, org):
    assert login("wangfang").get("/agent/kb/metrics").status_code == 403
    assert login("zhangsan").get("/agent/kb/metrics").status_code == 403
    assert login("admin").get("/agent/kb/metrics").status_code == 200
    assert login("admin").get("/agent/kb/metrics?days=400").status_code == 400

