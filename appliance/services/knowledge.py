"""Knowledge articles for agents: write, edit, publish, list, and find the ones
relevant to a text (what reply drafts are grounded on).

Retrieval here is deliberately simple: BM25 over jieba words of the title and the
start of the body, computed in Python over at most MAX_CANDIDATES published
articles, with each article's words cached by (id, version). It is honest for a
knowledge base of hundreds or a few thousand articles; the knowledge-base issue
replaces it with the Whoosh index (same analysis as ticket search), keeping
`relevant_articles`' signature.

Permissions: staff write and edit; supervisors and admins publish and archive
(a second pair of eyes before text reaches customers); customers only ever read
published public articles.
"""
from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

import jieba

from appliance import dto
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Article, Category, User, utcnow
from appliance.rules.access import Actor
from appliance.services import common

LANGUAGES = ("zh", "en")
VISIBILITIES = ("internal", "public")
STATUSES = ("draft", "published", "archived")
MAX_TAGS = 20
MAX_CANDIDATES = 2000
INDEXED_BODY_CHARS = 1500  # words further down rarely decide relevance, and cost time
_BM25_K1, _BM25_B = 1.2, 0.75
RELATIVE_CUTOFF = 0.4

jieba.setLogLevel(60)  # jieba logs its dictionary loading at INFO on first use


@dataclass
class ArticleInput:
    title: str = ""
    body: str = ""
    language: str = "zh"
    visibility: str = "internal"
    tags: list[str] = field(default_factory=list)
    category_id: int | None = None


@dataclass(frozen=True)
class ArticleView:
    id: int
    title: str
    body: str
    language: str
    visibility: str
    status: str
    tags: list[str]
    category_id: int | None
    created_by: dto.Ref | None
    created_at: object
    updated_at: object
    version: int


def _view(a: Article) -> ArticleView:
    author = User.get_or_none(User.id == a.created_by_id) if a.created_by_id else None
    return ArticleView(a.id, a.title, a.body, a.language, a.visibility, a.status, list(a.tags or []),
                       a.category_id, common.ref(author, "display_name"), a.created_at,
                       a.updated_at, a.version)


# --- permissions (pure) ----------------------------------------------------------------------

def can_write_articles(actor: Actor) -> bool:
    return actor.is_staff


def can_publish_articles(actor: Actor) -> bool:
    return actor.role in ("supervisor", "admin")


def can_read_article(actor: Actor, status: str, visibility: str) -> bool:
    if actor.is_staff:
        return True
    return actor.is_customer and status == "published" and visibility == "public"


# --- writing ---------------------------------------------------------------------------------

def _clean(data: ArticleInput) -> dict:
    errors: dict[str, str] = {}
    values = {}
    for name, max_len, single in (("title", 255, True), ("body", 100_000, False)):
        try:
            values[name] = common.clean_text(getattr(data, name), name, required=True,
                                             max_len=max_len, single_line=single)
        except ValidationError as exc:
            errors.update(exc.fields)
    if data.language not in LANGUAGES:
        errors["language"] = "must be one of: zh, en"
    if data.visibility not in VISIBILITIES:
        errors["visibility"] = "must be one of: internal, public"
    tags = data.tags or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        errors["tags"] = "must be a list of words"
    elif len(tags) > MAX_TAGS:
        errors["tags"] = f"at most {MAX_TAGS} tags"
    try:
        values["category"] = common.exists(Category, data.category_id, "category_id")
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    clean_tags = list(dict.fromkeys(t.strip()[:64] for t in tags if t.strip()))
    return {**values, "language": data.language, "visibility": data.visibility, "tags": clean_tags}


def create_article(actor: Actor, data: ArticleInput) -> ArticleView:
    """A new draft; nobody but staff sees it until it is published."""
    if not can_write_articles(actor):
        raise PermissionDenied("staff only")
    values = _clean(data)
    with unit_of_work():
        a = Article.create(**values, status="draft", created_by=actor.user_id or None)
    return _view(a)


def _load_for_change(actor: Actor, article_id: int, expected_version) -> Article:
    if not can_write_articles(actor):
        raise NotFound("article not found", id=article_id)
    a = Article.get_or_none(Article.id == article_id)
    if a is None:
        raise NotFound("article not found", id=article_id)
    if expected_version is not None and int(expected_version) != a.version:
        raise Conflict("the article was changed by someone else; reload and try again",
                       current_version=a.version)
    return a


def _save(a: Article, changes: dict) -> Article:
    """Write guarded by the version read, so a concurrent edit is never overwritten."""
    changes = {**changes, "updated_at": utcnow(), "version": a.version + 1}
    n = Article.update(**changes).where((Article.id == a.id) & (Article.version == a.version)).execute()
    if n != 1:
        raise Conflict("the article was changed by someone else; reload and try again",
                       current_version=Article.get_by_id(a.id).version)
    return Article.get_by_id(a.id)


def update_article(actor: Actor, article_id: int, data: ArticleInput, *,
                   expected_version=None) -> ArticleView:
    values = _clean(data)
    with unit_of_work():
        a = _save(_load_for_change(actor, article_id, expected_version), values)
    return _view(a)


def set_status(actor: Actor, article_id: int, status: str, *, expected_version=None) -> ArticleView:
    """Publish, archive or return an article to draft (supervisors and admins)."""
    if status not in STATUSES:
        raise ValidationError({"status": "must be one of: draft, published, archived"})
    with unit_of_work():
        a = _load_for_change(actor, article_id, expected_version)
        if not can_publish_articles(actor):
            raise PermissionDenied("supervisors and administrators only")
        a = _save(a, {"status": status})
    return _view(a)


def publish_article(actor: Actor, article_id: int, *, expected_version=None) -> ArticleView:
    return set_status(actor, article_id, "published", expected_version=expected_version)


# --- reading ---------------------------------------------------------------------------------

def get_article(actor: Actor, article_id: int) -> ArticleView:
    a = Article.get_or_none(Article.id == article_id)
    if a is None or not can_read_article(actor, a.status, a.visibility):
        raise NotFound("article not found", id=article_id)  # 404, so ids cannot be probed
    return _view(a)


def list_articles(actor: Actor, *, status: str | None = None, language: str | None = None,
                  limit: int = 50, offset: int = 0) -> list[ArticleView]:
    """Newest first; customers get published public articles only."""
    q = Article.select().order_by(Article.updated_at.desc(), Article.id.desc())
    if not actor.is_staff:
        if not actor.is_customer:
            return []
        q = q.where((Article.status == "published") & (Article.visibility == "public"))
    if status:
        q = q.where(Article.status == status)
    if language:
        q = q.where(Article.language == language)
    return [_view(a) for a in q.limit(max(1, min(limit, 200))).offset(max(0, offset))]


# --- retrieval -------------------------------------------------------------------------------

_WORD = re.compile(r"[\w\u4e00-\u9fff]+")
_STOP = frozenset(
    "的 了 是 我 你 他 她 它 们 在 和 与 或 也 就 都 而 及 吗 呢 吧 啊 呀 把 被 这 那 有 没 不 "
    "a an and are as at be but by can do for from has have how i if in is it my no not of on "
    "or our please so that the their this to was we what when which with you your".split())


def words(text: str) -> list[str]:
    """Lower-cased jieba words without punctuation and the most common function words."""
    out = []
    for token in jieba.lcut_for_search(text or ""):
        token = token.strip().lower()
        if token and _WORD.fullmatch(token) and token not in _STOP:
            out.append(token)
    return out


_cache_lock = threading.Lock()
_word_cache: dict[tuple[int, int], Counter] = {}
_CACHE_MAX = 4 * MAX_CANDIDATES


def _article_words(a: Article) -> Counter:
    key = (a.id, a.version)
    with _cache_lock:
        hit = _word_cache.get(key)
    if hit is not None:
        return hit
    # The title counts twice: it says what the article is about.
    counts = Counter(words(a.title) * 2 + words((a.body or "")[:INDEXED_BODY_CHARS]))
    with _cache_lock:
        if len(_word_cache) >= _CACHE_MAX:
            _word_cache.clear()
        _word_cache[key] = counts
    return counts


def bm25(query: list[str], docs: list[Counter]) -> list[float]:
    """Okapi BM25 of each document for the query words (idf over these documents)."""
    if not docs or not query:
        return [0.0] * len(docs)
    n = len(docs)
    avg = sum(sum(d.values()) for d in docs) / n or 1.0
    terms = set(query)
    df = {t: sum(1 for d in docs if t in d) for t in terms}
    scores = []
    for d in docs:
        length = sum(d.values())
        s = 0.0
        for t in terms:
            tf = d.get(t, 0)
            if tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * tf * (_BM25_K1 + 1) / (tf + _BM25_K1 * (1 - _BM25_B + _BM25_B * length / avg))
        scores.append(s)
    return scores


def relevant_articles(text: str, language: str | None, limit: int = 3, *,
                      public_only: bool = True) -> list[ArticleView]:
    """The published articles that best match `text`, best first. An article scoring
    under RELATIVE_CUTOFF of the best one is left out: a weak match only distracts a
    small model (and costs prompt time)."""
    query = words(text)
    if not query or limit <= 0:
        return []
    q = (Article.select().where(Article.status == "published")
         .order_by(Article.updated_at.desc()).limit(MAX_CANDIDATES))
    if language:
        q = q.where(Article.language == language)
    if public_only:
        q = q.where(Article.visibility == "public")
    rows = list(q)
    scores = bm25(query, [_article_words(a) for a in rows])
    best = max(scores, default=0.0)
    ranked = sorted(((s, a) for s, a in zip(scores, rows) if s > 0 and s >= RELATIVE_CUTOFF * best),
                    key=lambda pair: (-pair[0], pair[1].id))
    return [_view(a) for _, a in ranked[:limit]]
