"""The password step of a login: lockout, the one message for every failure, equal cost.

Every failed attempt costs the same whatever the reason (no such user, wrong password,
locked, disabled): one Argon2 verification (against a dummy hash when there is no user,
against the real hash when the account is locked or disabled), one UPDATE on the user
row (matching no row when there is no user) and one audit record. So neither the answer
nor its timing tells whether an account exists or is locked (decision 0027).
"""
from __future__ import annotations

import datetime as dt
import hashlib

from appliance.errors import AuthenticationFailed
from appliance.jobs import unit_of_work
from appliance.models import User, utcnow
from appliance.services import audit, password_policy, security_policy
from appliance.settings import Settings
from security.passwords import hash_password, needs_rehash, verify_password

LOGIN_FAILED = "invalid user name or password"


def _password_matches(u: User | None, name: str, password: str, settings: Settings
                      ) -> tuple[User | None, bool]:
    """(user, password ok). The seam for directory users (decision 0028): a user whose
    auth_source is "ldap", and any name nobody has locally while ldap_url is set (a first
    login creates the account), is checked by services.directory.authenticate."""
    if (u is None and settings.ldap_url) or (u is not None and u.auth_source == "ldap"):
        from appliance.services import directory
        verify_password(None, password)  # same local cost as everyone else
        found = directory.authenticate(u.username if u else name, password, settings)
        return (found or u), found is not None
    return u, verify_password(u.password_hash if u else None, password)


def _failure_reason(u: User | None, ok: bool, now: dt.datetime) -> str | None:
    if u is None:
        return "unknown_user"
    if not u.active:
        return "disabled"
    if u.locked_until is not None and u.locked_until > now:
        return "locked"
    return None if ok else "bad_password"


def authenticate(username: str, password: str, settings: Settings | None = None, *,
                 ip: str = "") -> User:
    """The active, unlocked user with these credentials; AuthenticationFailed (one
    message) for every failure."""
    settings = security_policy.effective(settings or password_policy.current_settings())
    name = (username or "").strip()[:64]
    u = User.get_or_none(User.username == name)
    u, ok = _password_matches(u, name, password or "", settings)
    now = utcnow()
    reason = _failure_reason(u, ok, now)
    if reason is not None:
        _record_failure(u, name, reason, ip, settings, now)
        raise AuthenticationFailed(LOGIN_FAILED)
    changes = {"failed_logins": 0, "locked_until": None}
    if u.password_hash and needs_rehash(u.password_hash):
        changes["password_hash"] = hash_password(password)
    if u.auth_source == "local" and password_policy.expired(u, settings, now):
        changes["must_change_password"] = True
        u.must_change_password = True
    User.update(**changes).where(User.id == u.id).execute()
    return u


def _record_failure(u: User | None, name: str, reason: str, ip: str, settings: Settings,
                    now: dt.datetime) -> None:
    """Count the failure, lock at the threshold, and audit: the same statements for
    every reason (module docstring)."""
    failures, locked_until = _next_count(u, reason, settings, now)
    detail = {"reason": reason}
    if u is None:  # never the attempted name of a non-user (it may be a mistyped password)
        detail["username_sha256"] = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    with unit_of_work():
        User.update(failed_logins=failures, locked_until=locked_until).where(
            User.username == name).execute()
        audit.record("auth.login_failed", actor_id=u.id if u else None, ip=ip,
                     object_type="user", object_id=u.id if u else "", result="failure",
                     detail=detail)
        if reason == "bad_password" and failures >= settings.lockout_threshold:
            audit.record("auth.locked", actor_id=u.id, ip=ip, object_type="user",
                         object_id=u.id, result="failure",
                         detail={"minutes": settings.lockout_minutes, "failures": failures})


def _next_count(u: User | None, reason: str, settings: Settings, now: dt.datetime):
    """(failed_logins, locked_until) after this failure; unchanged unless a wrong password."""
    if u is None:
        return 0, None
    if reason != "bad_password":
        return u.failed_logins, u.locked_until
    expired_lock = u.locked_until is not None and u.locked_until <= now
    failures = (0 if expired_lock else u.failed_logins) + 1
    if failures >= settings.lockout_threshold:
        return failures, now + dt.timedelta(minutes=settings.lockout_minutes)
    return failures, None

