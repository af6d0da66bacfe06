"""Quality inspection scoring (质检, docs/decisions/0039): every public agent reply is
scored automatically, by rules at once and by the local model's rubric when it can.

Two jobs, both by id and safe to run twice:
- "quality_score" (fast, object = comment id, scheduled by services.comments when staff
  post a public reply): the rule findings (rules.quality_rules) under the rule set in
  force, stored as one inspection per comment and rule-set version (unique, so a second
  run finds the row and does nothing); it schedules the rubric.
- "quality_rubric" (the model's background lane, object = inspection id): empathy,
  correctness against the top knowledge snippets, resolution, 1-5 each with a reason
  (prompts_quality). ModelBusy propagates (the lane retries it without counting). A
  timeout, invalid output or a missing model marks the rubric failed with the reason and
  raises RubricRetry, so the job is retried by the sweeper, up to RUBRIC_TRIES; the rule
  scores are stored either way. With AI off (or outside the worker) the rubric is "off".
The total is provisional (rules only) until the rubric is done.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets

from peewee import IntegrityError

from appliance import jobs, prompts_quality as pq, registry, runtime
from appliance.jobs import schedule, unit_of_work
from appliance.models import Comment, QualityInspection, SlaCalendar, Ticket
from appliance.ports import ModelTimeout, ModelUnavailable
from appliance.rules import quality_rules, quality_score
from appliance.rules.business_calendar import business_time_between
from appliance.rules.language import detect_language
from appliance.rules.pii import mask_pii
from appliance.services import quality_config

log = logging.getLogger(__name__)

SCORE_JOB, RUBRIC_JOB = "quality_score", "quality_rubric"
RUBRIC_TRIES = 3
RUBRIC_TIMEOUT_S = 60.0     # per call, capped by llm_timeout_seconds (measured: 20-45 s)
RUBRIC_MAX_TOKENS = 160


class RubricRetry(Exception):
    """The rubric failed this time (reason on the inspection); the job is tried again."""


# --- rules -------------------------------------------------------------------------------

@jobs.handler(SCORE_JOB)
def score_comment(comment_id: int) -> int | None:
    """The inspection of one reply under the rule set in force; its id, or None when the
    comment is not an agent's public reply or inspection is off."""
    c = Comment.get_or_none(Comment.id == comment_id)
    if c is None or c.internal or c.author_kind != "agent" or c.author_id is None:
        return None
    ruleset = quality_config.current()
    existing = _existing(c.id, ruleset.version)
    if existing is not None:
        return existing
    if not ruleset.settings.enabled:
        return None
    t = Ticket.get_by_id(c.ticket_id)
    row = _rule_row(c, t, ruleset)
    try:
        with unit_of_work():
            ins = QualityInspection.create(**row)
            schedule(RUBRIC_JOB, ins.id)
    except IntegrityError:     # scored by a concurrent run of the same job
        return _existing(c.id, ruleset.version)
    return ins.id


def _existing(comment_id: int, version: int) -> int | None:
    return (QualityInspection.select(QualityInspection.id)
            .where((QualityInspection.comment == comment_id)
                   & (QualityInspection.ruleset_version == version)).scalar())


def _rule_row(c: Comment, t: Ticket, ruleset) -> dict:
    s = ruleset.settings
    language = detect_language(c.body) or "zh"
    waited = waiting_time(c, t, s.business_time)
    findings = quality_rules.check_reply(c.body, language, waited, s.rules)
    points = {f.key: f.points for f in findings}
    score, complete = quality_score.total(s.rules.weights, points, None)
    rate = s.sampling_for(t.department_id).rate
    return {"comment": c.id, "ruleset_version": ruleset.version, "ticket": t.id,
            "agent": c.author_id, "department": t.department_id, "replied_at": c.created_at,
            "language": language, "rule_points": sum(points.values()),
            "findings": [f.to_json() | {"reason": quality_rules.reason(f)} for f in findings],
            "score": score, "complete": complete,
            "sampled": secrets.SystemRandom().random() < rate}


def waiting_time(c: Comment, t: Ticket, business: bool) -> dt.timedelta | None:
    """How long the customer waited for this reply: since their latest public message
    before it (or since the ticket opened, for a first response). None when the reply
    follows another staff reply (it answers nobody waiting)."""
    before = (Comment.select(Comment.author_kind, Comment.created_at)
              .where((Comment.ticket == t.id) & (Comment.id < c.id) & ~Comment.internal)
              .order_by(Comment.id.desc()).first())
    if before is not None and before.author_kind != "customer":
        return None
    start = before.created_at if before is not None else t.created_at
    if start > c.created_at:
        return dt.timedelta(0)
    if not business:
        return c.created_at - start
    return business_time_between(_calendar(t.department_id), _aware(start), _aware(c.created_at))


def _aware(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.timezone.utc)


def _calendar(department_id: int | None):
    from appliance.services import sla_config
    row = (SlaCalendar.get_or_none(SlaCalendar.department == department_id)
           if department_id else None) or SlaCalendar.get_or_none(SlaCalendar.department.is_null())
    if row is None:    # the default is created by migration 0020; open all hours otherwise
        from appliance.rules.business_calendar import WEEKDAYS, weekly
        return weekly("Asia/Shanghai", {d: [("00:00", "24:00")] for d in WEEKDAYS})
    return sla_config.to_rule(row)


# --- the model's rubric ------------------------------------------------------------------

@jobs.handler(RUBRIC_JOB)
def score_rubric(inspection_id: int, *, model=None) -> str | None:
    """The rubric of one inspection; returns the rubric state. `model` is for tests and
    the benchmark (the configured one, in the worker only, otherwise)."""
    ins = QualityInspection.get_or_none(QualityInspection.id == inspection_id)
    if ins is None or ins.rubric_state not in ("pending", "failed"):
        return ins.rubric_state if ins is not None else None
    if ins.rubric_tries >= RUBRIC_TRIES:
        return ins.rubric_state
    settings = runtime.settings()
    if model is None:
        model, why = _model(settings)
        if model is None:
            _store(ins.id, "off", error=why)
            return "off"
    try:
        found = _ask(model, ins, settings)
    except (ModelUnavailable, ModelTimeout, ValueError) as exc:
        # The class only in the log: the message may quote model output.
        log.info("quality rubric of inspection %d failed: %s", ins.id, type(exc).__name__)
        tries = _store(ins.id, "failed", error=_why(exc), tried=True)
        if tries < RUBRIC_TRIES:
            raise RubricRetry(f"rubric try {tries} of {RUBRIC_TRIES} failed") from None
        return "failed"
    _store(ins.id, "done", rubric=found, model_name=model.info().name, tried=True)
    return "done"


def _why(exc: Exception) -> str:
    if isinstance(exc, ModelTimeout):
        return "the model did not answer in time"
    if isinstance(exc, ModelUnavailable):
        return f"the model is unavailable: {str(exc)[:150]}"
    return "the model's answer was not a valid rubric"


def _model(settings):
    """(model, "") when the model may be used here, else (None, why)."""
    from appliance.services import triage
    if not getattr(settings, "ai_enabled", False):
        return None, "AI is turned off (ai_enabled = false)"
    if not triage._llm_here:
        return None, "the rubric is scored in the worker only"
    return registry.text_model(settings), ""


def _ask(model, ins: QualityInspection, settings) -> dict:
    c = Comment.get_by_id(ins.comment_id)
    customer = _customer_text(c)
    snippets = knowledge_snippets(f"{customer}\n{c.body}", ins.language)
    timeout = min(RUBRIC_TIMEOUT_S, float(getattr(settings, "llm_timeout_seconds", 60)))
    return rubric_for(model, customer, c.body, snippets, timeout)


def rubric_for(model, customer: str, reply: str, snippets: list[str],
               timeout_s: float = RUBRIC_TIMEOUT_S) -> dict:
    """One validated rubric of `reply` (PII masked before the prompt), asked twice when
    the first answer does not validate. Raises ModelUnavailable, ModelTimeout, ValueError."""
    info = model.info()
    if not info.available:
        raise ModelUnavailable(info.reason or "model unavailable")
    user = pq.user_prompt(mask_pii(customer), mask_pii(reply), snippets)
    for attempt in range(2):
        try:
            raw = model.complete_json(pq.SYSTEM, user, pq.SCHEMA, max_tokens=RUBRIC_MAX_TOKENS,
                                      timeout_s=timeout_s, interactive=False)
            return pq.parse_reply(raw)
        except ValueError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _customer_text(c: Comment) -> str:
    """What the reply answers: the customer's latest public message before it, else the
    ticket's subject and description."""
    before = (Comment.select(Comment.body).where(
        (Comment.ticket == c.ticket_id) & (Comment.id < c.id) & ~Comment.internal
        & (Comment.author_kind == "customer")).order_by(Comment.id.desc()).first())
    if before is not None:
        return before.body
    t = Ticket.get_by_id(c.ticket_id)
    return f"{t.subject}\n{t.description or ''}"


def knowledge_snippets(text: str, language: str, limit: int = 2) -> list[str]:
    """The best published articles for the exchange, as short plain snippets (internal
    ones too: the inspector checks facts, nothing here goes to the customer)."""
    from appliance.services import assist_context, knowledge
    try:
        found = knowledge.relevant_articles(text, language or None, limit=limit,
                                            public_only=False)
    except Exception:   # no index yet, or it is being rebuilt: grade without it
        log.info("quality rubric without knowledge snippets", exc_info=True)
        return []
    return [mask_pii(f"{a.title}: {assist_context._plain(a.body)}")[:pq.SNIPPET_CHARS]
            for a in found]


def _store(inspection_id: int, state: str, *, rubric: dict | None = None, error: str = "",
           model_name: str = "", tried: bool = False) -> int:
    """Record the rubric's outcome and the total it gives; returns the tries so far."""
    with unit_of_work():
        ins = QualityInspection.get_by_id(inspection_id)
        ruleset = _ruleset(ins.ruleset_version)
        points = {f["key"]: f["points"] for f in ins.findings}
        scores = {k: v["score"] for k, v in rubric.items()} if rubric else None
        score, complete = quality_score.total(ruleset.rules.weights, points, scores)
        tries = ins.rubric_tries + (1 if tried else 0)
        (QualityInspection.update(
            rubric=rubric if rubric is not None else ins.rubric, rubric_state=state,
            rubric_error=error[:255], rubric_tries=tries,
            rubric_model=model_name[:128] or ins.rubric_model,
            prompt_version=pq.RUBRIC_VERSION if tried else ins.prompt_version,
            score=score, complete=complete, version=QualityInspection.version + 1)
         .where(QualityInspection.id == inspection_id).execute())
        if ins.adjusted:
            from appliance.services import quality_review
            quality_review.recompute_adjusted(inspection_id)
    return tries


def _ruleset(version: int) -> quality_score.QualitySettings:
    """The settings of the version that scored an inspection (the defaults for 0)."""
    from appliance.models import QualityRuleset
    row = QualityRuleset.get_or_none(QualityRuleset.version == version)
    if row is None:
        return quality_score.defaults()
    return quality_score.parse(row.config)[0]


def rescore_pending(limit: int = 200) -> int:
    """Schedule the rubric again for inspections whose tries ran out or were never run
    (after the model was installed, or AI turned on); returns how many. No command-line
    entry calls it yet (docs/decisions/0039)."""
    ids = [r for (r,) in QualityInspection.select(QualityInspection.id).where(
        QualityInspection.rubric_state.in_(("pending", "failed", "off")))
        .order_by(QualityInspection.id).limit(limit).tuples()]
    with unit_of_work():
        QualityInspection.update(rubric_state="pending", rubric_tries=0).where(
            QualityInspection.id.in_(ids)).execute()
        for i in ids:
            schedule(RUBRIC_JOB, i)
    return len(ids)
