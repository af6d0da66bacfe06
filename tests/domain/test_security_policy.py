"""The security administrator's policies (services.security_policy, decision 0042): values
saved in the database override the config file for login, lockout, passwords, sessions
and the second factor; limits and permissions hold; changes are audited. SQLite and
PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance.errors import AuthenticationFailed, PermissionDenied, ValidationError
from appliance.models import AuditRecord, SecurityPolicy, User, UserSession, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import mfa, password_policy, security_policy, users
from tests.factories import actor, make_org


@pytest.fixture
def org(settings):
    o = make_org()
    users.create_user(SYSTEM, "sec", "安全管理员", "security_admin")
    users.create_user(SYSTEM, "auditor", "审计管理员", "audit_admin")
    return o


def _fail(username, settings):
    with pytest.raises(AuthenticationFailed):
        users.authenticate(username, "wrong-password-123", settings, ip="10.0.0.9")


def test_a_lower_lockout_threshold_set_here_locks_sooner_than_the_file_says(settings, org):
    assert settings.lockout_threshold == 5
    security_policy.save(actor("sec"), settings, {"lockout_threshold": "3",
                                                  "lockout_minutes": "15"})
    for _ in range(2):
        _fail("wangfang", settings)
    assert User.get(User.username == "wangfang").locked_until is None
    _fail("wangfang", settings)
    locked = User.get(User.username == "wangfang").locked_until
    assert dt.timedelta(minutes=14) < locked - utcnow() <= dt.timedelta(minutes=15)


def test_the_mlps_policy_set_here_applies_to_new_passwords(settings, org):
    assert settings.password_policy == "asvs"
    password_policy.check("correct horse battery staple", "wangfang", settings=settings)
    security_policy.save(actor("sec"), settings, {"password_policy": "mlps"})
    with pytest.raises(ValidationError) as exc:     # one character class only
        password_policy.check("correct horse battery staple", "wangfang", settings=settings)
    assert "password" in exc.value.fields


def test_a_shorter_idle_timeout_set_here_ends_sessions_sooner(settings, org):
    token = users.start_session(User.get(User.username == "wangfang"), "10.1.1.1", "Firefox")
    UserSession.update(last_seen_at=utcnow() - dt.timedelta(minutes=20)).execute()
    assert users.resume_session(token, settings, touch=False) is not None   # file: 30 min
    security_policy.save(actor("sec"), settings, {"session_idle_minutes": "15"})
    assert users.resume_session(token, settings) is None


def test_supervisors_can_be_made_to_use_a_second_factor_administrators_always_must(
        settings, org):
    boss = User.get_by_id(org.supervisor.user_id)
    assert not mfa.required_for(boss, settings)
    security_policy.save(actor("sec"), settings, {"mfa_required_roles": ["supervisor"]})
    assert mfa.required_for(boss, settings)
    in_force = {v.key: v.value for v in security_policy.current(actor("sec"), settings)}
    assert set(in_force["mfa_required_roles"]) == {"admin", "security_admin", "audit_admin",
                                                   "supervisor"}
    # an empty choice still keeps the three administrators
    security_policy.save(actor("sec"), settings, {"mfa_required_roles": []})
    assert not mfa.required_for(boss, settings)
    assert mfa.required_for(User.get(User.username == "sec"), settings)


def test_bad_values_name_each_field_and_nothing_is_saved(settings, org):
    with pytest.raises(ValidationError) as exc:
        security_policy.save(actor("sec"), settings, {
            "lockout_threshold": "0", "session_idle_minutes": "999", "password_history": "x",
            "password_policy": "none", "mfa_required_roles": ["customer"],
            "lockout_minutes": "20"})
    assert exc.value.fields == {
        "lockout_threshold": "a whole number from 3 to 10",
        "session_idle_minutes": "a whole number from 5 to 240",
        "password_history": "a whole number from 1 to 24",
        "password_policy": "must be asvs or mlps",
        "mfa_required_roles": "only supervisor and agent can be added"}
    assert SecurityPolicy.select().count() == 0


def test_an_empty_field_goes_back_to_the_file_and_every_change_is_audited(settings, org):
    sec = actor("sec")
    security_policy.save(sec, settings, {"lockout_threshold": "4", "lockout_minutes": "60"})
    security_policy.save(sec, settings, {"lockout_threshold": "4", "lockout_minutes": ""})
    values = {v.key: v for v in security_policy.current(sec, settings)}
    assert values["lockout_threshold"].value == 4 and values["lockout_threshold"].overridden
    assert values["lockout_minutes"].value == 30 and not values["lockout_minutes"].overridden
    security_policy.save(sec, settings, {"lockout_threshold": "4"})     # no change: no record
    records = list(AuditRecord.select().where(AuditRecord.action == "security.policy_changed")
                   .order_by(AuditRecord.seq))
    assert [r.actor_id for r in records] == [sec.user_id, sec.user_id]
    import json
    details = [json.loads(r.detail) if isinstance(r.detail, str) else r.detail for r in records]
    assert details[0]["changes"] == {"lockout_threshold": [5, 4], "lockout_minutes": [30, 60]}
    assert details[1]["changes"] == {"lockout_minutes": [60, 30]}


@pytest.mark.parametrize("who", ["admin", "auditor", "agent", "supervisor"])
def test_only_the_security_administrator_reads_or_sets_policies(settings, org, who):
    someone = {"admin": org.admin, "agent": org.agent, "supervisor": org.supervisor}.get(who) \
        or actor(who)
    with pytest.raises(PermissionDenied):
        security_policy.current(someone, settings)
    with pytest.raises(PermissionDenied):
        security_policy.save(someone, settings, {"lockout_threshold": "3"})
    assert SecurityPolicy.select().count() == 0
