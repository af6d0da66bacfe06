"""Pure rules of roles and permissions (rules/access.py; decision 0029)."""
from appliance.rules.access import (ADMIN_ROLES, PERMISSIONS, ROLE_PERMISSIONS, SYSTEM, Actor,
                                    TicketFacts, can_assign_to, can_edit_ticket,
                                    can_merge_customers, can_see_internal, can_view_customers,
                                    can_view_ticket, custom_role_problem, role_change_problem,
                                    sees_pii)
from appliance.rules.pii import mask_contact

ELSEWHERE = TicketFacts(department_id=2, assignee_id=None, customer_id=9, requester_id=99)


def a(role: str, **kw) -> Actor:
    return Actor(user_id=5, role=role, department_id=1, **kw)


def test_every_role_holds_only_catalogued_permissions_and_no_two_admins_share_a_duty():
    for perms in ROLE_PERMISSIONS.values():
        assert perms <= set(PERMISSIONS)
    system, security, audit = (ROLE_PERMISSIONS[r] for r in
                               ("admin", "security_admin", "audit_admin"))
    assert not (system & security) and not (system & audit) and not (security & audit)
    assert audit == {"audit.read"}
    assert SYSTEM.permissions == set(PERMISSIONS)


def test_the_security_and_audit_admins_see_no_ticket_and_no_customer():
    for role in ("security_admin", "audit_admin"):
        x = a(role)
        assert not x.is_staff and not can_view_ticket(x, ELSEWHERE)
        assert not can_edit_ticket(x, ELSEWHERE) and not can_view_customers(x)
        assert not can_see_internal(x) and not can_assign_to(x, 1, 1)
        assert not sees_pii(x, True)


def test_only_role_assign_moves_people_into_or_out_of_an_administrator_role():
    admin, sec = a("admin"), a("security_admin")
    for role in ADMIN_ROLES:
        assert role_change_problem(admin, "agent", role)
        assert role_change_problem(admin, role, "agent")
        assert not role_change_problem(sec, "agent", role)
    assert not role_change_problem(admin, "agent", "supervisor")
    assert role_change_problem(admin, "agent", "agent", custom=True)
    assert role_change_problem(a("audit_admin"), "agent", "supervisor")


def test_a_custom_role_narrows_its_base():
    assert custom_role_problem("agent", ["ticket.view", "kb.edit"]) == {}
    assert "permissions" in custom_role_problem("agent", ["ticket.view", "customer.merge"])
    assert "permissions" in custom_role_problem("supervisor", ["customer.view"])
    assert "base_role" in custom_role_problem("admin", ["ticket.view"])
    narrow = a("supervisor", permissions=frozenset({"ticket.view"}))
    assert can_view_ticket(narrow, TicketFacts(1, None, None, None))
    assert not can_edit_ticket(narrow, TicketFacts(1, None, None, None))
    assert not can_merge_customers(narrow) and not can_assign_to(narrow, 2, 1)


def test_pii_is_masked_without_the_permission():
    assert sees_pii(a("supervisor"), False) and sees_pii(a("agent"), True)
    assert not sees_pii(a("agent"), False)
    assert not sees_pii(a("agent", permissions=frozenset({"ticket.view"})), True)
    assert mask_contact("phone", "13812341234") == "138****1234"
    assert mask_contact("email", "alice@x.cn") == "a***@x.cn"
