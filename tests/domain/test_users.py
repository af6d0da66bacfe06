"""Accounts, login, server-side sessions and API tokens."""
import datetime as dt

import pytest

from appliance.errors import AuthenticationFailed, NotFound, PermissionDenied, ValidationError
from appliance.models import ApiToken, User, UserSession
from appliance.rules.access import SYSTEM
from appliance.services import users
from tests.factories import make_org


@pytest.fixture
def org(settings):
    return make_org()


@pytest.mark.real_hashing
def test_passwords_are_stored_as_argon2id_hashes(settings, org):
    h = User.get(User.username == "wangfang").password_hash
    assert h.startswith("$argon2id$") and org.passwords["wangfang"] not in h


def test_login_fails_with_the_same_message_for_unknown_user_wrong_password_and_disabled(settings, org):
    users.disable_user(org.admin, org.agent2.user_id)
    messages = set()
    for name, pw in (("nobody", "x" * 12), ("wangfang", "wrong-password"),
                     ("lilei", org.passwords["lilei"])):
        with pytest.raises(AuthenticationFailed) as exc:
            users.authenticate(name, pw)
        messages.add(exc.value.message)
    assert len(messages) == 1


def test_weak_and_duplicate_passwords_and_usernames_are_refused(settings, org):
    with pytest.raises(ValidationError) as exc:
        users.create_user(org.admin, "new", "New", "agent", password="short")
    assert "password" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        users.create_user(org.admin, "wangfang", "Dup", "agent")
    assert exc.value.fields == {"username": "already taken"}
    with pytest.raises(ValidationError) as exc:
        users.create_user(org.admin, "x y", "", "wizard", email="bad\r\nBcc: x")
    assert set(exc.value.fields) == {"username", "display_name", "role", "email"}


def test_only_admins_manage_users(settings, org):
    with pytest.raises(PermissionDenied):
        users.create_user(org.supervisor, "new", "New", "agent")
    with pytest.raises(PermissionDenied):
        users.reset_password(org.agent, org.agent2.user_id)


def test_sessions_get_a_new_random_id_per_login_and_only_its_hash_is_stored(settings, org):
    u = User.get(User.username == "wangfang")
    t1, t2 = users.start_session(u, "127.0.0.1", "ua"), users.start_session(u, "127.0.0.1", "ua")
    assert t1 != t2 and len(t1) > 40
    stored = [s.id_hash for s in UserSession.select()]
    assert t1 not in stored and users.resume_session(t1, settings).id == u.id


def test_sessions_end_on_logout_idle_timeout_and_absolute_lifetime(settings, org):
    u = User.get(User.username == "wangfang")
    t = users.start_session(u, "", "")
    users.end_session(t)
    assert users.resume_session(t, settings) is None
    idle = users.start_session(u, "", "")
    UserSession.update(last_seen_at=dt.datetime.utcnow() - dt.timedelta(minutes=31)).execute()
    assert users.resume_session(idle, settings) is None
    old = users.start_session(u, "", "")
    UserSession.update(created_at=dt.datetime.utcnow() - dt.timedelta(hours=13)).where(
        UserSession.revoked == False).execute()  # noqa: E712
    assert users.resume_session(old, settings) is None


def test_disabling_a_user_ends_their_sessions_and_tokens(settings, org):
    u = User.get(User.username == "wangfang")
    session = users.start_session(u, "", "")
    _, token = users.create_api_token(org.agent, "ci")
    users.disable_user(org.admin, u.id)
    assert users.resume_session(session, settings) is None
    assert users.user_for_api_token(token) is None


def test_api_tokens_are_stored_hashed_and_can_be_revoked(settings, org):
    token_id, token = users.create_api_token(org.agent, "script")
    assert ApiToken.get_by_id(token_id).token_hash != token and token.startswith("gd_")
    assert users.user_for_api_token(token).username == "wangfang"
    with pytest.raises(NotFound):
        users.revoke_api_token(org.agent2, token_id)
    users.revoke_api_token(org.agent, token_id)
    assert users.user_for_api_token(token) is None


def test_a_reset_password_must_be_changed_and_the_change_needs_the_current_one(settings, org):
    one_time = users.reset_password(org.admin, org.agent.user_id)
    u = users.authenticate("wangfang", one_time)
    assert u.must_change_password
    with pytest.raises(ValidationError):
        users.change_own_password(org.agent, "not-it", "Brand-new-pass-1")
    users.change_own_password(org.agent, one_time, "Brand-new-pass-1")
    assert not users.authenticate("wangfang", "Brand-new-pass-1").must_change_password


def test_the_cli_system_actor_can_bootstrap_the_first_admin(settings):
    view, password = users.create_user(SYSTEM, "root", "Root", "admin", must_change_password=True)
    assert view.role == "admin" and users.authenticate("root", password).must_change_password


def test_active_staff_is_every_active_staff_member_by_department_then_name(settings, org):
    """The assignee choices: one query for agents, supervisors and admins, never customers
    or disabled accounts, by department name then display name."""
    users.disable_user(org.admin, org.agent2.user_id)
    staff = users.list_active_staff(org.agent)
    ids = {u.id for u in staff}
    assert org.agent2.user_id not in ids and org.customer.user_id not in ids
    assert {org.admin.user_id, org.agent.user_id, org.supervisor.user_id} <= ids
    assert all(u.role in ("agent", "supervisor", "admin") for u in staff)
    keys = [(u.department.name if u.department else "", u.display_name) for u in staff]
    assert keys == sorted(keys)
    with pytest.raises(PermissionDenied):
        users.list_active_staff(org.customer)
