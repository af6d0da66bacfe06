"""Administration of AI triage: label profiles (cold start), priority rules, classifier
versions (list, activate = roll back, train) and a cheap status for the web.

Everything here is for administrators only (the ai.admin permission, rules.access). The seed
functions create sensible defaults and are safe to run again.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import peewee as pw

from appliance import registry
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import (Category, ClassifierVersion, Department, Job, LabelProfile,
                              Ticket, TriageRule, utcnow)
from appliance.rules import states
from appliance.rules.access import Actor
from appliance.services import ai_training as training
from appliance.services import common
from appliance.settings import Settings

CONDITIONS = ("keywords", "vip_customer", "repeat_contact", "negative_sentiment")
MAX_EXAMPLES = 5


def _require_admin(actor: Actor) -> None:
    if not actor.can("ai.admin"):
        raise PermissionDenied("administrators only")


# --- label profiles ------------------------------------------------------------------------

@dataclass(frozen=True)
class LabelProfileView:
    id: int
    field: str
    value: str
    label: str          # department name, category path, "P2", "high"
    description: str
    examples: list[str]
    active: bool
    updated_at: dt.datetime


def _profile_view(p: LabelProfile, names: dict) -> LabelProfileView:
    return LabelProfileView(p.id, p.field, p.value, names.get(p.value, f"#{p.value} (gone)"),
                            p.description, list(p.examples or []), p.active, p.updated_at)


def list_label_profiles(actor: Actor, field: str | None = None) -> list[LabelProfileView]:
    _require_admin(actor)
    q = LabelProfile.select().order_by(LabelProfile.field, LabelProfile.value)
    if field:
        q = q.where(LabelProfile.field == field)
    names = {f: training.labels(f) for f in training.FIELDS}
    return [_profile_view(p, names.get(p.field, {})) for p in q]


def save_label_profile(actor: Actor, field: str, value: str, description: str = "",
                       examples=(), active: bool = True,
                       profile_id: int | None = None) -> LabelProfileView:
    """Create or update what one label means; (field, value) is unique."""
    _require_admin(actor)
    if field not in training.FIELDS:
        raise ValidationError({"field": "must be one of " + ", ".join(training.FIELDS)})
    names = training.labels(field)
    value = str(value or "").strip()
    if value not in names:
        raise ValidationError({"value": "not a current label of this field"})
    description = common.clean_text(description, "description", max_len=1000)
    if isinstance(examples, str):
        examples = [line for line in examples.splitlines()]
    examples = [common.clean_text(x, "examples", max_len=500) for x in examples]
    examples = [x for x in examples if x]
    if len(examples) > MAX_EXAMPLES:
        raise ValidationError({"examples": f"at most {MAX_EXAMPLES} examples"})
    values = dict(field=field, value=value, description=description, examples=examples,
                  active=bool(active), updated_at=utcnow())
    with unit_of_work():
        clash = LabelProfile.select().where((LabelProfile.field == field)
                                            & (LabelProfile.value == value))
        if profile_id:
            clash = clash.where(LabelProfile.id != profile_id)
        if clash.exists():
            raise ValidationError({"value": "this label already has a profile"})
        if profile_id:
            if not LabelProfile.update(**values).where(LabelProfile.id == profile_id).execute():
                raise NotFound("label profile not found", id=profile_id)
            p = LabelProfile.get_by_id(profile_id)
        else:
            p = LabelProfile.create(**values)
    return _profile_view(p, names)


def delete_label_profile(actor: Actor, profile_id: int) -> None:
    _require_admin(actor)
    with unit_of_work():
        if not LabelProfile.delete().where(LabelProfile.id == profile_id).execute():
            raise NotFound("label profile not found", id=profile_id)


# --- priority rules ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TriageRuleView:
    id: int
    name: str
    condition: str
    keywords: list[str]
    threshold: int
    priority: int | None
    urgency: str | None
    active: bool
    position: int


def _rule_view(r: TriageRule) -> TriageRuleView:
    return TriageRuleView(r.id, r.name, r.condition, list(r.keywords or []), r.threshold,
                          r.priority, r.urgency, r.active, r.position)


def list_triage_rules(actor: Actor) -> list[TriageRuleView]:
    _require_admin(actor)
    return [_rule_view(r) for r in TriageRule.select().order_by(TriageRule.position, TriageRule.id)]


def _clean_rule(name, condition, keywords, threshold, priority, urgency) -> dict:
    errors = {}
    name = common.clean_text(name, "name", required=True, max_len=100, single_line=True)
    if condition not in CONDITIONS:
        errors["condition"] = "must be one of " + ", ".join(CONDITIONS)
    if isinstance(keywords, str):
        keywords = keywords.replace("，", ",").replace("\n", ",").split(",")
    # A keyword may be an expression: "a|b+c" means (a or b) and c (rules.priority).
    keywords = sorted({common.clean_text(k, "keywords", max_len=500, single_line=True).lower()
                       for k in (keywords or [])} - {""})
    if condition == "keywords" and not keywords:
        errors["keywords"] = "required for a keyword rule"
    if len(keywords) > 100:
        errors["keywords"] = "at most 100 keywords"
    try:
        threshold = int(threshold or 0)
    except (TypeError, ValueError):
        errors["threshold"] = "must be a whole number"
        threshold = 0
    if condition == "negative_sentiment" and not 0 <= threshold <= 100:
        errors["threshold"] = "a sentiment threshold is 0 to 100 (how negative, in %)"
    if condition == "repeat_contact" and threshold < 1:
        errors["threshold"] = "contacts within 7 days: at least 1"
    priority = None if priority in (None, "") else priority
    if priority is not None:
        try:
            priority = int(str(priority).upper().lstrip("P"))
        except ValueError:
            priority = -1
        if priority not in states.PRIORITIES:
            errors["priority"] = "must be 1, 2, 3 or 4 (P1 is most urgent)"
    urgency = urgency or None
    if urgency is not None and urgency not in states.URGENCIES:
        errors["urgency"] = "must be " + ", ".join(states.URGENCIES)
    if priority is None and urgency is None:
        errors["priority"] = "a rule sets a priority, an urgency or both"
    if errors:
        raise ValidationError(errors)
    return dict(name=name, condition=condition, keywords=keywords, threshold=threshold,
                priority=priority, urgency=urgency)


def save_triage_rule(actor: Actor, name: str, condition: str, keywords=(), threshold: int = 0,
                     priority=None, urgency=None, active: bool = True, position: int = 0,
                     rule_id: int | None = None) -> TriageRuleView:
    _require_admin(actor)
    values = _clean_rule(name, condition, keywords, threshold, priority, urgency)
    values.update(active=bool(active), position=int(position or 0), updated_at=utcnow())
    with unit_of_work():
        if rule_id:
            if not TriageRule.update(**values).where(TriageRule.id == rule_id).execute():
                raise NotFound("rule not found", id=rule_id)
            r = TriageRule.get_by_id(rule_id)
        else:
            r = TriageRule.create(**values)
    return _rule_view(r)


def delete_triage_rule(actor: Actor, rule_id: int) -> None:
    _require_admin(actor)
    with unit_of_work():
        if not TriageRule.delete().where(TriageRule.id == rule_id).execute():
            raise NotFound("rule not found", id=rule_id)


def seed_default_rules() -> int:
    """Create rows for the built-in rules (rules.priority.DEFAULT_RULES) when there are
    none (idempotent); returns how many. Until then triage uses the built-in rules."""
    from appliance.rules.priority import DEFAULT_RULES
    with unit_of_work():
        if TriageRule.select().exists():
            return 0
        for position, r in enumerate(DEFAULT_RULES):
            TriageRule.create(name=r.name, condition=r.condition, keywords=list(r.keywords),
                              threshold=r.threshold, priority=r.priority, urgency=r.urgency,
                              position=position * 10)
    return len(DEFAULT_RULES)


_LEVELS = {
    "priority": {"1": "P1: safety risk, outage for many, security incident, legal threat",
                 "2": "P2: a customer blocked or losing money, VIP, repeated contact",
                 "3": "P3: a normal problem or request",
                 "4": "P4: a question, feedback or a request for information"},
    "urgency": {"high": "needs an answer within hours: blocked, angry, deadline today",
                "medium": "a normal request",
                "low": "whenever convenient: information, suggestions, thanks"},
}


def seed_profiles_from_org() -> int:
    """Label profile stubs from department and category names (and standard texts for
    priority and urgency) for labels that have none yet; returns how many were made."""
    made = 0
    with unit_of_work():
        have = {(p.field, p.value) for p in LabelProfile.select(LabelProfile.field,
                                                                 LabelProfile.value)}
        stubs = [("department", str(d.id), " / ".join(x for x in (d.name, d.name_en) if x))
                 for d in Department.select().where(Department.active == True)]  # noqa: E712
        stubs += [("category", str(c.id), c.path)
                  for c in Category.select().where(Category.active == True)]  # noqa: E712
        stubs += [(f, v, text) for f, texts in _LEVELS.items() for v, text in texts.items()]
        for field, value, description in stubs:
            if (field, value) not in have:
                LabelProfile.create(field=field, value=value, description=description[:1000])
                made += 1
    return made


# --- classifier versions ---------------------------------------------------------------------

@dataclass(frozen=True)
class ClassifierVersionView:
    id: int
    field: str
    version: int
    kind: str            # learned | cold
    n_examples: int
    metrics: dict        # accuracy, macro_f1, coverage/accuracy at threshold, ...
    active: bool
    created_at: dt.datetime
    sha256: str


def _version_view(r: ClassifierVersion) -> ClassifierVersionView:
    metrics = {k: v for k, v in (r.metrics or {}).items() if k != "dataset"}
    return ClassifierVersionView(r.id, r.field, r.version, r.kind, r.n_examples, metrics,
                                 r.active, r.created_at, r.sha256)


def list_classifier_versions(actor: Actor, field: str | None = None) -> list[ClassifierVersionView]:
    _require_admin(actor)
    q = (ClassifierVersion.select(*training._LIGHT)
         .order_by(ClassifierVersion.field, ClassifierVersion.version.desc()))
    if field:
        q = q.where(ClassifierVersion.field == field)
    return [_version_view(r) for r in q]


def activate_classifier_version(actor: Actor, field: str,
                                version: int | None = None) -> ClassifierVersionView:
    """Roll back (or forward): `version`, or the one before the active version."""
    _require_admin(actor)
    return _version_view(training.rollback(field, version))


def schedule_training(actor: Actor) -> int:
    """Queue a training run of every field for the worker; returns the job id."""
    _require_admin(actor)
    return training.schedule_training(force=True)


# --- status ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AiStatus:
    enabled: bool
    model_available: bool
    model_name: str
    model_sha256: str
    model_reason: str            # why the model is unavailable
    classifiers: dict            # field -> "learned:3" | "cold:1" | "" (none)
    pending_triage: int          # tickets waiting for the fast path
    review_queue: int            # tickets waiting for a person
    pending_jobs: dict           # job name -> unfinished count (triage, enrich, training)
    last_trained_at: dt.datetime | None


def ai_status(settings: Settings) -> AiStatus:
    """Cheap enough for a web page: no model loading, a few counts."""
    try:
        info = registry.model_status(settings)
        model = (bool(info.available), info.name, info.sha256, info.reason)
    except Exception as exc:  # a broken registry must not break the page
        model = (False, settings.model_name, "", f"model status failed: {exc}"[:200])
    active = {r.field: f"{r.kind}:{r.version}" for r in ClassifierVersion.select(
        ClassifierVersion.field, ClassifierVersion.kind, ClassifierVersion.version)
        .where(ClassifierVersion.active == True)}  # noqa: E712
    names = ("triage_ticket", "enrich_ticket", training.TRAIN_JOB)
    pending = {n: 0 for n in names}
    for row in (Job.select(Job.name, pw.fn.COUNT(Job.id).alias("n"))
                .where(Job.name.in_(names) & Job.done_at.is_null()).group_by(Job.name)):
        pending[row.name] = row.n
    counts = {s: Ticket.select().where(Ticket.triage_state == s).count()
              for s in ("pending", "review")}
    return AiStatus(settings.ai_enabled, *model,
                    {f: active.get(f, "") for f in training.FIELDS}, counts["pending"],
                    counts["review"], pending,
                    ClassifierVersion.select(pw.fn.MAX(ClassifierVersion.created_at)).scalar())
