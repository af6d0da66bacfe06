"""The security administrator's policies (SECURITY.md: the security admin owns "roles,
permissions, policies"; decision 0042): the password policy, lockout, session lifetimes
and the roles that must use a second factor.

The config file gives each value; one saved here overrides it on every app node at
once — `effective(settings)` reads the few rows of security_policy on each use (a
primary-key-sized table; no cache to go stale between nodes). Limits keep a policy
within what an MLPS level 3 assessment accepts: lockout after 3–10 failures, sessions
idle at most 4 hours, the three administrator roles always with a second factor.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from appliance.errors import PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import SecurityPolicy, utcnow
from appliance.rules.access import ADMIN_ROLES, Actor
from appliance.services import audit
from appliance.settings import Settings

PERMISSION = "security.policy"
# key -> (lowest, highest) for whole numbers; the two others are checked by name.
NUMBERS = {
    "password_max_age_days": (30, 365),
    "password_history": (1, 24),
    "lockout_threshold": (3, 10),
    "lockout_minutes": (5, 1440),
    "session_idle_minutes": (5, 240),
    "session_absolute_hours": (1, 72),
}
POLICIES = ("asvs", "mlps")
# Staff roles that may be added to the administrators, who always need the second factor.
MFA_OPTIONAL_ROLES = ("supervisor", "agent")
KEYS = ("password_policy", *NUMBERS, "mfa_required_roles")


@dataclass(frozen=True)
class PolicyValue:
    key: str
    value: object            # in force now
    file_value: object       # the config file's
    overridden: bool
    lowest: int | None = None
    highest: int | None = None


def _require(actor: Actor) -> None:
    if not actor.can(PERMISSION):
        raise PermissionDenied("you may not change security policies")


def _stored() -> dict:
    return {r.key: r.value for r in SecurityPolicy.select(SecurityPolicy.key,
                                                          SecurityPolicy.value)}


def _typed(key: str, value):
    return tuple(value) if key == "mfa_required_roles" else value


def effective(settings: Settings) -> Settings:
    """The settings with the security administrator's values in place."""
    stored = {k: _typed(k, v) for k, v in _stored().items() if k in KEYS}
    return dataclasses.replace(settings, **stored) if stored else settings


def current(actor: Actor, settings: Settings) -> list[PolicyValue]:
    _require(actor)
    stored = _stored()
    now = effective(settings)
    return [PolicyValue(k, getattr(now, k), getattr(settings, k), k in stored,
                        *NUMBERS.get(k, (None, None))) for k in KEYS]


def validate(form: dict) -> dict:
    """{key: value} of the non-empty fields, or ValidationError naming each bad field.
    An empty field means "the config file's value"."""
    errors, out = {}, {}
    for key, (low, high) in NUMBERS.items():
        raw = str(form.get(key, "")).strip()
        if raw == "":
            continue
        if not raw.isdigit() or not low <= int(raw) <= high:
            errors[key] = f"a whole number from {low} to {high}"
        else:
            out[key] = int(raw)
    policy = str(form.get("password_policy", "")).strip()
    if policy:
        if policy in POLICIES:
            out["password_policy"] = policy
        else:
            errors["password_policy"] = "must be asvs or mlps"
    roles = form.get("mfa_required_roles")
    if roles is not None:
        extra = [r for r in roles if r not in ADMIN_ROLES]
        if any(r not in MFA_OPTIONAL_ROLES for r in extra):
            errors["mfa_required_roles"] = "only supervisor and agent can be added"
        else:
            out["mfa_required_roles"] = sorted(ADMIN_ROLES) + [
                r for r in MFA_OPTIONAL_ROLES if r in extra]
    if errors:
        raise ValidationError(errors)
    return out


def save(actor: Actor, settings: Settings, form: dict, *, ip: str = "") -> list[PolicyValue]:
    """Store the values given, drop the overrides of the fields left empty (back to the
    file), audit what changed (old and new values: policies are not secrets)."""
    _require(actor)
    wanted = validate(form)
    before = effective(settings)
    with unit_of_work():
        SecurityPolicy.delete().where(SecurityPolicy.key.not_in(list(wanted) or [""])).execute()
        for key, value in wanted.items():
            SecurityPolicy.insert(key=key, value=value, updated_at=utcnow(),
                                  updated_by=actor.user_id or None).on_conflict(
                conflict_target=[SecurityPolicy.key],
                update={SecurityPolicy.value: value, SecurityPolicy.updated_at: utcnow(),
                        SecurityPolicy.updated_by: actor.user_id or None}).execute()
        after = effective(settings)
        changes = {k: [_plain(getattr(before, k)), _plain(getattr(after, k))]
                   for k in KEYS if getattr(before, k) != getattr(after, k)}
        if changes:
            audit.record("security.policy_changed", actor_id=actor.user_id or None, ip=ip,
                         object_type="security_policy", detail={"changes": changes})
    return current(actor, settings)


def _plain(value):
    return list(value) if isinstance(value, tuple) else value
