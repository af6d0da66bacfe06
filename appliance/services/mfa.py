"""TOTP second factor: enrolment, the second login step, recovery codes (decision 0027).

The secret is stored encrypted (security.crypto under its own HKDF label); a new secret
waits in `totp_pending` until the user proves it works with a code, so a half-done
enrolment never locks anyone out. A code's time step is remembered: the same code (or
an older one) does not pass twice.
"""
from __future__ import annotations

from appliance.errors import AuthenticationFailed, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import RecoveryCode, User, UserSession, utcnow
from appliance.rules.access import Actor
from appliance.services import audit, security_policy
from appliance.settings import Settings
from security import totp
from security.crypto import decrypt_secret, encrypt_secret

INVALID_CODE = "invalid code"
REQUIRED = "your role requires a second factor"


def required_for(user: User, settings: Settings) -> bool:
    return user.role in security_policy.effective(settings).mfa_required_roles


def enabled(user: User) -> bool:
    return bool(user.totp_secret)


def needs_second_step(user: User, settings: Settings) -> bool:
    """After the password: a code (enrolled) or enrolment (required role without TOTP)."""
    return enabled(user) or required_for(user, settings)


def status(actor: Actor, settings: Settings) -> dict:
    u = User.get_by_id(actor.user_id)
    left = RecoveryCode.select().where((RecoveryCode.user == u.id)
                                       & RecoveryCode.used_at.is_null()).count()
    return {"enabled": enabled(u), "required": required_for(u, settings), "codes_left": left}


def pending_secret(actor: Actor, settings: Settings) -> dict:
    """The secret waiting for confirmation (made now if there is none): text, URI, QR SVG."""
    u = User.get_by_id(actor.user_id)
    if u.totp_pending:
        secret = decrypt_secret(u.totp_pending, settings.secret_key, totp.INFO)
    else:
        secret = totp.new_secret()
        User.update(totp_pending=encrypt_secret(secret, settings.secret_key, totp.INFO)).where(
            User.id == u.id).execute()
    uri = totp.provisioning_uri(secret, u.username)
    return {"secret": secret, "uri": uri, "svg": totp.qr_svg(uri)}


def confirm_enrolment(actor: Actor, code: str, settings: Settings, *, session_hash: str = "",
                      ip: str = "") -> list[str]:
    """Make the pending secret the active one if `code` matches it; returns the new
    recovery codes (shown once). Completes a login waiting for enrolment."""
    u = User.get_by_id(actor.user_id)
    if not u.totp_pending:
        raise ValidationError({"code": "start the set-up again"})
    secret = decrypt_secret(u.totp_pending, settings.secret_key, totp.INFO)
    step = totp.matching_step(secret, code, None)
    if step is None:
        audit.record("auth.mfa_failed", actor_id=u.id, ip=ip, object_type="user",
                     object_id=u.id, result="failure", detail={"during": "enrolment"})
        raise ValidationError({"code": INVALID_CODE})
    with unit_of_work():
        User.update(totp_secret=u.totp_pending, totp_pending="", totp_last_step=step).where(
            User.id == u.id).execute()
        codes = _replace_codes(u.id)
        if session_hash:
            UserSession.update(mfa_pending=False).where(
                UserSession.id_hash == session_hash).execute()
        audit.record("auth.mfa_enrolled", actor_id=u.id, ip=ip, object_type="user",
                      object_id=u.id)
    return codes


def _replace_codes(user_id: int) -> list[str]:
    codes = totp.new_recovery_codes()
    RecoveryCode.delete().where(RecoveryCode.user == user_id).execute()
    RecoveryCode.insert_many([{"user": user_id, "code_hash": totp.recovery_hash(c)}
                              for c in codes]).execute()
    return codes


def regenerate_codes(actor: Actor, ip: str = "") -> list[str]:
    u = User.get_by_id(actor.user_id)
    if not enabled(u):
        raise ValidationError({"code": "set up an authenticator app first"})
    with unit_of_work():
        codes = _replace_codes(u.id)
        audit.record("auth.recovery_codes_regenerated", actor_id=u.id, ip=ip,
                     object_type="user", object_id=u.id)
    return codes


def disable(actor: Actor, settings: Settings, ip: str = "") -> None:
    u = User.get_by_id(actor.user_id)
    if required_for(u, settings):
        raise ValidationError({"mfa": REQUIRED})
    with unit_of_work():
        cleared = {"totp_secret": "", "totp_pending": "", "totp_last_step": None}
        User.update(**cleared).where(User.id == u.id).execute()
        RecoveryCode.delete().where(RecoveryCode.user == u.id).execute()
        audit.record("auth.mfa_disabled", actor_id=u.id, ip=ip, object_type="user",
                     object_id=u.id)


def second_step(user: User, session_hash: str, code: str, settings: Settings,
                ip: str = "") -> str:
    """Finish a half-authenticated login with a TOTP code or a recovery code; returns
    "totp" or "recovery_code". AuthenticationFailed if neither matches."""
    code = (code or "").strip()
    with unit_of_work():
        used = _use_totp(user, code, settings) or _use_recovery_code(user, code, ip)
        if used is None:
            audit.record("auth.mfa_failed", actor_id=user.id, ip=ip, object_type="user",
                         object_id=user.id, result="failure", detail={"during": "login"})
        else:
            UserSession.update(mfa_pending=False, reauth_at=utcnow()).where(
                UserSession.id_hash == session_hash).execute()
    if used is None:
        raise AuthenticationFailed(INVALID_CODE)
    return used


def _use_totp(user: User, code: str, settings: Settings) -> str | None:
    if not user.totp_secret:
        return None
    secret = decrypt_secret(user.totp_secret, settings.secret_key, totp.INFO)
    step = totp.matching_step(secret, code, user.totp_last_step)
    if step is None:
        return None
    # Conditional on the step still being new: two requests with one code, one wins.
    newer = User.totp_last_step.is_null() | (User.totp_last_step < step)
    won = User.update(totp_last_step=step).where((User.id == user.id) & newer).execute()
    return "totp" if won else None


def _use_recovery_code(user: User, code: str, ip: str) -> str | None:
    if len(code) < 16:
        return None
    won = RecoveryCode.update(used_at=utcnow()).where(
        (RecoveryCode.user == user.id) & (RecoveryCode.code_hash == totp.recovery_hash(code))
        & RecoveryCode.used_at.is_null()).execute()
    if not won:
        return None
    audit.record("auth.recovery_code_used", actor_id=user.id, ip=ip, object_type="user",
                 object_id=user.id)
    return "recovery_code"
