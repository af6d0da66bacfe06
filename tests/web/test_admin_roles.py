"""The security administrator's roles pages, and the separation of the three
administrators at the web layer (docs/decisions/0029-roles-and-permissions.md)."""
from __future__ import annotations

from appliance.models import Role, User


def _audit_rows(action: str) -> list:
    from appliance.models import ALL_MODELS
    table = next(m for m in ALL_MODELS if m._meta.table_name.startswith("audit")
                 and "action" in m._meta.fields)
    return list(table.select().where(table.action == action))


def test_each_administrator_lands_on_their_own_home(people):
    assert people("sec").get("/").headers["Location"].endswith("/admin/roles/")
    assert people("admin").get("/").headers["Location"].endswith("/agent/")
    assert people("auditor").get("/").headers["Location"].endswith("/audit/")


def test_no_administrator_can_open_anothers_pages(people):
    admin, sec, auditor = people("admin"), people("sec"), people("auditor")
    assert admin.get("/admin/roles/").status_code == 403
    assert admin.get("/admin/roles/people").status_code == 403
    for path in ("/admin/users/", "/admin/departments/", "/admin/mailboxes/", "/agent/"):
        assert sec.get(path).status_code == 403, path
    for path in ("/admin/", "/admin/roles/", "/admin/users/", "/agent/", "/agent/customers/"):
        assert auditor.get(path).status_code == 403, path
    assert _audit_rows("access.denied"), "refusals in the admin areas are audited"


def test_the_admin_landing_page_shows_each_administrator_only_their_areas(people):
    html = people("sec").get("/admin/").get_data(as_text=True)
    assert 'id="admin-roles"' in html and "/admin/users/" not in html
    html = people("admin").get("/admin/").get_data(as_text=True)
    assert 'id="admin-roles"' not in html and "/admin/users/" in html


def test_the_system_admin_cannot_make_a_security_admin_in_the_user_form(people, org):
    r = people("admin").post(f"/admin/users/{org.agent.user_id}", data={
        "display_name": "王芳", "email": "", "role": "security_admin",
        "department_id": str(org.after_sales), "capacity": "10", "locale": ""})
    assert r.status_code == 400
    assert "only the security administrator assigns this role" in r.get_data(as_text=True)
    assert User.get_by_id(org.agent.user_id).role == "agent"


def test_a_custom_role_built_in_the_form_narrows_what_its_holder_can_do(people, org):
    sec = people("sec")
    r = sec.post("/admin/roles/new", data={
        "name": "只读坐席", "description": "reads tickets only", "base_role": "agent",
        "permissions": ["ticket.view", "customer.view", "kb.view"]})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    role = Role.get(Role.name == "只读坐席")
    assert sec.get(f"/admin/roles/{role.id}").status_code == 200
    r = sec.post(f"/admin/users/{org.agent.user_id}", data={"role": "agent"})
    assert r.status_code == 403  # the users area is the system administrator's
    r = sec.post(f"/admin/roles/people/{org.agent.user_id}", data={"role": f"custom:{role.id}"})
    assert r.status_code == 302
    assert User.get_by_id(org.agent.user_id).custom_role_id == role.id
    assert _audit_rows("role.created") and _audit_rows("user.role_changed")
    agent = people("wangfang")
    assert agent.get("/agent/").status_code == 200
    assert agent.post("/agent/kb/new", data={"title": "x", "body": "y"}).status_code == 403


def test_bad_custom_roles_are_refused_naming_the_field(people):
    sec = people("sec")
    r = sec.post("/admin/roles/new", data={"name": "", "base_role": "admin",
                                           "permissions": ["ticket.view"]})
    assert r.status_code == 400
    r = sec.post("/admin/roles/new", data={"name": "x", "base_role": "agent",
                                           "permissions": ["ticket.view", "user.manage"]})
    assert r.status_code == 400 and "not available to this base role" in r.get_data(as_text=True)
    assert not Role.select().exists()


def test_the_last_security_admin_keeps_the_role(people, org):
    sec = people("sec")
    sec_id = User.get(User.username == "sec").id
    r = sec.post(f"/admin/roles/people/{sec_id}", data={"role": "agent"})
    assert r.status_code == 400  # own role, and the last holder
    assert User.get_by_id(sec_id).role == "security_admin"


def test_the_roles_api_is_the_security_admins_alone(app, people, org):
    from tests.web.apiclient import ApiClient, token_for
    sec, admin = ApiClient(app, token_for("sec")), ApiClient(app, token_for("admin"))
    assert admin.get("/roles").status_code == 403
    assert admin.post("/roles", json={"name": "x", "base_role": "agent",
                                      "permissions": ["ticket.view"]}).status_code == 403
    r = sec.post("/roles", json={"name": "质检", "base_role": "supervisor",
                                 "permissions": ["ticket.view", "report.view"]})
    assert r.status_code == 201, r.get_json()
    role = r.get_json()
    r = sec.post("/roles", json={"name": "y", "base_role": "agent", "permissions": ["root"]})
    assert r.status_code == 400 and "permissions" in r.get_json()["error"]["details"]["fields"]
    r = sec.open("PUT", f"/users/{org.supervisor.user_id}/role", json={"role": role["key"]})
    assert r.status_code == 200 and r.get_json()["custom_name"] == "质检"
    r = sec.open("PUT", f"/roles/{role['id']}", headers={"If-Match": '"9"'}, json={
        "name": "质检", "base_role": "supervisor", "permissions": ["ticket.view"]})
    assert r.status_code == 409
    assert sec.delete(f"/roles/{role['id']}").status_code == 400  # held
    keys = [x["key"] for x in sec.get("/roles").get_json()["items"]]
    assert keys[:6] == ["customer", "agent", "supervisor", "admin", "security_admin",
                        "audit_admin"] and role["key"] in keys
    assert ApiClient(app, token_for("auditor")).get("/roles").status_code == 403


def test_every_permission_in_the_catalogue_has_a_translatable_label():
    from appliance.rules.access import PERMISSIONS
    from webapp.views.admin_roles import PERMISSION_LABELS
    assert set(PERMISSION_LABELS) == set(PERMISSIONS)


def test_the_security_admin_unlocks_accounts_and_ends_sessions(people, org):
    from appliance.models import UserSession
    agent = people("wangfang")
    User.update(failed_logins=5).where(User.id == org.agent.user_id).execute()
    sec = people("sec")
    assert 'action="/admin/roles/people/%d/unlock"' % org.agent.user_id in \
        sec.get("/admin/roles/people").get_data(as_text=True)
    assert sec.post(f"/admin/roles/people/{org.agent.user_id}/unlock").status_code == 302
    assert User.get_by_id(org.agent.user_id).failed_logins == 0
    assert sec.post(f"/admin/roles/people/{org.agent.user_id}/sessions/end").status_code == 302
    assert not UserSession.select().where((UserSession.user == org.agent.user_id)
                                          & ~UserSession.revoked).exists()
    assert agent.get("/agent/").status_code == 302  # logged out
    assert people("admin").post(f"/admin/roles/people/{org.agent.user_id}/unlock"
                                ).status_code == 403
