"""Quality inspection rules (质检, docs/decisions/0039): pure checks of one agent reply.

Input: the reply text, its language (zh | en), the time since the customer's previous
message (business or wall time, worked out by the caller) and the administrator's
`RuleConfig`. Output: one `Finding` per rule, passed or failed, with the points it earns
and the evidence that decided it. Evidence is masked before it is returned: a finding
never carries a full ID or bank-card number (it is stored and shown to supervisors).

Chinese text comes in many spellings of the same word: full-width letters and digits,
ideographic spaces, a space typed between characters ("保 证"). Words are therefore
matched on a folded text (NFKC, case-folded, and for Chinese words with spacing removed);
Latin words match whole words only ("ass" is not in "class").
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from appliance.rules import id_numbers, safe_regex
from appliance.rules.pii import FULLWIDTH_TO_ASCII

RULE_KEYS = ("forbidden_words", "forbidden_promises", "greeting", "closing",
             "response_time", "pii_disclosure")
RUBRIC_KEYS = ("empathy", "correctness", "resolution")
LANGUAGES = ("zh", "en")
# The rubric weighs little by default: the bundled 0.5B model gives one overall score
# and misranked 1 of 4 labelled pairs (decision 0039); a larger model earns more weight.
DEFAULT_WEIGHTS = {"forbidden_words": 15, "forbidden_promises": 15, "greeting": 10,
                   "closing": 10, "response_time": 15, "pii_disclosure": 20,
                   "empathy": 5, "correctness": 5, "resolution": 5}
EVIDENCE_MAX = 40
GREETING_SPAN = 40     # a greeting counts within the first characters of the reply
CLOSING_SPAN = 60      # a closing within the last ones
_SPACES = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Digits with optional single spaces or dashes between them, full-width folded first.
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9](?:[ -]?[0-9]){14,22}[Xx]?(?![0-9A-Za-z])")


@dataclass(frozen=True)
class RuleConfig:
    forbidden_words: tuple[str, ...] = ()
    forbidden_patterns: tuple[str, ...] = ()     # safe regexes (rules.safe_regex)
    promise_words: tuple[str, ...] = ()
    promise_patterns: tuple[str, ...] = ()
    greetings: dict = field(default_factory=dict)   # language -> tuple of phrases
    closings: dict = field(default_factory=dict)
    response_minutes: int = 60                  # longest acceptable wait
    weights: dict = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))


@dataclass(frozen=True)
class Finding:
    key: str
    passed: bool
    points: float
    max_points: float
    code: str            # why, as a short code the UI translates (see REASONS)
    evidence: str = ""   # what matched, masked; never a full ID or card number

    def to_json(self) -> dict:
        return {"key": self.key, "passed": self.passed, "points": self.points,
                "max_points": self.max_points, "code": self.code, "evidence": self.evidence}


# English reasons (the stored `reason`; the web UI shows its own translated words).
REASONS = {
    "clean": "no forbidden word found",
    "forbidden_word": "forbidden word used: {evidence}",
    "no_promise": "no forbidden promise found",
    "forbidden_promise": "forbidden promise made: {evidence}",
    "greeting_found": "greeting found: {evidence}",
    "greeting_missing": "no greeting at the start of the reply",
    "closing_found": "closing found: {evidence}",
    "closing_missing": "no closing at the end of the reply",
    "not_configured": "no phrases configured for this language",
    "in_time": "answered within {evidence}",
    "too_slow": "answered after {evidence}",
    "no_customer_message": "no earlier customer message to answer",
    "no_pii": "no full ID or bank-card number in the reply",
    "id_number": "full resident ID number disclosed: {evidence}",
    "card_number": "full bank-card number disclosed: {evidence}",
}


def reason(f: Finding) -> str:
    return REASONS.get(f.code, f.code).format(evidence=f.evidence)


# --- folding ---------------------------------------------------------------------------

def fold(text: str) -> str:
    """NFKC (full-width → half-width), case-folded, runs of white space as one space."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _SPACES.sub(" ", text).strip()


def _squeezed(text: str) -> str:
    return _SPACES.sub("", text)


def word_in(word: str, folded: str) -> bool:
    """Whether `word` occurs in the folded text: Chinese words ignoring spaces, Latin
    words as whole words (their inner spaces as any white space)."""
    w = fold(word)
    if not w:
        return False
    if _CJK.search(w):
        return _squeezed(w) in _squeezed(folded)
    body = r"\s*".join(re.escape(part) for part in w.split(" "))
    return re.search(rf"(?<!\w){body}(?!\w)", folded) is not None


def _first_word(words, folded: str) -> str:
    return next((w for w in words if word_in(w, folded)), "")


def _first_pattern(patterns, text: str) -> str:
    """The first match of a checked pattern, as masked evidence. Patterns run on slices
    of at most safe_regex.MAX_INPUT characters (their worst case is bounded for that
    length), overlapping so a match across a cut is still found."""
    step = safe_regex.MAX_INPUT // 2
    for p in patterns:
        if safe_regex.pattern_problem(p) is not None:
            continue     # refused on save; a stored bad one is skipped, not run
        compiled = re.compile(p, re.IGNORECASE)
        for start in range(0, max(len(text), 1), step):
            m = compiled.search(text[start:start + safe_regex.MAX_INPUT])
            if m:
                return mask_evidence(m.group(0))
    return ""


def mask_evidence(text: str) -> str:
    """Evidence fit to store: numbers of 15+ digits masked, cut to EVIDENCE_MAX."""
    from appliance.rules.pii import mask_pii
    masked = _DIGIT_RUN.sub(lambda m: _mask_digits(m.group(0)),
                            mask_pii(text).translate(FULLWIDTH_TO_ASCII))
    return masked[:EVIDENCE_MAX]


def _mask_digits(run: str) -> str:
    digits = re.sub(r"[ -]", "", run)
    return digits[:4] + "*" * max(len(digits) - 6, 1) + digits[-2:]


# --- PII ---------------------------------------------------------------------------------

def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def disclosed_numbers(text: str) -> list[tuple[str, str]]:
    """(kind, masked) for each full resident ID (valid check digit) or bank card (16-19
    digits, valid Luhn) in the text; masked forms such as 110105********2X do not count."""
    folded = (text or "").translate(FULLWIDTH_TO_ASCII)
    found = []
    for m in _DIGIT_RUN.finditer(folded):
        value = re.sub(r"[ -]", "", m.group(0)).upper()
        if len(value) == 18 and id_numbers.normalise(value) == value:
            found.append(("id_number", id_numbers.mask(value)))
        elif value.isdigit() and 16 <= len(value) <= 19 and luhn_ok(value):
            found.append(("card_number", value[:4] + "*" * (len(value) - 8) + value[-4:]))
    return found


# --- the rules ---------------------------------------------------------------------------

def _finding(cfg: RuleConfig, key: str, passed: bool, code: str, evidence: str = "") -> Finding:
    weight = float(cfg.weights.get(key, 0))
    return Finding(key, passed, weight if passed else 0.0, weight, code, evidence)


def check_forbidden_words(text: str, folded: str, cfg: RuleConfig) -> Finding:
    hit = _first_word(cfg.forbidden_words, folded) or _first_pattern(cfg.forbidden_patterns, text)
    return _finding(cfg, "forbidden_words", not hit, "forbidden_word" if hit else "clean",
                    mask_evidence(hit))


def check_promises(text: str, folded: str, cfg: RuleConfig) -> Finding:
    hit = _first_word(cfg.promise_words, folded) or _first_pattern(cfg.promise_patterns, text)
    return _finding(cfg, "forbidden_promises", not hit,
                    "forbidden_promise" if hit else "no_promise", mask_evidence(hit))


def check_phrase(key: str, folded: str, phrases, at_start: bool, cfg: RuleConfig) -> Finding:
    if not phrases:
        return _finding(cfg, key, True, "not_configured")
    part = folded[:GREETING_SPAN] if at_start else folded[-CLOSING_SPAN:]
    hit = _first_word(phrases, part)
    word = "greeting" if key == "greeting" else "closing"
    return _finding(cfg, key, bool(hit), f"{word}_found" if hit else f"{word}_missing", hit)


def check_response_time(waited: dt.timedelta | None, cfg: RuleConfig) -> Finding:
    if waited is None:
        return _finding(cfg, "response_time", True, "no_customer_message")
    minutes = max(int(waited.total_seconds() // 60), 0)
    ok = minutes <= cfg.response_minutes
    return _finding(cfg, "response_time", ok, "in_time" if ok else "too_slow", f"{minutes} min")


def check_pii(text: str, cfg: RuleConfig) -> Finding:
    found = disclosed_numbers(text)
    if not found:
        return _finding(cfg, "pii_disclosure", True, "no_pii")
    kind, masked = found[0]
    return _finding(cfg, "pii_disclosure", False, kind, masked)


def check_reply(text: str, language: str, waited: dt.timedelta | None,
                cfg: RuleConfig) -> list[Finding]:
    """Every rule on one reply, in RULE_KEYS order."""
    folded = fold(text)
    lang = language if language in LANGUAGES else "zh"
    return [check_forbidden_words(text, folded, cfg), check_promises(text, folded, cfg),
            check_phrase("greeting", folded, cfg.greetings.get(lang, ()), True, cfg),
            check_phrase("closing", folded, cfg.closings.get(lang, ()), False, cfg),
            check_response_time(waited, cfg), check_pii(text, cfg)]
