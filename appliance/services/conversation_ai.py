"""The AI step of chat and call intake (issue 5): does the conversation need a ticket, and
what does it say (subject, problem, identifiers, product, urgency).
See docs/decisions/0015-conversation-extraction.md.

- Identifiers (phones, e-mails, order numbers, addresses) are always extracted by rules
  (appliance.rules.conversation_extract): the small local models copy digits badly.
- The decision comes from cue rules (appliance.rules.conversation_cues). The local model
  writes the one-line subject with a short JSON-schema-constrained prompt
  (appliance.prompts_conversation), kept only when it is grounded in what the customer
  said. It may also decide where the rules are unsure (MODEL_DECIDES), but measured on
  the labelled set the default 0.5B model got the decision right less often than always
  answering "no ticket", so that is off (docs/decisions/0015).
- Without a usable model (AI off, not the worker, file missing or refused, timeout,
  invalid output twice) everything comes from the rules and `method` is "rules".
  ModelBusy (an agent's draft has the model) propagates, as for enrichment: the job
  lane gives the attempt back and runs it again shortly (appliance.tasks).
"""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field

from appliance import prompts_conversation as cp
from appliance import registry
from appliance.ports import ModelTimeout, ModelUnavailable
from appliance.rules import conversation_cues as cues
from appliance.rules.conversation_extract import Turn, extract_identifiers
from appliance.rules.language import detect_language

log = logging.getLogger(__name__)

MODEL_DECIDES = False     # the model decides where the rules are unsure (off: measured worse)
RULES_SURE = 0.8          # rule confidence from which the model is not asked to decide
MODEL_CONFIDENCE = 0.6    # the model's decision is uncalibrated: a person should glance at it
MODEL_TIMEOUT_S = 20.0    # per call, capped by llm_timeout_seconds
PROMPT_TOKENS = 700       # transcript tokens given to the model (head and tail kept)
MAX_MESSAGES = 400        # a runaway transcript is judged by its first messages
MAX_MESSAGE_CHARS = 4000


@dataclass(frozen=True)
class Extraction:
    needs_ticket: bool
    confidence: float                 # 0..1, of the decision
    reason: str                       # short English code or phrase, e.g. "customer_confirmed"
    subject: str
    description: str
    language: str = ""                # zh | en | ...
    product: str = ""
    urgency: str = "medium"           # low | medium | high
    phones: tuple[str, ...] = field(default_factory=tuple)
    emails: tuple[str, ...] = field(default_factory=tuple)
    order_numbers: tuple[str, ...] = field(default_factory=tuple)
    addresses: tuple[str, ...] = field(default_factory=tuple)
    method: str = "rules"             # rules | rules+model (model wrote the subject) | model (decided)

    def to_json(self) -> dict:
        out = asdict(self)
        for k in ("phones", "emails", "order_numbers", "addresses"):
            out[k] = list(out[k])
        return out


def analyse(channel: str, messages: list[dict], settings, *, model=None) -> Extraction:
    """`messages`: [{"speaker": "customer" | "agent" | "bot" | "system", "text": str,
    "at": iso str or ""}] in order. `model` (a ports.TextModel) is for tests and the
    benchmark; by default the configured model is used where it may be (see _model)."""
    turns = _turns(messages)
    ids = extract_identifiers(turns, tuple(getattr(settings, "intake_order_patterns", ())))
    said = "\n".join(t.text for t in turns if t.speaker == "customer")
    others = "\n".join(t.text for t in turns if t.speaker in ("agent", "bot"))
    base = dict(description=cues.description(turns), language=detect_language(said or others),
                product=cues.product(said), urgency=cues.urgency(said, others),
                phones=ids.phones, emails=ids.emails, order_numbers=ids.order_numbers,
                addresses=ids.addresses)
    if not said.strip():
        # No customer words (ASR failed, empty chat): a person decides what it was.
        return Extraction(True, 0.0, "no_customer_text", channel, **base)
    decision = cues.decide(turns)
    subject = cues.subject(turns) or base["description"].split("\n")[0][:cp.SUBJECT_MAX]
    reply = _ask(model if model is not None else _model(settings), turns, settings)
    if reply is None:
        return Extraction(decision.needs_ticket, decision.confidence, decision.reason,
                          subject, **base)
    needs, model_subject = reply
    if model_subject and _grounded(model_subject, said):
        subject = model_subject
    if MODEL_DECIDES and decision.confidence < RULES_SURE:
        return Extraction(needs, MODEL_CONFIDENCE,
                          f"model: {'follow_up' if needs else 'resolved'} "
                          f"(rules: {decision.reason})", subject, method="model", **base)
    return Extraction(decision.needs_ticket, decision.confidence, decision.reason, subject,
                      method="rules+model", **base)


_STOP = frozenset("the and for with what how why when where this that your you are was "
                  "have has not can does about from customer issue problem request".split())


def _grounded(subject: str, said: str) -> bool:
    """The model's subject names things the customer said: half of its English content
    words, or a Chinese word pair, occur in the customer's text (the 0.5B model sometimes
    turns a transcript into an unrelated question: "What is the current version of the app?")."""
    said = said.lower()
    words = [w for w in re.findall(r"[a-z][a-z']{2,}", subject.lower()) if w not in _STOP]
    if words and sum(w in said for w in words) * 2 < len(words):
        return False
    cjk = re.findall(r"[\u4e00-\u9fff]+", subject)
    pairs = [run[i:i + 2] for run in cjk for i in range(len(run) - 1)]
    return not pairs or any(p in said for p in pairs)


def _turns(messages: list[dict]) -> list[Turn]:
    out = []
    for m in (messages or [])[:MAX_MESSAGES]:
        if not isinstance(m, dict):
            continue
        speaker = str(m.get("speaker") or "").strip().lower()
        text = m.get("text")
        if speaker in ("customer", "agent", "bot", "system") and isinstance(text, str):
            out.append(Turn(speaker, text[:MAX_MESSAGE_CHARS]))
    return out


def _model(settings):
    """The configured model, only in the worker (as AI triage: web processes and tests
    running jobs inline never load it) and only when it is usable now."""
    from appliance.services import triage
    if not getattr(settings, "ai_enabled", False) or not triage._llm_here:
        return None
    return registry.text_model(settings)


def _ask(model, turns: list[Turn], settings) -> tuple[bool, str] | None:
    """(needs_ticket, subject) from the model, or None when it cannot answer (ModelBusy
    propagates: try again later)."""
    if model is None:
        return None
    try:
        if not model.info().available:
            return None
        text = cp.transcript(turns)
        fit = getattr(model, "fit_text", None)
        user = cp.data_block(fit(text, PROMPT_TOKENS) if fit else text[:PROMPT_TOKENS * 2])
        timeout = min(MODEL_TIMEOUT_S, float(getattr(settings, "llm_timeout_seconds", 60)))
        for attempt in range(2):   # invalid output is retried once, as in triage
            try:
                raw = model.complete_json(cp.SYSTEM, user, cp.SCHEMA, max_tokens=60,
                                          timeout_s=timeout, interactive=False)
                return cp.parse_reply(raw)
            except ValueError:
                if attempt:
                    raise
    except (ModelUnavailable, ModelTimeout, ValueError) as exc:
        # The rules answer instead; the message may quote model output, so no text here.
        log.info("conversation analysis without the model: %s", type(exc).__name__)
    return None
