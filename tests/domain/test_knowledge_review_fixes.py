"""Review findings on the knowledge base: coverage counts only live articles, lists and the
review queue cost the same few queries for any page size, and article files obey the
administrator's attachment limit — on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from appliance.errors import PayloadTooLarge
from appliance.services import knowledge, knowledge_files, knowledge_metrics, knowledge_review
from appliance.services import org as org_service
from appliance.services import tickets
from appliance.services.attachments import Upload
from appliance.services.knowledge import ArticleInput
from appliance.rules.access import SYSTEM
from tests.conftest import with_settings
from tests.factories import make_org, ticket

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def o(settings):
    return make_org()


def resolved(settings, o, subject: str) -> int:
    t = ticket(settings, o.agent, subject, department_id=o.after_sales).summary.id
    tickets.transition_ticket(o.agent, t, "resolved", settings)
    return t


# -- coverage ------------------------------------------------------------------------------

def test_coverage_counts_only_tickets_linked_to_published_or_archived_articles(settings, o):
    rejected_source = resolved(settings, o, "AI 起草后被驳回")
    pending_source = resolved(settings, o, "AI 草稿还在审核")
    answered = resolved(settings, o, "有发布的文章")
    answered_before = resolved(settings, o, "文章已归档")
    rejected = knowledge.create_article(o.admin, ArticleInput(title="AI：驳回", body="x"),
                                        ai_generated=True)
    pending = knowledge.create_article(o.admin, ArticleInput(title="AI：待审", body="x"),
                                       ai_generated=True)
    for draft, source in ((rejected, rejected_source), (pending, pending_source)):
        knowledge_review.link_ticket_row(draft.id, source, "source", None)
        knowledge_review.transition(o.admin, draft.id, "submit")
    knowledge_review.transition(o.admin, rejected.id, "reject", reason="不准确")
    published = knowledge.create_article(o.agent, ArticleInput(title="已发布", body="办法"))
    archived = knowledge.create_article(o.agent, ArticleInput(title="已归档", body="办法"))
    for a, actions in ((published, ("submit", "approve")),
                       (archived, ("submit", "approve", "archive"))):
        for action in actions:
            knowledge_review.transition(o.admin, a.id, action)
    knowledge_review.link_ticket(o.agent, published.id, answered, "related")
    knowledge_review.link_ticket(o.agent, archived.id, answered_before, "related")

    c = knowledge_metrics.knowledge_metrics(o.supervisor).coverage
    assert (c.numerator, c.denominator, c.ratio) == (2, 4, 0.5)


# -- no N+1 --------------------------------------------------------------------------------

def _categories(n: int) -> list[int]:
    return [org_service.save_category(SYSTEM, f"类别{i}").id for i in range(n)]


def test_listing_articles_takes_the_same_queries_for_one_or_many(settings, o, queries):
    cats = _categories(3)
    counts = []
    for batch in (1, 12):
        for i in range(batch):
            knowledge.create_article(o.agent, ArticleInput(
                title=f"文章 {batch}-{i}", body="内容", category_id=cats[i % 3],
                owner_id=o.supervisor.user_id))
        queries.clear()
        listed = knowledge.list_articles(o.agent)
        counts.append(len(queries))
    # 4: the rows, users, categories, and once the category reviewers (department scope, 0033)
    assert len(listed) == 13 and counts[0] == counts[1] <= 4, queries
    first = listed[0]  # newest first, with the names a page shows
    assert (first.title, first.created_by.name, first.owner.name, first.category) == (
        "文章 12-11", "王芳", "陈主管", "类别2")


def _queue_drafts(settings, o, n: int, cats: list[int], target: int) -> None:
    for i in range(n):
        source = ticket(settings, o.agent, f"来源 {i}", department_id=o.after_sales).summary.id
        a = knowledge.create_article(o.admin, ArticleInput(title=f"AI 草稿 {i}", body="步骤",
                                                           category_id=cats[i % 2]),
                                     ai_generated=True)
        knowledge_review.link_ticket_row(a.id, source, "source", None)
        if i % 2:  # every other one proposes to update an existing article
            knowledge.save(knowledge.load(a.id), {"update_of": target})
        knowledge_review.transition(o.admin, a.id, "submit")


@pytest.mark.parametrize("who", ["admin", "supervisor"])
def test_the_review_queue_takes_the_same_queries_for_one_or_many(settings, o, queries, who):
    cats = _categories(2)
    target = knowledge.create_article(o.agent, ArticleInput(title="原文章", body="旧"))
    reviewer = getattr(o, who)
    counts = []
    # Two drafts already span both categories and a proposal: review facts are looked up
    # once per distinct category, so only the page size changes between the two counts.
    for batch in (2, 10):
        _queue_drafts(settings, o, batch, cats, target.id)
        queries.clear()
        items = knowledge_review.review_queue(reviewer)
        counts.append(len(queries))
    assert len(items) == 12 and counts[0] == counts[1] <= 12, (counts, queries)
    assert all(len(i.sources) == 1 and i.can_review for i in items)
    assert {i.target.title for i in items if i.target} == {"原文章"}
    assert {i.article.category for i in items} == {"类别0", "类别1"}


def test_the_review_queue_still_hides_source_tickets_the_reviewer_may_not_see(settings, o):
    mine = ticket(settings, o.agent, "售后的", department_id=o.after_sales).summary
    theirs = ticket(settings, o.agent2, "物流的", department_id=o.logistics).summary
    a = knowledge.create_article(o.admin, ArticleInput(title="AI：两个来源", body="x"),
                                 ai_generated=True)
    for t in (mine, theirs):
        knowledge_review.link_ticket_row(a.id, t.id, "source", None)
    knowledge_review.transition(o.admin, a.id, "submit")
    assert [s.name for s in knowledge_review.review_queue(o.agent)[0].sources] == [mine.number]
    assert {s.name for s in knowledge_review.review_queue(o.admin)[0].sources} == {
        mine.number, theirs.number}


# -- file limits ---------------------------------------------------------------------------

def _draft(o) -> int:
    return knowledge.create_article(o.agent, ArticleInput(title="带附件", body="x")).id


def test_article_files_obey_the_administrators_attachment_limit(settings, o):
    small = with_settings(settings, max_attachment_bytes=1000)
    assert (knowledge_files.file_limit(small), knowledge_files.image_limit(small)) == (1000, 1000)
    article = _draft(o)
    with pytest.raises(PayloadTooLarge):
        knowledge_files.upload_files(o.agent, article, [Upload("a.txt", b"x" * 1001)], small)
    with pytest.raises(PayloadTooLarge):
        knowledge_files.upload_files(o.agent, article, [Upload("p.png", PNG + b"\0" * 1000)],
                                     small)
    assert knowledge_files.list_files(o.agent, article) == []
    done = knowledge_files.upload_files(o.agent, article, [Upload("a.txt", b"x" * 1000)], small)
    assert [f.size for f in done] == [1000]


def test_a_higher_administrator_limit_does_not_raise_the_articles_own(settings, o):
    big = with_settings(settings, max_attachment_bytes=100 * 1024 * 1024)
    assert knowledge_files.file_limit(big) == knowledge_files.MAX_FILE_BYTES
    assert knowledge_files.image_limit(big) == knowledge_files.MAX_IMAGE_BYTES
    image = Upload("big.png", PNG + b"\0" * knowledge_files.MAX_IMAGE_BYTES)
    with pytest.raises(PayloadTooLarge):
        knowledge_files.upload_files(o.agent, _draft(o), [image], big)
