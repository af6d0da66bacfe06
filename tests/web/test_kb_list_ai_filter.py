"""The staff knowledge list's "AI-generated" filter is applied by the index before
paging (real app, real SQLite file, real Whoosh index): the count and the pages hold
exactly the AI-drafted articles, however many other articles match better or newer."""
from __future__ import annotations

import re

from appliance import jobs
from appliance.services import knowledge
from appliance.services.knowledge import ArticleInput
from webapp.views.agent_kb import PAGE_SIZE


def _count(html: str) -> int:
    return int(re.search(r'id="kb-count">\s*(\d+)', html).group(1))


def _linked(html: str) -> set[int]:
    """The articles linked from the results list."""
    return {int(i) for i in re.findall(r'href="/agent/kb/(\d+)"', html.split('id="kb-results"')[1])}


def test_the_ai_filter_counts_and_pages_before_the_page_is_cut(login, org):
    ai = [knowledge.create_article(org.admin, ArticleInput(title=f"AI 草稿 退货流程 {i}", body="退货"),
                                   ai_generated=True) for i in range(2)]
    for i in range(PAGE_SIZE + 1):  # newer, so they fill the first page of an unfiltered search
        knowledge.create_article(org.agent, ArticleInput(title=f"人工 退货流程 {i}", body="退货"))
    while jobs.run_pending_inline():
        pass
    b = login("wangfang")
    everything = b.get("/agent/kb?q=退货").get_data(as_text=True)
    assert _count(everything) == PAGE_SIZE + 3 and len(_linked(everything)) == PAGE_SIZE
    assert not _linked(everything) & {a.id for a in ai}
    only_ai = b.get("/agent/kb?q=退货&ai=yes").get_data(as_text=True)
    assert _count(only_ai) == 2
    assert _linked(only_ai) == {a.id for a in ai}
    not_ai = b.get("/agent/kb?q=退货&ai=no").get_data(as_text=True)
    assert _count(not_ai) == PAGE_SIZE + 1 and not _linked(not_ai) & {a.id for a in ai}
