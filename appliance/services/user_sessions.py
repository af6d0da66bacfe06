"""A user's own login sessions (list, revoke, log out elsewhere), administrators ending
another user's sessions or lifting a lockout, and re-authentication before sensitive
changes (decision 0027)."""
from __future__ import annotations

import datetime as dt

from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import User, UserSession, utcnow
from appliance.rules.access import Actor
from appliance.services import audit, rate_limits, security_policy, user_emails
from appliance.settings import Settings
from security.passwords import verify_password

REAUTH_WINDOW = dt.timedelta(minutes=5)
CONFIRM = "enter your password to confirm this change"


def _live(q, settings: Settings):
    settings = security_policy.effective(settings)
    now = utcnow()
    return q.where(~UserSession.revoked
                   & (UserSession.last_seen_at > now - dt.timedelta(
                       minutes=settings.session_idle_minutes))
                   & (UserSession.created_at > now - dt.timedelta(
                       hours=settings.session_absolute_hours)))


def _rows(user_id: int, settings: Settings, current: str = "") -> list[dict]:
    q = _live(UserSession.select().where(UserSession.user == user_id), settings)
    return [{"id": s.id_hash, "created_at": s.created_at, "last_seen_at": s.last_seen_at,
             "ip": s.ip, "user_agent": s.user_agent, "current": s.id_hash == current,
             "mfa_pending": s.mfa_pending}
            for s in q.order_by(UserSession.last_seen_at.desc())]


def list_own(actor: Actor, settings: Settings, current: str) -> list[dict]:
    return _rows(actor.user_id, settings, current)


def _revoke(user_id: int, where, actor: Actor, ip: str, how: str) -> int:
    with unit_of_work():
        n = UserSession.update(revoked=True).where(
            (UserSession.user == user_id) & ~UserSession.revoked & where).execute()
        if n:
            audit.record("session.revoked", actor_id=actor.user_id, ip=ip, object_type="user",
                         object_id=user_id, detail={"sessions": n, "how": how})
    return n


def revoke_own(actor: Actor, session_id: str, ip: str = "") -> None:
    if not _revoke(actor.user_id, UserSession.id_hash == session_id, actor, ip, "own"):
        raise NotFound("session not found")


def revoke_others(actor: Actor, current: str, ip: str = "") -> int:
    """Log out everywhere else: every session of the actor but this one."""
    return _revoke(actor.user_id, UserSession.id_hash != current, actor, ip, "others")


def _may_manage(actor: Actor) -> None:
    if not (actor.can("session.manage") or actor.can("user.manage")):
        raise PermissionDenied("administrators only")


def list_for_user(actor: Actor, user_id: int, settings: Settings) -> list[dict]:
    _may_manage(actor)
    return _rows(user_id, settings)


def end_for_user(actor: Actor, user_id: int, session_id: str | None = None,
                 ip: str = "") -> int:
    """An administrator ends one session (session_id) or all sessions of a user."""
    _may_manage(actor)
    if User.get_or_none(User.id == user_id) is None:
        raise NotFound("user not found", id=user_id)
    where = (UserSession.id_hash == session_id) if session_id else (UserSession.user == user_id)
    return _revoke(user_id, where, actor, ip, "admin")


def confirm_identity(actor: Actor, session_id: str, password: str, settings: Settings,
                     ip: str = "") -> None:
    """Before a sensitive change: the password now (recorded on the session) or a
    password entry on this session within the last 5 minutes (login counts)."""
    now = utcnow()
    if password:
        user = User.get_by_id(actor.user_id)
        rate_limits.hit("password", settings, ip=ip, account=user.username)
        if not verify_password(user.password_hash, password):
            raise ValidationError({"current_password": "incorrect"})
        UserSession.update(reauth_at=now).where(UserSession.id_hash == session_id).execute()
        return
    s = UserSession.get_or_none((UserSession.id_hash == session_id)
                                & (UserSession.user == actor.user_id))
    if s is None or s.reauth_at is None or now - s.reauth_at > REAUTH_WINDOW:
        raise ValidationError({"current_password": CONFIRM})


def recently_confirmed(actor: Actor, session_id: str) -> bool:
    s = UserSession.get_or_none((UserSession.id_hash == session_id)
                                & (UserSession.user == actor.user_id))
    return bool(s and s.reauth_at and utcnow() - s.reauth_at <= REAUTH_WINDOW)


def change_own_email(actor: Actor, session_id: str, password: str, email: str,
                     settings: Settings, ip: str = "") -> None:
    email = (email or "").strip()
    if not email or "@" not in email or len(email) > 254 or any(c in email for c in "\r\n <>"):
        raise ValidationError({"email": "not a valid email address"})
    confirm_identity(actor, session_id, password, settings, ip)
    with unit_of_work():
        user_emails.set_email(actor.user_id, email, version=User.version + 1)
        audit.record("user.email_changed", actor_id=actor.user_id, ip=ip, object_type="user",
                     object_id=actor.user_id)


def locked_until(actor: Actor, user_id: int) -> dt.datetime | None:
    """When the user's lockout ends, if it has not yet (for the admin's user page)."""
    _may_manage(actor)
    until = User.select(User.locked_until).where(User.id == user_id).scalar()
    return until if until is not None and until > utcnow() else None


def unlock(actor: Actor, user_id: int, ip: str = "") -> None:
    """An administrator lifts a lockout before it runs out."""
    _may_manage(actor)
    with unit_of_work():
        if not User.update(failed_logins=0, locked_until=None).where(User.id == user_id).execute():
            raise NotFound("user not found", id=user_id)
        audit.record("auth.unlocked", actor_id=actor.user_id, ip=ip, object_type="user",
                     object_id=user_id)
