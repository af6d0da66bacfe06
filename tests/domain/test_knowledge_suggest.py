"""Knowledge suggestions: articles and similar resolved tickets beside a ticket (with the
terms that matched), uses recorded from a posted reply, the portal's suggestions while
a customer types and "this solved my problem" (deflection). Real services, the real
index jobs and a real Whoosh index on disk, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from appliance import jobs
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import ArticleTicket, ArticleUse, Job, KnowledgeSearch, Ticket
from appliance.services import (comments, knowledge, knowledge_indexing,  # noqa: F401 (index job)
                                knowledge_review, knowledge_suggest, rate_window, tickets)
from tests.factories import make_org
from tests.factories import ticket as make_ticket


def article(admin, title, body, *, visibility="public", language="zh", tags=(), publish=True):
    v = knowledge.create_article(admin, knowledge.ArticleInput(
        title=title, body=body, language=language, visibility=visibility, tags=list(tags)))
    if publish:
        v = knowledge_review.transition(admin, v.id, "approve", expected_version=v.version)
    return v.id


def index_now() -> None:
    """Run the index jobs (a real index on disk); the other kinds are not under test here."""
    import appliance.services.indexing  # noqa: F401  (registers index_ticket)
    for job in Job.select().where(Job.name.in_(("index_article", "index_ticket"))
                                  & Job.done_at.is_null()).order_by(Job.id):
        jobs.run_job(job.id)


@pytest.fixture
def kb(settings):
    """Articles about refunds (public, internal, a draft), one about passwords, an open
    refund ticket from 张三, a resolved refund ticket, and a resolved refund ticket of
    the logistics department that after-sales agents cannot see."""
    o = make_org()
    ids = {
        "public": article(o.admin, "如何申请退款", "在订单页面点击“申请退款”，填写退款原因后提交。",
                          tags=["退款"]),
        "internal": article(o.admin, "退款审核内部流程", "财务在两个工作日内审核退款申请。",
                            visibility="internal", tags=["退款"]),
        "draft": article(o.admin, "退款常见问题（草稿）", "退款草稿内容。", publish=False),
        "password": article(o.admin, "How to reset your password",
                            "Open the login page and click *Forgot password*.", language="en"),
    }
    open_t = make_ticket(settings, o.customer, "我要退款",
                         description="订单退款怎么申请？退款多久到账？").summary
    solved = make_ticket(settings, o.customer, "退款申请提交失败",
                         description="申请退款时页面报错，无法提交退款。").summary
    tickets.transition_ticket(o.admin, solved.id, "resolved", settings)
    elsewhere = make_ticket(settings, o.admin, "退款到账太慢", description="退款一直没有到账。",
                            department_id=o.logistics).summary
    tickets.transition_ticket(o.admin, elsewhere.id, "resolved", settings)
    index_now()
    return o, ids, open_t, solved, elsewhere


# --- the ticket page -------------------------------------------------------------------------

def test_an_agent_gets_published_articles_internal_ones_marked_with_the_matched_terms(kb):
    o, ids, t, _, _ = kb
    found = knowledge_suggest.ticket_suggestions(o.agent, t.id)
    by_id = {h.article.id: h for h in found.articles}
    assert ids["public"] in by_id and ids["internal"] in by_id
    assert ids["draft"] not in by_id and ids["password"] not in by_id
    assert by_id[ids["internal"]].article.visibility == "internal"
    assert by_id[ids["public"]].article.visibility == "public"
    assert any("退款" in term for term in by_id[ids["public"]].terms)
    assert len(found.articles) <= knowledge_suggest.ARTICLE_LIMIT


def test_similar_resolved_tickets_leave_out_the_ticket_itself_and_what_the_agent_cannot_see(kb):
    o, _, t, solved, elsewhere = kb
    found = knowledge_suggest.ticket_suggestions(o.agent, t.id)
    numbers = [h.summary.id for h in found.tickets]
    assert solved.id in numbers
    assert t.id not in numbers and elsewhere.id not in numbers
    hit = next(h for h in found.tickets if h.summary.id == solved.id)
    assert hit.terms, "the reason a ticket is similar is shown"
    admin_view = knowledge_suggest.ticket_suggestions(o.admin, t.id)
    assert elsewhere.id in [h.summary.id for h in admin_view.tickets]


def test_suggestions_do_not_write_the_search_log(kb):
    o, _, t, _, _ = kb
    knowledge_suggest.ticket_suggestions(o.agent, t.id)
    assert KnowledgeSearch.select().count() == 0


def test_an_agent_who_cannot_see_the_ticket_gets_not_found(kb, settings):
    o, _, t, _, _ = kb
    hidden = make_ticket(settings, o.admin, "退款问题", department_id=o.after_sales).summary
    with pytest.raises(NotFound):
        knowledge_suggest.ticket_suggestions(o.agent2, hidden.id)
    with pytest.raises(NotFound):
        knowledge_suggest.ticket_suggestions(o.other_customer, t.id)


def test_an_english_ticket_falls_back_to_articles_in_the_other_language(kb):
    o, ids, t, _, _ = kb
    Ticket.update(language="en").where(Ticket.id == t.id).execute()
    found = knowledge_suggest.ticket_suggestions(o.agent, t.id)
    assert ids["public"] in [h.article.id for h in found.articles]


def test_the_query_is_subject_and_description_bounded():
    text = knowledge_suggest.query_text("打印机", "x" * 5000)
    assert text.startswith("打印机 x") and len(text) == knowledge_suggest.QUERY_CHARS


# --- uses recorded from a posted reply -------------------------------------------------------

def reply(settings, who, ticket_id, body="请看这篇文章"):
    return comments.add_comment(who, ticket_id, body, settings)


def test_a_posted_reply_records_its_links_and_snippets_and_links_the_article_as_used(kb, settings):
    o, ids, t, _, _ = kb
    c = reply(settings, o.agent, t.id)
    n = knowledge_suggest.record_reply_uses(o.agent, t.id, c.id, [
        (ids["public"], "link"), (ids["public"], "snippet"), (ids["internal"], "snippet")])
    assert n == 3
    rows = {(u.article_id, u.kind, u.ticket_id, u.comment_id, u.user_id) for u in ArticleUse.select()}
    assert rows == {(ids["public"], "link", t.id, c.id, o.agent.user_id),
                    (ids["public"], "snippet", t.id, c.id, o.agent.user_id),
                    (ids["internal"], "snippet", t.id, c.id, o.agent.user_id)}
    used = {(a.article_id, a.ticket_id) for a in ArticleTicket.select().where(ArticleTicket.kind == "used")}
    assert used == {(ids["public"], t.id), (ids["internal"], t.id)}
    assert knowledge_review.used_in_replies(ids["public"]) == 2


def test_forged_or_repeated_uses_are_dropped_not_an_error(kb, settings):
    o, ids, t, _, _ = kb
    c = reply(settings, o.agent, t.id)
    n = knowledge_suggest.record_reply_uses(o.agent, t.id, c.id, [
        (999_999, "link"), (ids["public"], "deflection"), (ids["public"], "cited"),
        ("abc", "link"), (None, "snippet"), (-3, "link"), (ids["public"], "link"),
        (ids["public"], "link"), ("x",), 42])
    assert n == 1
    assert ArticleUse.select().count() == 1


def test_at_most_twenty_uses_per_reply_are_kept(kb, settings):
    o, ids, t, _, _ = kb
    many = [article(o.admin, f"退款说明 {i}", "退款。") for i in range(22)]
    c = reply(settings, o.agent, t.id)
    n = knowledge_suggest.record_reply_uses(o.agent, t.id, c.id, [(i, "link") for i in many])
    assert n == knowledge_suggest.MAX_REPLY_USES == ArticleUse.select().count()


def test_a_customer_reply_cannot_record_an_internal_or_unpublished_article(kb, settings):
    o, ids, t, _, _ = kb
    c = reply(settings, o.customer, t.id, "谢谢")
    n = knowledge_suggest.record_reply_uses(o.customer, t.id, c.id, [
        (ids["internal"], "link"), (ids["draft"], "link"), (ids["public"], "link")])
    assert n == 1
    assert [u.article_id for u in ArticleUse.select()] == [ids["public"]]


def test_a_comment_of_another_ticket_is_refused(kb, settings):
    o, ids, t, solved, _ = kb
    other = reply(settings, o.agent, solved.id)
    with pytest.raises(NotFound):
        knowledge_suggest.record_reply_uses(o.agent, t.id, other.id, [(ids["public"], "link")])
    assert ArticleUse.select().count() == 0


def test_the_hidden_field_is_parsed_leniently():
    assert knowledge_suggest.parse_uses("12:link, 7:snippet,7:deflection,x:link,:,3,"
                                        "99999999999999:link,<script>") == [(12, "link"), (7, "snippet")]
    assert knowledge_suggest.parse_uses("") == []
    # a huge field is read up to MAX_USES_FIELD characters only: 142 "1:link," and one "1:link"
    assert len(knowledge_suggest.parse_uses("1:link," * 5000)) == 143


# --- the customer portal ---------------------------------------------------------------------

def test_portal_suggestions_offer_only_published_public_articles(kb):
    o, ids, _, _, _ = kb
    hits = knowledge_suggest.portal_suggestions(o.customer, "退款审核")
    got = [h.article.id for h in hits]
    assert ids["public"] in got
    assert ids["internal"] not in got and ids["draft"] not in got
    assert all(h.article.visibility == "public" and h.article.status == "published" for h in hits)
    assert KnowledgeSearch.select().count() == 0  # typing is not logged


def test_portal_suggestions_need_two_characters_and_refuse_more_than_two_hundred(kb):
    o, _, _, _, _ = kb
    assert knowledge_suggest.portal_suggestions(o.customer, " 退 ") == []
    with pytest.raises(ValidationError) as exc:
        knowledge_suggest.portal_suggestions(o.customer, "退" * 201)
    assert "q" in exc.value.fields


def test_portal_suggestions_are_for_customers(kb):
    o, _, _, _, _ = kb
    with pytest.raises(PermissionDenied):
        knowledge_suggest.portal_suggestions(o.agent, "退款")


def test_portal_suggestions_are_rate_limited_per_customer(kb, monkeypatch):
    o, _, _, _, _ = kb
    monkeypatch.setattr(knowledge_suggest, "_suggest_window", rate_window.SlidingWindow(3, 60))
    for _ in range(3):
        knowledge_suggest.portal_suggestions(o.customer, "退款")
    with pytest.raises(knowledge_suggest.SuggestBusy) as exc:
        knowledge_suggest.portal_suggestions(o.customer, "退款")
    assert exc.value.http_status == 429
    assert knowledge_suggest.portal_suggestions(o.other_customer, "退款")  # others are not held up


def test_this_solved_my_problem_records_one_deflection_and_no_ticket(kb):
    o, ids, _, _, _ = kb
    before = Ticket.select().count()
    assert knowledge_suggest.deflect(o.customer, ids["public"], "我要退款") is True
    assert knowledge_suggest.deflect(o.customer, ids["public"]) is False  # pressed twice
    rows = list(ArticleUse.select())
    assert [(u.article_id, u.kind, u.ticket_id, u.comment_id, u.user_id) for u in rows] == [
        (ids["public"], "deflection", None, None, o.customer.user_id)]
    assert Ticket.select().count() == before
    assert knowledge_suggest.deflect(o.other_customer, ids["public"]) is True


@pytest.mark.parametrize("which", ["internal", "draft"])
def test_a_deflection_on_an_internal_or_unpublished_article_is_not_found(kb, which):
    o, ids, _, _, _ = kb
    with pytest.raises(NotFound):
        knowledge_suggest.deflect(o.customer, ids[which])
    with pytest.raises(NotFound):
        knowledge_suggest.deflect(o.customer, 999_999)
    assert ArticleUse.select().count() == 0


def test_staff_cannot_record_deflections(kb):
    o, ids, _, _, _ = kb
    with pytest.raises(PermissionDenied):
        knowledge_suggest.deflect(o.agent, ids["public"])


def test_an_article_indexed_as_a_draft_and_again_once_published_is_suggested(settings):
    """The worker runs each index job as it comes: the draft's copy left behind in an
    older segment must not hide the published article (a new desk has few articles, so
    such a copy weighs a lot in the word statistics)."""
    o = make_org()
    v = knowledge.create_article(o.admin, knowledge.ArticleInput(
        title="如何申请退款", body="在订单页面点击申请退款。", language="zh", visibility="public"))
    index_now()
    knowledge_review.transition(o.admin, v.id, "approve", expected_version=v.version)
    index_now()
    t = make_ticket(settings, o.customer, "我要退款").summary
    assert [h.article.id for h in knowledge_suggest.portal_suggestions(o.customer, "退款")] == [v.id]
    assert v.id in [h.article.id for h in knowledge_suggest.ticket_suggestions(o.agent, t.id).articles]
