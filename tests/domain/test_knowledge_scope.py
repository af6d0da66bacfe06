"""Department scope of unpublished knowledge articles (docs/decisions/0033), through the
services, the real index jobs and a real Whoosh index, on SQLite and PostgreSQL.

The world: an AI draft written from an after-sales ticket (in review), a draft by an
after-sales agent, a draft by the administrator (no department: organisation-wide) and
a published article by the after-sales agent. 李雷 (logistics agent) and a logistics
supervisor must not reach the after-sales drafts by any service; published articles
stay visible to all staff; named category reviewers and the administrator keep access."""
from __future__ import annotations

import pytest

import appliance.services.indexing  # noqa: F401  (registers index_ticket)
from appliance import jobs, migrate
from appliance.errors import NotFound, ValidationError
from appliance.models import Article, ArticleTicket, Job, Ticket, User
from appliance.rules.access import SYSTEM
from appliance.services import (comments, knowledge, knowledge_indexing,  # noqa: F401 (index job)
                                knowledge_admin, knowledge_files, knowledge_learning,
                                knowledge_metrics, knowledge_review, knowledge_suggest, users)
from appliance.services import knowledge_search as ks
from appliance.services import org as org_service
from appliance.services.attachments import Upload
from appliance.services.knowledge import ArticleInput
from tests.factories import actor, make_org, ticket
from tests.migration_helpers import database_at, insert_row, runner

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")
WORDS = "退款审核流程"


def drain() -> None:
    for job in Job.select(Job.id).where(Job.done_at.is_null() & Job.name.in_(
            ("index_article", "index_ticket"))).order_by(Job.id):
        jobs.run_job(job.id)


@pytest.fixture
def world(settings):
    o = make_org()
    users.create_user(SYSTEM, "lead2", "物流主管", "supervisor", department_id=o.logistics)
    category = org_service.save_category(SYSTEM, "退款").id
    t = ticket(settings, o.agent, "客户退款审核太慢", description="退款审核流程要多久？",
               department_id=o.after_sales, category_id=category).summary
    ai = knowledge_learning._create(Ticket.get_by_id(t.id), f"{WORDS}（AI）", "AI 写的退款审核步骤。",
                                    "zh", None, "AI draft")
    mine = knowledge.create_article(o.agent, ArticleInput(f"{WORDS}草稿", "售后内部的退款审核步骤。",
                                                          category_id=category))
    knowledge_files.upload_files(o.agent, mine.id, [Upload("a.png", PNG)], settings)
    org_wide = knowledge.create_article(o.admin, ArticleInput(f"{WORDS}（全公司）", "全公司的草稿。"))
    public = knowledge.create_article(o.agent, ArticleInput(f"{WORDS}说明", "退款审核一般两天。",
                                                            visibility="public"))
    knowledge_review.transition(o.admin, public.id, "approve")
    drain()
    ids = {"ai": ai, "mine": mine.id, "org_wide": org_wide.id, "public": public.id}
    return o, actor("lead2"), category, t, ids, settings


def test_articles_take_the_department_of_their_source_ticket_or_author(world):
    o, _, _, _, ids, _ = world
    dept = {k: Article.get_by_id(v).department_id for k, v in ids.items()}
    assert dept == {"ai": o.after_sales, "mine": o.after_sales, "org_wide": None,
                    "public": o.after_sales}
    assert Article.get_by_id(ids["ai"]).status == "in_review"
    tr = knowledge.create_article(o.agent2, ArticleInput("Refund review", "Steps.", language="en",
                                                         translation_of=ids["org_wide"]))
    assert Article.get_by_id(tr.id).department_id is None  # a translation shares its original's


def test_the_list_shows_other_departments_only_published_and_organisation_wide(world):
    o, lead2, _, _, ids, _ = world
    for outsider in (o.agent2, lead2):
        seen = {a.id for a in knowledge.list_articles(outsider, limit=200)}
        assert seen == {ids["org_wide"], ids["public"]}
        assert not knowledge.list_articles(outsider, status="in_review")
    for insider in (o.agent, o.supervisor, o.admin):
        assert {a.id for a in knowledge.list_articles(insider, limit=200)} == set(ids.values())


def test_search_results_totals_and_facets_leave_out_other_departments_drafts(world):
    o, lead2, _, _, ids, _ = world
    page = ks.search_articles(o.agent2, WORDS, log=False)
    assert {h.article.id for h in page.hits} == {ids["org_wide"], ids["public"]}
    assert page.total == 2
    assert dict((v, n) for v, _, n in page.facets["status"]) == {"draft": 1, "published": 1}
    assert ks.search_articles(lead2, "", status="in_review", log=False).total == 0
    assert ks.search_articles(o.agent2, "", ai_generated=True, log=False).hits == []
    mine = ks.search_articles(o.agent, WORDS, log=False)
    assert mine.total == 4 and {h.article.id for h in mine.hits} == set(ids.values())
    assert ks.search_articles(o.admin, WORDS, log=False).total == 4
    assert knowledge_indexing.rebuild_articles() == 4  # `gongdan search rebuild` writes the scope too
    assert ks.search_articles(o.agent2, WORDS, log=False).total == 2
    assert ks.search_articles(o.agent, WORDS, log=False).total == 4


def test_guessing_ids_finds_nothing_on_every_route(world):
    o, lead2, _, _, ids, settings = world
    file_id = knowledge_files.list_files(o.agent, ids["mine"])[0].id
    for who in (o.agent2, lead2):
        for key in ("ai", "mine"):
            aid = ids[key]
            calls = [
                lambda: knowledge.get_article(who, aid),
                lambda: knowledge.update_article(who, aid, ArticleInput("x", "y")),
                lambda: knowledge_review.transition(who, aid, "return"),
                lambda: knowledge_review.versions(who, aid),
                lambda: knowledge_review.diff(who, aid, 1),
                lambda: knowledge_review.rollback(who, aid, 1),
                lambda: knowledge_review.delete_article(who, aid),
                lambda: knowledge_review.record_use(who, aid, "link"),
                lambda: knowledge_files.list_files(who, aid),
                lambda: knowledge_files.upload_files(who, aid, [Upload("b.png", PNG)], settings),
            ]
            for call in calls:
                with pytest.raises(NotFound):
                    call()
            assert knowledge.translations(who, aid) == []
        with pytest.raises(NotFound):
            knowledge_files.open_file(who, file_id, settings)
        with pytest.raises(NotFound):
            knowledge_files.delete_file(who, file_id, settings)
        with pytest.raises(NotFound):  # the same answer as an id that does not exist
            knowledge.get_article(who, max(ids.values()) + 100)
        with pytest.raises(ValidationError):
            knowledge.create_article(who, ArticleInput("译文", "x", language="en",
                                                       translation_of=ids["mine"]))
    assert knowledge_files.open_file(o.agent, file_id, settings)[1] == PNG
    assert Article.get_by_id(ids["mine"]).version == 1  # nothing was changed


def test_published_and_organisation_wide_articles_stay_visible_to_all_staff(world):
    o, lead2, _, _, ids, _ = world
    for who in (o.agent2, lead2, o.agent):
        assert knowledge.get_article(who, ids["public"]).status == "published"
        assert knowledge.get_article(who, ids["org_wide"]).status == "draft"
        assert knowledge_review.versions(who, ids["public"])
    assert knowledge.get_article(o.customer, ids["public"]).visibility == "public"
    with pytest.raises(NotFound):
        knowledge.get_article(o.customer, ids["org_wide"])


def test_the_review_queue_and_the_merge_page_keep_to_the_scope(world):
    o, lead2, category, _, ids, _ = world
    assert [i.article.id for i in knowledge_review.review_queue(o.agent)] == [ids["ai"]]
    assert knowledge_review.review_queue(o.agent2) == []
    assert knowledge_review.review_queue(lead2) == []  # kb.review alone does not cross departments
    with pytest.raises(NotFound):
        knowledge_review.transition(lead2, ids["ai"], "approve")
    assert [i.article.id for i in knowledge_review.review_queue(o.admin)] == [ids["ai"]]
    # A named reviewer of the draft's category keeps access across departments.
    knowledge_admin.add_reviewer(o.admin, category, lead2.user_id)
    item = knowledge_review.review_queue(lead2)[0]
    assert item.article.id == ids["ai"] and item.can_review
    assert knowledge.get_article(lead2, ids["mine"]).id == ids["mine"]
    assert ids["mine"] in {h.article.id for h in ks.search_articles(lead2, WORDS, log=False).hits}
    assert knowledge.get_article(lead2, ids["ai"]).id == ids["ai"]
    with pytest.raises(NotFound):
        knowledge.get_article(o.agent2, ids["ai"])
    # An AI proposal to update a published article: merged only by those who see it.
    p = knowledge.create_article(SYSTEM, ArticleInput("退款审核流程说明", "新的步骤。"), ai_generated=True,
                                 update_of=ids["public"], source_ticket_id=world[3].id)
    with pytest.raises(NotFound):
        knowledge_review.merge_proposal(o.agent2, p.id)
    assert knowledge_review.merge_proposal(o.admin, p.id).id == ids["public"]


def test_ticket_suggestions_offer_published_articles_of_every_department(world):
    o, _, _, _, ids, settings = world
    t = ticket(settings, o.agent2, "退款审核流程咨询", description="退款审核流程要多久？",
               department_id=o.logistics).summary
    drain()
    got = knowledge_suggest.ticket_suggestions(o.agent2, t.id)
    assert [h.article.id for h in got.articles] == [ids["public"]]
    c = comments.add_comment(o.agent2, t.id, "请看这篇文章", settings)
    used = [(ids["mine"], "link"), (ids["ai"], "snippet"), (ids["public"], "link")]
    assert knowledge_suggest.record_reply_uses(o.agent2, t.id, c.id, used) == 1  # the published one


def test_metrics_do_not_name_other_departments_drafts(world):
    o, lead2, _, _, ids, _ = world
    knowledge_review.record_use(SYSTEM, ids["mine"], "cited")
    knowledge_review.record_use(SYSTEM, ids["public"], "cited")
    top = lambda who: {r.article.id for r in knowledge_metrics.knowledge_metrics(who).reuse.top}  # noqa: E731
    assert top(lead2) == {ids["public"]}
    assert top(o.supervisor) == top(o.admin) == {ids["mine"], ids["public"]}


def test_migration_0019_fills_the_department_of_existing_articles(backend, settings, tmp_path):
    with database_at("0018_encryption", backend, settings, tmp_path):
        # Staff only: customers' contacts need the blind-index key 0018 creates on upgrade.
        after_sales = org_service.save_department(SYSTEM, "AS", "售后").id
        logistics = org_service.save_department(SYSTEM, "LOG", "物流").id
        # Rows, not the user service: today's service reads the security policy table of
        # migration 0026, which a 0018 database does not have.
        for name, display, role, dept in (("wangfang", "王芳", "agent", after_sales),
                                          ("lilei", "李雷", "agent", logistics),
                                          ("admin", "管理员", "admin", None)):
            insert_row("user", username=name, display_name=display, role=role,
                       department_id=dept, active=True)
        # A row, not the ticket service: today's service also writes tables of later
        # migrations (SLA, surveys) that a 0018 database does not have.
        t = Ticket.get_by_id(Ticket.insert(number="GD-2026-000001", subject="物流工单",
                                           department=logistics).execute())
        rows = {}
        for key, author in (("ai", None), ("mine", "wangfang"), ("admin", "admin")):
            rows[key] = Article.insert(title=key, body="x", status="draft",
                                       created_by=User.select(User.id).where(
                                           User.username == author).scalar() if author else None
                                       ).execute()
        ArticleTicket.create(article=rows["ai"], ticket=t.id, kind="source")
        assert migrate.pending()[0] == "0019_kb_scope"
        runner().up("0019_kb_scope")
        dept = {k: Article.get_by_id(v).department_id for k, v in rows.items()}
        assert dept == {"ai": logistics, "mine": after_sales, "admin": None}
