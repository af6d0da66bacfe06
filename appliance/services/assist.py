"""Agent assistance: reply drafts and summaries written by the local model.

The web never calls the model (docs/decisions/0010-ai-triage.md): `request_draft`
stores an AiDraft row and schedules job "ai_draft"; the worker's handler streams
the model's text into the row (every FLUSH_SECONDS or FLUSH_PIECES pieces), and the
browser reads the row through the agent views (server-sent events or polling).

Kinds: `reply` (in the customer's language, grounded in public knowledge articles
and similar resolved tickets, citing them as [A1]/[T1]), `thread_summary` and
`customer_summary` (for the agent, in the agent's language).

Bounded everywhere: the model runs with a deadline and its own small pool
(`interactive=True` puts a waiting agent ahead of background enrichment); a draft
that cannot get the model is re-queued and failed as "busy" after QUEUE_SECONDS; one
agent has at most MAX_OPEN_PER_USER drafts in progress and MAX_PER_HOUR requests an
hour; the text is capped at MAX_TEXT characters.

Model output is only ever a suggestion in plain text: stored as text, escaped
wherever shown, its citation markers checked against the sources actually given
(unknown markers are removed). Nothing is sent to a customer: the agent inserts the
text into the reply form, edits it and sends it. Automatic sending (per category,
enabled by an admin) is off and not offered yet; adding it means a category flag,
an admin setting and a timeline event, and is a separate decision.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import re
import time
from dataclasses import dataclass

from appliance import prompts_assist as P
from appliance import registry, runtime
from appliance.errors import DomainError, NotFound, PermissionDenied, ValidationError
from appliance.jobs import handler, schedule, unit_of_work
from appliance.models import AiDraft, Ticket, User, utcnow
from appliance.ports import ModelBusy, ModelTimeout, ModelUnavailable
from appliance.rules.access import Actor
from appliance.services import assist_context as ctx
from appliance.services import common, knowledge
from appliance.settings import Settings

log = logging.getLogger(__name__)

KINDS = ("reply", "thread_summary", "customer_summary")
TONES = ("formal", "friendly")
MAX_TEXT = 4000
MAX_TOKENS = {"reply": 256, "thread_summary": 200, "customer_summary": 200}
FLUSH_SECONDS = 0.1
FLUSH_PIECES = 8
MAX_OPEN_PER_USER = 3
MAX_PER_HOUR = 60
QUEUE_SECONDS = 180  # a draft still waiting for the model after this is failed as busy
OPEN = ("queued", "running")
# Why a draft failed: a stable code the UI translates (never model text or PII).
# "truncated" goes with a done draft: the time limit cut it, the text so far is kept.
REASONS = ("unavailable", "busy", "timeout", "expired", "forbidden", "failed", "truncated")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class AssistUnavailable(DomainError):
    """The local model cannot be used now (missing, wrong hash, AI turned off)."""
    code = "ai_unavailable"
    http_status = 503


class AssistBusy(DomainError):
    """Too many drafts in progress or requested; try again shortly."""
    code = "ai_busy"
    http_status = 429


class DraftRetry(ModelBusy):
    """Not now: the model pool was busy, or another run is writing this draft. The
    draft stays as it is; the worker's slow-job lane gives the job's attempt back and
    runs it again shortly (appliance.tasks handles ModelBusy that way)."""


@dataclass(frozen=True)
class Citation:
    marker: str
    kind: str  # article | ticket
    id: int
    label: str
    cited: bool  # the draft uses it; otherwise it was only given as material
    by: str = ""  # "marker" ([A1] in the text) or "overlap" (its words reused)


@dataclass(frozen=True)
class DraftView:
    id: int
    ticket_id: int
    kind: str
    tone: str
    language: str
    status: str  # queued | running | done | failed
    text: str
    citations: list[Citation]
    error: str  # one of REASONS when failed ("truncated" when done but cut short)
    model: str
    prompt_version: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    ahead: int  # drafts queued before this one (progress while waiting)


# --- requesting and reading ------------------------------------------------------------------

def _clean_request(kind: str, tone: str) -> None:
    errors = {}
    if kind not in KINDS:
        errors["kind"] = "must be one of: " + ", ".join(KINDS)
    if tone not in TONES:
        errors["tone"] = "must be one of: " + ", ".join(TONES)
    if errors:
        raise ValidationError(errors)


def _in_progress(settings: Settings):
    """Unfinished drafts that may still finish (older ones count as expired)."""
    alive = utcnow() - dt.timedelta(seconds=max_lifetime(settings))
    return AiDraft.status.in_(OPEN) & (AiDraft.created_at > alive)


# Retry-After while MAX_OPEN_PER_USER drafts run: about one short generation.
OPEN_RETRY_S = 15


def _check_rate(actor: Actor, settings: Settings) -> None:
    """Per user, counted in the database (so across gunicorn workers): MAX_OPEN_PER_USER
    drafts and summaries at once, MAX_PER_HOUR an hour; AssistBusy says when to retry."""
    mine = AiDraft.select().where(AiDraft.user == actor.user_id)
    if mine.where(_in_progress(settings)).count() >= MAX_OPEN_PER_USER:
        raise AssistBusy("too many drafts in progress; wait for one to finish",
                         retry_after=OPEN_RETRY_S)
    now = utcnow()
    hour_ago = now - dt.timedelta(hours=1)
    recent = (mine.select(AiDraft.created_at).where(AiDraft.created_at > hour_ago)
              .order_by(AiDraft.created_at.desc()).limit(MAX_PER_HOUR))
    times = [r.created_at for r in recent]
    if len(times) >= MAX_PER_HOUR:
        wait = (times[-1] + dt.timedelta(hours=1) - now).total_seconds()
        raise AssistBusy("too many draft requests; try again later",
                         retry_after=max(1, math.ceil(wait)))


def draft_language(actor: Actor, t: Ticket, kind: str, settings: Settings) -> str:
    """A reply speaks the customer's language; a summary the agent's."""
    if kind == "reply":
        return ctx.customer_language(t)
    user = User.get_or_none(User.id == actor.user_id)
    locale = (user.locale if user and user.locale else settings.default_locale) or "zh_CN"
    return "en" if locale.startswith("en") else "zh"


def request_draft(actor: Actor, ticket_id: int, kind: str, tone: str = "formal",
                  settings: Settings | None = None) -> int:
    """Queue a draft for an agent who can see the ticket; returns the draft id.
    Asking again while the same draft is in progress returns that draft."""
    settings = settings or runtime.settings()
    _clean_request(kind, tone)
    if not actor.is_staff:
        raise PermissionDenied("staff only")
    with unit_of_work():
        t = common.ticket_for(actor, ticket_id)
        same = (AiDraft.select(AiDraft.id).where(
            (AiDraft.ticket == t.id) & (AiDraft.user == actor.user_id) & (AiDraft.kind == kind)
            & (AiDraft.tone == tone) & _in_progress(settings)).first())
        if same is not None:
            return same.id
        _check_rate(actor, settings)
        draft = AiDraft.create(ticket=t.id, user=actor.user_id, kind=kind, tone=tone,
                               language=draft_language(actor, t, kind, settings),
                               prompt_version=P.PROMPT_VERSIONS[kind])
        schedule("ai_draft", draft.id)
    return draft.id


def max_lifetime(settings: Settings) -> float:
    """Seconds after which an unfinished draft is reported as expired (worker gone)."""
    return QUEUE_SECONDS + settings.llm_timeout_seconds + 30


def _citations(raw) -> list[Citation]:
    return [Citation(str(c.get("marker", "")), str(c.get("kind", "")), int(c.get("id", 0)),
                     str(c.get("label", "")), bool(c.get("cited")), str(c.get("by", "")))
            for c in (raw or [])]


def get_draft(actor: Actor, draft_id: int, ticket_id: int | None = None,
              settings: Settings | None = None) -> DraftView:
    """The agent's own draft on a ticket they can still see (404 for anything else)."""
    settings = settings or runtime.settings()
    d = AiDraft.get_or_none(AiDraft.id == draft_id)
    if (d is None or d.user_id != actor.user_id or not actor.is_staff
            or (ticket_id is not None and d.ticket_id != ticket_id)):
        raise NotFound("draft not found", id=draft_id)
    common.ticket_for(actor, d.ticket_id)
    status, error = d.status, d.error
    age = (utcnow() - d.created_at).total_seconds()
    if status in OPEN and age > max_lifetime(settings):
        status, error = "failed", "expired"  # reported only; a GET writes nothing
    ahead = 0
    if status == "queued":
        ahead = AiDraft.select().where(_in_progress(settings) & (AiDraft.id < d.id)).count()
    return DraftView(d.id, d.ticket_id, d.kind, d.tone, d.language, status, d.text,
                     _citations(d.citations), error, d.model, d.prompt_version, d.created_at,
                     d.finished_at, ahead)


# --- model output ----------------------------------------------------------------------------

def clean_output(text: str, allowed: set[str]) -> str:
    """Plain text the UI may show: control characters removed, citation markers
    normalised, markers for sources that were not given removed, length capped."""
    text = _CONTROL.sub("", text or "")

    def marker(m: re.Match) -> str:
        name = f"{m.group(1)}{int(m.group(2))}"
        return f"[{name}]" if name in allowed else ""
    text = P.MARKER.sub(marker, text)
    return text[:MAX_TEXT]


def cited(text: str) -> set[str]:
    return {f"{m.group(1)}{int(m.group(2))}" for m in P.MARKER.finditer(text or "")}


def _bigrams(text: str) -> set[tuple[str, str]]:
    w = knowledge.words(text)
    return set(zip(w, w[1:]))


def draws_on(text: str, source_text: str) -> bool:
    """Whether the draft visibly reuses a source without citing it: small models
    often copy a sentence and forget the marker. A quarter of the source's word pairs
    (at least three) found in the draft counts."""
    src = _bigrams(source_text)
    shared = len(src & _bigrams(text))
    return shared >= 3 and shared >= 0.25 * len(src)


def citations_for(text: str, sources: list[ctx.Source]) -> list[dict]:
    """Every source given, with how the draft uses it: by its marker, by reusing its
    words, or not at all (the agent still sees what the model was shown)."""
    used = cited(text)
    out = []
    for s in sources:
        by = "marker" if s.marker in used else ("overlap" if draws_on(text, s.text) else "")
        out.append({"marker": s.marker, "kind": s.kind, "id": s.id, "label": s.label,
                    "cited": bool(by), "by": by})
    return out


# --- the job ---------------------------------------------------------------------------------

def _set(draft_id: int, **fields) -> int:
    return AiDraft.update(**fields).where(AiDraft.id == draft_id).execute()


def _fail(draft_id: int, reason: str) -> None:
    _set(draft_id, status="failed", error=reason, text="", finished_at=utcnow())


def _claim(draft_id: int) -> bool:
    """Only one run works on a draft, even if its job runs twice."""
    return AiDraft.update(status="running").where(
        (AiDraft.id == draft_id) & (AiDraft.status == "queued")).execute() == 1


@handler("ai_draft")
def run_draft(draft_id: int) -> None:
    """The worker's job: write one draft. Safe to run twice (only one run claims the
    draft); every way out leaves it done or failed with a reason, except "not now"
    (DraftRetry), which leaves it queued for the lane to try again."""
    d = AiDraft.get_or_none(AiDraft.id == draft_id)
    if d is None or d.status not in OPEN:
        return
    settings = runtime.settings()
    age = (utcnow() - d.created_at).total_seconds()
    if age > max_lifetime(settings) or (d.status == "queued" and age > QUEUE_SECONDS):
        _fail(draft_id, "expired" if d.status == "running" else "busy")
        return
    if d.status == "running" or not _claim(draft_id):
        raise DraftRetry("draft %d is being written by another run" % draft_id)
    try:
        _write(d, settings)
    except ModelBusy:
        _set(draft_id, status="queued", text="")
        raise DraftRetry("model busy; draft %d stays queued" % draft_id) from None
    except ModelUnavailable:
        log.warning("ai draft %d: model unavailable", draft_id)
        _fail(draft_id, "unavailable")
    except ModelTimeout:
        log.warning("ai draft %d: generation timed out", draft_id)
        _fail(draft_id, "timeout")
    except NotFound:
        _fail(draft_id, "forbidden")  # the agent lost access since asking
    except Exception as exc:  # the draft must end; the type says enough, the text may hold PII
        log.error("ai draft %d failed: %s", draft_id, type(exc).__name__)
        _fail(draft_id, "failed")


def _actor(d: AiDraft) -> Actor:
    from appliance.services.users import actor_of
    user = User.get_or_none(User.id == d.user_id)
    if user is None or not user.active:
        raise NotFound("user not found")
    return actor_of(user)


def build_prompt(actor: Actor, t: Ticket, d: AiDraft, settings: Settings
                 ) -> tuple[str, str, list[ctx.Source]]:
    """(system, user, sources) for the draft, within the model's context window."""
    system = P.system_prompt(d.kind, d.language)
    room = settings.llm_context - MAX_TOKENS[d.kind] - ctx.approx_tokens(system) - 64
    scale = max(0.2, min(1.0, room / 900))  # 900: the largest prompt the budgets allow
    L = P.labels(d.language)
    if d.kind == "reply":
        sources = (ctx.article_sources(f"{t.subject}\n{t.description}", d.language, scale)
                   + ctx.ticket_sources(actor, t, settings, scale))
        user = (f"{L['ticket_intro']}\n<ticket>\n{ctx.ticket_block(t, d.language, scale)}\n</ticket>\n\n"
                f"{L['sources_intro']}\n<sources>\n{ctx.sources_block(sources, d.language)}\n"
                f"</sources>\n\n{P.ask_reply(d.language, d.tone)}")
        return system, user, sources
    if d.kind == "thread_summary":
        block = ctx.thread_block(t, d.language, scale)
        return system, f"<ticket>\n{block}\n</ticket>\n\n{L['ask_thread']}", []
    history = ctx.history_block(actor, t, d.language, scale)
    return system, f"{L['history_intro']}\n<history>\n{history}\n</history>\n\n{L['ask_customer']}", []


def _write(d: AiDraft, settings: Settings) -> None:
    actor = _actor(d)
    t = common.ticket_for(actor, d.ticket_id)
    system, user, sources = build_prompt(actor, t, d, settings)
    model = registry.text_model(settings)
    allowed = {s.marker for s in sources}
    pieces = model.stream(system, user, max_tokens=MAX_TOKENS[d.kind],
                          timeout_s=float(settings.llm_timeout_seconds), interactive=True)
    parts: list[str] = []
    note = ""
    try:
        _stream_into(d.id, pieces, allowed, parts)
    except ModelTimeout:
        if not "".join(parts).strip():
            raise
        # The agent watched this text arrive: keep it, marked as possibly incomplete.
        log.warning("ai draft %d: time limit reached; keeping the text so far", d.id)
        note = "truncated"
    final = clean_output("".join(parts), allowed).strip()
    citations = citations_for(final, sources)
    _set(d.id, status="done", text=final, citations=citations,
         model=model.info().name[:100], error=note, finished_at=utcnow())
    _record_cited(t.id, citations)


def _record_cited(ticket_id: int, citations: list[dict]) -> None:
    """Count the articles a draft used in the knowledge metrics' reuse, once per ticket
    (a draft regenerated or a job run twice adds nothing)."""
    from appliance.models import ArticleUse
    for c in citations:
        if c["kind"] != "article" or not c["cited"]:
            continue
        if not ArticleUse.select().where((ArticleUse.article == c["id"]) & (ArticleUse.kind == "cited")
                                         & (ArticleUse.ticket == ticket_id)).exists():
            ArticleUse.create(article=c["id"], kind="cited", ticket=ticket_id)


def _stream_into(draft_id: int, pieces, allowed: set[str], parts: list[str]) -> None:
    """Collect the model's pieces into `parts`, saving the text so far to the row every
    FLUSH_SECONDS or FLUSH_PIECES pieces (the first piece at once)."""
    size, unsaved, last = 0, 0, float("-inf")
    try:
        for piece in pieces:
            parts.append(piece)
            size += len(piece)
            unsaved += 1
            if size >= MAX_TEXT:
                break  # the cap ends generation
            if unsaved >= FLUSH_PIECES or time.monotonic() - last >= FLUSH_SECONDS:
                _set(draft_id, text=clean_output("".join(parts), allowed))
                unsaved, last = 0, time.monotonic()
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()  # stops generation now and frees the model's slot
