"""Admin pages: departments, teams, users, skills, categories and custom fields."""
from __future__ import annotations

import re

import pytest

from appliance.models import User
from appliance.rules.access import SYSTEM
from appliance.services import org as org_service, users
from tests.web.conftest import Browser

ADMIN_PAGES = ["/admin/", "/admin/departments/", "/admin/departments/1", "/admin/users/",
               "/admin/users/new", "/admin/users/1", "/admin/skills/", "/admin/categories/",
               "/admin/fields/"]
ADMIN_POSTS = ["/admin/departments/", "/admin/departments/1", "/admin/departments/1/active",
               "/admin/departments/1/teams", "/admin/users/new", "/admin/users/1",
               "/admin/users/1/disable", "/admin/users/1/enable", "/admin/users/1/reset-password",
               "/admin/users/1/skills", "/admin/skills/", "/admin/categories/",
               "/admin/fields/"]


@pytest.fixture
def admin(login):
    return login("admin")


def one_time_password(response) -> str:
    m = re.search(r'<code id="one-time-password">([^<]+)</code>', response.get_data(as_text=True))
    assert m, response.get_data(as_text=True)[:2000]
    return m.group(1)


# --- access -------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["wangfang", "lead", "zhangsan"])
def test_everyone_but_an_admin_gets_403_on_every_admin_page(login, username):
    b = login(username)
    for path in ADMIN_PAGES:
        assert b.get(path).status_code == 403, path
    for path in ADMIN_POSTS:
        assert b.post(path, {"name": "x", "code": "X"}).status_code == 403, path
    assert [d.code for d in org_service.list_departments()] == ["AS", "LOG"]


def test_anonymous_visitors_are_sent_to_the_login_page(browser, org):
    r = browser().get("/admin/users/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_an_admin_sees_every_admin_page(admin):
    for path in ADMIN_PAGES:
        assert admin.get(path).status_code == 200, path


@pytest.mark.parametrize("path", ["/admin/departments/999", "/admin/users/999",
                                  "/admin/categories/999", "/admin/fields/999"])
def test_unknown_ids_are_404(admin, path):
    assert admin.get(path).status_code == 404
    assert admin.post(path, {"name": "x", "code": "x", "key": "x", "label": "x",
                             "kind": "text"}).status_code == 404


@pytest.mark.parametrize("path", ["/admin/departments/999/active", "/admin/departments/999/teams",
                                  "/admin/users/999/disable", "/admin/users/999/enable",
                                  "/admin/users/999/reset-password", "/admin/users/999/skills",
                                  "/admin/categories/999/active"])
def test_actions_on_unknown_ids_are_404(admin, path):
    assert admin.post(path, {"active": "0", "name": "x"}).status_code == 404


def test_admin_forms_need_a_csrf_token(admin):
    r = admin.client.post("/admin/departments/", data={"code": "RD", "name": "研发"})
    assert r.status_code == 400
    assert "RD" not in [d.code for d in org_service.list_departments()]


# --- departments and teams ------------------------------------------------------------------

def test_an_admin_creates_a_department_and_sees_it_listed(admin):
    r = admin.post("/admin/departments/", {"code": "RD", "name": "研发", "name_en": "R&D"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/departments/")
    html = admin.get("/admin/departments/").get_data(as_text=True)
    assert "研发" in html and "R&amp;D" in html and "Department 研发 was created." in html


@pytest.mark.parametrize("form, field, message", [
    ({"code": "AS", "name": "重复"}, "code", "already used"),
    ({"code": "NEW", "name": ""}, "name", "required"),
    ({"code": "", "name": "无代码"}, "code", "required"),
])
def test_department_errors_re_render_the_form_with_the_field_message(admin, form, field, message):
    r = admin.post("/admin/departments/", form)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert f'id="err-{field}"' in html and message in html


def test_an_admin_edits_a_department(admin, org):
    r = admin.post(f"/admin/departments/{org.after_sales}",
                   {"code": "AS", "name": "售后服务", "name_en": "After-sales", "active": "1"})
    assert r.status_code == 302
    assert org_service.get_department(org.after_sales).name == "售后服务"


def test_editing_a_department_to_a_used_code_is_refused(admin, org):
    r = admin.post(f"/admin/departments/{org.after_sales}", {"code": "LOG", "name": "售后"})
    assert r.status_code == 400 and 'id="err-code"' in r.get_data(as_text=True)


def test_an_admin_deactivates_and_reactivates_a_department(admin, org):
    admin.post(f"/admin/departments/{org.logistics}/active", {"active": "0"})
    assert not org_service.get_department(org.logistics).active
    admin.post(f"/admin/departments/{org.logistics}/active", {"active": "1"})
    assert org_service.get_department(org.logistics).active


def test_an_admin_adds_a_team_with_members_to_a_department(admin, org):
    r = admin.post(f"/admin/departments/{org.after_sales}/teams",
                   {"name": "二线", "member_ids": [str(org.agent.user_id)]})
    assert r.status_code == 302
    assert [t.name for t in org_service.get_department(org.after_sales).teams] == ["二线"]
    r = admin.post(f"/admin/departments/{org.after_sales}/teams", {"name": "二线"})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "already used in this department" in html and 'value="二线"' in html


def test_a_script_tag_in_a_department_name_is_escaped(admin):
    admin.post("/admin/departments/", {"code": "X1", "name": "<script>alert(1)</script>"})
    html = admin.get("/admin/departments/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


# --- users ------------------------------------------------------------------------------------

def test_the_user_list_filters_by_role_and_department(admin, org):
    html = admin.get(f"/admin/users/?role=agent&department_id={org.after_sales}").get_data(
        as_text=True)
    assert ">wangfang<" in html and ">lilei<" not in html and ">lead<" not in html
    html = admin.get("/admin/users/?role=customer").get_data(as_text=True)
    assert ">zhangsan<" in html and ">wangfang<" not in html


def test_a_new_user_gets_a_one_time_password_and_must_change_it_at_first_login(admin, org, app):
    r = admin.post("/admin/users/new", {"username": "zhaoliu", "display_name": "赵六",
                                        "role": "agent", "department_id": str(org.logistics),
                                        "capacity": "8", "locale": "zh_CN", "email": ""})
    assert r.status_code == 200
    password = one_time_password(r)
    u = User.get(User.username == "zhaoliu")
    assert u.must_change_password and u.department_id == org.logistics and u.capacity == 8
    newcomer = Browser(app)
    r = newcomer.login("zhaoliu", password)
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/password")
    assert newcomer.get("/agent/").headers["Location"].endswith("/account/password")


@pytest.mark.parametrize("form, field, message", [
    ({"username": "wangfang"}, "username", "already taken"),
    ({"username": "a b"}, "username", "2-64 letters"),
    ({"display_name": ""}, "display_name", "required"),
    ({"role": "customer"}, "role", "agent, supervisor, admin"),
    ({"capacity": "lots"}, "capacity", "must be a whole number"),
    ({"capacity": "9999"}, "capacity", "must be between 0 and 500"),
    ({"locale": "fr"}, "locale", "must be zh_CN or en"),
    ({"department_id": "999"}, "department_id", "does not exist"),
])
def test_user_creation_errors_re_render_the_form_with_the_field_message(admin, form, field,
                                                                         message):
    data = {"username": "zhaoliu", "display_name": "赵六", "role": "agent", "capacity": "10",
            "locale": "", "email": "", "department_id": ""}
    data.update(form)
    r = admin.post("/admin/users/new", data)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert f'id="err-{field}"' in html and message in html
    assert not User.select().where(User.username == "zhaoliu").exists()


def test_an_admin_edits_role_department_capacity_and_language(admin, org):
    uid = org.agent.user_id
    r = admin.post(f"/admin/users/{uid}", {"display_name": "王芳", "email": "wf@example.com",
                                           "role": "supervisor",
                                           "department_id": str(org.logistics),
                                           "capacity": "20", "locale": "en"})
    assert r.status_code == 302
    u = User.get_by_id(uid)
    assert (u.role, u.department_id, u.capacity, u.locale) == ("supervisor", org.logistics, 20,
                                                               "en")


def test_an_invalid_edit_keeps_the_entered_values(admin, org):
    r = admin.post(f"/admin/users/{org.agent.user_id}",
                   {"display_name": "王芳", "role": "agent", "capacity": "-1", "locale": ""})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="err-capacity"' in html and 'value="-1"' in html


def test_a_disabled_user_is_logged_out_and_cannot_log_in(admin, login, org, app):
    agent = login("wangfang")
    r = admin.post(f"/admin/users/{org.agent.user_id}/disable")
    assert r.status_code == 302 and not User.get_by_id(org.agent.user_id).active
    assert agent.get("/agent/").status_code == 302  # session ended
    assert Browser(app).login("wangfang", org.passwords["wangfang"]).status_code == 401
    admin.post(f"/admin/users/{org.agent.user_id}/enable")
    assert Browser(app).login("wangfang", org.passwords["wangfang"]).status_code == 302


def test_an_admin_cannot_disable_their_own_account(admin, org):
    r = admin.post(f"/admin/users/{org.admin.user_id}/disable")
    assert r.status_code == 400 and "you cannot disable your own account" in r.get_data(
        as_text=True)
    assert User.get_by_id(org.admin.user_id).active


def test_a_password_reset_shows_a_one_time_password_the_user_must_change(admin, org, app):
    r = admin.post(f"/admin/users/{org.agent.user_id}/reset-password")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    password = one_time_password(r)
    assert Browser(app).login("wangfang", org.passwords["wangfang"]).status_code == 401
    b = Browser(app)
    r = b.login("wangfang", password)
    assert r.headers["Location"].endswith("/account/password")
    r = b.post("/account/password", {"current_password": password,
                                     "new_password": "Mein-neues-Passwort",
                                     "confirm_password": "Mein-neues-Passwort"},
               csrf_from="/account/password")
    assert r.status_code == 302 and not User.get_by_id(org.agent.user_id).must_change_password
    assert password not in admin.get(f"/admin/users/{org.agent.user_id}").get_data(as_text=True)


# --- skills -----------------------------------------------------------------------------------

def test_an_admin_creates_a_skill_and_a_duplicate_is_refused(admin):
    assert admin.post("/admin/skills/", {"name": "打印机"}).status_code == 302
    assert [s.name for s in org_service.list_skills()] == ["打印机"]
    r = admin.post("/admin/skills/", {"name": "打印机"})
    assert r.status_code == 400 and "already exists" in r.get_data(as_text=True)


def test_a_language_skill_needs_its_language_code_and_shows_it_in_the_catalogue(admin):
    r = admin.post("/admin/skills/", {"name": "English", "kind": "language", "language": ""})
    assert r.status_code == 400 and "required for a language skill" in r.get_data(as_text=True)
    assert admin.post("/admin/skills/", {"name": "English", "kind": "language",
                                         "language": "en"}).status_code == 302
    page = admin.get("/admin/skills/").get_data(as_text=True)
    assert "English" in page and "<td>en</td>" in page


def test_an_admin_sets_and_removes_an_agent_skill_level(admin, org):
    skill = org_service.save_skill(SYSTEM, "网络")
    uid = org.agent.user_id
    assert admin.post(f"/admin/users/{uid}/skills",
                      {"skill_id": str(skill.id), "level": "4"}).status_code == 302
    assert users.get_user(org.admin, uid).skills == [("网络", 4)]
    html = admin.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert "网络" in html
    admin.post(f"/admin/users/{uid}/skills", {"skill_id": str(skill.id), "level": "0"})
    assert users.get_user(org.admin, uid).skills == []


@pytest.mark.parametrize("form, field", [({"level": "9"}, "level"), ({"skill_id": ""}, "skill_id")])
def test_an_invalid_skill_level_is_refused_with_the_field_message(admin, org, form, field):
    skill = org_service.save_skill(SYSTEM, "网络")
    data = {"skill_id": str(skill.id), "level": "3", **form}
    r = admin.post(f"/admin/users/{org.agent.user_id}/skills", data)
    assert r.status_code == 400 and f'id="err-{field}"' in r.get_data(as_text=True)
    assert users.get_user(org.admin, org.agent.user_id).skills == []


# --- categories -------------------------------------------------------------------------------

def test_an_admin_builds_a_category_tree(admin, org):
    admin.post("/admin/categories/", {"name": "硬件", "department_id": str(org.after_sales)})
    parent = org_service.list_categories()[0]
    admin.post("/admin/categories/", {"name": "打印机", "parent_id": str(parent.id)})
    assert [c.path for c in org_service.list_categories()] == ["硬件", "硬件 / 打印机"]
    html = admin.get("/admin/categories/").get_data(as_text=True)
    assert "硬件 / 打印机" in html and 'class="depth-1"' in html


def test_a_category_moves_with_its_children(admin):
    a = org_service.save_category(SYSTEM, "硬件")
    b = org_service.save_category(SYSTEM, "软件")
    child = org_service.save_category(SYSTEM, "驱动", parent_id=a.id)
    org_service.save_category(SYSTEM, "安装", parent_id=child.id)
    r = admin.post(f"/admin/categories/{child.id}", {"name": "驱动", "parent_id": str(b.id),
                                                     "active": "1"})
    assert r.status_code == 302
    assert sorted(c.path for c in org_service.list_categories()) == [
        "硬件", "软件", "软件 / 驱动", "软件 / 驱动 / 安装"]


def test_a_category_cannot_move_inside_itself(admin):
    a = org_service.save_category(SYSTEM, "硬件")
    child = org_service.save_category(SYSTEM, "打印机", parent_id=a.id)
    page = admin.get(f"/admin/categories/{a.id}").get_data(as_text=True)
    parents = re.search(r'<select name="parent_id">(.*?)</select>', page, re.S).group(1)
    assert f'value="{child.id}"' not in parents  # not offered as a new parent
    r = admin.post(f"/admin/categories/{a.id}", {"name": "硬件", "parent_id": str(child.id)})
    assert r.status_code == 400 and "a category cannot be inside itself" in r.get_data(
        as_text=True)


def test_a_duplicate_category_name_at_the_same_level_is_refused(admin):
    org_service.save_category(SYSTEM, "硬件")
    r = admin.post("/admin/categories/", {"name": "硬件"})
    assert r.status_code == 400 and 'id="err-name"' in r.get_data(as_text=True)


def test_a_deactivated_category_is_no_longer_offered_in_the_portal(admin, login):
    c = org_service.save_category(SYSTEM, "旧产品")
    admin.post(f"/admin/categories/{c.id}/active", {"active": "0"})
    assert not org_service.get_category(c.id).active
    assert "旧产品" not in login("zhangsan").get("/portal/new").get_data(as_text=True)


# --- custom fields ----------------------------------------------------------------------------

def test_an_admin_creates_a_choice_field_with_options(admin):
    r = admin.post("/admin/fields/", {"key": "model", "label": "型号", "kind": "select",
                                      "options": "A1\nB2\n\nA1", "position": "2",
                                      "required": "1", "active": "1"})
    assert r.status_code == 302
    (f,) = org_service.list_custom_fields()
    assert (f.key, f.kind, f.options, f.required, f.active, f.position) == (
        "model", "select", ["A1", "B2"], True, True, 2)


@pytest.mark.parametrize("form, field, message", [
    ({"kind": "select", "options": ""}, "options", "list at least one option"),
    ({"key": "Bad Key"}, "key", "lower-case letters"),
    ({"kind": "colour"}, "kind", "must be one of"),
    ({"position": "first"}, "position", "must be a whole number"),
    ({"label": ""}, "label", "required"),
])
def test_custom_field_errors_re_render_the_form_with_the_field_message(admin, form, field,
                                                                       message):
    data = {"key": "serial", "label": "序列号", "kind": "text", "position": "0", "active": "1"}
    data.update(form)
    r = admin.post("/admin/fields/", data)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert f'id="err-{field}"' in html and message in html
    assert org_service.list_custom_fields() == []


def test_an_admin_edits_and_deactivates_a_custom_field(admin):
    f = org_service.save_custom_field(SYSTEM, "serial", "序列号", "text")
    page = admin.get(f"/admin/fields/{f.id}").get_data(as_text=True)
    assert 'value="serial"' in page
    r = admin.post(f"/admin/fields/{f.id}", {"key": "serial", "label": "Serial", "kind": "number",
                                             "position": "5"})
    assert r.status_code == 302
    f = org_service.get_custom_field(f.id)
    assert (f.label, f.kind, f.position, f.active) == ("Serial", "number", 5, False)
