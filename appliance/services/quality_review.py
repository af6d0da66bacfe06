"""Quality inspection review (docs/decisions/0039): the supervisors' sampling queue,
adjusting scores with a comment, the agents' appeals and their resolution.

Who sees what: an agent sees the inspections of their own replies; a supervisor
(report.view) those of their department, an administrator with ticket.view_all every
one. Anything else is "not found" (ids are not an oracle). Nobody reviews or decides an
appeal on their own reply.

The scored values are never changed by people: an adjustment stores the new value per
item next to them (`adjusted`) and the total it gives (`adjusted_score`), and every
change, appeal and decision is a history line plus an audit record, in one transaction.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import fn

from appliance.db import is_postgres
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import (Comment, QualityAdjustment, QualityInspection, Ticket, User,
                              utcnow)
from appliance.rules.access import Actor
from appliance.rules.quality_rules import RUBRIC_KEYS, RULE_KEYS
from appliance.rules import quality_score
from appliance.services import audit, common

COMMENT_MAX = 2000
OUTCOMES = ("upheld", "rejected")


class AppealClosed(ValidationError):
    """An appeal that cannot be made or decided now (made already, or none open)."""
    code = "appeal_closed"
    http_status = 409


@dataclass(frozen=True)
class HistoryRow:
    kind: str            # adjust | review | appeal | upheld | rejected
    item: str
    before: float | None
    after: float | None
    comment: str
    actor: str
    at: dt.datetime


@dataclass(frozen=True)
class InspectionView:
    id: int
    ticket_id: int
    ticket_number: str
    reply: str
    agent_id: int | None
    agent: str
    department_id: int | None
    replied_at: dt.datetime
    language: str
    findings: list
    rubric: dict | None
    rubric_state: str
    rubric_error: str
    score: float
    complete: bool
    adjusted: dict
    adjusted_score: float | None
    sampled: bool
    reviewed_at: dt.datetime | None
    appeal_state: str
    appeal_reason: str
    appeal_comment: str
    history: list
    version: int
    can_review: bool = False
    can_appeal: bool = False

    @property
    def final_score(self) -> float:
        return self.adjusted_score if self.adjusted_score is not None else self.score


# --- scope -------------------------------------------------------------------------------

def is_reviewer(actor: Actor) -> bool:
    return actor.is_staff and actor.can("report.view")


def _reviews(actor: Actor, ins: QualityInspection) -> bool:
    """A reviewer of the inspection's department, not of their own reply."""
    if not is_reviewer(actor) or ins.agent_id == actor.user_id:
        return False
    return actor.can("ticket.view_all") or (
        ins.department_id is not None and ins.department_id == actor.department_id)


def _sees(actor: Actor, ins: QualityInspection) -> bool:
    return (actor.is_staff and ins.agent_id == actor.user_id) or _reviews(actor, ins)


def _load(actor: Actor, inspection_id, lock: bool = False) -> QualityInspection:
    try:
        pk = int(inspection_id)
    except (TypeError, ValueError):
        raise NotFound("inspection not found") from None
    q = QualityInspection.select().where(QualityInspection.id == pk)
    ins = (q.for_update() if lock and is_postgres() else q).first()
    if ins is None or not _sees(actor, ins):
        raise NotFound("inspection not found")
    return ins


def department_scope(actor: Actor) -> list[int] | None:
    """Departments a reviewer sees (None: all); PermissionDenied for non-reviewers."""
    if not is_reviewer(actor):
        raise PermissionDenied("only supervisors and administrators review quality")
    if actor.can("ticket.view_all"):
        return None
    return [] if actor.department_id is None else [actor.department_id]


# --- reading -----------------------------------------------------------------------------

def get_inspection(actor: Actor, inspection_id) -> InspectionView:
    ins = _load(actor, inspection_id)
    return _view(actor, ins)


def _view(actor: Actor, ins: QualityInspection, cache: dict | None = None,
          full: bool = True) -> InspectionView:
    """`full`: with the reply text and the history (one inspection's page); lists leave
    them out and share `cache` for ticket numbers and agent names."""
    cache = {} if cache is None else cache
    number = _cached(cache, "t", ins.ticket_id, lambda: Ticket.get_by_id(ins.ticket_id).number)
    agent = _cached(cache, "u", ins.agent_id, lambda: getattr(
        User.get_or_none(User.id == ins.agent_id), "display_name", "")) if ins.agent_id else ""
    c = Comment.get_or_none(Comment.id == ins.comment_id) if full else None
    return InspectionView(
        ins.id, ins.ticket_id, number, c.body if c else "", ins.agent_id, agent,
        ins.department_id, ins.replied_at, ins.language, list(ins.findings), ins.rubric,
        ins.rubric_state, ins.rubric_error, ins.score, ins.complete, dict(ins.adjusted or {}),
        ins.adjusted_score, ins.sampled, ins.reviewed_at, ins.appeal_state, ins.appeal_reason,
        ins.appeal_comment, _history(ins.id) if full else [], ins.version,
        can_review=_reviews(actor, ins),
        can_appeal=ins.agent_id == actor.user_id and not ins.appeal_state)


def _cached(cache: dict, kind: str, key, load):
    if (kind, key) not in cache:
        cache[(kind, key)] = load()
    return cache[(kind, key)]


def _history(inspection_id: int) -> list[HistoryRow]:
    rows = list(QualityAdjustment.select().where(QualityAdjustment.inspection == inspection_id)
                .order_by(QualityAdjustment.id))
    ids = {r.actor_id for r in rows} - {None}
    names = {u.id: u.display_name for u in User.select().where(User.id.in_(ids))} if ids else {}
    return [HistoryRow(r.kind, r.item, r.before, r.after, r.comment, names.get(r.actor_id, ""),
                       r.created_at) for r in rows]


def my_inspections(actor: Actor, limit: int = 100) -> list[InspectionView]:
    """The actor's own inspections, newest first."""
    if not actor.is_staff:
        raise PermissionDenied("staff only")
    rows = (QualityInspection.select().where(QualityInspection.agent == actor.user_id)
            .order_by(QualityInspection.replied_at.desc()).limit(limit))
    rows = list(rows)
    cache: dict = {("t", t.id): t.number for t in Ticket.select(Ticket.id, Ticket.number)
                   .where(Ticket.id.in_({r.ticket_id for r in rows}))} if rows else {}
    return [_view(actor, r, cache, full=False) for r in rows]


# --- adjusting ---------------------------------------------------------------------------

def _item_limits(weights: dict) -> dict[str, tuple[float, float]]:
    limits = {k: (0.0, float(weights.get(k, 0))) for k in RULE_KEYS}
    limits.update({k: (1.0, 5.0) for k in RUBRIC_KEYS})
    return limits


def clean_changes(changes, weights: dict) -> dict[str, float]:
    """{item: value} checked against each item's range; errors name "changes.<item>"."""
    if changes is None:
        return {}
    if not isinstance(changes, dict):
        raise ValidationError({"changes": "must map items to numbers"})
    limits, out, errors = _item_limits(weights), {}, {}
    for item, value in changes.items():
        if value in (None, ""):
            continue
        if item not in limits:
            errors[f"changes.{item}"] = "unknown item"
            continue
        lo, hi = limits[item]
        try:
            number = float(str(value).strip())
        except ValueError:
            number = None
        if number is None or not lo <= number <= hi or (item in RUBRIC_KEYS
                                                         and number != int(number)):
            what = "a whole number" if item in RUBRIC_KEYS else "a number"
            errors[f"changes.{item}"] = f"must be {what} from {lo:g} to {hi:g}"
            continue
        out[item] = number
    if errors:
        raise ValidationError(errors)
    return out


def _current(ins: QualityInspection, item: str) -> float | None:
    if item in (ins.adjusted or {}):
        return float(ins.adjusted[item])
    if item in RUBRIC_KEYS:
        return float(ins.rubric[item]["score"]) if ins.rubric and item in ins.rubric else None
    return next((float(f["points"]) for f in ins.findings if f["key"] == item), None)


def adjusted_total(ins: QualityInspection, adjusted: dict) -> float | None:
    """The total with the people's values in place of the scored ones (None: nothing)."""
    if not adjusted:
        return None
    from appliance.services.quality import _ruleset
    weights = _ruleset(ins.ruleset_version).rules.weights
    points = {f["key"]: float(adjusted.get(f["key"], f["points"])) for f in ins.findings}
    rubric = {k: v["score"] for k, v in (ins.rubric or {}).items()}
    rubric.update({k: int(v) for k, v in adjusted.items() if k in RUBRIC_KEYS})
    score, _ = quality_score.total(weights, points, rubric or None)
    return score


def recompute_adjusted(inspection_id: int) -> None:
    """After the rubric arrives late: the adjusted total over the new rubric."""
    ins = QualityInspection.get_by_id(inspection_id)
    QualityInspection.update(adjusted_score=adjusted_total(ins, ins.adjusted)).where(
        QualityInspection.id == inspection_id).execute()


def _check_version(ins: QualityInspection, expected_version) -> None:
    if expected_version not in (None, "") and str(expected_version) != str(ins.version):
        raise Conflict("the inspection was changed by someone else", version=ins.version)


def adjust(actor: Actor, inspection_id, changes, comment, *, expected_version=None,
           ip: str = "") -> InspectionView:
    """Change item scores (or confirm them, with no changes) with a mandatory comment."""
    comment = common.clean_text(comment, "comment", required=True, max_len=COMMENT_MAX)
    with unit_of_work():
        ins = _load(actor, inspection_id, lock=True)
        if not _reviews(actor, ins):
            raise PermissionDenied("you may not review this inspection")
        _check_version(ins, expected_version)
        from appliance.services.quality import _ruleset
        values = clean_changes(changes, _ruleset(ins.ruleset_version).rules.weights)
        _apply(actor, ins, values, comment, "adjust" if values else "review")
        audit.record("quality.adjusted", actor_id=actor.user_id or None, ip=ip,
                     object_type="quality_inspection", object_id=ins.id,
                     detail={"changes": values, "version": ins.version + 1})
    return get_inspection(actor, ins.id)


def _apply(actor: Actor, ins: QualityInspection, values: dict, comment: str, kind: str) -> None:
    now = utcnow()
    merged = dict(ins.adjusted or {})
    for item, value in values.items():
        QualityAdjustment.create(inspection=ins.id, actor=actor.user_id or None, kind=kind,
                                 item=item, before=_current(ins, item), after=value,
                                 comment=comment, created_at=now)
        merged[item] = value
    if not values:
        QualityAdjustment.create(inspection=ins.id, actor=actor.user_id or None, kind=kind,
                                 comment=comment, created_at=now)
    n = (QualityInspection.update(adjusted=merged, adjusted_score=adjusted_total(ins, merged),
                                  reviewed_by=actor.user_id or None, reviewed_at=now,
                                  version=QualityInspection.version + 1)
         .where((QualityInspection.id == ins.id) & (QualityInspection.version == ins.version))
         .execute())
    if n != 1:
        raise Conflict("the inspection was changed by someone else")
    ins.version += 1


# --- appeals -----------------------------------------------------------------------------

def appeal(actor: Actor, inspection_id, reason, *, ip: str = "") -> InspectionView:
    """The agent of the reply appeals, once per inspection, with a reason."""
    reason = common.clean_text(reason, "reason", required=True, max_len=COMMENT_MAX)
    with unit_of_work():
        ins = _load(actor, inspection_id, lock=True)
        if ins.agent_id != actor.user_id:
            raise PermissionDenied("only the agent who wrote the reply may appeal")
        if ins.appeal_state:
            raise AppealClosed({"appeal": "this inspection was appealed already "
                                          "(one appeal per inspection)"})
        now = utcnow()
        n = (QualityInspection.update(appeal_state="open", appeal_reason=reason, appealed_at=now,
                                      version=QualityInspection.version + 1)
             .where((QualityInspection.id == ins.id) & (QualityInspection.appeal_state == ""))
             .execute())
        if n != 1:
            raise AppealClosed({"appeal": "this inspection was appealed already "
                                          "(one appeal per inspection)"})
        QualityAdjustment.create(inspection=ins.id, actor=actor.user_id, kind="appeal",
                                 comment=reason, created_at=now)
        audit.record("quality.appealed", actor_id=actor.user_id, ip=ip,
                     object_type="quality_inspection", object_id=ins.id)
    return get_inspection(actor, ins.id)


def resolve_appeal(actor: Actor, inspection_id, outcome, comment, changes=None, *,
                   expected_version=None, ip: str = "") -> InspectionView:
    """Uphold (optionally with new item scores) or reject the open appeal, with a comment."""
    comment = common.clean_text(comment, "comment", required=True, max_len=COMMENT_MAX)
    if outcome not in OUTCOMES:
        raise ValidationError({"outcome": "must be upheld or rejected"})
    with unit_of_work():
        ins = _load(actor, inspection_id, lock=True)
        if not _reviews(actor, ins):
            raise PermissionDenied("you may not decide this appeal")
        if ins.appeal_state != "open":
            raise AppealClosed({"outcome": "there is no open appeal on this inspection"})
        _check_version(ins, expected_version)
        from appliance.services.quality import _ruleset
        values = clean_changes(changes, _ruleset(ins.ruleset_version).rules.weights)
        if values and outcome == "rejected":
            raise ValidationError({"changes": "a rejected appeal leaves the scores as they are"})
        _apply(actor, ins, values, comment, outcome)
        QualityInspection.update(appeal_state=outcome, appeal_comment=comment,
                                 appeal_resolved_by=actor.user_id or None,
                                 appeal_resolved_at=utcnow()).where(
            QualityInspection.id == ins.id).execute()
        audit.record("quality.appeal_resolved", actor_id=actor.user_id or None, ip=ip,
                     object_type="quality_inspection", object_id=ins.id,
                     detail={"outcome": outcome, "changes": values})
    return get_inspection(actor, ins.id)


# --- the sampling queue ------------------------------------------------------------------

@dataclass(frozen=True)
class QueueRow:
    id: int
    ticket_number: str
    agent: str
    department_id: int | None
    replied_at: dt.datetime
    score: float
    final_score: float
    complete: bool
    why: tuple[str, ...]     # random | lowest | appeal
    reviewed: bool
    appeal_state: str


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and the next Monday of the week holding `day`."""
    start = day - dt.timedelta(days=day.weekday())
    return start, start + dt.timedelta(days=7)


def sampling_queue(actor: Actor, day: dt.date | None = None,
                   department_id: int | None = None) -> list[QueueRow]:
    """A week's review queue per department: the replies drawn at random, the lowest-scored
    N of the week (N per department, quality settings) and every open appeal."""
    depts = department_scope(actor)
    if department_id is not None:
        if depts is not None and department_id not in depts:
            raise NotFound("department not found")
        depts = [department_id]
    first, last = week_of(day or utcnow().date())
    base = QualityInspection.select().where(
        (QualityInspection.replied_at >= dt.datetime.combine(first, dt.time()))
        & (QualityInspection.replied_at < dt.datetime.combine(last, dt.time())))
    if depts is not None:
        base = base.where(QualityInspection.department.in_(depts))
    why: dict[int, list[str]] = {}
    rows: dict[int, QualityInspection] = {}
    for r in base.where(QualityInspection.sampled):
        rows[r.id] = r
        why.setdefault(r.id, []).append("random")
    from appliance.services import quality_config
    settings = quality_config.current().settings
    final = fn.COALESCE(QualityInspection.adjusted_score, QualityInspection.score)
    for dept in _departments(base):
        n = settings.sampling_for(dept).lowest
        for r in base.where(QualityInspection.department == dept).order_by(
                final, QualityInspection.id).limit(n) if n else ():
            rows[r.id] = r
            why.setdefault(r.id, []).append("lowest")
    scope = QualityInspection.select().where(QualityInspection.appeal_state == "open")
    if depts is not None:
        scope = scope.where(QualityInspection.department.in_(depts))
    for r in scope:
        rows[r.id] = r
        why.setdefault(r.id, []).append("appeal")
    return _queue_rows(actor, rows, why)


def _departments(base) -> list[int | None]:
    return [d for (d,) in base.select(QualityInspection.department).distinct().tuples()]


def _queue_rows(actor: Actor, rows: dict, why: dict) -> list[QueueRow]:
    rows = {k: r for k, r in rows.items() if r.agent_id != actor.user_id}
    tickets = {t.id: t.number for t in Ticket.select(Ticket.id, Ticket.number).where(
        Ticket.id.in_({r.ticket_id for r in rows.values()}))} if rows else {}
    agents = {u.id: u.display_name for u in User.select(User.id, User.display_name).where(
        User.id.in_({r.agent_id for r in rows.values()} - {None}))} if rows else {}
    out = [QueueRow(r.id, tickets.get(r.ticket_id, ""), agents.get(r.agent_id, ""),
                    r.department_id, r.replied_at, r.score, r.final_score, r.complete,
                    tuple(why[r.id]), r.reviewed_at is not None, r.appeal_state)
           for r in rows.values()]
    return sorted(out, key=lambda q: ("appeal" not in q.why, q.reviewed, q.final_score, q.id))
