"""Triage classifiers: what they learn from, their versions, and loading them.

Owns ClassifierVersion rows. One classifier per routing field (department, category,
priority, urgency) is trained from resolved and closed tickets: the text is subject
plus description, the label is the field as agents finally left it, and a ticket on
which a person changed a value AI triage had applied weighs CORRECTION_WEIGHT times
more. A field with fewer than `ai_min_examples` such tickets gets a cold-start
classifier built from the admin's LabelProfile rows instead. Each build is a new
version, activated at once; older versions stay (KEEP_VERSIONS) for rollback.

The fast path asks `active_classifiers()`; loaded classifiers are cached per process,
keyed by (field, version id), so every worker follows the active row in the database.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field as dc_field

import peewee as pw

from appliance import jobs, registry
from appliance.errors import NotFound, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.models import (Category, ClassifierVersion, Department, Job, LabelProfile,
                              Ticket, TimelineEvent, utcnow)
from appliance.ports import LabelProfileSpec
from appliance.rules import states
from appliance.settings import Settings

log = logging.getLogger(__name__)

FIELDS = ("department", "category", "priority", "urgency")
# How the timeline names each field (as tickets.update_ticket records it).
COLUMNS = {"department": "department_id", "category": "category_id",
           "priority": "priority", "urgency": "urgency"}
CORRECTION_WEIGHT = 3.0
MAX_EXAMPLES = 20_000      # the most recent resolved tickets; older ones add little
MAX_TEXT = 2000            # characters of a ticket the classifier sees
KEEP_VERSIONS = 5          # per field, newest first; the rest are deleted
HOLDOUT_MIN = 50           # below this, every example is needed for training
RESOLVED = ("resolved", "closed")
TRAIN_JOB = "train_classifiers"


def labels(field: str) -> dict[str, str]:
    """The labels a field may take now (label -> display name); nothing else is applied."""
    if field == "department":
        return {str(d.id): d.name for d in Department.select(Department.id, Department.name)
                .where(Department.active == True)}  # noqa: E712
    if field == "category":
        return {str(c.id): c.path for c in Category.select(Category.id, Category.path)
                .where(Category.active == True)}  # noqa: E712
    if field == "priority":
        return {str(p): f"P{p}" for p in states.PRIORITIES}
    if field == "urgency":
        return {u: u for u in states.URGENCIES}
    raise ValidationError({"field": "must be one of " + ", ".join(FIELDS)})


def label_of(field: str, t: Ticket) -> str | None:
    value = getattr(t, COLUMNS[field])
    return None if value is None else str(value)


def ticket_text(subject: str, description: str, limit: int = MAX_TEXT) -> str:
    """What a classifier reads: subject and description, cut to `limit` characters."""
    return f"{subject or ''}\n{description or ''}".strip()[:limit]


# --- datasets ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Example:
    ticket_id: int
    text: str
    label: str
    weight: float


def corrections() -> set[tuple[int, str]]:
    """(ticket id, timeline field) where a person changed or undid a value AI had applied."""
    human, ai = TimelineEvent.alias(), TimelineEvent.alias()
    q = (human.select(human.ticket, human.field).distinct()
         .join(ai, on=((ai.ticket == human.ticket) & (ai.field == human.field)
                       & (ai.kind == "ai_triage") & (ai.id < human.id)))
         .join(Ticket, on=(Ticket.id == human.ticket))
         .where(human.kind.in_(("field_changed", "assigned", "ai_triage_undone"))
                & human.actor.is_null(False) & Ticket.status.in_(RESOLVED)
                & human.field.in_(list(COLUMNS.values()))))
    return {(r.ticket_id, r.field) for r in q}


def dataset(field: str, corrected: set[tuple[int, str]] | None = None) -> list[Example]:
    """Training examples for one field, newest first."""
    valid = labels(field)
    corrected = corrections() if corrected is None else corrected
    column = getattr(Ticket, COLUMNS[field])
    rows = (Ticket.select(Ticket.id, Ticket.subject, Ticket.description, column)
            .where(Ticket.status.in_(RESOLVED) & Ticket.merged_into.is_null() & column.is_null(False))
            .order_by(Ticket.id.desc()).limit(MAX_EXAMPLES))
    out = []
    for t in rows:
        label = label_of(field, t)
        if label in valid:
            weight = CORRECTION_WEIGHT if (t.id, COLUMNS[field]) in corrected else 1.0
            out.append(Example(t.id, ticket_text(t.subject, t.description), label, weight))
    return out


def profiles(field: str) -> list[LabelProfileSpec]:
    """Cold-start specs from the active label profiles of still-valid labels."""
    names = labels(field)
    q = (LabelProfile.select().where((LabelProfile.field == field)
                                     & (LabelProfile.active == True))  # noqa: E712
         .order_by(LabelProfile.value))
    return [LabelProfileSpec(label=p.value, name=names[p.value], description=p.description or "",
                             examples=tuple(str(x)[:500] for x in (p.examples or [])[:5]))
            for p in q if p.value in names]


# --- training -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainResult:
    field: str
    version: int | None
    kind: str
    n_examples: int
    metrics: dict = dc_field(default_factory=dict)
    skipped: str = ""  # why no version was built


def train(settings: Settings, field: str | None = None, *, force: bool = True) -> list[TrainResult]:
    """Build and activate a new version per field. `force=False` (the periodic run)
    skips a field whose training data has not changed since its active version."""
    fields = FIELDS if field is None else (field,)
    if field is not None and field not in FIELDS:
        raise ValidationError({"field": "must be one of " + ", ".join(FIELDS)})
    corrected = corrections()
    data = {f: dataset(f, corrected) for f in fields}
    vectors = _vectors(data, settings)
    return [_train_field(f, data[f], settings, force, vectors) for f in fields]


@dataclass
class _Vectors:
    """The ticket vectors of one training run (shared by its fields), with their space."""
    by_ticket: dict = dc_field(default_factory=dict)
    space: str | None = None
    info: dict = dc_field(default_factory=dict)

    def of(self, examples: list[Example]) -> list[bytes | None] | None:
        if self.space is None:
            return None
        return [self.by_ticket.get(e.ticket_id) for e in examples]


def _vectors(data: dict[str, list[Example]], settings: Settings) -> _Vectors:
    """Vectors of every learned field's examples, computed once per ticket (services.
    ticket_vectors: stored ones reused, missing ones computed within the time budget)."""
    from appliance.services import ticket_vectors
    texts = {e.ticket_id: e.text for examples in data.values()
             if len(examples) >= settings.ai_min_examples for e in examples}
    if not texts:
        return _Vectors()
    items = sorted(texts.items(), reverse=True)  # newest first: the budget goes to them
    vectors, space, info = ticket_vectors.for_training(items, settings)
    if space is None:
        return _Vectors(info=info)
    return _Vectors({tid: v for (tid, _), v in zip(items, vectors) if v}, space, info)


def _train_field(field: str, examples: list[Example], settings: Settings, force: bool,
                 vectors: _Vectors) -> TrainResult:
    learned = (len(examples) >= settings.ai_min_examples
               and len({e.label for e in examples}) >= 2)
    specs = [] if learned else profiles(field)
    if not learned and len(specs) < 2:
        return TrainResult(field, None, "", len(examples), skipped=(
            f"{len(examples)} resolved tickets (ai_min_examples is {settings.ai_min_examples}) "
            f"and {len(specs)} label profiles (2 needed)"))
    kind = "learned" if learned else "cold"
    fingerprint = _fingerprint(kind, [(e.ticket_id, e.label, e.weight) for e in examples]
                               if learned else [vars_of(s) for s in specs])
    if learned and vectors.space:  # more vectors can make a better classifier of the same data
        fingerprint = _fingerprint(fingerprint, [vectors.space, sum(
            1 for e in examples if e.ticket_id in vectors.by_ticket)])
    active = ClassifierVersion.get_or_none((ClassifierVersion.field == field)
                                           & (ClassifierVersion.active == True))  # noqa: E712
    if not force and active is not None and active.metrics.get("dataset") == fingerprint:
        return TrainResult(field, active.version, active.kind, active.n_examples,
                           active.metrics, skipped="training data unchanged")
    backend = registry.classifier_backend()
    metrics = {"dataset": fingerprint, "labels": len({e.label for e in examples}) if learned
               else len(specs), "corrections": sum(1 for e in examples if e.weight > 1)}
    if learned:
        metrics.update(_holdout(backend, examples, getattr(settings, f"ai_threshold_{field}"),
                                vectors))
        clf = backend.train([e.text for e in examples], [e.label for e in examples],
                            weights=[e.weight for e in examples], vectors=vectors.of(examples),
                            vector_space=vectors.space)
        metrics.update(vectors.info)
        metrics["semantic"] = clf.vector_space is not None
    else:
        clf = backend.cold_start(specs)
    row = _store(field, kind, clf.to_bytes(), len(examples) if learned else len(specs), metrics)
    log.info("trained %s classifier %s:%d from %d examples", field, kind, row.version,
             row.n_examples)
    return TrainResult(field, row.version, kind, row.n_examples, metrics)


def vars_of(spec: LabelProfileSpec) -> list:
    return [spec.label, spec.name, spec.description, list(spec.examples)]


def _fingerprint(kind: str, items: list) -> str:
    return hashlib.sha256(json.dumps([kind, items], ensure_ascii=False).encode()).hexdigest()


def _heldout(ticket_id: int) -> bool:
    # A fixed 20% by a hash of the id, so a retrain measures on comparable tickets.
    return hashlib.sha256(str(ticket_id).encode()).digest()[0] % 5 == 0


def _holdout(backend, examples: list[Example], threshold: float, vectors: _Vectors) -> dict:
    """Accuracy on a held-out 20% (of a separate fit on the other 80%), when big enough."""
    test = [e for e in examples if _heldout(e.ticket_id)]
    fit = [e for e in examples if not _heldout(e.ticket_id)]
    if len(examples) < HOLDOUT_MIN or not test or len({e.label for e in fit}) < 2:
        return {}
    clf = backend.train([e.text for e in fit], [e.label for e in fit],
                        weights=[e.weight for e in fit], vectors=vectors.of(fit),
                        vector_space=vectors.space)
    predicted = [p[0] if p else None for p in clf.predict_many(
        [e.text for e in test], vectors.of(test) if clf.vector_space else None)]
    right = [p is not None and p.label == e.label for p, e in zip(predicted, test)]
    sure = [r for p, r in zip(predicted, right) if p is not None and p.confidence >= threshold]
    return {"holdout": len(test), "accuracy": round(sum(right) / len(test), 4),
            "macro_f1": round(_macro_f1([e.label for e in test],
                                        [p.label if p else "" for p in predicted]), 4),
            "coverage_at_threshold": round(len(sure) / len(test), 4),
            "accuracy_at_threshold": round(sum(sure) / len(sure), 4) if sure else None}


def _macro_f1(truth: list[str], predicted: list[str]) -> float:
    scores = []
    for label in set(truth):
        tp = sum(1 for t, p in zip(truth, predicted) if t == label and p == label)
        fp = sum(1 for t, p in zip(truth, predicted) if t != label and p == label)
        fn = sum(1 for t, p in zip(truth, predicted) if t == label and p != label)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def _store(field: str, kind: str, blob: bytes, n: int, metrics: dict) -> ClassifierVersion:
    with unit_of_work():
        last = (ClassifierVersion.select(pw.fn.MAX(ClassifierVersion.version))
                .where(ClassifierVersion.field == field).scalar()) or 0
        row = ClassifierVersion.create(field=field, version=last + 1, kind=kind, blob=blob,
                                       sha256=hashlib.sha256(blob).hexdigest(), n_examples=n,
                                       metrics=metrics, active=False)
        _activate(row)
        old = [r.id for r in ClassifierVersion.select(ClassifierVersion.id)
               .where(ClassifierVersion.field == field)
               .order_by(ClassifierVersion.version.desc()).offset(KEEP_VERSIONS)]
        if old:
            ClassifierVersion.delete().where(ClassifierVersion.id.in_(old)).execute()
    return row


def _activate(row: ClassifierVersion) -> None:
    ClassifierVersion.update(active=False).where(
        (ClassifierVersion.field == row.field) & (ClassifierVersion.id != row.id)).execute()
    ClassifierVersion.update(active=True).where(ClassifierVersion.id == row.id).execute()
    row.active = True


def rollback(field: str, version: int | None = None) -> ClassifierVersion:
    """Activate `version`, or the newest one older than the active version."""
    if field not in FIELDS:
        raise ValidationError({"field": "must be one of " + ", ".join(FIELDS)})
    base = ClassifierVersion.select(*_LIGHT).where(ClassifierVersion.field == field)
    with unit_of_work():
        if version is None:
            active = base.where(ClassifierVersion.active == True).first()  # noqa: E712
            older = base.order_by(ClassifierVersion.version.desc())
            if active is not None:
                older = older.where(ClassifierVersion.version < active.version)
            target = older.first()
        else:
            target = base.where(ClassifierVersion.version == int(version)).first()
        if target is None:
            raise NotFound("no such classifier version to roll back to", field=field,
                           version=version)
        _activate(target)
    return target


# --- periodic retraining --------------------------------------------------------------------

def schedule_training(force: bool = True) -> int:
    """Queue a training run (job object 1 = forced, 0 = periodic, skips unchanged data)."""
    with unit_of_work():
        return schedule(TRAIN_JOB, 1 if force else 0)


def training_due(settings: Settings) -> bool:
    """True when no training ran for `ai_retrain_hours` and none is queued."""
    if Job.select().where((Job.name == TRAIN_JOB) & Job.done_at.is_null()).exists():
        return False
    last_version = ClassifierVersion.select(pw.fn.MAX(ClassifierVersion.created_at)).scalar()
    last_run = Job.select(pw.fn.MAX(Job.done_at)).where(Job.name == TRAIN_JOB).scalar()
    last = max([d for d in (last_version, last_run) if d is not None], default=None)
    return last is None or utcnow() - last >= dt.timedelta(hours=settings.ai_retrain_hours)


@jobs.handler(TRAIN_JOB)
def training_job(force_flag: int) -> None:
    from appliance import runtime
    for result in train(runtime.settings(), force=bool(force_flag)):
        if result.skipped:
            log.info("%s classifier not rebuilt: %s", result.field, result.skipped)


# --- loading for the fast path ----------------------------------------------------------------

_LIGHT = (ClassifierVersion.id, ClassifierVersion.field, ClassifierVersion.version,
          ClassifierVersion.kind, ClassifierVersion.sha256, ClassifierVersion.n_examples,
          ClassifierVersion.metrics, ClassifierVersion.active, ClassifierVersion.created_at)


@dataclass(frozen=True)
class Loaded:
    field: str
    version_id: int
    version: int
    kind: str
    classifier: object  # ports.TextClassifier

    @property
    def tag(self) -> str:
        return f"{self.kind}:{self.version}"


# Keyed by (field, version id, sha256): the hash also tells apart a reused id (SQLite
# may reuse the id of a deleted row) or a row whose blob was replaced.
_cache: dict[tuple[str, int, str], object] = {}
_cache_lock = threading.Lock()


def active_classifiers() -> dict[str, Loaded]:
    """The active classifier of each field that has one (one cheap query per call)."""
    out = {}
    for row in ClassifierVersion.select(*_LIGHT).where(ClassifierVersion.active == True):  # noqa: E712
        clf = _load(row)
        if clf is not None:
            out[row.field] = Loaded(row.field, row.id, row.version, row.kind, clf)
    return out


def _load(row: ClassifierVersion):
    key = (row.field, row.id, row.sha256)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        blob = ClassifierVersion.select(ClassifierVersion.blob).where(
            ClassifierVersion.id == row.id).scalar()
        blob = bytes(blob) if blob is not None else b""
        try:
            if hashlib.sha256(blob).hexdigest() != row.sha256:
                raise ValueError("stored blob does not match its sha256")
            clf = registry.classifier_backend().load(blob)
        except Exception:  # a bad version must not stop tickets: the field goes to review
            log.warning("cannot load %s classifier version %d", row.field, row.version,
                        exc_info=True)
            clf = None
        for old in [k for k in _cache if k[0] == row.field]:
            del _cache[old]
        _cache[key] = clf
        return clf
