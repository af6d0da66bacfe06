"""Knowledge suggestions in the browser's pages: the ticket page's Knowledge panel and the
uses a posted reply records; the portal's help articles, suggestions while typing and
"this solved my problem". Internal and unpublished articles never reach the portal."""
from __future__ import annotations

import html
import re

import pytest

from appliance.models import ArticleTicket, ArticleUse, Comment, KnowledgeSearch, Ticket
from tests.domain.test_knowledge_suggest import article, index_now
from tests.factories import ticket as make_ticket

INTERNAL_TITLE = "退款审核内部流程"
DRAFT_TITLE = "退款常见问题草稿"


@pytest.fixture
def kb(settings, org):
    ids = {
        "public": article(org.admin, "如何申请退款",
                          "在订单页面点击 **申请退款**，填写退款原因后提交。\n\n"
                          "<script>alert(1)</script>[链接](javascript:alert(1))", tags=["退款"]),
        "internal": article(org.admin, INTERNAL_TITLE, "财务在两个工作日内审核退款申请。",
                            visibility="internal", tags=["退款"]),
        "draft": article(org.admin, DRAFT_TITLE, "退款草稿内容。", publish=False),
    }
    t = make_ticket(settings, org.customer, "我要退款", description="订单退款怎么申请？").summary
    index_now()
    return ids, t


def uses() -> set:
    return {(u.article_id, u.kind, u.ticket_id, u.comment_id) for u in ArticleUse.select()}


# --- the ticket page -------------------------------------------------------------------------

def test_the_ticket_page_has_the_knowledge_panel_and_the_reply_uses_field(login, kb):
    _, t = kb
    page = login("wangfang").get(f"/agent/tickets/{t.id}").get_data(as_text=True)
    assert 'id="kb-suggest"' in page
    assert f'data-url="/agent/tickets/{t.id}/kb-suggestions"' in page
    assert 'name="kb_uses"' in page and "kb_suggest.js" in page


def test_the_panel_lists_articles_with_reasons_and_insertable_links_and_snippets(login, kb):
    ids, t = kb
    r = login("wangfang").get(f"/agent/tickets/{t.id}/kb-suggestions")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "如何申请退款" in page and INTERNAL_TITLE in page and DRAFT_TITLE not in page
    assert "Matches:" in page and "退款" in page
    texts = {(m[0], m[1]): html.unescape(m[2]) for m in re.findall(
        r'data-kb-id="(\d+)" data-kb-kind="(link|snippet)"\s*(?:data-kb-internal="1?"\s*)?'
        r'data-kb-text="([^"]*)"', page)}
    pub, internal = str(ids["public"]), str(ids["internal"])
    assert texts[(pub, "link")].endswith(f"/portal/kb/{pub}")
    assert texts[(internal, "link")].endswith(f"/agent/kb/{internal}")
    assert "申请退款" in texts[(pub, "snippet")] and "**" not in texts[(pub, "snippet")]
    assert "<script>alert" not in page  # the snippet is text: escaped in the attribute
    # the internal article is marked, so the agent knows customers cannot open it
    internal_item = page[page.index(f'data-article-id="{internal}"'):]
    assert "kb-internal-tag" in internal_item.split("</li>")[0]


def test_an_agent_outside_the_ticket_gets_404_and_a_customer_403(login, kb, settings, org):
    _, t = kb
    hidden = make_ticket(settings, org.admin, "退款", department_id=org.after_sales).summary
    assert login("lilei").get(f"/agent/tickets/{hidden.id}/kb-suggestions").status_code == 404
    assert login("zhangsan").get(f"/agent/tickets/{t.id}/kb-suggestions").status_code == 403


def test_a_posted_reply_records_the_inserted_articles_and_drops_forged_ones(login, kb):
    ids, t = kb
    b = login("wangfang")
    r = b.post(f"/agent/tickets/{t.id}/comments", {
        "kind": "reply", "body": "请参考：如何申请退款",
        "kb_uses": f"{ids['public']}:link,{ids['internal']}:snippet,999999:link,"
                   f"{ids['public']}:deflection,<b>,{ids['public']}:link"})
    assert r.status_code == 302
    c = Comment.select().where(Comment.ticket == t.id).order_by(Comment.id.desc()).first()
    assert uses() == {(ids["public"], "link", t.id, c.id), (ids["internal"], "snippet", t.id, c.id)}
    assert ArticleTicket.select().where((ArticleTicket.kind == "used")
                                        & (ArticleTicket.ticket == t.id)).count() == 2


def test_a_reply_without_inserted_articles_records_nothing(login, kb):
    _, t = kb
    r = login("wangfang").post(f"/agent/tickets/{t.id}/comments", {"kind": "reply", "body": "好的"})
    assert r.status_code == 302 and uses() == set()


def test_a_refused_reply_keeps_the_inserted_articles_for_the_next_try(login, kb):
    ids, t = kb
    r = login("wangfang").post(f"/agent/tickets/{t.id}/comments", {
        "kind": "reply", "body": "", "kb_uses": f"{ids['public']}:link"})
    assert r.status_code == 400
    assert f'value="{ids["public"]}:link"' in r.get_data(as_text=True)
    assert uses() == set()


# --- the portal ------------------------------------------------------------------------------

def test_help_articles_list_and_search_only_published_public_ones(login, kb):
    ids, _ = kb
    b = login("zhangsan")
    listing = b.get("/portal/kb").get_data(as_text=True)
    assert "如何申请退款" in listing and INTERNAL_TITLE not in listing and DRAFT_TITLE not in listing
    r = b.get("/portal/kb?q=退款审核")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f"/portal/kb/{ids['public']}" in page and "<mark>" in page
    assert INTERNAL_TITLE not in page and DRAFT_TITLE not in page
    assert f"/portal/kb/{ids['internal']}" not in page
    assert [(s.scope, s.results) for s in KnowledgeSearch.select()] == [("portal", 1)]
    assert b.get("/portal/kb?offset=20").status_code == 200  # past the end: an empty page
    assert b.get("/portal/kb?q=退款&offset=-5").status_code == 200
    assert b.get("/portal/kb", query_string={"q": "退" * 501}).status_code == 400


def test_the_portal_nav_links_to_help_articles(login, kb):
    assert 'href="/portal/kb"' in login("zhangsan").get("/portal/").get_data(as_text=True)


def test_an_article_page_shows_sanitised_markdown_and_the_solved_question(login, kb):
    ids, _ = kb
    r = login("zhangsan").get(f"/portal/kb/{ids['public']}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<strong>申请退款</strong>" in page
    assert "<script>alert" not in page and 'href="javascript:' not in page  # text, not markup
    assert "Did this solve your problem?" in page
    assert f'action="/portal/kb/{ids["public"]}/solved"' in page


@pytest.mark.parametrize("which", ["internal", "draft", "missing"])
def test_internal_unpublished_or_unknown_articles_are_404_in_the_portal(login, kb, which):
    ids, _ = kb
    article_id = ids.get(which, 999_999)
    b = login("zhangsan")
    assert b.get(f"/portal/kb/{article_id}").status_code == 404
    assert b.post(f"/portal/kb/{article_id}/solved", {}, csrf_from="/portal/new").status_code == 404
    assert b.get(f"/portal/kb/{article_id}/solved").status_code == 404
    assert uses() == set()


def test_staff_are_sent_from_the_portal_help_pages_to_their_queue(login, kb):
    r = login("wangfang").get("/portal/kb")
    assert r.status_code == 302 and r.headers["Location"].endswith("/agent/")


def test_this_solved_my_problem_records_a_deflection_instead_of_a_ticket(login, kb, org):
    ids, _ = kb
    b = login("zhangsan")
    tickets_before = Ticket.select().count()
    r = b.post(f"/portal/kb/{ids['public']}/solved", {"from": "new"}, csrf_from="/portal/new")
    assert r.status_code == 302 and r.headers["Location"].endswith(
        f"/portal/kb/{ids['public']}/solved?from=new")
    thanks = b.get(r.headers["Location"]).get_data(as_text=True)
    assert "Thank you!" in thanks and "No ticket was submitted." in thanks
    assert [(u.article_id, u.kind, u.ticket_id, u.user_id) for u in ArticleUse.select()] == [
        (ids["public"], "deflection", None, org.customer.user_id)]
    assert Ticket.select().count() == tickets_before


def test_solved_without_a_csrf_token_is_refused(login, kb):
    ids, _ = kb
    r = login("zhangsan").client.post(f"/portal/kb/{ids['public']}/solved")
    assert r.status_code == 400 and uses() == set()


def test_the_new_ticket_page_carries_the_suggestion_box(login, kb):
    page = login("zhangsan").get("/portal/new").get_data(as_text=True)
    assert 'id="kb-portal-suggest"' in page and 'data-url="/portal/kb/suggest"' in page
    assert page.index('name="subject"') < page.index('id="kb-portal-suggest"')
    assert "kb_suggest.js" in page


def test_suggest_json_offers_public_articles_and_never_internal_ones(login, kb):
    ids, _ = kb
    b = login("zhangsan")
    for q in ("退款", INTERNAL_TITLE, DRAFT_TITLE, "财务审核"):
        r = b.get("/portal/kb/suggest", query_string={"q": q})
        assert r.status_code == 200 and r.is_json
        got = {item["id"] for item in r.get_json()["results"]}
        assert ids["internal"] not in got and ids["draft"] not in got, q
        assert INTERNAL_TITLE not in r.get_data(as_text=True)
    item = b.get("/portal/kb/suggest?q=退款").get_json()["results"][0]
    assert item["id"] == ids["public"] and item["url"] == f"/portal/kb/{ids['public']}"
    assert item["solved_url"] == f"/portal/kb/{ids['public']}/solved" and item["terms"]
    assert "<" not in item["excerpt"]  # text: the page's script marks the terms itself
    assert KnowledgeSearch.select().count() == 0  # typing is not logged


def test_suggest_json_needs_two_characters_and_at_most_two_hundred(login, kb):
    b = login("zhangsan")
    assert b.get("/portal/kb/suggest?q=退").get_json() == {"results": []}
    r = b.get("/portal/kb/suggest", query_string={"q": "退" * 201})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "validation_error"


def test_suggest_json_is_rate_limited(login, kb, monkeypatch):
    from appliance.services import knowledge_suggest, rate_window
    monkeypatch.setattr(knowledge_suggest, "_suggest_window", rate_window.SlidingWindow(2, 60))
    b = login("zhangsan")
    assert [b.get("/portal/kb/suggest?q=退款").status_code for _ in range(3)] == [200, 200, 429]


def test_typing_suggestions_do_not_create_a_ticket(login, kb):
    b = login("zhangsan")
    before = Ticket.select().count()
    b.get("/portal/kb/suggest?q=退款")
    assert Ticket.select().count() == before
