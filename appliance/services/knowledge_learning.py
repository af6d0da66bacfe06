"""Self-learning knowledge base: when a ticket is resolved, the local model drafts an
article (problem, cause, solution, steps) from the conversation, for review.

Job "draft_article" (scheduled by services/tickets on every move to `resolved`, run in
the worker's background model lane). It
1. skips tickets not worth an article (rules.knowledge_drafts.skip_reason) and tickets
   this task already drafted from (an open draft, or one since the latest resolution);
2. gives the model the subject, description and public conversation, PII-masked
   (mask_pii) and with the customer's known names, addresses and numbers and the
   agents' names replaced, cut to a token budget;
3. discards an empty draft, one with personal data, or one that only repeats the
   customer (rules.knowledge_drafts.discard_reason) — logged as ticket id + reason
   code only;
4. places it: the closest existing article about the same problem gets an update
   proposal (update_of, the existing text plus an addendum), an open draft about it
   gets the ticket as one more source, otherwise a new article;
5. writes it in review (status in_review, ai_generated, internal, the ticket's
   category, owned by the resolving agent) with an ArticleTicket "source" link.

Internal notes stay out of the prompt: they hold account look-ups, colleagues' names
and internal systems, and the resolution a customer can reuse is in the public reply.
Reviewers edit, merge (knowledge_review.merge_proposal) or reject with a reason.
See docs/decisions/0022-kb-ai-drafts.md.
"""
from __future__ import annotations

import logging
import re

from appliance import prompts_knowledge as P
from appliance import registry, runtime
from appliance.jobs import handler, unit_of_work
from appliance.models import (Article, ArticleTicket, ArticleVersion, Comment, Customer,
                              Ticket, TicketTag, User)
from appliance.ports import ModelBusy, ModelTimeout, ModelUnavailable
from appliance.rules import knowledge_drafts as rules
from appliance.rules.access import SYSTEM
from appliance.rules.pii import mask_pii
from appliance.services import assist_context as ctx
from appliance.services import (common, contacts, customer_names, knowledge, knowledge_review,
                                user_emails)
from appliance.settings import Settings

log = logging.getLogger(__name__)

OPEN = ("draft", "in_review")
MAX_TOKENS = 450          # the JSON answer; measured answers were 150-300 tokens
BUDGET = {"subject": 40, "description": 300, "message": 150, "conversation": 650}
PROMPT_ROOM = 1100        # the ticket block at full budgets (≈ 1,400 tokens with instructions)
MATCH_BODY_CHARS = 1500   # how much of an article is compared with the draft
NAME_TOKEN = "〔name〕"


# --- the job ---------------------------------------------------------------------------------

@handler("draft_article")
def draft_article(ticket_id: int) -> None:
    """Draft an article from a resolved ticket. Safe to run twice (one draft per
    resolution); ModelBusy propagates so the lane retries later."""
    settings = runtime.settings()
    if not (settings.ai_enabled and settings.kb_drafts):
        return _skipped(ticket_id, "disabled")
    from appliance.services import triage
    if not triage._llm_here:
        return _skipped(ticket_id, "not_worker")  # the model loads in the worker only
    t = Ticket.get_or_none(Ticket.id == ticket_id)
    if t is None:
        return
    conversation = public_conversation(t)
    reason = "drafted" if already_drafted(t) else rules.skip_reason(facts(t, conversation))
    if reason:
        return _skipped(ticket_id, reason)
    model = registry.text_model(settings)
    draft, reason = ask_model(t, conversation, settings, model)
    if reason:
        return _discarded(ticket_id, reason)
    outcome = store(t.id, draft, note=f"AI draft ({model.info().name}, {P.PROMPT_VERSION}) "
                                      f"from ticket {t.number}")
    log.info("kb draft for ticket %d: %s", ticket_id, outcome)


def _skipped(ticket_id: int, reason: str) -> None:
    log.info("kb draft for ticket %d not written: %s", ticket_id, reason)


def _discarded(ticket_id: int, reason: str) -> None:
    # The reason code only: the draft itself may hold the personal data it was discarded for.
    log.warning("kb draft for ticket %d discarded: %s", ticket_id, reason)


def ask_model(t: Ticket, conversation: list[Comment], settings: Settings,
              model=None) -> tuple[rules.Draft | None, str | None]:
    """(draft, None), or (None, reason code) when the model could not give a usable one."""
    model = model or registry.text_model(settings)
    if not model.info().available:
        return None, "unavailable"
    personal = personal_data(t, conversation)
    language = ctx.customer_language(t)
    system = P.system_prompt(language)
    scale = _scale(model, settings, system)
    user = P.user_prompt(language, ticket_block(t, conversation, personal, language, scale))
    try:
        raw = _complete(model, system, user, settings)
    except ModelBusy:
        raise
    except ModelUnavailable:
        return None, "unavailable"
    except ModelTimeout:
        return None, "timeout"
    except ValueError:  # invalid JSON twice
        return None, "invalid"
    draft = rules.parse_draft(raw)
    customer = "\n".join([t.subject, t.description]
                         + [c.body for c in conversation if c.author_kind == "customer"])
    reason = rules.discard_reason(draft, customer_text=customer, personal=personal)
    return (None, reason) if reason else (draft, None)


def _complete(model, system: str, user: str, settings: Settings) -> dict:
    """One validated completion, retried once when the output does not validate."""
    error: ValueError | None = None
    for _ in range(2):
        try:
            return model.complete_json(system, user, P.SCHEMA, max_tokens=MAX_TOKENS,
                                       timeout_s=float(settings.llm_timeout_seconds),
                                       interactive=False)
        except ValueError as exc:
            error = exc
    raise error


def _scale(model, settings: Settings, system: str) -> float:
    """Budgets shrink when the model's context is small (the tests load 1-2k tokens)."""
    context = getattr(model, "context", None) or settings.llm_context
    room = context - MAX_TOKENS - ctx.approx_tokens(system) - 200  # 200: the instructions
    return max(0.2, min(1.0, room / PROMPT_ROOM))


# --- what the model reads --------------------------------------------------------------------

def public_conversation(t: Ticket) -> list[Comment]:
    """Public messages of customers and agents, in order (system notices left out)."""
    public = (Comment.ticket == t.id) & (Comment.internal == False)  # noqa: E712
    return list(Comment.select().where(public & Comment.author_kind.in_(("customer", "agent")))
                .order_by(Comment.id))


def facts(t: Ticket, conversation: list[Comment]) -> rules.TicketFacts:
    replies = [c for c in conversation if c.author_kind == "agent"]
    customer = [c for c in conversation if c.author_kind == "customer"]
    tags = frozenset(r.tag for r in TicketTag.select(TicketTag.tag).where(TicketTag.ticket == t.id))
    return rules.TicketFacts(
        status=t.status, merged=bool(t.merged_into_id), tags=tags,
        customer_chars=len(t.subject) + len(t.description) + sum(len(c.body) for c in customer),
        reply_chars=sum(len(c.body.strip()) for c in replies), public_replies=len(replies))


def personal_data(t: Ticket, conversation: list[Comment]) -> list[str]:
    """Names, e-mail addresses and numbers known to belong to the people on the ticket:
    the customer (record, contacts, portal account) and the agents who answered."""
    values: list[str] = []
    customer_ids = {t.customer_id} - {None}
    user_ids = {t.requester_id, t.assignee_id} | {c.author_id for c in conversation}
    users = list(User.select().where(User.id.in_([u for u in user_ids if u])))
    for u in users:
        values += [u.display_name, u.username, user_emails.email_of(u)]
        if u.customer_id:
            customer_ids.add(u.customer_id)
    for c in Customer.select().where(Customer.id.in_(list(customer_ids))):
        values += [customer_names.name_of(c), c.company]
    values += [row.value for row in contacts.of_customers(customer_ids - {None})]
    # Longest first, so "John Miller" is replaced before "John".
    return sorted({v.strip() for v in values if v and len(v.strip()) >= 2}, key=len, reverse=True)


def scrub(text: str, personal: list[str]) -> str:
    """`text` with PII masked and the known personal values replaced by tokens."""
    text = mask_pii(text or "")
    for value in personal:
        if re.fullmatch(r"[\d\s+().-]{7,}", value):
            digits = re.sub(r"\D", "", value)
            # With or without a country code of 1-3 digits (+1 415… is also 415…).
            for k in range(0, 4):
                if len(digits) - k >= 7:
                    pattern = r"[\s.()-]{0,2}".join(re.escape(d) for d in digits[k:])
                    text = re.sub(rf"(?<!\d){pattern}(?!\d)", "〔phone〕", text)
        else:
            text = re.sub(re.escape(value), NAME_TOKEN, text, flags=re.I)
            if "@" not in value:  # "Mr Miller": a Latin name's longer parts on their own too
                for part in (p for p in re.split(r"[\s.]+", value) if len(p) >= 4 and p.isascii()):
                    text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(part)}(?![A-Za-z0-9])",
                                  NAME_TOKEN, text, flags=re.I)
    return text


def ticket_block(t: Ticket, conversation: list[Comment], personal: list[str], language: str,
                 scale: float = 1.0) -> str:
    """Subject, description and the latest public messages within the budget (the
    resolution is at the end of a conversation, so older messages go first)."""
    L = P.labels(language)
    def clean(text: str, tokens: float) -> str:
        return ctx.fit(P.data(scrub(text, personal)), int(tokens * scale))
    lines = [f"{L['subject']}: {clean(t.subject, BUDGET['subject'])}",
             f"{L['description']}: {clean(t.description, BUDGET['description'])}"]
    left, messages = int(BUDGET["conversation"] * scale), []
    for c in reversed(conversation):
        if left <= 10:
            break
        who = L["customer"] if c.author_kind == "customer" else L["agent"]
        line = f"{who}: {clean(c.body, min(BUDGET['message'], left / scale))}"
        messages.insert(0, line)
        left -= ctx.approx_tokens(line)
    if len(messages) < len(conversation):
        messages.insert(0, L["omitted"].format(n=len(conversation) - len(messages)))
    return "\n".join(lines + ([L["conversation"] + ":"] + messages if messages else []))


# --- idempotency -----------------------------------------------------------------------------

def already_drafted(t: Ticket) -> bool:
    """This task has drafted from the ticket: an AI article with the ticket as a source
    is still open, or was linked or reviewed since the ticket's latest resolution (the
    job ran twice; a rejection then must not bring the same draft back). A reopened and
    re-resolved ticket gets a new draft only when none is open."""
    links = (ArticleTicket.select().join(Article, on=(ArticleTicket.article == Article.id))
             .where((ArticleTicket.ticket == t.id) & (ArticleTicket.kind == "source")
                    & (Article.ai_generated == True)))  # noqa: E712
    done = Article.status.in_(OPEN)
    if t.resolved_at is not None:
        done = (done | (ArticleTicket.created_at >= t.resolved_at)
                | (Article.updated_at >= t.resolved_at))
    return links.where(done).exists()


# --- placing and writing ---------------------------------------------------------------------

def closest_articles(draft: rules.Draft, language: str) -> list[knowledge.ArticleView]:
    """Candidates for "the same problem": the search index's nearest articles (any
    status), else the published ones by in-process BM25 when the index cannot answer."""
    text = f"{draft.title}\n{draft.problem}"
    try:
        from appliance.services import knowledge_search
        hits = knowledge_search.similar_articles(text, language, limit=3, include_unpublished=True)
        return [h.article for h in hits]
    except Exception:  # the index is a cache; a draft must not be lost because of it
        log.warning("search index unavailable for similar articles; using word overlap")
        return knowledge.relevant_articles(text, language, limit=3, public_only=False)


def _candidates(draft: rules.Draft, found: list[knowledge.ArticleView]) -> list[rules.Candidate]:
    text = f"{draft.title}\n{draft.problem}"
    out = []
    for a in found:
        row = Article.get_or_none(Article.id == a.id)  # current status, inside the transaction
        if row is None:
            continue
        proposal = (Article.select(Article.id).where((Article.update_of == row.id)
                                                     & Article.status.in_(OPEN))
                    .order_by(Article.id).scalar())
        sim = rules.similarity(text, f"{row.title}\n{(row.body or '')[:MATCH_BODY_CHARS]}")
        out.append(rules.Candidate(row.id, row.status, sim, proposal))
    return out


def store(ticket_id: int, draft: rules.Draft, note: str = "AI draft") -> str:
    """Write the draft where it belongs; returns what was done (new, update, join,
    drafted). One transaction, the ticket row locked: two runs cannot both write.
    `note` goes on the article's first version: which model and prompt wrote it."""
    t = Ticket.get_by_id(ticket_id)
    language = ctx.customer_language(t)
    found = closest_articles(draft, language)
    with unit_of_work():
        t = common.ticket_for(SYSTEM, ticket_id, lock=True)
        if already_drafted(t):
            return "drafted"
        where = rules.place(_candidates(draft, found))
        if where.kind == "join":
            knowledge_review.link_ticket_row(where.article_id, t.id, "source", None)
            return f"join #{where.article_id}"
        body = rules.to_markdown(draft, language)
        title = draft.title
        if where.kind == "update":
            target = Article.get_by_id(where.article_id)
            body = rules.merge_update(target.body, draft, language)
            if body is None:
                # Nothing new: the article answers this ticket too, which coverage counts.
                knowledge_review.link_ticket_row(target.id, t.id, "related", None)
                return f"covered by #{target.id}"
            title = target.title
        a = _create(t, title, body, language, where.article_id if where.kind == "update" else None,
                    note)
        return f"{where.kind} #{a}"


def _create(t: Ticket, title: str, body: str, language: str, update_of: int | None,
            note: str) -> int:
    owner = User.get_or_none((User.id == t.assignee_id) & (User.active == True)) \
        if t.assignee_id else None  # noqa: E712
    data = knowledge.ArticleInput(title=title[:255], body=body, language=language,
                                  visibility="internal", category_id=t.category_id,
                                  owner_id=owner.id if owner and owner.is_staff else None)
    a = knowledge.create_article(SYSTEM, data, ai_generated=True, update_of=update_of,
                                 source_ticket_id=t.id)  # scoped to the ticket's department
    ArticleVersion.update(note=note[:255]).where((ArticleVersion.article == a.id)
                                                 & (ArticleVersion.version == a.version)).execute()
    knowledge_review.transition(SYSTEM, a.id, "submit")
    knowledge_review.link_ticket_row(a.id, t.id, "source", None)
    return a.id
