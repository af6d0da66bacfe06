"""Knowledge search: articles (with facets and the reason each one matched), similar
resolved tickets, the closest articles for AI drafting, and admin-managed synonyms.

The article index (search/knowledge_index.py) narrows and ranks; this module decides
who sees what. Staff search every status; customers, and anything asked with
scope="portal", only ever get published public articles: the limit is a filter in
the index (so totals and facets never count what the caller cannot see) and every
returned row is checked once more against the database (so an index that is behind
a change, e.g. an article just made internal, cannot leak it). The department scope
of unpublished articles (docs/decisions/0033) is applied the same way: in the index
(ArticleFilters.departments) and again per returned row.

A category filter means the category and everything below it, read from the category
tree at search time (the index holds each article's own category only), so moving a
category takes effect at once. Searches are logged for "top searches with no result":
masked (PII, and any longer run of digits), at most LOG_LIMIT per user a minute, kept
LOG_KEEP_DAYS days (pruned nightly, appliance/periodic.py).
"""
from __future__ import annotations

import datetime as dt
import html
import re
import threading
from dataclasses import dataclass, field

from appliance import dto, registry, runtime
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Article, Category, KnowledgeSearch, SynonymSet, Ticket, User, utcnow
from appliance.ports import ArticleFilters
from appliance.rules.access import Actor, can_view_ticket
from appliance.rules.pii import FULLWIDTH_TO_ASCII, mask_pii
from appliance.services import common
from appliance.services.rate_window import SlidingWindow
from appliance.services.knowledge import (LANGUAGES, STATUSES, VISIBILITIES, ArticleView, can_see,
                                          department_scope, views)

# How the ticket index marks matches in snippets (search/highlight.py; the domain does
# not import back-ends): private-use characters, turned into <mark> after escaping.
MARK_START, MARK_END = "\ue000", "\ue001"

SCOPES = ("agent", "portal", "api")
MAX_QUERY = 500
MAX_LIMIT = 100
MAX_OFFSET = 10_000
LOGGED_QUERY = 200
SIMILAR_WORDS = 12          # words of a long text that make its query (see distinctive_words)
SIMILAR_BUDGET = 0.05       # seconds of ranking: a few good matches, newest segments first (suggestions)
SHORT_TEXT = 200            # shorter texts are searched as typed
DRAFTING_STATUSES = ("draft", "in_review", "published")
SYNONYM_MIN, SYNONYM_MAX, SYNONYM_WORD_MAX = 2, 20, 32
LOG_KEEP_DAYS = 366  # the metrics' longest period (365 days) and a day: no gap in its list
LOG_LIMIT, LOG_WINDOW_S = 30, 60.0  # searches logged per user a minute; the rest still run
MAX_DEPTH = 20  # category levels followed (as services.org's category_chain)
# Seven or more digits, spaces and dashes: ID, card, order and phone numbers in forms
# mask_pii does not know ("1101 0519 4912 3100 2X"); a search log needs no numbers.
_NUMBER = re.compile(r"\d[\d\s-]{5,}[\dXx]")
NUMBER_MASK = "〔number〕"


@dataclass(frozen=True)
class ArticleHit:
    """`score`: BM25 from search_articles; from similar_articles, the coverage (see there).
    `highlights`: safe HTML per field ("title", "body") with <mark> around matches.
    `terms`: the query words, or their synonyms, the article matched (the "reason")."""
    article: ArticleView
    score: float
    highlights: dict[str, str] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ArticleSearchPage:
    hits: list[ArticleHit]
    total: int
    # field -> [(value, label, count)], most frequent first, over the whole result set
    facets: dict[str, list[tuple]] = field(default_factory=dict)


@dataclass(frozen=True)
class TicketHit:
    summary: dto.TicketSummary
    score: float
    terms: list[str] = field(default_factory=list)
    highlights: dict[str, str] = field(default_factory=dict)  # safe HTML, as ArticleHit's


@dataclass(frozen=True)
class SynonymSetView:
    id: int
    words: list[str]
    updated_at: object


def _index():
    return registry.knowledge_index(runtime.settings())


# --- articles --------------------------------------------------------------------------------

def _public_only(actor: Actor, scope: str) -> bool:
    return scope == "portal" or not actor.is_staff


def _tree() -> dict[int, tuple[int | None, str]]:
    """Every category: id -> (parent id, label). One small query (categories are few);
    read per search, so a move or rename shows at once without re-indexing."""
    return {c.id: (c.parent_id, c.path or c.name)
            for c in Category.select(Category.id, Category.parent, Category.path, Category.name)}


def _with_descendants(category_id: int, tree: dict) -> tuple[int, ...]:
    """The category and every category below it (cycle-safe)."""
    children: dict[int, list[int]] = {}
    for cid, (parent, _) in tree.items():
        children.setdefault(parent, []).append(cid)
    out, todo = [category_id], [category_id]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in out:
                out.append(child)
                todo.append(child)
    return tuple(out)


def _ancestors(category_id: int, tree: dict) -> list[int]:
    """The category and its ancestors, nearest first (cycle-safe, at most MAX_DEPTH)."""
    out: list[int] = []
    while category_id in tree and category_id not in out and len(out) < MAX_DEPTH:
        out.append(category_id)
        category_id = tree[category_id][0]
    return out


def _filters(actor: Actor, scope: str, language, category_id, visibility, status,
             ai_generated=None, tree: dict | None = None) -> ArticleFilters | None:
    """The index filter for this actor and request; None when nothing can match."""
    errors = {}
    if scope not in SCOPES:
        errors["scope"] = "must be one of: " + ", ".join(SCOPES)
    for name, value, allowed in (("language", language, LANGUAGES), ("visibility", visibility, VISIBILITIES),
                                 ("status", status, STATUSES)):
        if value not in (None, "") and value not in allowed:
            errors[name] = "must be one of: " + ", ".join(allowed)
    if category_id not in (None, "") and not str(category_id).isdigit():
        errors["category_id"] = "must be a category id"
    if ai_generated not in (None, True, False):
        errors["ai_generated"] = "must be true or false"
    if errors:
        raise ValidationError(errors)
    statuses, visibilities = ((status,) if status else ()), ((visibility,) if visibility else ())
    if _public_only(actor, scope):
        if not (actor.is_customer or scope == "portal"):
            return None
        if statuses not in ((), ("published",)) or visibilities not in ((), ("public",)):
            return None
        statuses, visibilities = ("published",), ("public",)
    categories = () if category_id in (None, "") else \
        _with_descendants(int(category_id), _tree() if tree is None else tree)
    departments, reviewed = department_scope(actor)
    return ArticleFilters(statuses=statuses, visibilities=visibilities,
                          languages=(language,) if language else (), category_ids=categories,
                          ai_generated=ai_generated, departments=departments,
                          review_categories=reviewed)


def _readable(a: Article, public_only: bool, actor: Actor | None = None) -> bool:
    if actor is not None and not can_see(actor, a):
        return False
    return not public_only or (a.status == "published" and a.visibility == "public")


def _articles(ids: list[int], public_only: bool, actor: Actor | None = None) -> dict[int, Article]:
    """The rows of `ids` that may be shown (to `actor`, if given: its scope as of now)."""
    rows = Article.select().where(Article.id.in_(ids)) if ids else []
    return {a.id: a for a in rows if _readable(a, public_only, actor)}


def search_articles(actor: Actor, query: str, *, scope: str = "agent", language: str | None = None,
                    category_id: int | None = None, visibility: str | None = None,
                    status: str | None = None, ai_generated: bool | None = None,
                    limit: int = 20, offset: int = 0, log: bool = True) -> ArticleSearchPage:
    """Ranked articles the actor may read, with facets over all of them. An empty query
    lists them (most recently changed first). `category_id` includes its sub-categories;
    `ai_generated` True/False keeps only articles an AI did / did not draft. Logged
    unless `log` is False (suggestions as one types), once per search (the first page),
    masked (see log_search)."""
    query = (query or "").strip()
    if len(query) > MAX_QUERY:
        raise ValidationError({"q": f"at most {MAX_QUERY} characters"})
    try:
        limit, offset = max(1, min(int(limit), MAX_LIMIT)), max(0, min(int(offset), MAX_OFFSET))
    except (TypeError, ValueError):
        raise ValidationError({"limit": "must be a number"}) from None
    tree = _tree()
    filters = _filters(actor, scope, language, category_id, visibility, status, ai_generated, tree)
    if filters is None:
        page = ArticleSearchPage([], 0, {})
    else:
        found, total, facets = _index().search(query, filters, limit=limit, offset=offset,
                                               facets=True, synonyms=synonym_words())
        rows = _articles([h.id for h in found], _public_only(actor, scope), actor)
        shown = views(list(rows.values()))
        hits = [ArticleHit(shown[h.id], h.score, dict(h.highlights), list(h.terms))
                for h in found if h.id in rows]
        page = ArticleSearchPage(hits, total, _facet_lists(facets, tree))
    if log and query and offset == 0:
        log_search(actor, query, scope, page.total)
    return page


_log_window = SlidingWindow(LOG_LIMIT, LOG_WINDOW_S)


def masked_query(query: str) -> str:
    """The query as logged: PII tokens (rules.pii), then any remaining run of seven or
    more digits (spaces and dashes between them allowed) as NUMBER_MASK."""
    masked = mask_pii(query)
    folded = masked.translate(FULLWIDTH_TO_ASCII)  # same length: spans apply to `masked`
    out, last = [], 0
    for m in _NUMBER.finditer(folded):
        out += [masked[last:m.start()], NUMBER_MASK]
        last = m.end()
    out.append(masked[last:])
    return "".join(out)[:LOGGED_QUERY]


def log_search(actor: Actor, query: str, scope: str, results: int) -> bool:
    """One row for "top searches with no result" (knowledge metrics); False when the
    user already logged LOG_LIMIT searches in the last minute (a script or a stuck key
    would otherwise fill the table and drown what people searched for)."""
    if not _log_window.allow(actor.user_id):
        return False
    KnowledgeSearch.create(query=masked_query(query), scope=scope, results=results)
    return True


def prune_search_log(now: dt.datetime | None = None) -> int:
    """Delete logged searches older than LOG_KEEP_DAYS (nightly); returns how many."""
    since = (now or utcnow()) - dt.timedelta(days=LOG_KEEP_DAYS)
    return KnowledgeSearch.delete().where(KnowledgeSearch.created_at < since).execute()


def _facet_lists(facets: dict, tree: dict) -> dict[str, list[tuple]]:
    out = {}
    for name in ("language", "visibility", "status"):
        counts = facets.get(name) or {}
        out[name] = sorted(((v, v, n) for v, n in counts.items()), key=lambda t: (-t[2], t[0]))
    # The index counts each article under its own category; a parent counts its
    # sub-categories' articles too, as filtering by it finds them (the tree as it is now).
    rolled: dict[int, int] = {}
    for value, n in (facets.get("category") or {}).items():
        if str(value).isdigit():
            for cid in _ancestors(int(value), tree):
                rolled[cid] = rolled.get(cid, 0) + n
    out["category"] = sorted(((cid, tree[cid][1], n) for cid, n in rolled.items()),
                             key=lambda t: (-t[2], t[1]))
    return out


def similar_articles(text: str, language: str | None, *, limit: int = 3,
                     include_unpublished: bool = False) -> list[ArticleHit]:
    """The articles closest to `text` (no actor: for the AI drafting task), best first.

    `score` is the article's coverage of the text, between 0 and 1: the share of the
    text's distinctive words (its SIMILAR_WORDS most distinctive ones, each weighted by
    how rare it is among the articles) that the article contains in its title, tags or
    body. 1.0: every such word occurs in the article; 0.0: none does. It does not
    depend on the size of the knowledge base, so one threshold fits all; as a starting
    point, the article about the same problem scores ≥ 0.5 in the domain tests, and
    articles sharing only general vocabulary stay well below.
    """
    words = _index().key_words(text or "", SIMILAR_WORDS)
    if not words or limit <= 0:
        return []
    statuses = DRAFTING_STATUSES if include_unpublished else ("published",)
    filters = ArticleFilters(statuses=statuses, languages=(language,) if language else ())
    found, _, _ = _index().search(" ".join(words), filters, limit=max(limit * 3, 10),
                                  synonyms=synonym_words())
    found = sorted(found, key=lambda h: (-h.coverage, -h.score))[:limit]
    rows = _articles([h.id for h in found], public_only=False)
    shown = views(list(rows.values()))
    return [ArticleHit(shown[h.id], h.coverage, dict(h.highlights), list(h.terms))
            for h in found if h.id in rows and rows[h.id].status in statuses]


def ranked_articles(text: str, filters: ArticleFilters, limit: int) -> list[tuple[float, Article]]:
    """(score, article) best first for a text of any length (long ones are bounded)."""
    text = (text or "").strip()
    query = text if len(text) <= SHORT_TEXT else " ".join(_index().key_words(text, 16))
    if not query or limit <= 0:
        return []
    found, _, _ = _index().search(query, filters, limit=limit, synonyms=synonym_words())
    rows = {a.id: a for a in Article.select().where(Article.id.in_([h.id for h in found]))} \
        if found else {}
    return [(h.score, rows[h.id]) for h in found if h.id in rows]


# --- similar resolved tickets ------------------------------------------------------------------

_MARKED = re.compile(f"{MARK_START}(.*?){MARK_END}", re.S)


def safe_highlight(snippet: str) -> str:
    """A ticket index snippet (marks as private-use characters) as safe HTML."""
    return html.escape(snippet, quote=False).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def similar_resolved_tickets(actor: Actor, text: str, *, limit: int = 5,
                             exclude_ticket_id: int | None = None) -> list[TicketHit]:
    """Resolved and closed tickets the actor may see that are about the same thing as
    `text`. A long text becomes a bounded query of its SIMILAR_WORDS most distinctive
    words, any of which may match (those matching more rank first)."""
    from appliance.services.search import _filters_for
    tokens = _index().analysed
    words = _index().key_words(text or "", SIMILAR_WORDS)
    if not words or limit <= 0:
        return []
    filters = _filters_for(actor, ("resolved", "closed"), (), None, None)
    found, _ = registry.search_index(runtime.settings()).search(
        " OR ".join(words), filters, limit=limit + 1, budget_s=SIMILAR_BUDGET)
    found = [h for h in found if h.id != exclude_ticket_id][:limit]
    rows = {t.id: t for t in Ticket.select().where(Ticket.id.in_([h.id for h in found]))} if found else {}
    visible = [(h, rows[h.id]) for h in found
               if h.id in rows and can_view_ticket(actor, common.facts(rows[h.id]))]
    out = []
    for (h, _), summary in zip(visible, common.summaries([t for _, t in visible])):
        marked = {tok for snippet in h.highlights.values() for m in _MARKED.findall(snippet)
                  for tok in tokens(m)}
        terms = [w for w in words if set(tokens(w)) & marked]
        out.append(TicketHit(summary, h.score, terms,
                             {k: safe_highlight(v) for k, v in h.highlights.items()}))
    return out


# --- synonyms ----------------------------------------------------------------------------------

_syn_lock = threading.Lock()
_syn_cache: dict = {"key": None, "sets": ()}


def synonym_words() -> tuple[tuple[str, ...], ...]:
    """Every synonym set's words, cached until a set is added, changed or removed
    (one aggregate query per search decides that)."""
    from peewee import fn
    row = SynonymSet.select(fn.COUNT(SynonymSet.id), fn.MAX(SynonymSet.id),
                            fn.MAX(SynonymSet.updated_at)).tuples().first()
    key = tuple(str(v) for v in row) if row else None
    with _syn_lock:
        if _syn_cache["key"] == key and key is not None:
            return _syn_cache["sets"]
    sets = tuple(tuple(s.words or ()) for s in SynonymSet.select().order_by(SynonymSet.id))
    with _syn_lock:
        _syn_cache.update(key=key, sets=sets)
    return sets


def _set_view(s: SynonymSet) -> SynonymSetView:
    return SynonymSetView(s.id, list(s.words or []), s.updated_at)


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("administrators only")


def list_synonym_sets(actor: Actor) -> list[SynonymSetView]:
    _admin(actor)
    return [_set_view(s) for s in SynonymSet.select().order_by(SynonymSet.id)]


def _norm(word: str) -> str:
    return _index().word_key(word)


def _clean_words(words, set_id: int | None) -> list[str]:
    if not isinstance(words, (list, tuple)) or not all(isinstance(w, str) for w in words):
        raise ValidationError({"words": "must be a list of words"})
    cleaned = list(dict.fromkeys(" ".join(w.split()) for w in words if w.strip()))
    seen: dict[str, str] = {}
    for w in cleaned:
        if len(w) > SYNONYM_WORD_MAX:
            raise ValidationError({"words": f"each word has at most {SYNONYM_WORD_MAX} characters"})
        if _norm(w) in seen:
            raise ValidationError({"words": f"{w} is listed twice"})
        seen[_norm(w)] = w
    if not SYNONYM_MIN <= len(cleaned) <= SYNONYM_MAX:
        raise ValidationError({"words": f"between {SYNONYM_MIN} and {SYNONYM_MAX} words"})
    for other in SynonymSet.select():
        if other.id == set_id:
            continue
        clash = [w for w in other.words or [] if _norm(w) in seen]
        if clash:
            raise ValidationError({"words": f"{clash[0]} is already in another synonym set"})
    return cleaned


def save_synonym_set(actor: Actor, set_id: int | None, words: list[str]) -> SynonymSetView:
    """Create (set_id None) or replace a set. Takes effect on the next search: synonyms
    are expanded at query time, so nothing is re-indexed."""
    _admin(actor)
    with unit_of_work():
        if set_id in (None, ""):
            row = SynonymSet.create(words=_clean_words(words, None), updated_at=utcnow())
        else:
            row = SynonymSet.get_or_none(SynonymSet.id == set_id) if str(set_id).isdigit() else None
            if row is None:
                raise NotFound("synonym set not found", id=set_id)
            SynonymSet.update(words=_clean_words(words, row.id), updated_at=utcnow()).where(
                SynonymSet.id == row.id).execute()
            row = SynonymSet.get_by_id(row.id)
    return _set_view(row)


def delete_synonym_set(actor: Actor, set_id: int) -> None:
    _admin(actor)
    with unit_of_work():
        n = SynonymSet.delete().where(SynonymSet.id == set_id).execute() if str(set_id).isdigit() else 0
        if not n:
            raise NotFound("synonym set not found", id=set_id)
