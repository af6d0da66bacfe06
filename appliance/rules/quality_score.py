"""Quality inspection (docs/decisions/0039): the administrator's settings checked field by
field, and the total score of a reply from its rule findings and the model's rubric.

Total 0-100: each rule earns its weight when passed; each rubric dimension (1-5) earns
weight × (score − 1) / 4. The weights of the six rules and three rubric dimensions must
add up to 100. While the rubric is missing (model pending, failed or off) the total is
the rule points scaled to 100 and marked provisional.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from appliance.rules import safe_regex
from appliance.rules.quality_rules import (DEFAULT_WEIGHTS, LANGUAGES, RUBRIC_KEYS, RULE_KEYS,
                                           RuleConfig)

WORDS_MAX = 200          # entries per list
WORD_LEN = 50
RUBRIC_MIN, RUBRIC_MAX = 1, 5
DEFAULT_GREETINGS = {"zh": ("您好", "你好"), "en": ("hello", "hi", "dear", "good morning",
                                                   "good afternoon")}
DEFAULT_CLOSINGS = {"zh": ("祝您", "感谢", "谢谢", "还有其他问题", "随时联系"),
                    "en": ("regards", "thank you", "thanks", "let us know", "best wishes")}
DEFAULT_PROMISES = ("保证", "肯定赔", "一定赔", "全额退款", "guarantee", "full refund guaranteed")
DEFAULT_FORBIDDEN = ("不知道", "不归我管", "你自己看", "stupid", "not my problem")


@dataclass(frozen=True)
class Sampling:
    rate: float = 0.1     # share of scored replies drawn at random for review
    lowest: int = 5       # plus the N lowest-scored of each week


@dataclass(frozen=True)
class QualitySettings:
    enabled: bool = True
    rules: RuleConfig = field(default_factory=RuleConfig)
    business_time: bool = True     # response time in the department's business hours
    sampling: Sampling = field(default_factory=Sampling)
    departments: dict = field(default_factory=dict)   # department id -> Sampling

    def sampling_for(self, department_id: int | None) -> Sampling:
        return self.departments.get(department_id, self.sampling)


def defaults() -> QualitySettings:
    return QualitySettings(rules=RuleConfig(
        forbidden_words=DEFAULT_FORBIDDEN, promise_words=DEFAULT_PROMISES,
        greetings=dict(DEFAULT_GREETINGS), closings=dict(DEFAULT_CLOSINGS)))


# --- totals ------------------------------------------------------------------------------

def rubric_points(weights: dict, rubric: dict) -> float:
    return sum(float(weights.get(k, 0)) * (int(rubric[k]) - 1) / 4 for k in RUBRIC_KEYS
               if k in rubric)


def total(weights: dict, rule_points: dict, rubric: dict | None) -> tuple[float, bool]:
    """(score 0-100 rounded to 0.1, complete). `rule_points`: key -> points earned;
    `rubric`: dimension -> 1..5, or None while the model has not scored it."""
    earned = sum(rule_points.values())
    if rubric and all(k in rubric for k in RUBRIC_KEYS):
        return round(min(earned + rubric_points(weights, rubric), 100.0), 1), True
    rule_max = sum(float(weights.get(k, 0)) for k in RULE_KEYS)
    return (round(earned * 100 / rule_max, 1) if rule_max else 0.0), False


# --- the settings form -------------------------------------------------------------------

def _list(value, name: str, errors: dict) -> tuple[str, ...]:
    """One entry per line (or a list); blanks dropped, duplicates once."""
    items = value.splitlines() if isinstance(value, str) else list(value or ())
    out = []
    for item in items:
        item = str(item).strip()
        if item and item not in out:
            out.append(item)
    if len(out) > WORDS_MAX:
        errors[name] = f"at most {WORDS_MAX} entries"
    elif any(len(w) > WORD_LEN for w in out):
        errors[name] = f"each entry at most {WORD_LEN} characters"
    return tuple(out)


def _patterns(value, name: str, errors: dict) -> tuple[str, ...]:
    out = _list(value, name, errors)
    for p in out:
        problem = safe_regex.pattern_problem(p)
        if problem is not None:
            errors[name] = f"pattern {p!r} refused: {problem[0]}"
            break
    return out


def _number(value, name: str, errors: dict, lo: float, hi: float, integer: bool = False):
    try:
        n = int(str(value).strip()) if integer else float(str(value).strip())
    except (TypeError, ValueError):
        errors[name] = f"must be a number from {lo:g} to {hi:g}"
        return lo
    if not lo <= n <= hi:
        errors[name] = f"must be a number from {lo:g} to {hi:g}"
    return n


def _weights(value, errors: dict) -> dict:
    value = value or {}
    out = {}
    for k in RULE_KEYS + RUBRIC_KEYS:
        out[k] = _number(value.get(k, DEFAULT_WEIGHTS[k]), f"weights.{k}", errors, 0, 100)
    if not any(k.startswith("weights.") for k in errors) and abs(sum(out.values()) - 100) > 1e-6:
        errors["weights"] = f"must add up to 100 (they add up to {sum(out.values()):g})"
    return out


def _sampling(value, prefix: str, errors: dict) -> Sampling:
    value = value or {}
    return Sampling(_number(value.get("rate", 0.1), f"{prefix}.rate", errors, 0, 1),
                    _number(value.get("lowest", 5), f"{prefix}.lowest", errors, 0, 100, True))


def parse(data: dict) -> tuple[QualitySettings, dict]:
    """Settings from a plain dict (the stored JSON, a form, the API); (settings, errors)
    where errors names every bad field."""
    errors: dict = {}
    greetings = {lang: _list((data.get("greetings") or {}).get(lang, ()), f"greetings.{lang}",
                             errors) for lang in LANGUAGES}
    closings = {lang: _list((data.get("closings") or {}).get(lang, ()), f"closings.{lang}",
                            errors) for lang in LANGUAGES}
    rules = RuleConfig(
        forbidden_words=_list(data.get("forbidden_words"), "forbidden_words", errors),
        forbidden_patterns=_patterns(data.get("forbidden_patterns"), "forbidden_patterns", errors),
        promise_words=_list(data.get("promise_words"), "promise_words", errors),
        promise_patterns=_patterns(data.get("promise_patterns"), "promise_patterns", errors),
        greetings=greetings, closings=closings,
        response_minutes=_number(data.get("response_minutes", 60), "response_minutes", errors,
                                 1, 100_000, True),
        weights=_weights(data.get("weights"), errors))
    departments = {}
    for key, value in (data.get("departments") or {}).items():
        try:
            dept = int(key)
        except (TypeError, ValueError):
            errors["departments"] = f"unknown department {key!r}"
            continue
        departments[dept] = _sampling(value, f"departments.{dept}", errors)
    return QualitySettings(bool(data.get("enabled", True)), rules,
                           bool(data.get("business_time", True)),
                           _sampling(data.get("sampling"), "sampling", errors),
                           departments), errors


def to_json(s: QualitySettings) -> dict:
    r = s.rules
    return {"enabled": s.enabled, "business_time": s.business_time,
            "forbidden_words": list(r.forbidden_words),
            "forbidden_patterns": list(r.forbidden_patterns),
            "promise_words": list(r.promise_words), "promise_patterns": list(r.promise_patterns),
            "greetings": {k: list(v) for k, v in r.greetings.items()},
            "closings": {k: list(v) for k, v in r.closings.items()},
            "response_minutes": r.response_minutes, "weights": dict(r.weights),
            "sampling": {"rate": s.sampling.rate, "lowest": s.sampling.lowest},
            "departments": {str(k): {"rate": v.rate, "lowest": v.lowest}
                            for k, v in s.departments.items()}}
