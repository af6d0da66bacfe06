"""Knowledge-base API (/api/v1/kb/...), documented in openapi_knowledge.py.

Staff write, review and read every article; customers' tokens only ever reach published
public articles (the services filter, and an article they may not read is a 404, so ids
cannot be probed). Articles are answered as explicit JSON (article_json) rather than the
whole view: reject reasons are for staff only.
"""
from __future__ import annotations

from flask import g

from appliance.errors import PermissionDenied, ValidationError
from appliance.rules import knowledge as rules
from appliance.services import (knowledge, knowledge_metrics, knowledge_review, knowledge_search,
                                knowledge_suggest)
from appliance.services.knowledge import ArticleInput
from webapp.api import api_bp
from webapp.api.payload import (ID_RULE, MAX_ID, choice, identifier, if_match, integer, into,
                                items, json_body, no_content, nullable, query_choice, query_int,
                                query_text, reply, text, text_list, to_json)

ARTICLES = "/kb/articles"
ARTICLE = f"{ARTICLES}/<{ID_RULE}:article_id>"
MAX_LIST = 100
MAX_OFFSET = 10_000
VERSION = integer(1, MAX_ID)

CONTENT_FIELDS = {
    "title": text(255), "body": text(knowledge.MAX_BODY),
    "language": choice(*knowledge.LANGUAGES), "visibility": choice(*knowledge.VISIBILITIES),
    "tags": text_list(knowledge.MAX_TAGS, 64), "category_id": nullable(identifier),
    "owner_id": nullable(identifier), "review_by": nullable(text(10)),
}
CREATE_FIELDS = {**CONTENT_FIELDS, "translation_of": nullable(identifier)}
CHANGE_FIELDS = {**CONTENT_FIELDS, "note": text(255), "expected_version": VERSION}


# -- JSON ---------------------------------------------------------------------------------

def article_json(a: knowledge.ArticleView) -> dict:
    out = {"id": a.id, "title": a.title, "body": a.body, "language": a.language,
           "visibility": a.visibility, "status": a.status, "tags": list(a.tags),
           "category_id": a.category_id,
           "owner": {"id": a.owner.id, "name": a.owner.name} if a.owner else None,
           "review_by": a.review_by.isoformat() if a.review_by else None,
           "translation_group": a.translation_group, "ai_generated": a.ai_generated,
           "update_of": a.update_of, "version": a.version, "created_at": a.created_at,
           "updated_at": a.updated_at, "published_at": a.published_at}
    if g.actor.is_staff:
        out["reject_reason"] = a.reject_reason
    return to_json(out)


def article_reply(a: knowledge.ArticleView, status: int = 200):
    return reply(article_json(a), status, {"ETag": f'"{a.version}"'})


def version_json(v: knowledge_review.VersionView) -> dict:
    return to_json({"version": v.version, "title": v.title, "body": v.body, "tags": v.tags,
                    "category_id": v.category_id, "visibility": v.visibility,
                    "editor": {"id": v.editor.id, "name": v.editor.name} if v.editor else None,
                    "note": v.note, "created_at": v.created_at})


def _writer() -> None:
    """Customers never write: 403 before any article is looked at (nothing to probe)."""
    if not knowledge.can_write_articles(g.actor):
        raise PermissionDenied("staff only")


def _expected_version(values: dict):
    if "expected_version" in values:
        return values.pop("expected_version")
    return if_match("article")


# -- articles -----------------------------------------------------------------------------

@api_bp.get(ARTICLES)
def list_kb_articles():
    limit = query_int("limit", 50, 1, MAX_LIST)
    offset = query_int("offset", 0, 0, MAX_OFFSET)
    rows = knowledge.list_articles(
        g.actor, status=query_choice("status", knowledge.STATUSES),
        language=query_choice("language", knowledge.LANGUAGES),
        category_id=query_int("category_id"), limit=limit + 1, offset=offset)
    more = len(rows) > limit
    return reply({"items": [article_json(a) for a in rows[:limit]], "limit": limit,
                  "offset": offset, "next_offset": offset + limit if more else None})


@api_bp.post(ARTICLES)
def create_kb_article():
    _writer()
    values = json_body(CREATE_FIELDS, required=("title", "body"))
    return article_reply(knowledge.create_article(g.actor, into(ArticleInput, values)), 201)


@api_bp.get(ARTICLE)
def get_kb_article(article_id: int):
    return article_reply(knowledge.get_article(g.actor, article_id))


@api_bp.put(ARTICLE)
def update_kb_article(article_id: int):
    """Fields left out keep their values; they are read at the version the change is
    checked against, so a concurrent edit is a 409, never silently undone."""
    _writer()
    values = json_body(CHANGE_FIELDS)
    expected = _expected_version(values)
    note = values.pop("note", "")
    current = knowledge.get_article(g.actor, article_id)
    if expected is None:
        expected = current.version
    data = ArticleInput(title=current.title, body=current.body, language=current.language,
                        visibility=current.visibility, tags=current.tags,
                        category_id=current.category_id,
                        owner_id=current.owner.id if current.owner else None,
                        review_by=current.review_by)
    data = into(ArticleInput, {**vars(data), **values})
    return article_reply(knowledge.update_article(g.actor, article_id, data,
                                                  expected_version=expected, note=note))


@api_bp.delete(ARTICLE)
def delete_kb_article(article_id: int):
    _writer()
    knowledge_review.delete_article(g.actor, article_id, expected_version=if_match("article"))
    return no_content()


@api_bp.post(ARTICLE + "/actions")
def kb_article_action(article_id: int):
    _writer()
    values = json_body({"action": choice(*rules.ACTIONS),
                        "reason": text(knowledge_review.MAX_REASON),
                        "expected_version": VERSION}, required=("action",))
    expected = _expected_version(values)
    return article_reply(knowledge_review.transition(
        g.actor, article_id, values["action"], reason=values.get("reason", ""),
        expected_version=expected))


@api_bp.get(ARTICLE + "/versions")
def kb_article_versions(article_id: int):
    return items([version_json(v) for v in knowledge_review.versions(g.actor, article_id)])


@api_bp.get(ARTICLE + "/diff")
def kb_article_diff(article_id: int):
    old = query_int("from", None, 1, MAX_ID)
    new = query_int("to", None, 1, MAX_ID)
    if old is None:
        raise ValidationError({"from": "required"})
    d = knowledge_review.diff(g.actor, article_id, old, new)
    lines = lambda ls: [{"op": line.op, "text": line.text} for line in ls]  # noqa: E731
    return reply({"from": version_json(d.old), "to": version_json(d.new),
                  "title": lines(d.title_lines), "body": lines(d.body_lines),
                  "fields": [{"field": f, "before": b, "after": a} for f, b, a in d.fields]})


@api_bp.post(ARTICLE + "/rollback")
def kb_article_rollback(article_id: int):
    _writer()
    values = json_body({"version": VERSION, "expected_version": VERSION}, required=("version",))
    expected = _expected_version(values)
    return article_reply(knowledge_review.rollback(g.actor, article_id, values["version"],
                                                   expected_version=expected))


@api_bp.get(ARTICLE + "/translations")
def kb_article_translations(article_id: int):
    knowledge.get_article(g.actor, article_id)  # 404 unless the caller may read it
    return items([article_json(a) for a in knowledge.translations(g.actor, article_id)])


@api_bp.post(ARTICLE + "/deflections")
def kb_article_deflection(article_id: int):
    """"This solved my problem" (customers; staff clicks would inflate the reuse figures):
    counted once per person and article a day."""
    counted = knowledge_suggest.deflect(g.actor, article_id)
    return reply({"article_id": article_id, "counted": counted}, 201 if counted else 200)


# -- search, review queue, metrics --------------------------------------------------------

def _facet_json(facets: dict) -> dict:
    return {name: [{"value": value, "label": label, "count": count}
                   for value, label, count in rows] for name, rows in facets.items()}


@api_bp.get("/kb/search")
def search_kb():
    limit = query_int("limit", 20, 1, MAX_LIST)
    offset = query_int("offset", 0, 0, MAX_OFFSET)
    page = knowledge_search.search_articles(
        g.actor, query_text("q", "", max_len=knowledge_search.MAX_QUERY), scope="api",
        language=query_choice("language", knowledge.LANGUAGES),
        category_id=query_int("category_id"),
        visibility=query_choice("visibility", knowledge.VISIBILITIES),
        status=query_choice("status", knowledge.STATUSES), limit=limit, offset=offset)
    hits = [{"article": article_json(h.article), "score": round(float(h.score), 4),
             "highlights": dict(h.highlights), "terms": list(h.terms)} for h in page.hits]
    return reply({"items": hits, "total": page.total, "limit": limit, "offset": offset,
                  "facets": _facet_json(page.facets)})


@api_bp.get("/kb/review-queue")
def kb_review_queue():
    limit = query_int("limit", 100, 1, 500)
    rows = knowledge_review.review_queue(g.actor, limit=limit)
    return items([{"article": article_json(q.article),
                   "target": article_json(q.target) if q.target else None,
                   "sources": to_json(q.sources), "can_review": q.can_review} for q in rows])


@api_bp.get("/kb/metrics")
def kb_metrics():
    days = query_int("days", knowledge_metrics.DEFAULT_DAYS, 1, knowledge_metrics.MAX_DAYS)
    return reply(knowledge_metrics.knowledge_metrics(g.actor, days))
