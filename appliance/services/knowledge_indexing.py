"""Keeps the article index in step with the database (only the queue and the CLI write it).

Every article is indexed, whatever its status: staff search drafts and articles in
review; searches filter by status and visibility inside the index. A deleted
article leaves the index. Articles are written as the job runs (not as scheduled),
so a job that runs twice, or late, still writes the current state.

Only an article's own category is indexed, not its ancestors: the category tree is
read when searching (knowledge_search expands a parent to its sub-categories), so
moving or renaming a category leaves nothing stale here.
"""
from __future__ import annotations

from appliance import jobs, registry, runtime
from appliance.models import Article
from appliance.ports import IndexedArticle


def document(a: Article) -> IndexedArticle:
    return IndexedArticle(id=a.id, title=a.title, body=a.body or "", tags=tuple(a.tags or ()),
                          language=a.language, visibility=a.visibility, status=a.status,
                          category_id=a.category_id, updated_at=a.updated_at,
                          ai_generated=bool(a.ai_generated), department_id=a.department_id)


@jobs.batch_handler("index_article")
def index_articles(article_ids: list[int]) -> None:
    """Idempotent: writes the articles' current state, removes deleted ones, one commit."""
    rows = {a.id: a for a in Article.select().where(Article.id.in_(article_ids))}
    gone = [i for i in article_ids if i not in rows]
    registry.knowledge_index(runtime.settings()).apply(
        [document(rows[i]) for i in article_ids if i in rows], gone)


def index_article(article_id: int) -> None:
    """One article (CLI maintenance and tests); the queue goes through index_articles."""
    index_articles([article_id])


def rebuild_articles(batch: int = 1000) -> int:
    """Recreate the article index from the database; returns the number indexed."""
    index = registry.knowledge_index(runtime.settings())

    def docs():
        last = 0
        while True:
            rows = list(Article.select().where(Article.id > last).order_by(Article.id).limit(batch))
            if not rows:
                return
            for a in rows:
                yield document(a)
            last = rows[-1].id
    return index.rebuild(docs())
