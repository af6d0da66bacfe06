"""The password policy in force (setting `password_policy`, decision 0027): the checks of
security.passwords plus what needs the user's records: history and maximum age ("mlps")."""
from __future__ import annotations

import datetime as dt

from appliance import runtime
from appliance.errors import ValidationError
from appliance.models import PasswordHistory, User, utcnow
from appliance.services import security_policy, user_emails
from appliance.settings import Settings
from security.passwords import password_problem, verify_password

REUSED = "must not be one of your last %(n)s passwords"


def current_settings() -> Settings:
    """The process's settings; plain defaults where none were configured (a bare script)."""
    try:
        return runtime.settings()
    except RuntimeError:
        return Settings()


def check(password: str, username: str, email: str = "", *, field: str = "password",
          settings: Settings | None = None) -> None:
    """Raise ValidationError({field: why}) if the password breaks the policy."""
    settings = security_policy.effective(settings or current_settings())
    problem = password_problem(password, username, email=email, policy=settings.password_policy)
    if problem:
        raise ValidationError({field: problem})


def check_new_for(user: User, password: str, *, field: str = "password",
                  settings: Settings | None = None) -> None:
    """The policy plus, under "mlps", no reuse of the current or the last N passwords."""
    settings = security_policy.effective(settings or current_settings())
    check(password, user.username, user_emails.email_of(user), field=field, settings=settings)
    if settings.password_policy != "mlps":
        return
    previous = [h.password_hash for h in PasswordHistory.select(PasswordHistory.password_hash)
                .where(PasswordHistory.user == user.id)
                .order_by(PasswordHistory.id.desc()).limit(settings.password_history)]
    if any(verify_password(h, password) for h in [user.password_hash, *previous] if h):
        raise ValidationError({field: REUSED % {"n": settings.password_history}})


def remember(user_id: int, old_hash: str, settings: Settings | None = None) -> None:
    """Keep the replaced hash (inside the caller's transaction); older ones beyond the
    history length are dropped."""
    settings = security_policy.effective(settings or current_settings())
    if not old_hash:
        return
    PasswordHistory.create(user=user_id, password_hash=old_hash)
    keep = [h.id for h in PasswordHistory.select(PasswordHistory.id)
            .where(PasswordHistory.user == user_id)
            .order_by(PasswordHistory.id.desc()).limit(settings.password_history)]
    PasswordHistory.delete().where((PasswordHistory.user == user_id)
                                   & PasswordHistory.id.not_in(keep)).execute()


def expired(user: User, settings: Settings, now: dt.datetime | None = None) -> bool:
    """Under "mlps", a password older than password_max_age_days must be changed."""
    settings = security_policy.effective(settings)
    if settings.password_policy != "mlps":
        return False
    changed = user.password_changed_at or user.created_at
    return (now or utcnow()) - changed > dt.timedelta(days=settings.password_max_age_days)
