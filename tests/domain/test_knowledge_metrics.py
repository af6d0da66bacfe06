"""Knowledge metrics: coverage of resolved tickets, reuse, stale articles, searches that
found nothing, counts by status — over real rows, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import ArticleUse, KnowledgeSearch, utcnow
from appliance.services import knowledge, knowledge_metrics, knowledge_review, tickets
from appliance.services.knowledge import ArticleInput
from tests.factories import make_org, ticket


@pytest.fixture
def o(settings):
    return make_org()


def article(o, title: str, *, status: str = "published", visibility: str = "public",
            review_by=None, ai: bool = False, owner=None) -> int:
    a = knowledge.create_article(o.agent, ArticleInput(
        title=title, body=f"{title} 的解决办法", visibility=visibility, review_by=review_by,
        owner_id=owner), ai_generated=ai)
    path = {"draft": (), "in_review": ("submit",), "published": ("submit", "approve"),
            "archived": ("submit", "approve", "archive"), "rejected": ("submit", "reject")}
    for action in path[status]:
        reason = "重复" if action == "reject" else ""
        knowledge_review.transition(o.admin, a.id, action, reason=reason)
    return a.id


def resolved_ticket(settings, o, subject: str) -> int:
    t = ticket(settings, o.agent, subject, department_id=o.after_sales)
    tickets.transition_ticket(o.agent, t.summary.id, "resolved", settings)
    return t.summary.id


def test_coverage_counts_resolved_tickets_linked_to_any_article(settings, o):
    a = article(o, "打印机卡纸")
    linked_by_reply = resolved_ticket(settings, o, "打印机卡纸了")
    linked_by_hand = resolved_ticket(settings, o, "打印机又卡纸")
    resolved_ticket(settings, o, "无关的问题")
    open_but_linked = ticket(settings, o.agent, "还没解决", department_id=o.after_sales).summary.id
    knowledge_review.record_use(o.agent, a, "snippet", ticket_id=linked_by_reply)
    knowledge_review.link_ticket(o.agent, a, linked_by_hand, "related")
    knowledge_review.link_ticket(o.agent, a, open_but_linked, "related")

    c = knowledge_metrics.knowledge_metrics(o.supervisor).coverage
    assert (c.numerator, c.denominator, c.ratio) == (2, 3, 0.6667)


def test_a_supervisor_s_coverage_counts_only_its_department_s_tickets(settings, o):
    a = article(o, "快递延误")
    ours = resolved_ticket(settings, o, "售后问题")
    knowledge_review.link_ticket(o.agent, a, ours, "related")
    theirs = ticket(settings, o.agent2, "快递延误了", department_id=o.logistics).summary.id
    tickets.transition_ticket(o.agent2, theirs, "resolved", settings)
    c = knowledge_metrics.knowledge_metrics(o.supervisor).coverage
    assert (c.numerator, c.denominator) == (1, 1)    # the logistics ticket is not theirs
    c = knowledge_metrics.knowledge_metrics(o.admin).coverage
    assert (c.numerator, c.denominator) == (1, 2)    # the administrator sees the organisation


def test_coverage_leaves_out_tickets_resolved_before_the_period_and_has_no_ratio_without_any(
        settings, o):
    resolved_ticket(settings, o, "上个月的问题")
    later = utcnow() + dt.timedelta(days=31)
    c = knowledge_metrics.knowledge_metrics(o.admin, 30, now=later).coverage
    assert (c.numerator, c.denominator, c.ratio) == (0, 0, None)
    c = knowledge_metrics.knowledge_metrics(o.admin, 60, now=later).coverage
    assert (c.numerator, c.denominator) == (0, 1)


def test_reuse_counts_each_kind_and_ranks_the_most_used_articles(settings, o):
    t = ticket(settings, o.agent, "退款", department_id=o.after_sales).summary.id
    refund, login, quiet = article(o, "如何退款"), article(o, "无法登录"), article(o, "发票")
    for kind in ("link", "snippet", "snippet", "cited"):
        knowledge_review.record_use(o.agent, refund, kind, ticket_id=t)
    knowledge_review.record_use(o.customer, login, "deflection")
    knowledge_review.record_use(o.other_customer, login, "deflection")
    knowledge_review.record_use(o.agent, quiet, "link")
    ArticleUse.update(created_at=utcnow() - dt.timedelta(days=45)).where(
        ArticleUse.article == quiet).execute()

    r = knowledge_metrics.knowledge_metrics(o.supervisor).reuse
    assert (r.inserted, r.links, r.snippets, r.deflections, r.cited) == (3, 1, 2, 2, 1)
    assert [(u.article.id, u.article.name, u.uses, u.inserted, u.deflections, u.cited)
            for u in r.top] == [(refund, "如何退款", 4, 3, 0, 1), (login, "无法登录", 2, 0, 2, 0)]
    r90 = knowledge_metrics.knowledge_metrics(o.supervisor, 90).reuse
    assert r90.links == 2 and [u.article.id for u in r90.top][-1] == quiet


def test_top_articles_stop_at_ten(settings, o):
    ids = [article(o, f"文章 {i}") for i in range(12)]
    for n, a in enumerate(ids):
        for _ in range(n + 1):
            knowledge_review.record_use(o.agent, a, "link")
    top = knowledge_metrics.knowledge_metrics(o.admin).reuse.top
    assert [u.article.id for u in top] == ids[::-1][:10]


def test_stale_lists_published_articles_past_review_oldest_first_with_owner(settings, o):
    today = utcnow().date()
    old = article(o, "很久没看", review_by=today - dt.timedelta(days=90), owner=o.supervisor.user_id)
    recent = article(o, "昨天到期", review_by=today - dt.timedelta(days=1))
    article(o, "今天到期", review_by=today)
    article(o, "草稿过期", status="draft", review_by=today - dt.timedelta(days=5))
    article(o, "没有日期")
    m = knowledge_metrics.knowledge_metrics(o.admin)
    assert m.stale_count == 2
    assert [(s.article.id, s.days_overdue) for s in m.stale] == [(old, 90), (recent, 1)]
    assert m.stale[0].owner.name == "陈主管" and m.stale[1].owner.name == "王芳"
    assert m.stale[0].review_by == today - dt.timedelta(days=90)


def test_stale_list_is_capped_but_the_count_is_not(settings, o):
    past = utcnow().date() - dt.timedelta(days=10)
    for i in range(knowledge_metrics.STALE_LIST + 3):
        article(o, f"过期 {i}", review_by=past)
    m = knowledge_metrics.knowledge_metrics(o.admin)
    assert m.stale_count == knowledge_metrics.STALE_LIST + 3
    assert len(m.stale) == knowledge_metrics.STALE_LIST


def test_searches_without_result_are_grouped_by_query_most_frequent_first(settings, o):
    now = utcnow()
    for query, results, n, age in (("发票抬头", 0, 3, 1), ("退款", 0, 1, 2), ("退款", 5, 4, 1),
                                   ("旧问题", 0, 9, 40), ("138****1234 无法登录", 0, 2, 3)):
        for _ in range(n):
            KnowledgeSearch.create(query=query, scope="portal", results=results,
                                   created_at=now - dt.timedelta(days=age))
    m = knowledge_metrics.knowledge_metrics(o.supervisor)
    assert m.no_result_searches == 6
    assert [(g.query, g.searches) for g in m.no_result] == [
        ("发票抬头", 3), ("138****1234 无法登录", 2), ("退款", 1)]
    assert abs((m.no_result[0].last_at - (now - dt.timedelta(days=1))).total_seconds()) < 1


def test_no_result_searches_stop_at_twenty(settings, o):
    for i in range(25):
        KnowledgeSearch.create(query=f"q{i:02d}", scope="agent", results=0)
    assert len(knowledge_metrics.knowledge_metrics(o.admin).no_result) == 20


def test_counts_by_status_and_ai_drafts_waiting_for_review(settings, o):
    article(o, "已发布")
    article(o, "草稿", status="draft")
    article(o, "审核中", status="in_review")
    article(o, "AI 草稿", status="in_review", ai=True)
    article(o, "AI 草稿二", status="in_review", ai=True)
    article(o, "AI 退回", status="rejected", ai=True)
    article(o, "归档", status="archived")
    m = knowledge_metrics.knowledge_metrics(o.admin)
    assert m.by_status == {"draft": 1, "in_review": 3, "published": 1, "archived": 1,
                           "rejected": 1, "merged": 0}
    assert m.ai_pending_review == 2


def test_only_supervisors_and_admins_see_metrics(settings, o):
    for who in (o.agent, o.customer):
        with pytest.raises(PermissionDenied):
            knowledge_metrics.knowledge_metrics(who)
    assert knowledge_metrics.knowledge_metrics(o.supervisor).days == 30


@pytest.mark.parametrize("days", [0, 366, -1, "x", "3.5", True])
def test_days_outside_one_to_a_year_is_a_validation_error_on_days(settings, o, days):
    with pytest.raises(ValidationError) as exc:
        knowledge_metrics.knowledge_metrics(o.admin, days)
    assert set(exc.value.fields) == {"days"}


def test_an_empty_knowledge_base_has_zero_figures(settings, o):
    m = knowledge_metrics.knowledge_metrics(o.admin, 1)
    assert m.coverage.ratio is None and m.reuse.top == [] and m.stale == [] and m.no_result == []
    assert sum(m.by_status.values()) == 0 and m.ai_pending_review == 0


def test_a_deflection_counts_once_per_person_and_article_a_day(settings, o):
    a = article(o, "重置密码")
    assert knowledge_metrics.record_deflection(o.customer, a) is True
    assert knowledge_metrics.record_deflection(o.customer, a) is False
    assert knowledge_metrics.record_deflection(o.other_customer, a) is True
    later = utcnow() + knowledge_metrics.DEFLECTION_WINDOW + dt.timedelta(minutes=1)
    assert knowledge_metrics.record_deflection(o.customer, a, now=later) is True
    assert ArticleUse.select().where(ArticleUse.kind == "deflection").count() == 3


def test_a_customer_cannot_deflect_on_an_internal_or_unpublished_article(settings, o):
    internal = article(o, "内部流程", visibility="internal")
    draft = article(o, "草稿", status="draft")
    for a in (internal, draft, 999_999):
        with pytest.raises(NotFound):
            knowledge_metrics.record_deflection(o.customer, a)
    assert ArticleUse.select().count() == 0


def test_metrics_take_the_same_few_queries_however_many_rows(settings, o, queries):
    counts = []
    for batch in (1, 6):
        for i in range(batch):
            a = article(o, f"文章 {batch}-{i}", review_by=utcnow().date() - dt.timedelta(days=2))
            knowledge_review.record_use(o.agent, a, "link")
            KnowledgeSearch.create(query=f"没找到 {batch}-{i}", scope="agent", results=0)
        queries.clear()
        m = knowledge_metrics.knowledge_metrics(o.admin)
        counts.append(len(queries))
    assert m.stale_count == 7 and len(m.reuse.top) == 7 and len(m.no_result) == 7
    assert counts[0] == counts[1] <= 10, queries
