"""Quality inspection settings (docs/decisions/0039): the rule set in force and its
history. Every save is a new version (the inspections name the version that scored them,
so a changed rule never rewrites an old score); version 0 is the built-in default until
an administrator saves one. Administrators (config.manage) change it; every save is in
the audit log.
"""
from __future__ import annotations

from dataclasses import dataclass

from peewee import fn

from appliance.errors import Conflict, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import QualityRuleset
from appliance.rules import quality_score
from appliance.rules.access import Actor
from appliance.rules.quality_score import QualitySettings
from appliance.services import audit


@dataclass(frozen=True)
class RulesetView:
    version: int
    settings: QualitySettings
    data: dict            # the stored form (quality_score.to_json)


def require_admin(actor: Actor) -> None:
    if not (actor.is_staff and actor.can("config.manage")):
        raise PermissionDenied("only administrators configure quality inspection")


def current() -> RulesetView:
    """The rule set in force (no permission check: the scoring job reads it)."""
    row = QualityRuleset.select().order_by(QualityRuleset.version.desc()).first()
    if row is None:
        s = quality_score.defaults()
        return RulesetView(0, s, quality_score.to_json(s))
    s, _ = quality_score.parse(row.config)   # stored rows were checked on save
    return RulesetView(row.version, s, row.config)


def get(actor: Actor) -> RulesetView:
    require_admin(actor)
    return current()


def save(actor: Actor, data: dict, *, expected_version=None, ip: str = "") -> RulesetView:
    """A new version from `data` (quality_score.parse's shape); ValidationError names every
    bad field, Conflict when someone saved since `expected_version`."""
    require_admin(actor)
    if not isinstance(data, dict):
        raise ValidationError({"settings": "must be an object"})
    s, errors = quality_score.parse(data)
    if errors:
        raise ValidationError(errors)
    stored = quality_score.to_json(s)
    with unit_of_work():
        latest = QualityRuleset.select(fn.MAX(QualityRuleset.version)).scalar() or 0
        if expected_version not in (None, "") and str(expected_version) != str(latest):
            raise Conflict("the quality settings were changed by someone else", version=latest)
        row = QualityRuleset.create(version=latest + 1, config=stored,
                                    created_by=actor.user_id or None)
        audit.record("quality.settings_saved", actor_id=actor.user_id or None, ip=ip,
                     object_type="quality_ruleset", object_id=row.version,
                     detail={"version": row.version, "enabled": s.enabled,
                             "weights": s.rules.weights})
    return RulesetView(row.version, s, stored)


def history(actor: Actor, limit: int = 20) -> list[tuple[int, object, int | None]]:
    """(version, saved at, saved by user id), newest first."""
    require_admin(actor)
    return [(r.version, r.created_at, r.created_by_id) for r in QualityRuleset.select()
            .order_by(QualityRuleset.version.desc()).limit(limit)]
