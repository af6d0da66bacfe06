"""Separated administrators (三权分立) and custom roles: appliance.services.roles and the
separation rules in services.users (docs/decisions/0029-roles-and-permissions.md)."""
from __future__ import annotations

import pytest

from appliance.errors import PermissionDenied, ValidationError
from appliance.models import User
from appliance.rules.access import SYSTEM
from appliance.services import customers, roles, users
from tests.factories import actor, make_org


@pytest.fixture
def org(settings):
    o = make_org()
    users.create_user(SYSTEM, "sec", "安全管理员", "security_admin")
    users.create_user(SYSTEM, "auditor", "审计管理员", "audit_admin")
    return o


def _audit_actions() -> list[str]:
    from appliance.models import ALL_MODELS
    table = next(m for m in ALL_MODELS if m._meta.table_name.startswith("audit") and
                 "action" in m._meta.fields)
    return [r.action for r in table.select().order_by(table.id)]


def test_the_system_admin_cannot_grant_or_take_administrator_roles(org):
    with pytest.raises(ValidationError) as e:
        users.update_user(org.admin, org.agent.user_id, {"role": "security_admin"})
    assert "security administrator" in e.value.fields["role"]
    with pytest.raises(ValidationError):
        users.create_user(org.admin, "newadmin", "新管理员", "admin")
    with pytest.raises(ValidationError):
        roles.assign_role(org.admin, org.agent.user_id, "audit_admin")
    # Between the non-administrator roles it still moves people, as before.
    assert users.update_user(org.admin, org.agent.user_id, {"role": "supervisor"}).role == "supervisor"


def test_the_system_admin_cannot_touch_the_other_administrators_accounts(org):
    sec = actor("sec")
    with pytest.raises(PermissionDenied):
        users.disable_user(org.admin, sec.user_id)
    with pytest.raises(PermissionDenied):
        users.reset_password(org.admin, sec.user_id)


def test_the_security_admin_assigns_roles_and_the_change_is_audited(org):
    sec = actor("sec")
    roles.assign_role(sec, org.agent.user_id, "admin")
    assert User.get_by_id(org.agent.user_id).role == "admin"
    assert "user.role_changed" in _audit_actions()
    with pytest.raises(PermissionDenied):  # but creates nobody and configures nothing
        users.create_user(sec, "x1", "X", "agent")


def test_the_last_active_holder_of_each_administrator_role_stays(org):
    sec, auditor = actor("sec"), actor("auditor")
    with pytest.raises(ValidationError) as e:
        roles.assign_role(sec, auditor.user_id, "agent")
    assert "last active audit_admin" in e.value.fields["role"]
    with pytest.raises(ValidationError):
        roles.assign_role(sec, org.admin.user_id, "supervisor")
    users.create_user(SYSTEM, "sec2", "安全二", "security_admin")
    roles.assign_role(actor("sec2"), sec.user_id, "agent")  # another one holds it now
    with pytest.raises(ValidationError):
        users.disable_user(SYSTEM, actor("sec2").user_id)


def test_the_audit_admin_can_change_nothing(org):
    auditor = actor("auditor")
    assert auditor.permissions == frozenset({"audit.read"})
    for call in (lambda: users.create_user(auditor, "x2", "X", "agent"),
                 lambda: roles.create_role(auditor, "r", "", "agent", ["ticket.view"]),
                 lambda: roles.assign_role(auditor, org.agent.user_id, "supervisor"),
                 lambda: customers.create_customer(auditor, "王五")):
        with pytest.raises(PermissionDenied):
            call()


def test_a_custom_role_narrows_its_base_and_reaches_the_actor(org):
    sec = actor("sec")
    with pytest.raises(ValidationError) as e:
        roles.create_role(sec, "夜班", "", "agent", ["ticket.view", "org.manage"])
    assert "org.manage" in e.value.fields["permissions"]
    with pytest.raises(PermissionDenied):
        roles.create_role(org.admin, "x", "", "agent", ["ticket.view"])  # not the system admin's
    r = roles.create_role(sec, "夜班", "只读值班", "agent", ["ticket.view", "customer.view"])
    roles.assign_role(sec, org.agent.user_id, r.key)
    a = actor("wangfang")
    assert a.role == "agent" and a.role_name == "夜班"
    assert a.can("ticket.view") and not a.can("ticket.edit") and not a.can("kb.edit")
    with pytest.raises(ValidationError):
        roles.delete_role(sec, r.id)  # held
    roles.update_role(sec, r.id, "夜班", "", "agent", ["ticket.view"], expected_version=1)
    assert not actor("wangfang").can("customer.view")
    roles.assign_role(sec, org.agent.user_id, "agent")
    roles.delete_role(sec, r.id)
    assert [a for a in _audit_actions() if a.startswith("role.")] == [
        "role.created", "role.updated", "role.deleted"]


def test_a_custom_role_without_pii_sees_contacts_masked(org, settings):
    sec = actor("sec")
    r = roles.create_role(sec, "no-pii", "", "supervisor", ["ticket.view", "customer.view"])
    roles.assign_role(sec, org.supervisor.user_id, r.key)
    view = customers.get_customer(actor("lead"), org.customer.customer_id) \
        if hasattr(customers, "get_customer") else None
    if view is not None:
        assert all("***" in c.value for c in view.contacts)
    assert not customers.full_contacts(actor("lead"), org.customer.customer_id)
    assert customers.full_contacts(org.supervisor, org.customer.customer_id)
