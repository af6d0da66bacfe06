"""What an assistance prompt is made of: the ticket, the sources a reply is grounded
on (knowledge articles and similar resolved tickets), and a customer's history —
gathered for one agent, with that agent's permissions, and cut to a token budget.

Budgets are small on purpose: the prompt is read by a 0.5B model on 2 CPU cores
before the first word of the draft appears (target ≤ 2 s; bench/draft_latency.py
measures it), and every source costs reading time. Token counts are estimates
(a CJK character ≈ 1 token, other text ≈ 4 characters a token), which errs on the
long side for Chinese with Qwen's tokenizer.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

from appliance import prompts_assist as P
from appliance.models import Comment, Ticket
from appliance.rules.access import Actor, can_view_ticket
from appliance.rules.pii import mask_pii
from appliance.services import common, knowledge
from appliance.settings import Settings

log = logging.getLogger(__name__)

# Token budgets (estimates, see module docstring); scaled down if llm_context is smaller.
REPLY = {"description": 140, "recent": 100, "recent_messages": 3, "article": 70, "articles": 3,
         "ticket": 45, "tickets": 2}
THREAD_TOKENS = 700
HISTORY_TOKENS = 400
HISTORY_TICKETS = 10
SIMILAR_SCAN = 300  # recently resolved tickets scored when the search index cannot help
MIN_SIMILARITY = 0.15  # word-set cosine below which a "similar" ticket is not similar

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_LETTER = re.compile(r"[A-Za-z]")
_MARKDOWN = re.compile(r"(^#{1,6}\s*|[*_`>]+|!?\[([^\]]*)\]\([^)]*\))", re.M)
_QUERY_SYNTAX = re.compile(r"[\"'()\[\]{}^:*?~+\-!/\\]|\b(AND|OR|NOT)\b")


@dataclass(frozen=True)
class Source:
    """One item given to the model, under the marker it may cite ([A1], [T2])."""
    marker: str
    kind: str  # article | ticket
    id: int
    label: str  # article title, or ticket number and subject (what the agent sees)
    title: str  # what the model sees as the item's name
    text: str


def approx_tokens(text: str) -> int:
    cjk = len(_CJK.findall(text))
    return cjk + (len(text) - cjk + 3) // 4


def fit(text: str, tokens: int) -> str:
    """`text` with whitespace collapsed, cut to about `tokens` tokens."""
    text = " ".join((text or "").split())
    if tokens <= 0:
        return ""
    if approx_tokens(text) <= tokens:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix within the budget
        mid = (lo + hi + 1) // 2
        if approx_tokens(text[:mid]) <= tokens - 1:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


def detect_language(text: str) -> str:
    """zh or en by script: Chinese characters against Latin letters (empty → zh)."""
    cjk, latin = len(_CJK.findall(text or "")), len(_LETTER.findall(text or ""))
    return "en" if latin > 3 * cjk and latin > 0 else "zh"


def customer_language(t: Ticket) -> str:
    """The ticket's language as triage set it, else detected from what the customer wrote."""
    lang = (t.language or "").lower()
    if lang.startswith("zh"):
        return "zh"
    if lang.startswith("en"):
        return "en"
    return detect_language(f"{t.subject}\n{t.description}")


def _comments(t: Ticket, *, internal: bool) -> list[Comment]:
    q = Comment.select().where(Comment.ticket == t.id).order_by(Comment.id)
    if not internal:
        q = q.where(Comment.internal == False)  # noqa: E712
    return list(q)


def _who(c: Comment, L: dict) -> str:
    if c.internal:
        return L["note"]
    return L["customer"] if c.author_kind == "customer" else L["agent"]


def _recent(comments: list[Comment], L: dict, tokens: int, count: int,
            per_message: int | None = None) -> list[str]:
    """The latest `count` messages within `tokens`, each at most `per_message` tokens;
    when the budget runs out the oldest are left out. In time order."""
    lines: list[str] = []
    left = tokens
    for c in reversed(comments[-count:]):
        if left <= 8:
            break
        room = left - 4 if per_message is None else min(left - 4, per_message)
        line = f"{_who(c, L)}: {fit(P.data(c.body), room)}"
        lines.insert(0, line)
        left -= approx_tokens(line)
    return lines


def ticket_block(t: Ticket, language: str, scale: float = 1.0) -> str:
    """The ticket for a reply: subject, description and the latest public messages.
    Internal notes stay out: a reply goes to the customer."""
    L = P.labels(language)
    lines = [f"{L['subject']}: {fit(P.data(t.subject), 40)}",
             f"{L['description']}: {fit(P.data(t.description), int(REPLY['description'] * scale))}"]
    recent = _recent(_comments(t, internal=False), L, int(REPLY["recent"] * scale),
                     REPLY["recent_messages"])
    if recent:
        lines += [L["recent"] + ":"] + recent
    return "\n".join(lines)


def thread_block(t: Ticket, language: str, scale: float = 1.0) -> str:
    """The whole conversation for an agent's summary (notes included): the opening
    message and as many of the latest messages as the budget allows."""
    L = P.labels(language)
    budget = int(THREAD_TOKENS * scale)
    head = [f"{L['subject']}: {fit(P.data(t.subject), 40)}",
            f"{L['description']}: {fit(P.data(t.description), budget // 3)}"]
    left = budget - sum(approx_tokens(h) for h in head)
    comments = _comments(t, internal=True)
    # Share the budget so that one long message cannot crowd out the rest.
    per_message = max(40, left // max(1, min(len(comments), 6)))
    recent = _recent(comments, L, left, len(comments), per_message)
    if len(recent) < len(comments):
        recent.insert(0, L["omitted"].format(n=len(comments) - len(recent)))
    return "\n".join(head + ([L["recent"] + ":"] + recent if recent else []))


def history_block(actor: Actor, t: Ticket, language: str, scale: float = 1.0) -> str:
    """The customer's latest tickets the agent may see: number, status, date, subject."""
    L = P.labels(language)
    if t.customer_id:
        q = Ticket.select().where(Ticket.customer == t.customer_id)
    elif t.requester_id:
        q = Ticket.select().where(Ticket.requester == t.requester_id)
    else:
        q = Ticket.select().where(Ticket.id == t.id)
    lines, left = [], int(HISTORY_TOKENS * scale)
    for row in q.order_by(Ticket.id.desc()).limit(HISTORY_TICKETS * 3):
        if len(lines) >= HISTORY_TICKETS or left <= 10:
            break
        if not can_view_ticket(actor, common.facts(row)):
            continue
        about = row.summary or row.description
        line = (f"{row.number} · {L['status']}: {row.status} · {row.created_at:%Y-%m-%d} · "
                f"{fit(P.data(row.subject), 30)} — {fit(P.data(about), 40)}")
        lines.append(line)
        left -= approx_tokens(line)
    return "\n".join(lines)


def _plain(markdown: str) -> str:
    return _MARKDOWN.sub(lambda m: m.group(2) or " ", markdown or "")


def article_sources(query: str, language: str, scale: float = 1.0) -> list[Source]:
    """Published public articles for the query (a reply goes to the customer, so
    internal articles are not used to write it)."""
    found = knowledge.relevant_articles(query, language, limit=REPLY["articles"], public_only=True)
    return [Source(f"A{i}", "article", a.id, a.title, fit(P.data(a.title), 30),
                   fit(P.data(_plain(a.body)), int(REPLY["article"] * scale)))
            for i, a in enumerate(found, 1)]


def _resolution(ticket_id: int) -> str:
    """The last public agent reply of a resolved ticket: how it was answered."""
    c = (Comment.select().where((Comment.ticket == ticket_id) & (Comment.internal == False)  # noqa: E712
                                & (Comment.author_kind == "agent"))
         .order_by(Comment.id.desc()).first())
    return c.body if c else ""


def _similar_by_index(actor: Actor, t: Ticket, settings: Settings) -> list[Ticket]:
    from appliance.services import search
    query = " ".join(_QUERY_SYNTAX.sub(" ", f"{t.subject} {t.description[:150]}").split())[:400]
    if not query:
        return []
    results, _ = search.search_tickets(actor, query, settings, statuses=("resolved", "closed"),
                                       limit=6)
    ids = [r.ticket.id for r in results if r.ticket.id != t.id]
    rows = {r.id: r for r in Ticket.select().where(Ticket.id.in_(ids))} if ids else {}
    return [rows[i] for i in ids if i in rows]


def _similar_by_words(actor: Actor, t: Ticket) -> list[Ticket]:
    """Fallback: BM25 over recently resolved tickets in the agent's scope."""
    q = (Ticket.select().where(Ticket.status.in_(("resolved", "closed")) & (Ticket.id != t.id))
         .order_by(Ticket.id.desc()).limit(SIMILAR_SCAN))
    if not actor.is_admin:
        q = q.where((Ticket.department == actor.department_id) | (Ticket.assignee == actor.user_id)
                    | Ticket.department.is_null())
    rows = list(q)
    scores = knowledge.bm25(knowledge.words(f"{t.subject} {t.description[:300]}"),
                            [Counter(knowledge.words(f"{r.subject} {r.description[:300]}"))
                             for r in rows])
    ranked = sorted(zip(scores, rows), key=lambda p: -p[0])
    return [r for s, r in ranked[:6] if s > 0 and can_view_ticket(actor, common.facts(r))]


def _similarity(a: set[str], b: set[str]) -> float:
    """Cosine of two word sets: shared words over the geometric mean of their sizes."""
    return len(a & b) / ((len(a) * len(b)) ** 0.5) if a and b else 0.0


def _relevant(t: Ticket, candidates: list[Ticket]) -> list[Ticket]:
    """Candidates sharing enough words with the ticket (the index also returns weak
    partial matches, which would only distract the model), best first."""
    mine = set(knowledge.words(f"{t.subject} {t.description[:300]}"))
    scored = [(_similarity(mine, set(knowledge.words(f"{c.subject} {c.description[:300]}"))), c)
              for c in candidates]
    best = max((sc for sc, _ in scored), default=0.0)
    keep = [(sc, c) for sc, c in scored if sc >= MIN_SIMILARITY and sc >= 0.5 * best]
    return [c for _, c in sorted(keep, key=lambda p: -p[0])]


def ticket_sources(actor: Actor, t: Ticket, settings: Settings, scale: float = 1.0) -> list[Source]:
    """Similar resolved tickets that were answered in public, from the search index
    (permission-filtered like any search), or by word overlap if the index fails."""
    try:
        candidates = _similar_by_index(actor, t, settings)
    except Exception:  # the index is a cache; a draft must not fail because of it
        log.warning("search index unavailable for similar tickets; using word overlap")
        candidates = _similar_by_words(actor, t)
    out: list[Source] = []
    for row in _relevant(t, candidates):
        answer = _resolution(row.id)
        if not answer or row.merged_into_id:
            continue
        # Another customer's ticket: its phone numbers, e-mails, ID and card numbers must
        # not travel into this customer's draft.
        out.append(Source(f"T{len(out) + 1}", "ticket", row.id, f"{row.number} {row.subject}",
                          fit(P.data(mask_pii(row.subject)), 30),
                          fit(P.data(mask_pii(answer)), int(REPLY["ticket"] * scale))))
        if len(out) >= REPLY["tickets"]:
            break
    return out


def sources_block(sources: list[Source], language: str) -> str:
    L = P.labels(language)
    if not sources:
        return L["none"]
    lines = []
    for s in sources:
        if s.kind == "article":
            lines += [f"[{s.marker}] {L['article']}: {s.title}", s.text]
        else:
            lines += [f"[{s.marker}] {L['ticket']}: {s.title}", f"{L['resolution']}: {s.text}"]
    return "\n".join(lines)
