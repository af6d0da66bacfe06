"""Knowledge suggestions: the articles and similar resolved tickets shown beside a
ticket, what a reply inserted from them (uses), and the portal's suggestions while a
customer types, with "this solved my problem" (a deflection instead of a ticket).

Suggestions never write the search log: they are not searches someone typed, and
typing would flood it (docs/decisions/0023). Customers only ever get published
public articles; the search service filters, and this module checks again before it
records anything.
"""
from __future__ import annotations

import re
import time
from typing import NamedTuple

from appliance.errors import DomainError, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Article, Comment
from appliance.rules.access import Actor
from appliance.services import (common, knowledge, knowledge_metrics, knowledge_review,
                                knowledge_search)
from appliance.services.rate_window import SlidingWindow

ARTICLE_LIMIT = 5
TICKET_LIMIT = 3
PORTAL_LIMIT = 5
# Subject + the start of the description: what the ticket is about is said early, and a
# long paste would only make the query slower (every word is a query term).
QUERY_CHARS = 600
PORTAL_MIN_CHARS, PORTAL_MAX_CHARS = 2, 200
REPLY_USE_KINDS = ("link", "snippet")
MAX_REPLY_USES = 20
MAX_USES_FIELD = 1000  # characters of the form field; 20 "id:snippet" pairs fit easily
SNIPPET_CHARS = 600
# Typing suggestions per customer: debounced typing sends a few a second at most.
SUGGEST_LIMIT, SUGGEST_WINDOW_S = 60, 60.0
_USE = re.compile(r"^\s*(\d{1,12})\s*:\s*([a-z]{1,16})\s*$")


class SuggestBusy(DomainError):
    """Too many suggestion requests in a short time (HTTP 429)."""
    code = "too_many_requests"
    http_status = 429


# Ticket-page suggestions per staff user (one per ticket opened; a script is stopped).
# Per process (rate_window): each gunicorn worker counts on its own.
TICKET_SUGGEST_LIMIT, TICKET_SUGGEST_WINDOW_S = 60, 60.0
_ticket_window = SlidingWindow(TICKET_SUGGEST_LIMIT, TICKET_SUGGEST_WINDOW_S)


class TicketSuggestions(NamedTuple):
    articles: list  # knowledge_search.ArticleHit
    tickets: list   # knowledge_search.TicketHit


# --- the ticket page -------------------------------------------------------------------------

def query_text(subject: str, description: str) -> str:
    """The words a ticket's suggestions are searched with (bounded)."""
    text = " ".join(p.strip() for p in (subject or "", description or "") if p and p.strip())
    return text[:QUERY_CHARS]


def ticket_suggestions(actor: Actor, ticket_id: int, *, article_limit: int = ARTICLE_LIMIT,
                       ticket_limit: int = TICKET_LIMIT) -> TicketSuggestions:
    """Published articles and resolved tickets like this one, best first, each hit with
    the terms that matched (the reason). Staff get internal articles too (hit.article
    .visibility says so: customers cannot open those)."""
    t = common.ticket_for(actor, ticket_id)
    if not _ticket_window.allow(actor.user_id):
        raise SuggestBusy("too many suggestion requests; slow down",
                          retry_after=_ticket_window.retry_after(actor.user_id))
    text = query_text(t.subject, t.description)
    if not text:
        return TicketSuggestions([], [])
    language = t.language if t.language in knowledge.LANGUAGES else None
    scope = "agent" if actor.is_staff else "portal"
    articles = _articles(actor, text, scope, language, article_limit)
    if not articles and language:  # better an article in the other language than none
        articles = _articles(actor, text, scope, None, article_limit)
    tickets = knowledge_search.similar_resolved_tickets(actor, text, limit=ticket_limit,
                                                        exclude_ticket_id=t.id)
    return TicketSuggestions(articles, list(tickets)[:ticket_limit])


def _articles(actor: Actor, text: str, scope: str, language, limit: int) -> list:
    page = knowledge_search.search_articles(actor, text, scope=scope, language=language,
                                            status="published", limit=limit, log=False)
    return [h for h in page.hits if knowledge.can_read_article(actor, h.article.status,
                                                               h.article.visibility)
            and h.article.status == "published"][:limit]  # published: organisation-wide


def snippet(article: knowledge.ArticleView) -> str:
    """The plain-text excerpt "Insert snippet" puts into a reply."""
    from appliance.rules.markdown import plain_text
    return plain_text(article.body, SNIPPET_CHARS)


# --- uses inserted in a reply ----------------------------------------------------------------

def parse_uses(raw: str) -> list[tuple[int, str]]:
    """The reply form's hidden field ("12:link,7:snippet") as (article_id, kind) pairs.
    Anything malformed is dropped: the field is the browser's, so it may be forged."""
    out = []
    for part in (raw or "")[:MAX_USES_FIELD].split(","):
        m = _USE.match(part)
        if m and m.group(2) in REPLY_USE_KINDS:
            out.append((int(m.group(1)), m.group(2)))
    return out


def record_reply_uses(actor: Actor, ticket_id: int, comment_id: int,
                      uses: list[tuple[int, str]]) -> int:
    """Record what a posted reply inserted (ArticleUse link/snippet with the ticket and
    comment, and a "used" link from the article to the ticket). Pairs that are
    malformed, repeated, of unknown articles or of articles the actor may not read are
    dropped; at most MAX_REPLY_USES are kept. Returns how many were recorded."""
    wanted = _valid_pairs(uses)
    if not wanted:
        return 0
    t = common.ticket_for(actor, ticket_id)
    comment = Comment.get_or_none((Comment.id == comment_id) & (Comment.ticket == t.id))
    if comment is None:
        raise NotFound("comment not found", id=comment_id)
    readable = _readable_ids(actor, {a for a, _ in wanted})
    recorded = 0
    with unit_of_work():
        for article_id, kind in wanted:
            if article_id in readable:
                knowledge_review.record_use(actor, article_id, kind, ticket_id=t.id,
                                            comment_id=comment.id)
                recorded += 1
    return recorded


def _valid_pairs(uses) -> list[tuple[int, str]]:
    out, seen = [], set()
    for item in uses or []:
        try:
            article_id, kind = int(item[0]), str(item[1])
        except (TypeError, ValueError, IndexError):
            continue
        if article_id > 0 and kind in REPLY_USE_KINDS and (article_id, kind) not in seen:
            seen.add((article_id, kind))
            out.append((article_id, kind))
    return out[:MAX_REPLY_USES]


def _readable_ids(actor: Actor, ids: set[int]) -> set[int]:
    rows = Article.select().where(Article.id.in_(ids))
    return {a.id for a in rows if knowledge.can_see(actor, a)}


# --- the customer portal ---------------------------------------------------------------------

_suggest_window = SlidingWindow(SUGGEST_LIMIT, SUGGEST_WINDOW_S)


def portal_suggestions(actor: Actor, text: str, *, limit: int = PORTAL_LIMIT) -> list:
    """Published public articles for what a customer is typing (nothing under
    PORTAL_MIN_CHARS characters; ValidationError over PORTAL_MAX_CHARS; SuggestBusy
    when asked too often)."""
    if not actor.is_customer:
        raise PermissionDenied("customers only")
    text = (text or "").strip()
    if len(text) > PORTAL_MAX_CHARS:
        raise ValidationError({"q": f"at most {PORTAL_MAX_CHARS} characters"})
    if len(text) < PORTAL_MIN_CHARS:
        return []
    if not _suggest_window.allow(actor.user_id):
        raise SuggestBusy("too many suggestion requests; slow down",
                          retry_after=_suggest_window.retry_after(actor.user_id))
    page = knowledge_search.search_articles(actor, text, scope="portal", limit=limit, log=False)
    return [h for h in page.hits if h.article.status == "published"
            and h.article.visibility == "public"][:limit]


def deflect(actor: Actor, article_id: int, subject_text: str = "") -> bool:
    """A customer says a published public article solved their problem: one
    `deflection` use, no ticket (counted once per customer and article within
    knowledge_metrics.DEFLECTION_WINDOW); returns whether it was counted now. Staff are
    refused: their clicks would inflate the reuse figures. `subject_text` (what they were
    about to ask) is not stored: it may carry personal data and nothing reads it."""
    if not actor.is_customer:
        raise PermissionDenied("customers only")
    with unit_of_work():  # the "already counted?" read and the insert together
        return knowledge_metrics.record_deflection(actor, article_id)
