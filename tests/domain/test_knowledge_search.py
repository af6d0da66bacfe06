"""Knowledge search through the services and the real Whoosh article index, on SQLite
and PostgreSQL: relevance (zh and en), synonyms, typos, traditional input, permissions,
facets, highlights, deletion, search logging, similar tickets and articles."""
from __future__ import annotations

from pathlib import Path

import pytest

import appliance.services.knowledge_indexing  # noqa: F401  (registers the "index_article" job)
from appliance import jobs, registry
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import Job, KnowledgeSearch
from appliance.ports import ArticleFilters
from appliance.services import knowledge, knowledge_indexing, knowledge_review, org as org_service
from appliance.services import knowledge_search as ks
from appliance.services import tickets
from tests.factories import make_org, ticket

ARTICLES = {
    # key: (title, body, language, visibility, tags)
    "printer": ("打印机无法打印怎么办", "先检查纸盒是否卡纸，再确认墨盒有墨，最后重启打印机。", "zh", "public", ["打印机"]),
    "refund": ("如何申请退款", "在订单详情页点击申请退款，退款会在三个工作日内原路返回。", "zh", "public", ["售后"]),
    "address": ("修改收货地址", "订单发货前可以在订单详情页修改收货地址，发货后请联系客服。", "zh", "public", []),
    "account": ("帐号被锁定怎么办", "连续输错密码五次后帐号会被锁定三十分钟，也可以通过手机验证码解锁。", "zh", "public", ["帐号"]),
    "network": ("网络连接失败", "请检查路由器和网络设置，必要时重启网络设备。", "zh", "public", []),
    "invoice": ("发票开具说明", "电子发票在订单完成后开具。如已退款则不再开具发票。", "zh", "public", ["发票"]),
    "logistics_tag": ("配送时效", "一般三天送达，偏远地区五天。", "zh", "public", ["物流"]),
    "logistics_body": ("节假日安排", "节假日期间客服值班时间调整，物流可能延迟。", "zh", "public", []),
    "en_printer": ("Printer not printing", "Check the paper tray, replace the ink cartridge and restart the printer.",
                   "en", "public", ["printer"]),
    "en_refund": ("How to request a refund", "Open the order page and choose Request refund. "
                  "The money returns to your card within five days.", "en", "public", ["refund"]),
    "en_address": ("Change the delivery address", "You can change the delivery address before the "
                   "order ships.", "en", "public", ["shipping"]),
    "internal": ("退款审批内部流程", "财务内部审批退款的步骤，不对客户公开。", "zh", "internal", []),
    "draft": ("退款新政策草稿", "尚未发布的退款政策。", "zh", "public", []),
}
PUBLISHED = set(ARTICLES) - {"draft"}


def drain() -> None:
    """Run the pending index jobs (and only those: resolving a ticket also schedules
    work for other features, e.g. an AI draft, which is not under test here)."""
    for job in list(Job.select(Job.id).where(Job.done_at.is_null()
                                             & Job.name.in_(("index_article", "index_ticket")))
                    .order_by(Job.id)):
        jobs.run_job(job.id)


@pytest.fixture
def org(settings):
    return make_org()


@pytest.fixture
def kb(settings, org):
    ids = {}
    for key, (title, body, lang, visibility, tags) in ARTICLES.items():
        a = knowledge.create_article(org.agent, knowledge.ArticleInput(title, body, lang, visibility, tags))
        if key in PUBLISHED:
            knowledge.publish_article(org.supervisor, a.id)
        ids[key] = a.id
    drain()
    return ids


def ids_of(page) -> list[int]:
    return [h.article.id for h in page.hits]


def search(actor, query, **kw):
    return ks.search_articles(actor, query, **kw)


# --- relevance -------------------------------------------------------------------------------

def test_chinese_queries_rank_the_expected_article_first(org, kb):
    assert ids_of(search(org.agent, "打印机 卡纸"))[0] == kb["printer"]
    assert ids_of(search(org.agent, "退款多久到账"))[0] == kb["refund"]
    assert ids_of(search(org.agent, "怎么修改收货地址"))[0] == kb["address"]
    assert ids_of(search(org.agent, "帐号锁定"))[0] == kb["account"]


def test_english_queries_rank_the_expected_article_first(org, kb):
    assert ids_of(search(org.agent, "printer not printing"))[0] == kb["en_printer"]
    assert ids_of(search(org.agent, "refunds"))[0] == kb["en_refund"]
    assert ids_of(search(org.agent, "change delivery address"))[0] == kb["en_address"]
    assert kb["en_printer"] not in ids_of(search(org.agent, "delivery address"))


def test_title_and_tags_outrank_a_mention_in_the_body(org, kb):
    # 退款 is in the invoice article's body once, in the refund article's title
    ranked = ids_of(search(org.agent, "退款", status="published", visibility="public"))
    assert ranked.index(kb["refund"]) < ranked.index(kb["invoice"])
    ranked = ids_of(search(org.agent, "物流"))
    assert ranked[:2] == [kb["logistics_tag"], kb["logistics_body"]]


def test_traditional_chinese_input_finds_simplified_articles(org, kb):
    assert ids_of(search(org.agent, "帳號鎖定"))[0] == kb["account"]
    assert ids_of(search(org.agent, "網絡連接"))[0] == kb["network"]
    # OpenCC t2s folds characters, not regional vocabulary: 印表機 (Taiwan) is not 打印机
    assert kb["printer"] not in ids_of(search(org.agent, "印表機"))
    page = search(org.agent, "帳號鎖定")
    assert set(page.hits[0].terms) == {"帳號", "鎖定"}


def test_typos_in_latin_words_still_find_the_article_but_rank_below_exact(org, kb):
    assert ids_of(search(org.agent, "refnd"))[0] == kb["en_refund"]
    assert ids_of(search(org.agent, "printr"))[0] == kb["en_printer"]
    assert "printer" in search(org.agent, "printr").hits[0].terms  # and "print", one edit away too
    exact = search(org.agent, "printer").hits[0].score
    assert search(org.agent, "printr").hits[0].score < exact
    # short words get no typo tolerance (too many neighbours)
    assert search(org.agent, "inc").total == 0


def test_synonym_sets_expand_queries_and_take_effect_at_once(org, kb):
    assert kb["refund"] not in ids_of(search(org.agent, "退钱"))
    s = ks.save_synonym_set(org.admin, None, ["退款", "退钱", "返款"])
    page = search(org.agent, "我要退钱", status="published", visibility="public")
    assert page.hits[0].article.id == kb["refund"]
    assert page.hits[0].terms == ["退款"]
    assert "<mark>退款</mark>" in page.hits[0].highlights["title"]
    assert kb["refund"] in ids_of(search(org.agent, "返款"))
    ks.save_synonym_set(org.admin, s.id, ["退款", "返款"])
    assert kb["refund"] not in ids_of(search(org.agent, "退钱"))
    ks.delete_synonym_set(org.admin, s.id)
    assert kb["refund"] not in ids_of(search(org.agent, "返款"))


def test_english_synonyms_match_by_stem(org, kb):
    ks.save_synonym_set(org.admin, None, ["refund", "reimbursement", "money back"])
    assert ids_of(search(org.agent, "reimbursements"))[0] == kb["en_refund"]
    assert ids_of(search(org.agent, "money back please"))[0] == kb["en_refund"]


# --- permissions --------------------------------------------------------------------------------

def test_customers_and_the_portal_never_get_internal_or_unpublished_articles(org, kb):
    hidden = {kb["internal"], kb["draft"]}
    staff = search(org.agent, "退款")
    assert hidden <= set(ids_of(staff))
    for actor, scope in ((org.customer, "agent"), (org.customer, "api"), (org.customer, "portal"),
                         (org.agent, "portal"), (org.admin, "portal")):
        page = search(actor, "退款", scope=scope)
        assert not hidden & set(ids_of(page)), (actor.role, scope)
        assert page.total == len(page.hits) == 2  # refund + invoice: totals count only what they see
        assert dict((v, n) for v, _, n in page.facets["visibility"]) == {"public": 2}
        assert search(actor, "退款", scope=scope, visibility="internal").total == 0
        assert search(actor, "退款", scope=scope, status="draft").total == 0


def test_an_index_behind_a_change_cannot_leak_an_internal_article(org, kb):
    knowledge.update_article(org.supervisor, kb["refund"], knowledge.ArticleInput(
        "如何申请退款", "内部", "zh", "internal"))
    # the index job has not run yet: the index still says public
    assert kb["refund"] not in ids_of(search(org.customer, "退款", scope="portal"))
    drain()
    assert search(org.customer, "申请退款", scope="portal").total == 1  # only the invoice article


def test_staff_filter_by_status_visibility_and_language(org, kb):
    assert ids_of(search(org.agent, "退款", status="draft")) == [kb["draft"]]
    assert ids_of(search(org.agent, "退款", visibility="internal")) == [kb["internal"]]
    assert set(ids_of(search(org.agent, "refund", language="en"))) == {kb["en_refund"]}
    with pytest.raises(ValidationError) as err:
        search(org.agent, "退款", status="secret")
    assert "status" in err.value.fields


# --- facets, highlights, deletion, logging ------------------------------------------------------

def test_facets_count_the_whole_result_set_and_parent_categories_include_children(org, kb, settings):
    parent = org_service.save_category(org.admin, "售后服务")
    child = org_service.save_category(org.admin, "退换货", parent_id=parent.id)
    for key in ("refund", "internal"):
        knowledge.update_article(org.admin, kb[key], knowledge.ArticleInput(
            *ARTICLES[key][:4], tags=ARTICLES[key][4], category_id=child.id))
    drain()
    page = search(org.agent, "退款", limit=1)
    assert len(page.hits) == 1 and page.total == 4
    facets = {name: {v: n for v, _, n in rows} for name, rows in page.facets.items()}
    assert facets["status"] == {"published": 3, "draft": 1}
    assert facets["visibility"] == {"public": 3, "internal": 1}
    assert facets["language"] == {"zh": 4}
    assert facets["category"] == {parent.id: 2, child.id: 2}
    labels = {v: label for v, label, _ in page.facets["category"]}
    assert labels[parent.id] == "售后服务"
    assert set(ids_of(search(org.agent, "退款", category_id=parent.id))) == {kb["refund"], kb["internal"]}
    assert search(org.customer, "退款", category_id=parent.id).total == 1


def test_highlights_are_escaped_html_with_marks(org, kb):
    a = knowledge.create_article(org.agent, knowledge.ArticleInput(
        "<script>alert(1)</script> 退款脚本", "正文 <img src=x onerror=alert(1)> 退款", "zh", "public"))
    drain()
    hit = next(h for h in search(org.agent, "退款").hits if h.article.id == a.id)
    assert "<script>" not in hit.highlights["title"]
    assert "&lt;script&gt;" in hit.highlights["title"]
    assert "<mark>退款</mark>" in hit.highlights["title"]
    assert "<img" not in hit.highlights["body"] and "<mark>退款</mark>" in hit.highlights["body"]


def test_deleting_an_article_removes_it_from_the_index(org, kb, settings):
    assert kb["draft"] in ids_of(search(org.admin, "退款"))  # caches filled before the change
    knowledge_review.delete_article(org.admin, kb["draft"])
    drain()
    assert kb["draft"] not in ids_of(search(org.admin, "退款"))
    raw, total, _ = registry.knowledge_index(settings).search("政策草稿", ArticleFilters())
    assert raw == [] and total == 0


def test_rebuild_recreates_the_index_from_the_database(org, kb, settings):
    index_dir = Path(settings.index_dir) / "kb"
    before = (index_dir / "CURRENT").read_text()
    assert knowledge_indexing.rebuild_articles() == len(ARTICLES)
    assert (index_dir / "CURRENT").read_text() != before
    assert ids_of(search(org.agent, "打印机 卡纸"))[0] == kb["printer"]


def test_searches_are_logged_masked_and_without_suggestions(org, kb):
    search(org.customer, "13812345678 xyzzyplugh", scope="portal")
    search(org.agent, "打印机")
    search(org.agent, "打印机", offset=20)          # a further page is not a new search
    search(org.agent, "打印", log=False)            # suggestions as one types
    search(org.agent, "x" * 400, log=True)
    rows = list(KnowledgeSearch.select().order_by(KnowledgeSearch.id))
    assert [(r.scope, r.results) for r in rows] == [("portal", 0), ("agent", 1), ("agent", 0)]
    assert "13812345678" not in rows[0].query and "〔phone〕" in rows[0].query
    assert len(rows[2].query) == 200


def test_bad_queries_are_validation_errors(org, kb):
    with pytest.raises(ValidationError) as err:
        search(org.agent, "退" * 501)
    assert "q" in err.value.fields
    with pytest.raises(ValidationError):
        search(org.agent, "退款", scope="everywhere")
    assert search(org.agent, "的 了 ，。！").total == 0


def test_an_empty_query_lists_what_the_actor_may_read(org, kb):
    assert search(org.agent, "").total == len(ARTICLES)
    assert search(org.customer, "", scope="portal").total == len(PUBLISHED) - 1  # not the internal one


# --- similar resolved tickets, similar articles, reply drafts -------------------------------------

def _resolved(settings, who, subject, description, **fields) -> int:
    t = ticket(settings, who, subject, description=description, **fields)
    tickets.transition_ticket(org_admin(), t.summary.id, "resolved", settings)
    return t.summary.id


def org_admin():
    from tests.factories import actor
    return actor("admin")


def test_similar_resolved_tickets_from_a_long_text(settings, org):
    printer = _resolved(settings, org.customer, "打印机卡纸无法打印", "办公室的打印机一直卡纸，无法打印文件")
    _resolved(settings, org.agent, "申请退款", "订单重复扣款，请退款", department_id=org.after_sales)
    open_one = ticket(settings, org.agent, "打印机卡纸", description="还是卡纸").summary.id
    other = _resolved(settings, org.other_customer, "打印机卡纸了", "打印机卡纸")
    drain()
    long_text = "我们的打印机今天又卡纸了，" * 200 + "无法打印任何文件。"
    found = ks.similar_resolved_tickets(org.admin, long_text)
    ids = [h.summary.id for h in found]
    assert printer in ids and other in ids and open_one not in ids
    hit = found[ids.index(printer)]
    assert "卡纸" in hit.terms and "打印机" in hit.terms
    assert all("<mark>" in v and "<script" not in v for v in hit.highlights.values())
    assert [h.summary.id for h in ks.similar_resolved_tickets(org.customer, long_text)] == [printer]
    assert other not in [h.summary.id for h in ks.similar_resolved_tickets(
        org.admin, long_text, exclude_ticket_id=other)]


def test_similar_articles_score_is_a_coverage_between_zero_and_one(org, kb):
    text = "客户反馈打印机无法打印，检查发现纸盒卡纸，墨盒有墨，重启打印机后恢复。"
    hits = ks.similar_articles(text, "zh")
    assert hits[0].article.id == kb["printer"] and 0.5 <= hits[0].score <= 1.0
    assert all(0 <= h.score <= hits[0].score for h in hits)
    assert ks.similar_articles(text, "en") == [] or ks.similar_articles(text, "en")[0].score < 0.3
    drafts = {h.article.id for h in ks.similar_articles("退款新政策草稿 尚未发布", "zh", include_unpublished=True)}
    assert kb["draft"] in drafts
    assert kb["draft"] not in {h.article.id for h in ks.similar_articles("退款新政策草稿 尚未发布", "zh")}


def test_relevant_articles_uses_the_index_published_public_only(org, kb):
    found = [a.id for a in knowledge.relevant_articles("打印机不能打印 卡纸", "zh", limit=3)]
    assert found[0] == kb["printer"]
    refund = [a.id for a in knowledge.relevant_articles("退款", "zh", limit=5)]
    assert kb["internal"] not in refund and kb["draft"] not in refund
    assert kb["internal"] in [a.id for a in knowledge.relevant_articles("退款审批", "zh", limit=5,
                                                                           public_only=False)]
    assert knowledge.relevant_articles("printer", "zh") == []
    long_text = "My printer is not printing. " * 300
    assert [a.id for a in knowledge.relevant_articles(long_text, "en")][:1] == [kb["en_printer"]]


# --- synonym administration -------------------------------------------------------------------

def test_synonym_sets_are_validated_and_admin_only(org, settings):
    with pytest.raises(PermissionDenied):
        ks.save_synonym_set(org.agent, None, ["退款", "退钱"])
    with pytest.raises(PermissionDenied):
        ks.list_synonym_sets(org.supervisor)
    for words in (["退款"], ["退款", "退款"], [f"w{i}" for i in range(21)], ["退款", "x" * 33], "退款,退钱",
                  ["退款", 3]):
        with pytest.raises(ValidationError) as err:
            ks.save_synonym_set(org.admin, None, words)
        assert "words" in err.value.fields, words
    s = ks.save_synonym_set(org.admin, None, [" 退款 ", "退钱", "返款"])
    assert s.words == ["退款", "退钱", "返款"]
    with pytest.raises(ValidationError) as err:
        ks.save_synonym_set(org.admin, None, ["退錢", "还钱"])  # traditional form of a word in use
    assert "words" in err.value.fields
    assert ks.save_synonym_set(org.admin, s.id, ["退款", "退钱"]).words == ["退款", "退钱"]
    assert [x.id for x in ks.list_synonym_sets(org.admin)] == [s.id]
    ks.delete_synonym_set(org.admin, s.id)
    with pytest.raises(NotFound):
        ks.delete_synonym_set(org.admin, s.id)
    assert ks.list_synonym_sets(org.admin) == []


def test_bulk_views_equal_the_single_article_view(org, kb):
    from appliance.models import Article
    parent = org_service.save_category(org.admin, "售后服务")
    knowledge.update_article(org.admin, kb["refund"], knowledge.ArticleInput(
        *ARTICLES["refund"][:4], tags=ARTICLES["refund"][4], category_id=parent.id))
    rows = list(Article.select())
    assert ks.views(rows) == {a.id: knowledge.view(a) for a in rows}


# --- review fixes: category moves, optimize, the search log, the AI filter ----------------------

@pytest.fixture(autouse=True)
def fresh_log_window():
    """The search log limit counts per user id in this process; ids repeat across tests."""
    from appliance.services import rate_window
    rate_window.clear_all()


def _categorise(org, kb, key, category_id) -> None:
    knowledge.update_article(org.admin, kb[key], knowledge.ArticleInput(
        *ARTICLES[key][:4], tags=ARTICLES[key][4], category_id=category_id))


def test_moving_a_category_moves_its_articles_in_search_without_reindexing(org, kb, settings):
    old = org_service.save_category(org.admin, "售后服务")
    new = org_service.save_category(org.admin, "财务")
    child = org_service.save_category(org.admin, "退换货", parent_id=old.id)
    grandchild = org_service.save_category(org.admin, "退款", parent_id=child.id)
    _categorise(org, kb, "refund", grandchild.id)
    drain()
    assert ids_of(search(org.agent, "退款", category_id=old.id)) == [kb["refund"]]
    assert search(org.agent, "退款", category_id=new.id).total == 0
    org_service.save_category(org.admin, "退换货", parent_id=new.id, category_id=child.id)
    assert not Job.select().where(Job.done_at.is_null() & (Job.name == "index_article")).exists()
    assert ids_of(search(org.agent, "退款", category_id=new.id)) == [kb["refund"]]
    assert ids_of(search(org.agent, "", category_id=new.id)) == [kb["refund"]]
    assert search(org.agent, "退款", category_id=old.id).total == 0
    assert ids_of(search(org.agent, "退款", category_id=grandchild.id)) == [kb["refund"]]
    assert search(org.customer, "退款", category_id=new.id, scope="portal").total == 1
    # Facets count a parent's sub-categories as the tree is now, labelled with the new path.
    facets = {v: (label, n) for v, label, n in search(org.agent, "退款").facets["category"]}
    assert facets == {new.id: ("财务", 1), child.id: ("财务 / 退换货", 1),
                      grandchild.id: ("财务 / 退换货 / 退款", 1)}


def test_an_unknown_category_finds_nothing(org, kb):
    assert search(org.agent, "退款", category_id=999_999).total == 0


def kb_files_contain(settings, needle: str) -> bool:
    data = needle.encode("utf-8")
    return any(data in p.read_bytes() for p in (Path(settings.index_dir) / "kb").rglob("*") if p.is_file())


def test_optimize_removes_deleted_and_replaced_article_text_from_the_index_files(org, kb, settings):
    gone = knowledge.create_article(org.agent, knowledge.ArticleInput(
        "zebracorn 独角兽手册", "quokkamut 的说明", "zh", "public"))
    edited = knowledge.create_article(org.agent, knowledge.ArticleInput(
        "旧标题 platyzork", "旧正文", "zh", "public"))
    drain()
    assert kb_files_contain(settings, "zebracorn") and kb_files_contain(settings, "platyzork")
    knowledge_review.delete_article(org.admin, gone.id)
    knowledge.update_article(org.agent, edited.id, knowledge.ArticleInput("新标题 axolotzorp", "新正文", "zh",
                                                                          "public"))
    drain()
    assert kb_files_contain(settings, "zebracorn")  # MERGE_SMALL keeps the segments: still on disk
    from appliance import periodic
    periodic._optimize_index()  # what the nightly task runs, for both indexes
    for needle in ("zebracorn", "quokkamut", "platyzork"):
        assert not kb_files_contain(settings, needle), needle
    assert kb_files_contain(settings, "axolotzorp")  # the grep itself works
    assert ids_of(search(org.agent, "axolotzorp")) == [edited.id]
    assert ids_of(search(org.agent, "打印机 卡纸"))[0] == kb["printer"]


def test_logged_queries_mask_numbers_pii_does_not_know(org, kb):
    for query in ("身份证 1101 0519 4912 3100 2X 退款", "订单 2024-1127-8899 退款", "卡号 ６２２２ ０２１２ ３４５６ 退款",
                  "护照 E1234-5678 退款"):
        search(org.agent, query)
    logged = [r.query for r in KnowledgeSearch.select().order_by(KnowledgeSearch.id)]
    assert logged[0].startswith("身份证 〔") and "1101" not in logged[0]  # mask_pii takes it as a card
    assert logged[1] == "订单 〔number〕 退款"
    assert logged[2] == "卡号 〔number〕 退款"  # full-width digits too
    assert logged[3] == "护照 E〔number〕 退款"
    assert not any(ch.isdigit() for q in logged for ch in q.translate(ks.FULLWIDTH_TO_ASCII))
    assert ks.masked_query("error 404 on page 12") == "error 404 on page 12"  # short numbers stay


def test_the_search_log_is_limited_per_user_and_searches_still_run(org, kb):
    for _ in range(ks.LOG_LIMIT + 5):
        assert search(org.agent, "退款").total > 0
    search(org.supervisor, "退款")
    assert KnowledgeSearch.select().count() == ks.LOG_LIMIT + 1  # the other user is logged


def test_nightly_prunes_searches_older_than_the_metrics_longest_period(org, kb):
    import datetime as dt

    from appliance import periodic
    from appliance.models import utcnow
    now = utcnow()
    for days in (400, 367, 365, 0):
        KnowledgeSearch.create(query=f"q{days}", scope="agent", results=0,
                               created_at=now - dt.timedelta(days=days))
    periodic.nightly()
    assert sorted(r.query for r in KnowledgeSearch.select()) == ["q0", "q365"]


def test_the_ai_generated_filter_is_applied_before_paging(org, kb):
    ai = [knowledge.create_article(org.admin, knowledge.ArticleInput(f"AI 草稿 退款 {i}", "退款步骤", "zh",
                                                                     "internal"), ai_generated=True).id
          for i in range(3)]
    drain()
    everything = search(org.agent, "退款")
    only_ai = search(org.agent, "退款", ai_generated=True, limit=2)
    assert only_ai.total == 3 and set(ids_of(only_ai)) < set(ai) and len(only_ai.hits) == 2
    assert set(ids_of(search(org.agent, "退款", ai_generated=True, limit=2, offset=2))) < set(ai)
    not_ai = search(org.agent, "退款", ai_generated=False, limit=100)
    assert not_ai.total == everything.total - 3 and not set(ids_of(not_ai)) & set(ai)
    assert search(org.customer, "退款", ai_generated=True, scope="portal").total == 0
    with pytest.raises(ValidationError) as err:
        search(org.agent, "退款", ai_generated="yes")
    assert "ai_generated" in err.value.fields


def test_the_search_log_is_pruned_after_the_metrics_longest_period(settings):
    import datetime as dt
    from appliance.models import utcnow
    now = utcnow()
    for days in (10, 300, 365, 367, 500):
        KnowledgeSearch.create(query=f"q{days}", scope="portal", results=0,
                               created_at=now - dt.timedelta(days=days))
    assert ks.prune_search_log(now) == 2
    assert sorted(r.query for r in KnowledgeSearch.select()) == ["q10", "q300", "q365"]
