"""Knowledge articles: write, edit, read, list, and find the ones relevant to a text
(what reply drafts are grounded on). Review, versions and deletion are in
services/knowledge_review.py; search in services/knowledge_search.py.

Permissions (appliance/rules/knowledge.py): staff write drafts; a category's
reviewers (else supervisors and admins) publish and change published articles;
customers only ever read published public articles. Unpublished articles are scoped
to a department (rules.in_department_scope, docs/decisions/0033): every read here
checks it, and a scoped-out article is "not found", as a missing one.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

import jieba
import peewee as pw

from appliance import dto
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.models import (Article, ArticleVersion, Category, CategoryReviewer, Ticket, User,
                              utcnow)
from appliance.rules import knowledge as rules
from appliance.rules.access import Actor
from appliance.services import common

LANGUAGES = ("zh", "en")
VISIBILITIES = ("internal", "public")
STATUSES = rules.STATUSES
MAX_TAGS = 20
MAX_BODY = 100_000  # characters of Markdown; images are files, not inline data
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
    owner_id: int | None = None
    review_by: dt.date | str | None = None
    translation_of: int | None = None  # an article this one translates (create only)


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
    owner: dto.Ref | None = None
    review_by: dt.date | None = None
    translation_group: int | None = None
    ai_generated: bool = False
    update_of: int | None = None
    reject_reason: str = ""
    published_at: object = None
    category: str = ""


def _user_ref(user_id) -> dto.Ref | None:
    user = User.get_or_none(User.id == user_id) if user_id else None
    return common.ref(user, "display_name")


def view(a: Article) -> ArticleView:
    category = Category.get_or_none(Category.id == a.category_id) if a.category_id else None
    return ArticleView(a.id, a.title, a.body, a.language, a.visibility, a.status, list(a.tags or []),
                       a.category_id, _user_ref(a.created_by_id), a.created_at, a.updated_at,
                       a.version, _user_ref(a.owner_id), a.review_by, a.translation_group,
                       a.ai_generated, a.update_of_id, a.reject_reason or "", a.published_at,
                       (category.path or category.name) if category else "")


_view = view  # older name, used by callers of this module


def views(rows: list[Article]) -> dict[int, ArticleView]:
    """view() for many articles with two queries in all (users, categories), not two per
    row: a page of 50 articles or 20 search hits spent more time on those than on itself."""
    user_ids = {i for a in rows for i in (a.created_by_id, a.owner_id) if i}
    users = {u.id: dto.Ref(u.id, u.display_name)
             for u in User.select(User.id, User.display_name).where(User.id.in_(list(user_ids)))} \
        if user_ids else {}
    cat_ids = {a.category_id for a in rows if a.category_id}
    cats = {c.id: c.path or c.name for c in Category.select().where(Category.id.in_(list(cat_ids)))} \
        if cat_ids else {}
    return {a.id: ArticleView(
        a.id, a.title, a.body, a.language, a.visibility, a.status, list(a.tags or []),
        a.category_id, users.get(a.created_by_id), a.created_at, a.updated_at, a.version,
        users.get(a.owner_id), a.review_by, a.translation_group, a.ai_generated, a.update_of_id,
        a.reject_reason or "", a.published_at, cats.get(a.category_id, "")) for a in rows}


# --- permissions -----------------------------------------------------------------------------

def can_write_articles(actor: Actor) -> bool:
    return rules.can_write(actor)


def can_publish_articles(actor: Actor) -> bool:
    """Whether the actor reviews at least articles without configured reviewers."""
    return rules.can_review(actor, rules.ReviewFacts())


def can_read_article(actor: Actor, status: str, visibility: str) -> bool:
    return rules.can_read(actor, status, visibility)


def category_chain(category_id: int | None) -> list[int]:
    """The category and its ancestors, nearest first (cycles cannot occur; capped anyway)."""
    chain, seen = [], set()
    while category_id and category_id not in seen and len(chain) < 20:
        seen.add(category_id)
        chain.append(category_id)
        row = Category.get_or_none(Category.id == category_id)
        category_id = row.parent_id if row else None
    return chain


def review_facts(category_id: int | None) -> rules.ReviewFacts:
    """The reviewers of the nearest category in the chain that has any."""
    for cid in category_chain(category_id):
        ids = frozenset(r.user_id for r in CategoryReviewer.select(CategoryReviewer.user)
                        .where(CategoryReviewer.category == cid))
        if ids:
            return rules.ReviewFacts(ids)
    return rules.ReviewFacts()


def can_review_article(actor: Actor, a: Article) -> bool:
    return rules.can_review(actor, review_facts(a.category_id))


def in_scope(actor: Actor, a: Article) -> bool:
    """The department scope (rules.in_department_scope); the category's reviewers are
    looked up only for an article outside the actor's own scope."""
    if rules.in_department_scope(actor, a.status, a.department_id):
        return True
    return rules.in_department_scope(actor, a.status, a.department_id,
                                     review_facts(a.category_id))


def can_see(actor: Actor, a: Article) -> bool:
    """Whether `actor` may read the article row at all (status, visibility, scope)."""
    return can_read_article(actor, a.status, a.visibility) and in_scope(actor, a)


def reviewed_categories(actor: Actor) -> tuple[int, ...]:
    """The categories whose effective named reviewers (review_facts: the nearest
    category in the chain that names any) include the actor."""
    named: dict[int, set[int]] = {}
    for cid, uid in CategoryReviewer.select(CategoryReviewer.category, CategoryReviewer.user).tuples():
        named.setdefault(cid, set()).add(uid)
    if not any(actor.user_id in users for users in named.values()):
        return ()
    parents = dict(Category.select(Category.id, Category.parent).tuples())
    out = []
    for cid in parents:
        seen, at = set(), cid
        while at is not None and at not in seen and len(seen) < 20:
            seen.add(at)
            if at in named:
                if actor.user_id in named[at]:
                    out.append(cid)
                break
            at = parents.get(at)
    return tuple(sorted(out))


def department_scope(actor: Actor) -> tuple[tuple[int | None, ...] | None, tuple[int, ...]]:
    """(departments, reviewed categories) an unpublished article must match for the
    actor (ports.ArticleFilters); departments None: no limit. Customers are limited to
    published articles elsewhere."""
    if not actor.is_staff or rules.sees_every_department(actor):
        return None, ()
    own = (None,) if actor.department_id is None else (None, actor.department_id)
    return own, reviewed_categories(actor)


def scope_where(actor: Actor):
    """department_scope() as a condition on Article (None: no limit)."""
    departments, categories = department_scope(actor)
    if departments is None:
        return None
    cond = (Article.status == "published") | Article.department.is_null()
    real = [d for d in departments if d is not None]
    if real:
        cond = cond | Article.department.in_(real)
    if categories:
        cond = cond | Article.category.in_(list(categories))
    return cond


def _department(actor: Actor, source_ticket_id, translation_of) -> int | None:
    """The department a new article is scoped to (rules.article_department); a
    translation shares its original's."""
    if translation_of not in (None, "") and str(translation_of).isdigit():
        original = Article.get_or_none(Article.id == int(translation_of))
        if original is not None:
            return original.department_id
    source = Ticket.get_or_none(Ticket.id == source_ticket_id) if source_ticket_id else None
    return rules.article_department(source.department_id if source else None, source is not None,
                                    actor.department_id)


# --- writing ---------------------------------------------------------------------------------

def _date(value, name: str, errors: dict):
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors[name] = "must be a date (YYYY-MM-DD)"
        return None


def _clean(data: ArticleInput) -> dict:
    errors: dict[str, str] = {}
    values = {}
    for name, max_len, single in (("title", 255, True), ("body", MAX_BODY, False)):
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
    for name, model, key in (("category", Category, "category_id"), ("owner", User, "owner_id")):
        try:
            values[name] = common.exists(model, getattr(data, key), key)
        except ValidationError as exc:
            errors.update(exc.fields)
    values["review_by"] = _date(data.review_by, "review_by", errors)
    if errors:
        raise ValidationError(errors)
    clean_tags = list(dict.fromkeys(t.strip()[:64] for t in tags if t.strip()))
    return {**values, "language": data.language, "visibility": data.visibility, "tags": clean_tags}


def snapshot(a: Article, editor_id: int | None, note: str = "") -> None:
    """Record the article's current content as its version `a.version`."""
    ArticleVersion.create(article=a.id, version=a.version, title=a.title, body=a.body,
                          tags=list(a.tags or []), category_id=a.category_id,
                          visibility=a.visibility, editor=editor_id or None, note=note[:255])


def _translation_group(translation_of, language: str) -> int | None:
    if translation_of in (None, ""):
        return None
    original = Article.get_or_none(Article.id == common.exists(Article, translation_of,
                                                               "translation_of"))
    group = original.translation_group or original.id
    if Article.select().where((Article.translation_group == group)
                              & (Article.language == language)).exists() \
            or (original.language == language):
        raise ValidationError({"language": "this article already has a translation in that language"})
    return group


@contextlib.contextmanager
def _one_per_language():
    """Two translations into one language written at once: the unique index on
    (translation_group, language) refuses the second; say so as for a sequential one."""
    try:
        yield
    except pw.IntegrityError:
        raise ValidationError({"language": "this article already has a translation in that "
                                           "language"}) from None


def create_article(actor: Actor, data: ArticleInput, *, ai_generated: bool = False,
                   update_of: int | None = None,
                   source_ticket_id: int | None = None) -> ArticleView:
    """A new draft; nobody but staff of its department (the source ticket's, else the
    author's) sees it until it is published."""
    if not can_write_articles(actor):
        raise PermissionDenied("staff only")
    values = _clean(data)
    original = Article.get_or_none(Article.id == int(data.translation_of)) \
        if str(data.translation_of or "").isdigit() else None
    if original is not None and not can_see(actor, original):
        raise ValidationError({"translation_of": "does not exist"})  # as for a missing one
    with _one_per_language(), unit_of_work():
        group = _translation_group(data.translation_of, values["language"])
        if values["owner"] is None:
            values["owner"] = actor.user_id or None
        a = Article.create(**values, status="draft", created_by=actor.user_id or None,
                           ai_generated=ai_generated, update_of=update_of,
                           department=_department(actor, source_ticket_id, data.translation_of))
        if group is None:
            Article.update(translation_group=a.id).where(Article.id == a.id).execute()
        else:
            Article.update(translation_group=group).where(Article.id == a.id).execute()
            Article.update(translation_group=group).where(
                (Article.id == group) & Article.translation_group.is_null()).execute()
        a = Article.get_by_id(a.id)
        snapshot(a, actor.user_id, "created")
        schedule("index_article", a.id)
    return view(a)


def load(article_id) -> Article:
    a = Article.get_or_none(Article.id == article_id) if str(article_id).isdigit() else None
    if a is None:
        raise NotFound("article not found", id=article_id)
    return a


def load_visible(actor: Actor, article_id) -> Article:
    """The article if the actor may read it; else NotFound, as for a missing one."""
    a = load(article_id)
    if not can_see(actor, a):
        raise NotFound("article not found", id=article_id)
    return a


def load_for_change(actor: Actor, article_id: int, expected_version) -> Article:
    if not can_write_articles(actor):
        raise NotFound("article not found", id=article_id)
    a = load_visible(actor, article_id)
    if expected_version not in (None, "") and int(expected_version) != a.version:
        raise Conflict("the article was changed by someone else; reload and try again",
                       current_version=a.version)
    return a


_load_for_change = load_for_change


def save(a: Article, changes: dict) -> Article:
    """Write guarded by the version read, so a concurrent edit is never overwritten."""
    changes = {**changes, "updated_at": utcnow(), "version": a.version + 1}
    n = Article.update(**changes).where((Article.id == a.id) & (Article.version == a.version)).execute()
    if n != 1:
        raise Conflict("the article was changed by someone else; reload and try again",
                       current_version=Article.get_by_id(a.id).version)
    schedule("index_article", a.id)
    return Article.get_by_id(a.id)


_save = save


def update_article(actor: Actor, article_id: int, data: ArticleInput, *,
                   expected_version=None, note: str = "") -> ArticleView:
    values = _clean(data)
    with _one_per_language(), unit_of_work():
        a = load_for_change(actor, article_id, expected_version)
        if not rules.can_edit(actor, a.status, review_facts(a.category_id)):
            raise PermissionDenied("published articles are changed by their reviewers")
        if values["language"] != a.language and a.translation_group and Article.select().where(
                (Article.translation_group == a.translation_group) & (Article.id != a.id)
                & (Article.language == values["language"])).exists():
            raise ValidationError({"language": "this article already has a translation in that language"})
        if values["owner"] is None:
            values["owner"] = a.owner_id
        a = save(a, values)
        snapshot(a, actor.user_id, note or "edited")
    return view(a)


def set_status(actor: Actor, article_id: int, status: str, *, expected_version=None) -> ArticleView:
    """Publish, archive or return an article to draft (its reviewers); kept for callers
    that name the target status rather than the action (see knowledge_review)."""
    if status not in STATUSES:
        raise ValidationError({"status": "must be one of: " + ", ".join(STATUSES)})
    with unit_of_work():
        a = load_for_change(actor, article_id, expected_version)
        if not can_review_article(actor, a):
            raise PermissionDenied("the category's reviewers only")
        changes = {"status": status, "reviewed_by": actor.user_id or None}
        if status == "published":
            changes["published_at"] = utcnow()
        a = save(a, changes)
    return view(a)


def publish_article(actor: Actor, article_id: int, *, expected_version=None) -> ArticleView:
    return set_status(actor, article_id, "published", expected_version=expected_version)


# --- reading ---------------------------------------------------------------------------------

def get_article(actor: Actor, article_id: int) -> ArticleView:
    a = Article.get_or_none(Article.id == article_id) if str(article_id).isdigit() else None
    if a is None or not can_see(actor, a):
        raise NotFound("article not found", id=article_id)  # 404, so ids cannot be probed
    return view(a)


def visible_article(actor: Actor, article_id) -> ArticleView | None:
    """get_article(), or None where the actor may not see it (an AI proposal's target
    may be out of the reader's scope: the proposal is still shown)."""
    try:
        return get_article(actor, article_id)
    except NotFound:
        return None


def translations(actor: Actor, article_id: int) -> list[ArticleView]:
    """The other-language versions of an article the actor may read."""
    a = load(article_id)
    if not a.translation_group or not can_see(actor, a):
        return []
    rows = Article.select().where((Article.translation_group == a.translation_group)
                                  & (Article.id != a.id)).order_by(Article.language)
    return [view(r) for r in rows if can_see(actor, r)]


def list_articles(actor: Actor, *, status: str | None = None, language: str | None = None,
                  category_id: int | None = None, ai_generated: bool | None = None,
                  visibility: str | None = None, limit: int = 50,
                  offset: int = 0) -> list[ArticleView]:
    """Newest first; customers get published public articles only, staff what their
    department scope allows."""
    q = Article.select().order_by(Article.updated_at.desc(), Article.id.desc())
    if not actor.is_staff:
        if not actor.is_customer:
            return []
        q = q.where((Article.status == "published") & (Article.visibility == "public"))
    elif (scope := scope_where(actor)) is not None:
        q = q.where(scope)
    if status:
        q = q.where(Article.status == status)
    if language:
        q = q.where(Article.language == language)
    if category_id:
        q = q.where(Article.category == category_id)
    if visibility:
        q = q.where(Article.visibility == visibility)
    if ai_generated is not None:
        q = q.where(Article.ai_generated == ai_generated)
    rows = list(q.limit(max(1, min(limit, 200))).offset(max(0, offset)))
    shown = views(rows)
    return [shown[a.id] for a in rows]


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
    """The published articles that best match `text`, best first, from the article index
    (services/knowledge_search.py; a long text is cut to its most distinctive words). An
    article scoring under RELATIVE_CUTOFF of the best one is left out: a weak match only
    distracts a small model (and costs prompt time)."""
    from appliance.ports import ArticleFilters
    from appliance.services.knowledge_search import ranked_articles
    if not words(text) or limit <= 0:
        return []
    filters = ArticleFilters(statuses=("published",), visibilities=("public",) if public_only else (),
                             languages=(language,) if language else ())
    ranked = [(s, a) for s, a in ranked_articles(text, filters, limit)
              if a.status == "published" and (not public_only or a.visibility == "public")
              and (not language or a.language == language)]  # the index may lag a change
    best = max((s for s, _ in ranked), default=0.0)
    return [view(a) for s, a in ranked if s > 0 and s >= RELATIVE_CUTOFF * best][:limit]
