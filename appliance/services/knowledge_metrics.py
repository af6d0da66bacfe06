"""Knowledge metrics for knowledge managers (supervisors and administrators): coverage
(resolved tickets linked to a published or archived article), reuse (articles inserted in
replies, deflections, citations by drafts), stale articles past their review date, the
searches that found nothing, articles by status and AI drafts waiting for review.

Every figure is one aggregate query over an indexed range (ArticleUse(kind, created_at),
KnowledgeSearch(results, created_at), Article(status, …)); lists are capped, so the page
costs the same with a million tickets as with ten. The figures are counted, never stored:
nothing here can drift from the rows it describes.

Also owns recording a deflection from outside a ticket (the API's "this solved my
problem"), because repeated clicks must not inflate the reuse figures.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN, Case, fn

from appliance import dto
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import (Article, ArticleTicket, ArticleUse, KnowledgeSearch, Ticket, User,
                              utcnow)
from appliance.rules import knowledge as rules
from appliance.rules.access import Actor, can_view_reports
from appliance.services import knowledge, knowledge_review

DEFAULT_DAYS = 30
MAX_DAYS = 365
TOP_ARTICLES = 10
STALE_LIST = 20
TOP_SEARCHES = 20
INSERT_KINDS = ("link", "snippet")
# An article answers the tickets it is linked to once it was published (archived ones did,
# when those tickets were resolved); drafts, proposals in review and rejected ones do not.
COVERING_STATUSES = ("published", "archived")
# One deflection per person and article in this window: a customer clicking twice
# solved one problem, not two.
DEFLECTION_WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Coverage:
    numerator: int      # resolved tickets linked to at least one published/archived article
    denominator: int    # tickets resolved in the period
    ratio: float | None  # None when nothing was resolved (0 % would be a false alarm)


@dataclass(frozen=True)
class ArticleUses:
    article: dto.Ref    # name: the article's title
    uses: int
    inserted: int
    deflections: int
    cited: int


@dataclass(frozen=True)
class Reuse:
    inserted: int       # link + snippet
    links: int
    snippets: int
    deflections: int
    cited: int
    top: list[ArticleUses]


@dataclass(frozen=True)
class StaleArticle:
    article: dto.Ref
    language: str
    review_by: dt.date
    days_overdue: int
    owner: dto.Ref | None


@dataclass(frozen=True)
class SearchGap:
    query: str          # stored PII-masked by the search service
    searches: int
    last_at: dt.datetime


@dataclass(frozen=True)
class KnowledgeMetrics:
    days: int
    since: dt.datetime
    until: dt.datetime
    coverage: Coverage
    reuse: Reuse
    stale_count: int
    stale: list[StaleArticle]
    no_result_searches: int
    no_result: list[SearchGap]
    by_status: dict[str, int]
    ai_pending_review: int


def can_view_metrics(actor: Actor) -> bool:
    """Knowledge managers: supervisors and administrators."""
    return can_view_reports(actor)


def clean_days(days) -> int:
    """The period in days: DEFAULT_DAYS when not given, else a whole number 1..MAX_DAYS."""
    if days in (None, ""):
        return DEFAULT_DAYS
    text = str(days).strip()
    if isinstance(days, bool) or not (text.isascii() and text.lstrip("-").isdigit()):
        raise ValidationError({"days": "must be a whole number"})
    if not 1 <= int(text) <= MAX_DAYS:
        raise ValidationError({"days": f"must be between 1 and {MAX_DAYS}"})
    return int(text)


def knowledge_metrics(actor: Actor, days=DEFAULT_DAYS, *, now: dt.datetime | None = None
                      ) -> KnowledgeMetrics:
    if not can_view_metrics(actor):
        raise PermissionDenied("supervisors and administrators only")
    days = clean_days(days)
    until = now or utcnow()
    since = until - dt.timedelta(days=days)
    stale_count, stale_rows = stale_articles(until.date())
    gaps_total, gaps = no_result_searches(since, until)
    return KnowledgeMetrics(days, since, until, coverage(since, until, ticket_departments(actor)),
                            reuse(since, until, actor),
                            stale_count, stale_rows, gaps_total, gaps, status_counts(),
                            ai_pending_review())


def ticket_departments(actor: Actor) -> list[int] | None:
    """Whose tickets the coverage counts: every department's for those who see them all
    (administrators), else the actor's own department's (tickets are department data)."""
    if actor.can("ticket.view_all"):
        return None
    return [actor.department_id] if actor.department_id else []


def coverage(since: dt.datetime, until: dt.datetime, departments: list[int] | None = None
             ) -> Coverage:
    """Tickets resolved in the period (merged duplicates left out: the ticket they were
    merged into carries the problem) and how many of them a live article is linked to.
    Live means published or archived: every AI draft is linked to its source ticket, so
    counting any link would report a draft still in review, or rejected, as coverage."""
    resolved = (Ticket.select().where((Ticket.resolved_at >= since) & (Ticket.resolved_at < until)
                                      & Ticket.merged_into.is_null()))
    if departments is not None:
        resolved = resolved.where(Ticket.department.in_(departments or [0]))
    linked = fn.EXISTS(ArticleTicket.select(ArticleTicket.id)
                       .join(Article, on=(ArticleTicket.article == Article.id))
                       .where((ArticleTicket.ticket == Ticket.id)
                              & Article.status.in_(COVERING_STATUSES)))
    row = resolved.select(fn.COUNT(Ticket.id).alias("n"),
                          fn.SUM(Case(None, ((linked, 1),), 0)).alias("linked")).dicts().get()
    n, k = int(row["n"] or 0), int(row["linked"] or 0)
    return Coverage(k, n, round(k / n, 4) if n else None)


def reuse(since: dt.datetime, until: dt.datetime, actor: Actor | None = None) -> Reuse:
    in_period = ((ArticleUse.kind.in_(knowledge_review.USE_KINDS))
                 & (ArticleUse.created_at >= since) & (ArticleUse.created_at < until))
    counts = dict(ArticleUse.select(ArticleUse.kind, fn.COUNT(ArticleUse.id))
                  .where(in_period).group_by(ArticleUse.kind).tuples())
    links, snippets = counts.get("link", 0), counts.get("snippet", 0)
    return Reuse(links + snippets, links, snippets, counts.get("deflection", 0),
                 counts.get("cited", 0), _top_articles(in_period, actor))


def _kind_count(kinds: tuple[str, ...]):
    return fn.SUM(Case(None, ((ArticleUse.kind.in_(kinds), 1),), 0))


def _top_articles(in_period, actor: Actor | None = None) -> list[ArticleUses]:
    """The most used articles; for `actor`, only those its department scope shows (an
    archived draft of another department is not named)."""
    uses = fn.COUNT(ArticleUse.id)
    rows = list(ArticleUse.select(ArticleUse.article, uses.alias("uses"),
                                  _kind_count(INSERT_KINDS).alias("inserted"),
                                  _kind_count(("deflection",)).alias("deflections"),
                                  _kind_count(("cited",)).alias("cited"))
                .where(in_period).group_by(ArticleUse.article)
                .order_by(uses.desc(), ArticleUse.article).limit(TOP_ARTICLES).dicts())
    where = Article.id.in_([r["article"] for r in rows])
    scope = knowledge.scope_where(actor) if actor is not None else None
    titles = dict(Article.select(Article.id, Article.title)
                  .where(where if scope is None else where & scope).tuples()) if rows else {}
    return [ArticleUses(dto.Ref(r["article"], titles[r["article"]]), int(r["uses"]),
                        int(r["inserted"] or 0), int(r["deflections"] or 0), int(r["cited"] or 0))
            for r in rows if r["article"] in titles]


def stale_articles(today: dt.date) -> tuple[int, list[StaleArticle]]:
    """Published articles whose review date has passed, the longest overdue first."""
    where = (Article.status == "published") & (Article.review_by < today)
    total = Article.select().where(where).count()
    rows = (Article.select(Article.id, Article.title, Article.language, Article.review_by,
                           Article.owner, User.display_name.alias("owner_name"))
            .join(User, JOIN.LEFT_OUTER, on=(Article.owner == User.id))
            .where(where).order_by(Article.review_by, Article.id).limit(STALE_LIST).dicts())
    out = []
    for r in rows:
        review_by = _date(r["review_by"])
        owner = dto.Ref(r["owner"], r["owner_name"]) if r["owner"] else None
        out.append(StaleArticle(dto.Ref(r["id"], r["title"]), r["language"], review_by,
                                (today - review_by).days, owner))
    return total, out


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def no_result_searches(since: dt.datetime, until: dt.datetime) -> tuple[int, list[SearchGap]]:
    """Searches that found nothing, grouped by what was typed (masked when logged)."""
    where = ((KnowledgeSearch.results == 0) & (KnowledgeSearch.created_at >= since)
             & (KnowledgeSearch.created_at < until))
    total = KnowledgeSearch.select().where(where).count()
    n = fn.COUNT(KnowledgeSearch.id)
    rows = (KnowledgeSearch.select(KnowledgeSearch.query, n.alias("n"),
                                   fn.MAX(KnowledgeSearch.created_at).alias("last"))
            .where(where).group_by(KnowledgeSearch.query)
            .order_by(n.desc(), KnowledgeSearch.query).limit(TOP_SEARCHES).tuples())
    return total, [SearchGap(q, int(count), _datetime(last)) for q, count, last in rows]


def _datetime(value) -> dt.datetime:
    # An aggregate bypasses the field's conversion: SQLite hands back the stored text.
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def status_counts() -> dict[str, int]:
    counts = dict(Article.select(Article.status, fn.COUNT(Article.id))
                  .group_by(Article.status).tuples())
    return {status: int(counts.get(status, 0)) for status in rules.STATUSES}


def ai_pending_review() -> int:
    return Article.select().where((Article.status == "in_review")
                                  & (Article.ai_generated == True)).count()  # noqa: E712


def record_deflection(actor: Actor, article_id: int, *, now: dt.datetime | None = None) -> bool:
    """"This solved my problem" for an article the actor may read (404 otherwise); False
    when the same person said so for it within DEFLECTION_WINDOW (not counted again)."""
    a = Article.get_or_none(Article.id == article_id) if str(article_id).isdigit() else None
    if a is None or not knowledge.can_see(actor, a):
        raise NotFound("article not found", id=article_id)
    since = (now or utcnow()) - DEFLECTION_WINDOW
    if actor.user_id and ArticleUse.select(ArticleUse.id).where(
            (ArticleUse.article == a.id) & (ArticleUse.kind == "deflection")
            & (ArticleUse.user == actor.user_id) & (ArticleUse.created_at >= since)).exists():
        return False
    knowledge_review.record_use(actor, a.id, "deflection")
    return True
