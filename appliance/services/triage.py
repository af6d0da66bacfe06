"""AI triage of tickets: the fast path, LLM enrichment, and what agents do with the result.

Owns TriageRun rows and the fields AI sets on a ticket (language, sentiment, summary,
entities, required_skills, triage_state). See docs/decisions/0010-ai-triage.md.

- Fast path, job "triage_ticket": the field classifiers (services.ai_training) plus the
  admin's priority rules (rules.priority), sentiment and language rules; no LLM. A
  routing field is applied when its confidence reaches `ai_threshold_<field>` and no
  person has set it; otherwise the ticket waits in the triage queue ("review").
- Enrichment, job "enrich_ticket": a summary and entities from the local model
  (prompts.ENRICH_*), validated and capped; it never touches routing fields.
- Every change is a timeline event of kind "ai_triage" with no actor ("AI triage")
  carrying the run and versions; `undo_triage` puts back what nobody changed since.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field as dc_field

from appliance import dto, jobs, prompts, registry, runtime
from appliance.db import is_postgres
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.models import (Category, Customer, Department, Skill, TimelineEvent, Ticket,
                              TriageRule, TriageRun, User, utcnow)
from appliance.ports import ModelBusy, ModelTimeout, ModelUnavailable
from appliance.rules.access import Actor, can_edit_ticket
from appliance.services import ai_training as training
from appliance.services import common, live

log = logging.getLogger(__name__)

ROUTING = training.FIELDS
COLUMNS = training.COLUMNS
DEFAULTS = {"department": None, "category": None, "priority": 3, "urgency": "medium"}
MAX_TEXT = 4000            # characters the fast path reads; huge tickets are cut
ENRICH_MAX_TOKENS = 1500   # ticket tokens given to the model (context 4096)
ALTERNATIVES = 3
REPEAT_DAYS = 7
HUMAN_KINDS = ("field_changed", "assigned", "ai_triage_undone")
URGENCY_RANK = {"low": 0, "medium": 1, "high": 2}

# The model is loaded in the worker only (never in web processes, nor by `demo load`
# or tests running jobs inline); the worker calls allow_llm() at start-up.
_llm_here = False


def allow_llm(allowed: bool = True) -> None:
    global _llm_here
    _llm_here = allowed


# --- the fast path --------------------------------------------------------------------------

@dataclass
class Suggestion:
    value: object
    confidence: float
    reason: str
    alternatives: list = dc_field(default_factory=list)
    threshold: float | None = None
    applied: bool = False
    status: str = ""  # applied | confirmed | human | review | info


@jobs.handler("triage_ticket")
def triage_ticket(ticket_id: int) -> None:
    """Idempotent: does nothing unless the ticket's triage_state is "pending"."""
    t = Ticket.get_or_none(Ticket.id == ticket_id)
    if t is None or t.merged_into_id or t.triage_state != "pending":
        return
    started = time.monotonic()
    settings = runtime.settings()
    if not settings.ai_enabled:
        _set_review(ticket_id, "AI triage is turned off (ai_enabled = false)")
        return
    suggestions, versions, rules_version = suggest(t, settings)
    with unit_of_work():
        t = _locked(ticket_id)
        if t is None or t.triage_state != "pending":
            return  # another run finished first
        _apply_fast(t, suggestions, versions, rules_version, started)
        if _worth_enriching(t):
            schedule("enrich_ticket", t.id)


def _locked(ticket_id: int) -> Ticket | None:
    q = Ticket.select().where(Ticket.id == ticket_id)
    return (q.for_update() if is_postgres() else q).first()


def suggest(t: Ticket, settings) -> tuple[dict[str, Suggestion], dict[str, str], str]:
    """What triage would set on `t`, with confidence and reasons (reads only)."""
    from appliance.rules.sentiment import analyse_sentiment
    text = training.ticket_text(t.subject, t.description, MAX_TEXT)
    loaded = training.active_classifiers()
    names = {f: training.labels(f) for f in ROUTING}
    vector, space = _vector(t, loaded, settings)
    scores = {f: _scores(loaded.get(f), text, names[f], vector, space) for f in ROUTING}
    out: dict[str, Suggestion] = {}
    for f in ("department", "category"):
        if scores[f]:
            out[f] = _classified(f, scores[f], names[f], _tag(loaded[f], vector, space), settings)
        elif names[f]:  # labels exist but nothing to predict them with: a person decides
            out[f] = Suggestion(None, 0.0, "no classifier for this field yet", [],
                                getattr(settings, f"ai_threshold_{f}"))
    mood = analyse_sentiment(text)
    tags = {f: _tag(c, vector, space) for f, c in loaded.items()}
    rules_version = _priority(t, text, mood, scores, tags, out, settings)
    out["language"] = _language(text)
    out["sentiment"] = Suggestion(mood.label, round(abs(mood.score), 4) if mood.label != "neutral"
                                  else round(1 - abs(mood.score), 4),
                                  f"score {mood.score:+.2f}" + (
                                      f": {', '.join(mood.hits[:5])}" if mood.hits else ""),
                                  status="info")
    return out, tags, rules_version


def _language(text: str) -> Suggestion:
    from appliance.rules.language import detect_language, script_profile
    p = script_profile(text)
    share = max(p.zh_share, 1 - p.zh_share) if p.units else 0.0
    reason = (f"{p.cjk_chars} Chinese characters, {p.latin_words} Latin words"
              + (" (mixed)" if p.mixed else ""))
    return Suggestion(detect_language(text), round(share, 4), reason, status="info")


def _vector(t: Ticket, loaded: dict, settings) -> tuple[bytes | None, str]:
    """The ticket's sentence vector when a classifier reads one and getting it does not
    hold up routing: stored already, or (in the worker) the embedder free and the ticket
    fresh (a backlog is routed from text alone; decision 0053)."""
    from appliance.services import ticket_vectors
    spaces = {c.classifier.vector_space for c in loaded.values()} - {None}
    if not spaces:
        return None, ""
    lag = (utcnow() - t.created_at).total_seconds() if t.created_at else 0.0
    fresh = lag <= settings.ai_embed_max_lag_seconds
    vector, space = ticket_vectors.for_new_ticket(t.id, _vector_text(t), settings,
                                                  compute=fresh and _llm_here)
    return (vector, space) if vector is not None and space in spaces else (None, "")


def _vector_text(t: Ticket) -> str:
    return training.ticket_text(t.subject, t.description)  # as training embeds it


def _tag(loaded, vector: bytes | None, space: str) -> str:
    used = vector is not None and loaded.classifier.vector_space == space
    return f"{loaded.tag}+vector" if used else loaded.tag


def _scores(loaded, text: str, valid: dict[str, str], vector: bytes | None = None,
            space: str = "") -> list:
    """Classifier output restricted to labels that exist now (nothing else can be set).
    The vector is given only to a classifier trained on vectors of the same space."""
    if loaded is None:
        return []
    use = vector if vector is not None and loaded.classifier.vector_space == space else None
    return [s for s in loaded.classifier.predict(text, use) if s.label in valid]


def _classified(f: str, scores: list, names: dict, tag: str, settings) -> Suggestion:
    best = scores[0]
    alts = [{"value": s.label, "confidence": round(s.confidence, 4)}
            for s in scores[1:1 + ALTERNATIVES]]
    return Suggestion(best.label, round(best.confidence, 4),
                      f"classifier {tag}: {names[best.label]} ({best.confidence:.0%})", alts,
                      getattr(settings, f"ai_threshold_{f}"))


def _priority(t: Ticket, text: str, mood, scores: dict, tags: dict, out: dict,
              settings) -> str:
    """Priority from the classifier with the admin's rules as floors (rules.priority);
    urgency from the rules when one names it, else the urgency classifier, else it
    follows the priority. Returns the version of the rules used."""
    from appliance.rules import priority as rules
    facts = rules.TicketFacts(vip_customer=_is_vip(t.customer_id),
                              recent_contacts=_recent_contacts(t), sentiment=mood.label,
                              sentiment_score=mood.score)
    active, version = _rules()
    signals = rules.priority_signals(text, facts, active)
    # A cold-start classifier only chooses among the lower priorities; P1/P2 come from
    # rules (measured: alone it mistakes "about security" for "critical").
    cap = rules.COLD_START_CLASSIFIER_CAP if tags.get("priority", "").startswith("cold") else 1
    prio, derived, conf, reasons = rules.decide_priority(scores["priority"], signals,
                                                         classifier_cap=cap)
    out["priority"] = Suggestion(str(prio), round(conf, 4), "; ".join(reasons) or "no signal",
                                 _alternatives(scores["priority"], str(prio)),
                                 settings.ai_threshold_priority)
    named = [s for s in signals if s.urgency in URGENCY_RANK]
    if named:
        top = max(named, key=lambda s: URGENCY_RANK[s.urgency])
        value, conf, why = top.urgency, 1.0, "; ".join(s.reason for s in named)
    elif scores["urgency"]:
        best = scores["urgency"][0]
        value, conf, why = best.label, best.confidence, \
            f"classifier {tags['urgency']}: {best.confidence:.0%}"
    else:
        value, why = derived, f"follows priority P{prio}"
    out["urgency"] = Suggestion(value, round(conf, 4), why,
                                _alternatives(scores["urgency"], value),
                                settings.ai_threshold_urgency)
    return version


def _alternatives(scores: list, chosen: str) -> list[dict]:
    return [{"value": s.label, "confidence": round(s.confidence, 4)}
            for s in scores if s.label != chosen][:ALTERNATIVES]


def _rules() -> tuple[list, str]:
    """The active TriageRule rows as rules.priority rules, and a version naming them.
    With no rows at all (never seeded) the built-in defaults apply."""
    from appliance.rules import priority as rules
    rows = list(TriageRule.select().order_by(TriageRule.position, TriageRule.id))
    if not rows:
        return list(rules.DEFAULT_RULES), "default"
    active = [rules.rule_from_row(r) for r in rows if r.active]
    digest = hashlib.sha256(json.dumps([dataclasses.astuple(r) for r in active],
                                       ensure_ascii=False).encode()).hexdigest()
    return active, f"rules-{digest[:10]}"


def _is_vip(customer_id: int | None) -> bool:
    if customer_id is None:
        return False
    tags = Customer.select(Customer.tags).where(Customer.id == customer_id).scalar() or []
    return "vip" in {str(x).strip().casefold() for x in tags}


def _recent_contacts(t: Ticket) -> int:
    """Other tickets of the same customer (or requester) in the last REPEAT_DAYS days."""
    who = (Ticket.customer == t.customer_id) if t.customer_id else (
        (Ticket.requester == t.requester_id) if t.requester_id else None)
    if who is None:
        return 0
    since = t.created_at - dt.timedelta(days=REPEAT_DAYS)
    return Ticket.select().where(who & (Ticket.id != t.id) & (Ticket.created_at >= since)).count()


def required_skills(category_id: int | None) -> list[str]:
    """Skills the ticket needs: those an admin linked to the category (CategorySkill), or,
    where none are linked, skills whose name matches a segment of the category path (one
    contains the other, ignoring case)."""
    path = Category.select(Category.path).where(Category.id == category_id).scalar() \
        if category_id else None
    if not path:
        return []
    from appliance.models import CategorySkill
    linked = sorted(s.name for s in Skill.select(Skill.name).join(CategorySkill).where(
        CategorySkill.category == category_id))
    if linked:
        return linked
    parts = [p.strip().casefold() for p in path.split("/") if len(p.strip()) >= 2]
    return sorted(s.name for s in Skill.select(Skill.name)
                  if len(s.name) >= 2 and any(s.name.casefold() in p or p in s.name.casefold()
                                              for p in parts))


def _setters(ticket_id: int) -> dict[str, str]:
    """For each field: "ai" when AI triage set it last, "human" when a person did."""
    out = {}
    q = (TimelineEvent.select(TimelineEvent.field, TimelineEvent.kind, TimelineEvent.actor)
         .where((TimelineEvent.ticket == ticket_id)
                & TimelineEvent.field.in_(list(COLUMNS.values()))).order_by(TimelineEvent.id))
    for e in q:
        if e.kind == "ai_triage":
            out[e.field] = "ai"
        elif e.kind in HUMAN_KINDS and e.actor_id is not None:
            out[e.field] = "human"
    return out


def _store_value(f: str, label: str):
    return label if f == "urgency" else int(label)


def _apply_fast(t: Ticket, sug: dict[str, Suggestion], versions: dict, rules_version: str,
                started: float) -> None:
    setters = _setters(t.id)
    changes: dict = {}
    for f in ROUTING:
        s, column = sug.get(f), COLUMNS[f]
        current = getattr(t, column)
        free = setters.get(column) == "ai" or (column not in setters and current == DEFAULTS[f])
        if s is None:
            continue
        if s.value is None:
            s.status = "review" if free else "human"
            continue
        value = _store_value(f, s.value)
        sure = s.confidence >= s.threshold
        s.status = ("human" if not free else "confirmed" if sure and value == current
                    else "applied" if sure else "review")
        if s.status == "applied":
            changes[column] = value
    sug["required_skills"] = Suggestion(required_skills(changes.get("category_id", t.category_id)),
                                        1.0, "skill names matching the category", status="info")
    state = "review" if any(sug[f].status == "review" for f in ROUTING if f in sug) else "auto"
    _write_fast(t, sug, changes, versions, rules_version, state, started)


def _write_fast(t: Ticket, sug: dict, changes: dict, versions: dict, rules_version: str,
                state: str, started: float) -> None:
    info = {f: s.value for f, s in sug.items() if s.status == "info"}
    info = {k: v for k, v in info.items() if getattr(t, k) != v}
    run = TriageRun.create(
        ticket=t.id, stage="fast", status="applied" if state == "auto" else "review",
        classifier_versions=versions, rules_version=rules_version,
        suggestions={f: _as_json(s, f in info or s.status == "applied") for f, s in sug.items()},
        applied={**{c: {"before": getattr(t, c), "after": v} for c, v in changes.items()},
                 **{k: {"before": getattr(t, k), "after": v} for k, v in info.items()}},
        duration_ms=int((time.monotonic() - started) * 1000))
    fields = {c: f for f, c in COLUMNS.items()}
    _ai_events(t.id, run, [(name, change["before"], change["after"],
                            sug[fields.get(name, name)].confidence,
                            versions.get(fields.get(name, name), ""))
                           for name, change in run.applied.items()])
    log.debug("ticket %d triaged: %s, %d fields applied in %d ms", t.id, state,
              len(run.applied), run.duration_ms)
    row = {**changes, **info, "triage_state": state}
    if changes:  # a routing change is a change agents must not overwrite unknowingly
        row.update(version=Ticket.version + 1, updated_at=utcnow())
        schedule("index_ticket", t.id)
    Ticket.update(**row).where(Ticket.id == t.id).execute()
    if t.assignee_id is None:
        schedule("dispatch_ticket", t.id)  # triaged: route it (appliance.services.dispatch)


def _as_json(s: Suggestion, applied: bool) -> dict:
    return {"value": s.value, "confidence": s.confidence, "applied": applied,
            "reason": s.reason[:500], "alternatives": s.alternatives,
            "threshold": s.threshold, "status": s.status}


def _ai_events(ticket_id: int, run: TriageRun, changes: list[tuple]) -> None:
    """One timeline event per changed field, by "AI triage" (no actor), with provenance;
    inserted in one statement (the fast path writes up to seven)."""
    if not changes:
        return
    now = utcnow()
    TimelineEvent.insert_many([{
        "ticket": ticket_id, "actor": None, "kind": "ai_triage", "field": name,
        "before": before, "internal": True, "created_at": now,
        "after": {"value": after, "run_id": run.id, "stage": run.stage, "confidence": confidence,
                  "model": run.model, "classifier": classifier,
                  "rules_version": run.rules_version, "prompt_version": run.prompt_version}}
        for name, before, after, confidence, classifier in changes]).execute()
    moves = {name: [before, after] for name, before, after, *_ in changes
             if name in live.MOVES and all(v is None or type(v) is int for v in (before, after))}
    live.publish_ticket(ticket_id, "ai_triage", internal=True, data=moves or None)


def _set_review(ticket_id: int, reason: str) -> None:
    with unit_of_work():
        TriageRun.create(ticket=ticket_id, stage="fast", status="skipped", error=reason[:255])
        Ticket.update(triage_state="review").where(
            (Ticket.id == ticket_id) & (Ticket.triage_state == "pending")).execute()


# --- enrichment (LLM) ---------------------------------------------------------------------------

@jobs.handler("enrich_ticket")
def enrich_ticket(ticket_id: int) -> None:
    """Summary and entities from the local model. ModelBusy propagates: the queue
    retries the job later without counting a failure (appliance.tasks)."""
    t = Ticket.get_or_none(Ticket.id == ticket_id)
    if t is None or t.merged_into_id or _enriched(t.id):
        return
    settings = runtime.settings()
    if not settings.ai_enabled:
        return _enrich_result(t.id, "skipped", error="AI is turned off (ai_enabled = false)")
    if not _llm_here:
        return _enrich_result(t.id, "skipped", error="enrichment runs in the worker only")
    model = registry.text_model(settings)
    started = time.monotonic()
    info = model.info()
    if not info.available:
        return _enrich_result(t.id, "skipped", info=info, error=info.reason or "model unavailable")
    try:
        found = _complete(model, t, settings)
    except ModelBusy:
        raise
    except (ModelUnavailable, ModelTimeout) as exc:
        return _enrich_result(t.id, "skipped", info=model.info(), error=str(exc), started=started)
    except ValueError as exc:  # invalid twice: a person looks at the ticket instead
        return _enrich_result(t.id, "failed", info=info, error=str(exc), started=started)
    _enrich_result(t.id, "applied", info=info, found=found, started=started)


ENRICH_MAX_AGE = dt.timedelta(days=2)


def _worth_enriching(t: Ticket) -> bool:
    """Model time goes to tickets people are working on now: not to closed ones, nor to
    a backlog of old tickets (an import, demo data), which would queue for hours on a
    small box ahead of new arrivals. Their fields are still classified by the fast path."""
    return bool(t.is_open) and t.created_at >= utcnow() - ENRICH_MAX_AGE


def _enriched(ticket_id: int) -> bool:
    """An enrichment already ran after the latest fast-path run."""
    last_fast = (TriageRun.select(TriageRun.id).where((TriageRun.ticket == ticket_id)
                                                      & (TriageRun.stage == "fast"))
                 .order_by(TriageRun.id.desc()).scalar()) or 0
    # A skipped run (model missing, or run outside the worker) does not count: the next
    # enrichment job for the ticket should still do the work.
    return TriageRun.select().where((TriageRun.ticket == ticket_id) & (TriageRun.stage == "enrich")
                                    & (TriageRun.status != "skipped")
                                    & (TriageRun.id > last_fast)).exists()


def _complete(model, t: Ticket, settings) -> dict:
    """One validated completion, retried once when the output does not validate."""
    fit = getattr(model, "fit_text", None)
    description = fit(t.description, ENRICH_MAX_TOKENS) if fit else t.description[:3000]
    user = prompts.data_block(t.subject, description)
    source = f"{t.subject}\n{t.description}".casefold()
    error: ValueError | None = None
    for _ in range(2):
        try:
            raw = model.complete_json(prompts.ENRICH_SYSTEM, user, prompts.ENRICH_SCHEMA,
                                      max_tokens=320, timeout_s=settings.llm_timeout_seconds,
                                      interactive=False)
            return prompts.parse_enrichment(raw, source)
        except ValueError as exc:
            error = exc
    raise error


def _enrich_result(ticket_id: int, status: str, *, info=None, error: str = "",
                   found: dict | None = None, started: float | None = None) -> None:
    if status != "applied":  # the reason is on the run; it may quote model output (PII)
        log.log(logging.INFO if status == "failed" else logging.DEBUG,
                "ticket %d enrichment %s", ticket_id, status)
    with unit_of_work():
        t = _locked(ticket_id)
        if t is None:
            return
        found = found or {}
        applied = {k: {"before": getattr(t, k), "after": v} for k, v in found.items()
                   if v != getattr(t, k)}
        run = TriageRun.create(
            ticket=t.id, stage="enrich", status=status, model=info.name if info else "",
            model_sha256=info.sha256 if info else "", prompt_version=prompts.ENRICH_VERSION,
            suggestions={k: {"value": v, "confidence": None, "applied": k in applied,
                             "reason": "local model", "alternatives": []} for k, v in found.items()},
            applied=applied, error=error[:255],
            duration_ms=int((time.monotonic() - started) * 1000) if started else 0)
        _ai_events(t.id, run, [(k, c["before"], c["after"], None, "") for k, c in applied.items()])
        row = {k: c["after"] for k, c in applied.items()}
        if status == "failed" and t.triage_state in ("auto", "pending", ""):
            row["triage_state"] = "review"
        if row:
            Ticket.update(**row).where(Ticket.id == t.id).execute()


# --- what agents see and do ---------------------------------------------------------------------

@dataclass(frozen=True)
class Alternative:
    value: str
    label: str
    confidence: float


@dataclass(frozen=True)
class SuggestionView:
    field: str                 # department | category | priority | urgency | language | ...
    value: object              # label: "12" (department/category id), "2", "high", ...
    label: str                 # what to show: department name, category path, "P2", ...
    confidence: float | None
    threshold: float | None
    applied: bool
    status: str                # applied | confirmed | human | review | info
    reason: str
    alternatives: list[Alternative]
    current_value: object
    current_label: str


@dataclass(frozen=True)
class RunView:
    id: int
    stage: str                 # fast | enrich
    status: str                # applied | review | failed | skipped | undone
    created_at: dt.datetime
    model: str
    model_sha256: str
    classifier_versions: dict  # field -> "learned:3" | "cold:1"
    prompt_version: str
    rules_version: str
    error: str
    duration_ms: int
    applied: dict              # field -> {"before", "after"}
    undone_at: dt.datetime | None
    undone_by: dto.Ref | None
    can_undo: bool


@dataclass(frozen=True)
class TriageView:
    ticket_id: int
    number: str
    version: int
    triage_state: str          # "" | pending | auto | review | done
    language: str
    sentiment: str
    summary: str
    entities: dict
    required_skills: list[str]
    suggestions: list[SuggestionView]   # of the latest fast-path run
    runs: list[RunView]                 # newest first
    can_edit: bool


def _staff_ticket(actor: Actor, ticket_id: int, *, edit: bool = False, lock: bool = False):
    t = common.ticket_for(actor, ticket_id, edit=edit, lock=lock)
    if not actor.is_staff:
        raise PermissionDenied("AI triage is for staff")
    return t


def triage_view(actor: Actor, ticket_id: int, *, runs: int = 10) -> TriageView:
    t = _staff_ticket(actor, ticket_id)
    rows = list(TriageRun.select().where(TriageRun.ticket == t.id)
                .order_by(TriageRun.id.desc()).limit(runs))
    fast = next((r for r in rows if r.stage == "fast" and r.status != "skipped"), None)
    names = {f: training.labels(f) for f in ROUTING}
    users = {u.id: u.display_name for u in User.select(User.id, User.display_name)
             .where(User.id.in_([r.undone_by_id for r in rows if r.undone_by_id]))}
    return TriageView(
        t.id, t.number, t.version, t.triage_state, t.language, t.sentiment, t.summary,
        dict(t.entities or {}), list(t.required_skills or []),
        [_suggestion_view(f, s, t, names) for f, s in (fast.suggestions if fast else {}).items()],
        [_run_view(r, users) for r in rows], can_edit_ticket(actor, common.facts(t)))


def _label(f: str, value, names: dict) -> str:
    if value is None or value == "":
        return ""
    if f in names:
        known = names[f].get(str(value))
        if known is None and f == "department":
            d = Department.get_or_none(Department.id == value)
            return d.name if d else f"#{value}"
        if known is None and f == "category":
            c = Category.get_or_none(Category.id == value)
            return c.path if c else f"#{value}"
        return known or str(value)
    return ", ".join(value) if isinstance(value, list) else str(value)


def _suggestion_view(f: str, s: dict, t: Ticket, names: dict) -> SuggestionView:
    current = getattr(t, COLUMNS.get(f, f), None)
    alts = [Alternative(str(a["value"]), _label(f, a["value"], names), a["confidence"])
            for a in s.get("alternatives", [])]
    return SuggestionView(f, s.get("value"), _label(f, s.get("value"), names),
                          s.get("confidence"), s.get("threshold"), bool(s.get("applied")),
                          s.get("status", ""), s.get("reason", ""), alts,
                          current, _label(f, current, names))


def _run_view(r: TriageRun, users: dict) -> RunView:
    by = dto.Ref(r.undone_by_id, users.get(r.undone_by_id, "")) if r.undone_by_id else None
    return RunView(r.id, r.stage, r.status, r.created_at, r.model, r.model_sha256,
                   dict(r.classifier_versions or {}), r.prompt_version, r.rules_version,
                   r.error, r.duration_ms, dict(r.applied or {}), r.undone_at, by,
                   bool(r.applied) and r.undone_at is None)


def accept_suggestion(actor: Actor, ticket_id: int, field: str,
                      expected_version=None) -> TriageView | None:
    """Set a routing field to the latest fast-path suggestion, as the agent's own change.
    Returns the new view, or None when the change took the ticket out of the actor's
    sight (another department)."""
    from appliance.services import tickets
    if field not in ROUTING:
        raise ValidationError({"field": "must be one of " + ", ".join(ROUTING)})
    with unit_of_work():
        t = _staff_ticket(actor, ticket_id, edit=True, lock=True)
        tickets._check_version(t, expected_version)
        run = (TriageRun.select().where((TriageRun.ticket == t.id) & (TriageRun.stage == "fast")
                                        & (TriageRun.status != "skipped"))
               .order_by(TriageRun.id.desc()).first())
        s = (run.suggestions or {}).get(field) if run else None
        if not s or s.get("value") in (None, ""):
            raise NotFound("no suggestion for this field", field=field)
        tickets._apply_changes(actor, t, {COLUMNS[field]: s["value"]}, utcnow())
        run.suggestions = {**run.suggestions, field: {**s, "accepted_by": actor.user_id}}
        run.save(only=[TriageRun.suggestions])
        schedule("index_ticket", t.id)
        if t.assignee_id is None:
            schedule("dispatch_ticket", t.id)
    try:
        return triage_view(actor, ticket_id)
    except NotFound:
        return None


def undo_triage_runs(actor: Actor, ticket_id: int, run_ids: list[int]) -> list[str]:
    """Undo several runs (the panel's one click) all or nothing."""
    reverted: list[str] = []
    with unit_of_work():
        for run_id in run_ids:
            reverted += undo_triage(actor, ticket_id, run_id)
    return reverted


def undo_triage(actor: Actor, ticket_id: int, run_id: int) -> list[str]:
    """Put back what run `run_id` changed, for each field nobody changed since.
    Returns the fields reverted (timeline names: "department_id", "summary", ...)."""
    with unit_of_work():
        t = _staff_ticket(actor, ticket_id, edit=True, lock=True)
        run = TriageRun.get_or_none((TriageRun.id == run_id) & (TriageRun.ticket == t.id))
        if run is None:
            raise NotFound("triage run not found", id=run_id)
        if run.undone_at is not None:
            return []
        reverted = [name for name, change in (run.applied or {}).items()
                    if _untouched_since(t, name, change, run)]
        row = {name: run.applied[name]["before"] for name in reverted}
        for name in reverted:
            common.record(t.id, actor, "ai_triage_undone", name, getattr(t, name), row[name],
                          internal=True)
        if any(name in COLUMNS.values() for name in reverted):
            row.update(version=Ticket.version + 1, updated_at=utcnow())
            schedule("index_ticket", t.id)
        if t.triage_state in ("auto", "pending") and set(reverted) & set(COLUMNS.values()):
            row["triage_state"] = "review"  # a person decides the routing AI got wrong
        if row:
            Ticket.update(**row).where(Ticket.id == t.id).execute()
        TriageRun.update(status="undone", undone_at=utcnow(), undone_by=actor.user_id or None) \
            .where(TriageRun.id == run.id).execute()
    return reverted


def _untouched_since(t: Ticket, name: str, change: dict, run: TriageRun) -> bool:
    """The field still holds the run's value and its last timeline event is the run's."""
    last = (TimelineEvent.select().where((TimelineEvent.ticket == t.id)
                                         & (TimelineEvent.field == name))
            .order_by(TimelineEvent.id.desc()).first())
    ours = last is not None and last.kind == "ai_triage" and isinstance(last.after, dict) \
        and last.after.get("run_id") == run.id
    return ours and getattr(t, name) == change["after"]


def finish_triage(actor: Actor, ticket_id: int) -> TriageView:
    """A person has checked the routing: the ticket leaves the triage queue."""
    with unit_of_work():
        t = _staff_ticket(actor, ticket_id, edit=True, lock=True)
        if t.triage_state != "done":
            common.record(t.id, actor, "triage_finished", "triage_state", t.triage_state, "done",
                          internal=True)
            Ticket.update(triage_state="done").where(Ticket.id == t.id).execute()
            if t.assignee_id is None:
                schedule("dispatch_ticket", t.id)
    return triage_view(actor, ticket_id)


def request_retriage(actor: Actor, ticket_id: int) -> None:
    """Run the fast path (and enrichment) again; fields people set stay as they are."""
    with unit_of_work():
        t = _staff_ticket(actor, ticket_id, edit=True, lock=True)
        Ticket.update(triage_state="pending").where(Ticket.id == t.id).execute()
        schedule("triage_ticket", t.id)
