"""Re-indexing an article deletes its old document, which stays in its segment (and in
the postings) until segments are rewritten. Ranking must count it consistently: with live
documents only in N and deleted ones in df, the idf went negative and a just-published
article (or every article sharing a segment with a replaced one) vanished from search."""
import datetime as dt

from appliance.ports import ArticleFilters, IndexedArticle
from search.knowledge_index import KnowledgeIndex

NOW = dt.datetime(2026, 11, 27, tzinfo=dt.timezone.utc)
PORTAL = ArticleFilters(statuses=("published",), visibilities=("public",))


def article(article_id: int, status: str, title: str = "如何申请退款") -> IndexedArticle:
    return IndexedArticle(article_id, title, f"{title}：在订单页面点击申请退款", ("退款",), "zh",
                          "public", status, None, NOW)


def ids(ix, query: str, filters=PORTAL) -> list[int]:
    return [h.id for h in ix.search(query, filters)[0]]


def test_a_published_article_is_found_after_a_search_saw_its_draft(tmp_path):
    ix = KnowledgeIndex(str(tmp_path))
    ix.upsert(article(1, "draft"))
    assert ids(ix, "退款") == []              # the draft is not the customer's
    ix.upsert(article(1, "published"))
    assert ids(ix, "退款") == [1]
    assert ids(KnowledgeIndex(str(tmp_path)), "退款") == [1]  # what a fresh process sees


def test_a_segment_with_one_of_two_articles_replaced_still_finds_both(tmp_path):
    ix = KnowledgeIndex(str(tmp_path))
    ix.apply([article(1, "published"), article(2, "draft", "退款进度查询")], [])
    assert ids(ix, "退款") == [1]
    ix.upsert(article(2, "published", "退款进度查询"))
    assert sorted(ids(ix, "退款")) == [1, 2]
    ix.apply([], [1])
    assert ids(ix, "退款") == [2]
