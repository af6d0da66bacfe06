"""Authentication services (decision 0027): lockout, password policies, TOTP and recovery
codes, sessions, re-authentication, rate limits, audit records; SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import json
import time

import pyotp
import pytest

from appliance.errors import AuthenticationFailed, NotFound, PermissionDenied, ValidationError
from appliance.models import AuditRecord, RateEvent, RecoveryCode, User, UserSession, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import mfa, rate_limits, user_emails, user_sessions, users
from security import totp
from security.crypto import decrypt_secret
from tests.conftest import with_settings
from tests.factories import make_org


@pytest.fixture
def demo(settings):
    return make_org()


def _events(action: str) -> list[AuditRecord]:
    return list(AuditRecord.select().where(AuditRecord.action == action).order_by(AuditRecord.seq))


def _fail(username: str, password: str = "wrong-password-123", settings=None):
    with pytest.raises(AuthenticationFailed) as exc:
        users.authenticate(username, password, settings, ip="10.0.0.9")
    return exc.value


# --- lockout ------------------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_account_for_thirty_minutes_even_for_the_right_one(
        settings, demo):
    for _ in range(4):
        _fail("wangfang", settings=settings)
    assert User.get(User.username == "wangfang").locked_until is None
    _fail("wangfang", settings=settings)
    u = User.get(User.username == "wangfang")
    assert dt.timedelta(minutes=29) < u.locked_until - utcnow() <= dt.timedelta(minutes=30)
    right = _fail("wangfang", demo.passwords["wangfang"], settings)
    assert right.message == "invalid user name or password"
    [locked] = _events("auth.locked")
    assert (locked.object_id, locked.result) == (str(u.id), "failure")


def test_a_lock_ends_after_its_time_and_the_count_starts_again(settings, demo):
    s = with_settings(settings, lockout_threshold=2, lockout_minutes=5)
    _fail("wangfang", settings=s)
    _fail("wangfang", settings=s)
    User.update(locked_until=utcnow() - dt.timedelta(seconds=1)).where(
        User.username == "wangfang").execute()
    _fail("wangfang", settings=s)  # one failure after the lock: not locked again yet
    assert User.get(User.username == "wangfang").locked_until is None
    assert users.authenticate("wangfang", demo.passwords["wangfang"], s).username == "wangfang"
    assert User.get(User.username == "wangfang").failed_logins == 0


def test_every_failure_has_one_message_and_a_login_failed_record_without_the_password(
        settings, demo):
    users.update_user(demo.admin, demo.agent2.user_id, {"active": False})
    messages = {_fail("nobody-here").message, _fail("wangfang").message,
                _fail("lilei", demo.passwords["lilei"]).message}
    assert messages == {"invalid user name or password"}
    records = _events("auth.login_failed")
    assert [json.loads(r.detail)["reason"] for r in records] == [
        "unknown_user", "bad_password", "disabled"]
    unknown = json.loads(records[0].detail)
    assert "nobody-here" not in records[0].detail and len(unknown["username_sha256"]) == 16
    assert records[1].object_id == str(demo.agent.user_id) and records[1].ip == "10.0.0.9"
    assert all("wrong-password-123" not in r.detail for r in records)


def test_a_successful_login_clears_the_failure_count(settings, demo):
    _fail("wangfang")
    _fail("wangfang")
    users.authenticate("wangfang", demo.passwords["wangfang"], settings)
    assert User.get(User.username == "wangfang").failed_logins == 0


# --- password policies --------------------------------------------------------------------

def test_the_asvs_policy_wants_twelve_characters_and_no_breached_password(settings, demo):
    with pytest.raises(ValidationError) as exc:
        users.set_password(demo.agent.user_id, "Short-pw-11")
    assert exc.value.fields == {"password": "at least 12 characters"}
    with pytest.raises(ValidationError) as exc:
        users.set_password(demo.agent.user_id, "Password1234")  # in the breach list
    assert exc.value.fields == {"password": "too common: it is in a list of breached passwords"}
    users.set_password(demo.agent.user_id, "lowercase only is fine here")


def test_the_mlps_policy_wants_three_classes_and_refuses_the_last_passwords(settings, demo):
    s = with_settings(settings, password_policy="mlps", password_history=2)
    from appliance import runtime
    runtime.configure(s)
    uid = demo.agent.user_id
    with pytest.raises(ValidationError) as exc:
        users.set_password(uid, "alllowercase")
    assert exc.value.fields["password"].startswith("must use 3 of")
    first = demo.passwords["wangfang"]
    users.set_password(uid, "Second-pw-1")
    users.set_password(uid, "Third-pw-22")
    for old in (first, "Second-pw-1", "Third-pw-22"):
        with pytest.raises(ValidationError) as exc:
            users.set_password(uid, old)
        assert exc.value.fields == {"password": "must not be one of your last 2 passwords"}
    users.set_password(uid, "Fourth-pw-333")
    users.set_password(uid, first)  # three changes ago: out of a history of 2 plus current


def test_under_mlps_an_old_password_must_be_changed_at_the_next_login(settings, demo):
    s = with_settings(settings, password_policy="mlps", password_max_age_days=90)
    User.update(password_changed_at=utcnow() - dt.timedelta(days=91)).where(
        User.username == "wangfang").execute()
    assert users.authenticate("wangfang", demo.passwords["wangfang"], s).must_change_password
    assert User.get(User.username == "wangfang").must_change_password
    User.update(must_change_password=False, password_changed_at=utcnow()).where(
        User.username == "wangfang").execute()
    assert not users.authenticate("wangfang", demo.passwords["wangfang"], s).must_change_password
    User.update(password_changed_at=utcnow() - dt.timedelta(days=400)).where(
        User.username == "wangfang").execute()
    assert not users.authenticate("wangfang", demo.passwords["wangfang"],
                                  settings).must_change_password  # asvs: no rotation


def test_changing_the_own_password_is_audited_and_asks_for_the_current_one(settings, demo):
    with pytest.raises(ValidationError) as exc:
        users.change_own_password(demo.agent, "not-the-password", "Brand-new-pw-42")
    assert exc.value.fields == {"current_password": "incorrect"}
    users.change_own_password(demo.agent, demo.passwords["wangfang"], "Brand-new-pw-42", ip="1.2.3.4")
    [rec] = _events("auth.password_changed")
    assert (rec.actor_id, rec.ip) == (demo.agent.user_id, "1.2.3.4")


# --- TOTP -----------------------------------------------------------------------------------

def _enrol(settings, who, session_hash: str = "") -> tuple[str, list[str]]:
    secret = mfa.pending_secret(who, settings)["secret"]
    codes = mfa.confirm_enrolment(who, pyotp.TOTP(secret).now(), settings,
                                  session_hash=session_hash)
    return secret, codes


def test_a_totp_secret_is_stored_encrypted_and_takes_effect_only_after_a_code(settings, demo):
    pending = mfa.pending_secret(demo.agent, settings)
    u = User.get_by_id(demo.agent.user_id)
    assert u.totp_secret == "" and pending["secret"] not in u.totp_pending
    assert decrypt_secret(u.totp_pending, settings.secret_key, totp.INFO) == pending["secret"]
    assert pending["uri"].startswith("otpauth://totp/Gongdan:wangfang?secret=")
    assert pending["svg"].startswith("<svg") and "script" not in pending["svg"]
    with pytest.raises(ValidationError) as exc:
        mfa.confirm_enrolment(demo.agent, "000000", settings)
    assert exc.value.fields == {"code": "invalid code"}
    assert not mfa.enabled(User.get_by_id(demo.agent.user_id))
    _, codes = _enrol(settings, demo.agent)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert mfa.enabled(User.get_by_id(demo.agent.user_id))
    assert [r.action for r in AuditRecord.select().where(
        AuditRecord.action.startswith("auth.mfa"))] == ["auth.mfa_failed", "auth.mfa_enrolled"]


def test_the_second_step_takes_a_code_once_and_refuses_the_same_code_again(settings, demo):
    secret, _ = _enrol(settings, demo.agent)
    token = users.start_session(User.get_by_id(demo.agent.user_id), "", "", mfa_pending=True)
    s_hash = _hash(token)
    assert users.resume_session(token, settings) is None  # half-authenticated
    user = User.get_by_id(demo.agent.user_id)
    step = totp.current_step() + 1  # a step enrolment has not used yet
    code = pyotp.TOTP(secret).at(step * 30)
    User.update(totp_last_step=step - 1).where(User.id == user.id).execute()
    user = User.get_by_id(user.id)
    assert mfa.second_step(user, s_hash, code, settings) == "totp"
    assert users.resume_session(token, settings).id == user.id
    token2 = users.start_session(user, "", "", mfa_pending=True)
    with pytest.raises(AuthenticationFailed):
        mfa.second_step(User.get_by_id(user.id), _hash(token2), code, settings)  # replay
    assert users.resume_session(token2, settings) is None
    assert len(_events("auth.mfa_failed")) == 1


def _hash(token: str) -> str:
    from security.tokens import token_hash
    return token_hash(token)


def test_a_recovery_code_works_once_and_they_are_stored_hashed(settings, demo):
    _, codes = _enrol(settings, demo.agent)
    assert not RecoveryCode.select().where(RecoveryCode.code_hash.in_(codes)).exists()
    user = User.get_by_id(demo.agent.user_id)
    token = users.start_session(user, "", "", mfa_pending=True)
    assert mfa.second_step(user, _hash(token), codes[3].upper(), settings) == "recovery_code"
    token2 = users.start_session(user, "", "", mfa_pending=True)
    with pytest.raises(AuthenticationFailed):
        mfa.second_step(user, _hash(token2), codes[3], settings)
    assert mfa.status(demo.agent, settings)["codes_left"] == 9
    assert len(_events("auth.recovery_code_used")) == 1
    fresh = mfa.regenerate_codes(demo.agent)
    assert mfa.status(demo.agent, settings)["codes_left"] == 10
    with pytest.raises(AuthenticationFailed):
        mfa.second_step(user, _hash(token2), codes[4], settings)  # old set is gone
    assert mfa.second_step(user, _hash(token2), fresh[0], settings) == "recovery_code"


def test_a_required_role_cannot_turn_its_second_factor_off_others_can(settings, demo):
    s = with_settings(settings, mfa_required_roles=("admin",))
    _enrol(s, demo.admin)
    with pytest.raises(ValidationError) as exc:
        mfa.disable(demo.admin, s)
    assert exc.value.fields == {"mfa": "your role requires a second factor"}
    _enrol(s, demo.agent)
    mfa.disable(demo.agent, s)
    assert not mfa.enabled(User.get_by_id(demo.agent.user_id))
    assert not RecoveryCode.select().where(RecoveryCode.user == demo.agent.user_id).exists()
    assert len(_events("auth.mfa_disabled")) == 1
    assert mfa.needs_second_step(User.get_by_id(demo.admin.user_id), s)
    assert not mfa.needs_second_step(User.get_by_id(demo.agent.user_id), s)


# --- sessions ---------------------------------------------------------------------------------

def _login(username: str, ip: str = "10.1.1.1") -> str:
    return users.start_session(User.get(User.username == username), ip, "Firefox/140")


def test_sessions_end_after_the_idle_and_absolute_limits_from_the_settings(settings, demo):
    s = with_settings(settings, session_idle_minutes=10, session_absolute_hours=2)
    token = _login("wangfang")
    UserSession.update(last_seen_at=utcnow() - dt.timedelta(minutes=9)).execute()
    assert users.resume_session(token, s) is not None
    UserSession.update(last_seen_at=utcnow() - dt.timedelta(minutes=11)).execute()
    assert users.resume_session(token, s) is None
    token = _login("wangfang")
    UserSession.update(created_at=utcnow() - dt.timedelta(hours=2, minutes=1)).where(
        ~UserSession.revoked).execute()
    assert users.resume_session(token, s) is None


def test_a_user_lists_and_ends_own_sessions_and_logs_out_everywhere_else(settings, demo):
    here, there, third = _login("wangfang", "10.0.0.1"), _login("wangfang", "10.0.0.2"), \
        _login("wangfang", "10.0.0.3")
    _login("lilei")
    rows = user_sessions.list_own(demo.agent, settings, _hash(here))
    assert sorted(r["ip"] for r in rows) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert [r["current"] for r in rows if r["ip"] == "10.0.0.1"] == [True]
    user_sessions.revoke_own(demo.agent, _hash(there))
    assert users.resume_session(there, settings) is None
    with pytest.raises(NotFound):
        user_sessions.revoke_own(demo.agent2, _hash(third))  # not lilei's session
    assert user_sessions.revoke_others(demo.agent, _hash(here)) == 1
    assert users.resume_session(third, settings) is None
    assert users.resume_session(here, settings) is not None
    assert [json.loads(r.detail)["how"] for r in _events("session.revoked")] == ["own", "others"]


def test_administrators_list_and_end_a_users_sessions_agents_cannot(settings, demo):
    one, two = _login("wangfang"), _login("wangfang")
    assert len(user_sessions.list_for_user(demo.admin, demo.agent.user_id, settings)) == 2
    with pytest.raises(PermissionDenied):
        user_sessions.list_for_user(demo.agent2, demo.agent.user_id, settings)
    user_sessions.end_for_user(demo.admin, demo.agent.user_id, _hash(one))
    assert users.resume_session(one, settings) is None and users.resume_session(two, settings)
    assert user_sessions.end_for_user(demo.admin, demo.agent.user_id) == 1
    assert users.resume_session(two, settings) is None


def test_disabling_a_user_ends_all_their_sessions(settings, demo):
    tokens = [_login("wangfang") for _ in range(3)]
    users.disable_user(demo.admin, demo.agent.user_id)
    assert all(users.resume_session(t, settings) is None for t in tokens)
    assert UserSession.select().where(~UserSession.revoked).count() == 0


# --- re-authentication ------------------------------------------------------------------------

def test_a_sensitive_change_needs_the_password_unless_given_in_the_last_five_minutes(
        settings, demo):
    token = _login("wangfang")
    sid = _hash(token)
    user_sessions.change_own_email(demo.agent, sid, "", "wf@example.com", settings)  # at login
    UserSession.update(reauth_at=utcnow() - dt.timedelta(minutes=6)).execute()
    with pytest.raises(ValidationError) as exc:
        user_sessions.change_own_email(demo.agent, sid, "", "wf2@example.com", settings)
    assert exc.value.fields == {"current_password": "enter your password to confirm this change"}
    with pytest.raises(ValidationError) as exc:
        user_sessions.change_own_email(demo.agent, sid, "wrong-one-123", "wf2@example.com",
                                       settings)
    assert exc.value.fields == {"current_password": "incorrect"}
    user_sessions.change_own_email(demo.agent, sid, demo.passwords["wangfang"],
                                   "wf2@example.com", settings)
    assert user_emails.email_of(User.get_by_id(demo.agent.user_id)) == "wf2@example.com"
    assert user_sessions.recently_confirmed(demo.agent, sid)


# --- rate limits ------------------------------------------------------------------------------

def test_a_rate_limit_refuses_with_the_seconds_to_wait_and_frees_up_as_the_window_slides(
        settings):
    s = with_settings(settings, auth_rate_per_ip=3, auth_rate_per_account=100,
                      auth_rate_window_minutes=10)
    for _ in range(3):
        rate_limits.hit("login", s, ip="10.9.9.9", account="x")
    with pytest.raises(rate_limits.RateLimited) as exc:
        rate_limits.hit("login", s, ip="10.9.9.9", account="y")
    assert 590 <= exc.value.retry_after <= 600 and exc.value.http_status == 429
    rate_limits.hit("login", s, ip="10.9.9.8")   # another address
    rate_limits.hit("mfa", s, ip="10.9.9.9")     # another kind
    oldest = RateEvent.select().order_by(RateEvent.id).get()
    RateEvent.update(created_at=utcnow() - dt.timedelta(minutes=11)).where(
        RateEvent.id == oldest.id).execute()
    rate_limits.hit("login", s, ip="10.9.9.9")   # the oldest left the window


def test_the_per_account_limit_counts_across_addresses(settings):
    s = with_settings(settings, auth_rate_per_ip=100, auth_rate_per_account=2)
    rate_limits.hit("password", s, ip="10.0.0.1", account="WangFang")
    rate_limits.hit("password", s, ip="10.0.0.2", account="wangfang")
    with pytest.raises(rate_limits.RateLimited):
        rate_limits.hit("password", s, ip="10.0.0.3", account="wangfang ")
    assert RateEvent.select().count() == 4  # the refused attempt counted nothing


def test_the_rate_counts_are_shared_through_the_database(settings):
    """Another connection (as another gunicorn worker has) sees the same counts."""
    s = with_settings(settings, auth_rate_per_ip=1)
    rate_limits.hit("token", s, ip="10.7.7.7")
    from appliance.db import database
    database.close()
    database.connect()
    with pytest.raises(rate_limits.RateLimited):
        rate_limits.hit("token", s, ip="10.7.7.7")
