"""Department scope of unpublished knowledge articles (docs/decisions/0033): the pure rule,
and the filter inside the real article index (Whoosh on disk), an index of the older
schema (no department field) included."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance.ports import ArticleFilters, IndexedArticle
from appliance.rules import knowledge as R
from appliance.rules.access import Actor
from search import knowledge_index as ki

AFTER_SALES, LOGISTICS = 1, 2
agent = Actor(10, "agent", department_id=AFTER_SALES)
other = Actor(11, "agent", department_id=LOGISTICS)
lead = Actor(12, "supervisor", department_id=LOGISTICS)
admin = Actor(1, "admin")
no_department = Actor(13, "agent")
customer = Actor(20, "customer", customer_id=5)


@pytest.mark.parametrize("status", sorted(R.SCOPED_STATUSES))
def test_unpublished_articles_are_seen_by_their_department_only(status):
    assert R.in_department_scope(agent, status, AFTER_SALES)
    for who in (other, lead, no_department, customer):
        assert not R.in_department_scope(who, status, AFTER_SALES), who.role
    assert R.in_department_scope(admin, status, AFTER_SALES)  # ticket.view_all


def test_reviewers_kb_admins_organisation_wide_and_published_articles():
    reviewer = R.ReviewFacts(frozenset({other.user_id}))
    assert R.in_department_scope(other, "in_review", AFTER_SALES, reviewer)
    assert not R.in_department_scope(lead, "in_review", AFTER_SALES, reviewer)  # kb.review alone is not enough
    kb_admin = Actor(14, "agent", department_id=LOGISTICS, permissions=frozenset({"kb.view", "kb.admin"}))
    assert R.in_department_scope(kb_admin, "draft", AFTER_SALES)
    assert R.in_department_scope(other, "draft", None)  # organisation-wide
    assert R.in_department_scope(other, "published", AFTER_SALES)
    assert "published" not in R.SCOPED_STATUSES
    assert R.SCOPED_STATUSES == {"draft", "in_review", "rejected", "archived", "merged"}


def test_an_article_takes_its_source_tickets_department_else_its_authors():
    assert R.article_department(LOGISTICS, True, AFTER_SALES) == LOGISTICS
    assert R.article_department(None, True, AFTER_SALES) is None  # a triage-pool ticket
    assert R.article_department(None, False, AFTER_SALES) == AFTER_SALES
    assert R.article_department(None, False, None) is None


def _doc(i, status, department_id, category_id=None):
    return IndexedArticle(id=i, title=f"打印机卡纸 {i}", body="关机后取出卡住的纸", tags=(),
                          language="zh", visibility="internal", status=status,
                          category_id=category_id, updated_at=dt.datetime(2026, 1, 1, 0, 0, i),
                          department_id=department_id)


DOCS = [_doc(1, "published", AFTER_SALES), _doc(2, "draft", AFTER_SALES),
        _doc(3, "in_review", LOGISTICS), _doc(4, "draft", None), _doc(5, "rejected", LOGISTICS, 7)]


def _ids(index, filters, query="打印机"):
    hits, total, facets = index.search(query, filters, facets=True)
    assert total == len(hits)
    return sorted(h.id for h in hits), facets


def test_the_index_filters_by_department_before_counting(tmp_path):
    index = ki.KnowledgeIndex(str(tmp_path))
    index.rebuild(iter(DOCS))
    mine, facets = _ids(index, ArticleFilters(departments=(None, AFTER_SALES)))
    assert mine == [1, 2, 4]
    assert facets["status"] == {"published": 1, "draft": 2}  # no count of the other department's
    assert _ids(index, ArticleFilters(departments=(None, LOGISTICS)))[0] == [1, 3, 4, 5]
    assert _ids(index, ArticleFilters(departments=(None,), review_categories=(7,)))[0] == [1, 4, 5]
    assert _ids(index, ArticleFilters())[0] == [1, 2, 3, 4, 5]  # no scope: sees every department
    assert _ids(index, ArticleFilters(departments=(None, AFTER_SALES)), "")[0] == [1, 2, 4]


def test_an_index_of_the_older_schema_hides_unpublished_articles_until_rebuilt(tmp_path, monkeypatch):
    def old_schema():
        s = current()
        s.remove("dept")
        return s
    current = ki.schema
    monkeypatch.setattr(ki, "schema", old_schema)
    index = ki.KnowledgeIndex(str(tmp_path))
    index.apply(DOCS[:3], [])
    monkeypatch.setattr(ki, "schema", current)
    index.apply(DOCS[3:], [])  # the indexing job keeps working on the old generation
    assert _ids(index, ArticleFilters(departments=(None, AFTER_SALES)))[0] == [1]  # fails closed
    assert _ids(index, ArticleFilters())[0] == [1, 2, 3, 4, 5]
    index.rebuild(iter(DOCS))
    assert _ids(index, ArticleFilters(departments=(None, AFTER_SALES)))[0] == [1, 2, 4]
