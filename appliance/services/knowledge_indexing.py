"""Keeps the article index in step with the database (only the queue and the CLI write it).

Every article is indexed, whatever its status: staff search drafts and articles in
review; searches filter by status and visibility inside the index. A deleted
article leaves the index. Articles are written as the job runs (not as scheduled),
so a job that runs twice, or late, still writes the current state.
"""
from __future__ import annotations

from appliance import jobs, registry, runtime
from appliance.models import Article, Category
from appliance.ports import IndexedArticle


def _parents() -> dict[int, int | None]:
    """Every category's parent (the tree is small: one query instead of one per level)."""
    return {c.id: c.parent_id for c in Category.select(Category.id, Category.parent)}


def chain(category_id: int | None, parents: dict[int, int | None]) -> tuple[int, ...]:
    """The category and its ancestors, nearest first (cycle-safe, capped like category_chain)."""
    out: list[int] = []
    while category_id and category_id not in out and len(out) < 20:
        out.append(category_id)
        category_id = parents.get(category_id)
    return tuple(out)


def document(a: Article, parents: dict[int, int | None]) -> IndexedArticle:
    return IndexedArticle(id=a.id, title=a.title, body=a.body or "", tags=tuple(a.tags or ()),
                          language=a.language, visibility=a.visibility, status=a.status,
                          category_ids=chain(a.category_id, parents), updated_at=a.updated_at)


@jobs.batch_handler("index_article")
def index_articles(article_ids: list[int]) -> None:
    """Idempotent: writes the articles' current state, removes deleted ones, one commit."""
    rows = {a.id: a for a in Article.select().where(Article.id.in_(article_ids))}
    parents = _parents() if rows else {}
    gone = [i for i in article_ids if i not in rows]
    registry.knowledge_index(runtime.settings()).apply(
        [document(rows[i], parents) for i in article_ids if i in rows], gone)


def index_article(article_id: int) -> None:
    """One article (CLI maintenance and tests); the queue goes through index_articles."""
    index_articles([article_id])


def rebuild_articles(batch: int = 1000) -> int:
    """Recreate the article index from the database; returns the number indexed."""
    index = registry.knowledge_index(runtime.settings())
    parents = _parents()

    def docs():
        last = 0
        while True:
            rows = list(Article.select().where(Article.id > last).order_by(Article.id).limit(batch))
            if not rows:
                return
            for a in rows:
                yield document(a, parents)
            last = rows[-1].id
    return index.rebuild(docs())
