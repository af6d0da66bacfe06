"""Admin pages for dispatch: overview with the health check, department policy,
agent dispatch profiles with shifts and absences, and the skills categories need."""
from __future__ import annotations

import dataclasses
import html as html_lib
import re

import pytest

from appliance.models import AgentAbsence, AgentShift, CategorySkill, DispatchPolicy, User
from appliance.rules.access import SYSTEM
from appliance.services import dispatch_admin, org as org_service, users

PAGES = ["/admin/dispatch/", "/admin/dispatch/departments/1", "/admin/dispatch/agents/",
         "/admin/dispatch/agents/2", "/admin/dispatch/categories"]
POLICY = {"strategy": "skills", "auto_assign": "1", "weights.skill": "0.4", "weights.load": "0.3",
          "weights.efficiency": "0.1", "weights.language": "0.1", "weights.continuity": "0.05",
          "weights.fairness": "0.05", "channel_weights.phone": "2", "priority_weights.1": "1.5",
          "escalate_after_minutes": "30", "lead_id": "", "overflow_department_id": "",
          "overflow_team_id": "", "expected_version": "0"}


@pytest.fixture
def admin(login):
    return login("admin")


def text(r) -> str:
    return html_lib.unescape(r.get_data(as_text=True))


def field_error(r, name: str) -> str:
    m = re.search(rf'id="err-{re.escape(name)}">([^<]*)<', r.get_data(as_text=True))
    assert m, f"no error shown for {name}"
    return html_lib.unescape(m.group(1))


def input_value(r, name: str) -> str:
    m = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', r.get_data(as_text=True))
    assert m, f"no input {name}"
    return html_lib.unescape(m.group(1))


def test_an_admin_sees_every_dispatch_page_and_others_get_403(admin, login):
    for path in PAGES:
        assert admin.get(path).status_code == 200, path
    agent = login("wangfang")
    for path in PAGES:
        assert agent.get(path).status_code == 403, path
    assert agent.post("/admin/dispatch/departments/1", POLICY).status_code == 403
    assert not DispatchPolicy.select().exists()


def test_the_admin_navigation_links_to_dispatch_and_its_pages_link_back(admin):
    assert 'id="nav-dispatch"' in admin.get("/admin/").get_data(as_text=True)
    assert "/admin/dispatch/departments/1" in admin.get("/admin/departments/1").get_data(
        as_text=True)
    assert "/admin/dispatch/agents/2" in admin.get("/admin/users/2").get_data(as_text=True)


def test_saving_a_department_policy_stores_it(admin, org):
    r = admin.post(f"/admin/dispatch/departments/{org.after_sales}",
                   {**POLICY, "overflow_department_id": str(org.logistics),
                    "lead_id": str(org.supervisor.user_id)})
    assert r.status_code == 302, text(r)[:3000]
    p = DispatchPolicy.get_by_id(org.after_sales)
    assert (p.strategy, p.escalate_after_minutes, p.version) == ("skills", 30, 1)
    assert p.channel_weights == {"phone": 2.0} and p.overflow_department_id == org.logistics
    page = admin.get(r.headers["Location"])
    assert input_value(page, "weights.skill") == "0.4"
    assert "saved" in text(page)


def test_policy_errors_are_shown_next_to_their_fields_and_keep_the_input(admin, org):
    bad = {**POLICY, "weights.skill": "0", "weights.load": "0", "weights.efficiency": "0",
           "weights.language": "0", "weights.continuity": "0", "weights.fairness": "0",
           "channel_weights.phone": "abc", "escalate_after_minutes": "99999"}
    r = admin.post(f"/admin/dispatch/departments/{org.after_sales}", bad)
    assert r.status_code == 400
    assert field_error(r, "weights") == "at least one weight must be greater than 0"
    assert field_error(r, "channel_weights-phone") == (
        "must be a number greater than 0 and at most 10")
    assert field_error(r, "escalate_after_minutes") == "must be between 0 and 10080"
    assert input_value(r, "channel_weights.phone") == "abc"
    assert input_value(r, "escalate_after_minutes") == "99999"
    assert not DispatchPolicy.select().exists()


def test_an_overflow_cycle_is_explained_on_the_form(admin, org):
    dispatch_admin.save_policy(SYSTEM, org.logistics, {"overflow_department_id": org.after_sales})
    r = admin.post(f"/admin/dispatch/departments/{org.after_sales}",
                   {**POLICY, "overflow_department_id": str(org.logistics)})
    assert r.status_code == 400
    assert field_error(r, "overflow_department_id") == "would make an overflow cycle: AS → LOG → AS"


def test_a_stale_policy_form_is_refused_with_409_and_keeps_the_input(admin, org):
    dispatch_admin.save_policy(SYSTEM, org.after_sales, {"strategy": "round_robin"})
    r = admin.post(f"/admin/dispatch/departments/{org.after_sales}",
                   {**POLICY, "escalate_after_minutes": "45"})
    assert r.status_code == 409
    assert "changed by someone else" in text(r)
    assert input_value(r, "escalate_after_minutes") == "45"


def test_saving_a_dispatch_profile_with_shifts(admin, org):
    c = org_service.save_category(SYSTEM, "硬件")
    uid = org.agent.user_id
    r = admin.post(f"/admin/dispatch/agents/{uid}", {
        "capacity": "7", "languages": "zh, en", "vip_tiers": "vip，vip-gold",
        "allowed_category_ids": [str(c.id)], "shifts[0].weekday": "0",
        "shifts[0].start": "09:00", "shifts[0].end": "18:00", "shifts[1].weekday": "5",
        "shifts[1].start": "", "shifts[1].end": ""})
    assert r.status_code == 302, text(r)[:3000]
    p = dispatch_admin.get_profile(SYSTEM, uid)
    assert (p.capacity, p.languages, p.vip_tiers) == (7, ["zh", "en"], ["vip", "vip-gold"])
    assert p.allowed_category_ids == [c.id] and AgentShift.select().count() == 1
    assert input_value(admin.get(f"/admin/dispatch/agents/{uid}"), "shifts[0].start") == "09:00"


def test_a_whole_day_shift_is_typed_as_00_00_to_24_00(admin, org):
    """<input type=time> cannot hold 24:00: the editor uses text inputs with a pattern."""
    uid = org.agent.user_id
    page = admin.get(f"/admin/dispatch/agents/{uid}").get_data(as_text=True)
    assert 'type="time"' not in page
    assert re.search(r'<input type="text" name="shifts\[0\]\.end" value="" pattern="[^"]*24:00"',
                     page)
    r = admin.post(f"/admin/dispatch/agents/{uid}", {
        "capacity": "10", "languages": "", "vip_tiers": "*", "shifts[0].weekday": "6",
        "shifts[0].start": "00:00", "shifts[0].end": "24:00"})
    assert r.status_code == 302, text(r)[:3000]
    s = AgentShift.get(AgentShift.user == uid)
    assert (s.weekday, s.start_minute, s.end_minute) == (6, 0, 1440)
    page = admin.get(f"/admin/dispatch/agents/{uid}")
    assert input_value(page, "shifts[0].start") == "00:00"
    assert input_value(page, "shifts[0].end") == "24:00"


def test_an_inactive_category_already_allowed_is_offered_marked_and_kept(admin, org):
    """Left out of the choices, it would be dropped on save: the agent could then take
    every category."""
    uid = org.agent.user_id
    kept = org_service.save_category(SYSTEM, "旧型号")
    org_service.save_category(SYSTEM, "停产", active=False)
    dispatch_admin.save_profile(SYSTEM, uid, {"allowed_category_ids": [kept.id]})
    org_service.save_category(SYSTEM, "旧型号", active=False, category_id=kept.id)
    page = text(admin.get(f"/admin/dispatch/agents/{uid}"))
    assert re.search(rf'<option value="{kept.id}" selected>旧型号 \(inactive\)</option>', page)
    assert "停产" not in page  # inactive and not chosen: not offered
    r = admin.post(f"/admin/dispatch/agents/{uid}", {
        "capacity": "8", "languages": "", "vip_tiers": "*",
        "allowed_category_ids": [str(kept.id)]})
    assert r.status_code == 302, text(r)[:3000]
    p = dispatch_admin.get_profile(SYSTEM, uid)
    assert p.allowed_category_ids == [kept.id] and p.capacity == 8


def test_a_stale_profile_form_is_refused_with_409_and_keeps_the_input(admin, org):
    uid = org.agent.user_id
    page = admin.get(f"/admin/dispatch/agents/{uid}")
    version = input_value(page, "expected_version")
    assert version == str(dispatch_admin.get_profile(SYSTEM, uid).version)
    dispatch_admin.save_profile(SYSTEM, uid, {"capacity": 3})
    r = admin.post(f"/admin/dispatch/agents/{uid}", {
        "capacity": "12", "languages": "zh", "vip_tiers": "*", "expected_version": version})
    assert r.status_code == 409
    assert "changed by someone else" in text(r) and input_value(r, "capacity") == "12"
    assert User.get_by_id(uid).capacity == 3
    fresh = input_value(admin.get(f"/admin/dispatch/agents/{uid}"), "expected_version")
    r = admin.post(f"/admin/dispatch/agents/{uid}", {
        "capacity": "12", "languages": "zh", "vip_tiers": "*", "expected_version": fresh})
    assert r.status_code == 302 and User.get_by_id(uid).capacity == 12


def test_unicode_digits_and_huge_ids_in_forms_are_errors_not_500(admin, org):
    """"²".isdigit() is True, yet int("²") fails; 20 digits overflow SQLite."""
    r = admin.post(f"/admin/dispatch/departments/{org.after_sales}",
                   {**POLICY, "expected_version": "²", "lead_id": "9" * 20,
                    "overflow_team_id": "³"})
    assert r.status_code == 400
    assert field_error(r, "lead_id") == "must be an id"
    assert field_error(r, "overflow_team_id") == "must be an id"
    r = admin.post(f"/admin/dispatch/departments/{org.after_sales}",
                   {**POLICY, "expected_version": "9" * 20})
    assert r.status_code == 409  # a version nobody read
    org_service.save_skill(SYSTEM, "售后维修")  # the form shows once there are skills
    for category in ("²", "9" * 20):
        r = admin.post("/admin/dispatch/categories",
                       {"category_id": category, "skill_id": "9" * 20, "min_level": "²"})
        assert r.status_code == 400 and field_error(r, "category_id") == "must be an id"
    r = admin.post(f"/admin/dispatch/agents/{org.agent.user_id}", {
        "capacity": "5", "allowed_category_ids": ["²"], "allowed_customer_ids": ["9" * 20],
        "shifts[0].weekday": "²", "shifts[0].start": "09:00", "shifts[0].end": "17:00"})
    assert r.status_code == 400
    assert field_error(r, "allowed_category_ids") == "must be a list of ids"
    assert field_error(r, "allowed_customer_ids") == "must be a list of ids"
    assert User.get_by_id(org.agent.user_id).capacity == 10


def test_agent_profiles_and_lead_choices_list_only_staff_who_qualify(admin, org):
    page = text(admin.get("/admin/dispatch/agents/"))
    assert "王芳" in page and "陈主管" in page and "张三" not in page and "李四" not in page
    page = admin.get(f"/admin/dispatch/departments/{org.after_sales}").get_data(as_text=True)
    leads = re.search(r'<select name="lead_id">.*?</select>', page, re.S).group(0)
    for name in ("王芳", "陈主管", "管理员"):
        assert name in leads
    for name in ("李雷", "张三"):  # another department's agent, a customer
        assert name not in leads
    r = admin.post(f"/admin/dispatch/departments/{org.after_sales}",
                   {**POLICY, "lead_id": str(org.agent2.user_id)})
    assert r.status_code == 400
    assert field_error(r, "lead_id") == dispatch_admin.BAD_LEAD
    assert not DispatchPolicy.select().exists()


def test_profile_errors_name_the_shift_and_keep_the_rows(admin, org):
    uid = org.agent.user_id
    r = admin.post(f"/admin/dispatch/agents/{uid}", {
        "capacity": "7", "languages": "中文", "vip_tiers": "",
        "shifts[0].weekday": "1", "shifts[0].start": "09:00", "shifts[0].end": "12:00",
        "shifts[1].weekday": "1", "shifts[1].start": "11:00", "shifts[1].end": "13:00"})
    assert r.status_code == 400
    assert field_error(r, "shifts[1]") == "overlaps shifts[0]"
    assert field_error(r, "languages").startswith("language codes")
    assert input_value(r, "shifts[1].start") == "11:00" and input_value(r, "languages") == "中文"
    assert not AgentShift.select().exists()
    assert User.get_by_id(uid).capacity == 10


def test_absences_are_added_with_errors_shown_and_removed(admin, org):
    uid = org.agent.user_id
    r = admin.post(f"/admin/dispatch/agents/{uid}/absences", {
        "kind": "leave", "starts_at": "2030-05-02T09:00", "ends_at": "2030-05-01T09:00"})
    assert r.status_code == 400
    assert field_error(r, "ends_at") == "must be after the start"
    assert input_value(r, "starts_at") == "2030-05-02T09:00"
    r = admin.post(f"/admin/dispatch/agents/{uid}/absences", {
        "kind": "leave", "starts_at": "2030-05-01T09:00", "ends_at": "2030-05-03T18:00",
        "note": "年假"})
    assert r.status_code == 302
    a = AgentAbsence.get(AgentAbsence.user == uid)
    assert "年假" in text(admin.get(f"/admin/dispatch/agents/{uid}"))
    r = admin.post(f"/admin/dispatch/agents/{uid}/absences/{a.id}/delete")
    assert r.status_code == 302 and not AgentAbsence.select().exists()
    assert admin.post(f"/admin/dispatch/agents/{uid}/absences/{a.id}/delete").status_code == 404


def test_an_absence_starting_before_year_1_in_utc_is_a_field_error_not_a_500(admin, org, app):
    """0001-01-01T00:00 in Asia/Shanghai is 0000-12-31 in UTC: OverflowError."""
    app.config["GONGDAN"] = dataclasses.replace(app.config["GONGDAN"], timezone="Asia/Shanghai")
    uid = org.agent.user_id
    r = admin.post(f"/admin/dispatch/agents/{uid}/absences", {
        "kind": "leave", "starts_at": "0001-01-01T00:00", "ends_at": "2030-05-01T09:00"})
    assert r.status_code == 400
    assert field_error(r, "starts_at") == "must be an ISO 8601 date-time"
    assert input_value(r, "starts_at") == "0001-01-01T00:00"
    assert not AgentAbsence.select().exists()


def test_category_skills_are_set_and_an_inactive_category_is_refused(admin, org):
    active = org_service.save_category(SYSTEM, "维修")
    old = org_service.save_category(SYSTEM, "旧产品", active=False)
    skill = org_service.save_skill(SYSTEM, "售后维修")
    r = admin.post("/admin/dispatch/categories", {"category_id": str(active.id),
                                                  "skill_id": str(skill.id), "min_level": "3"})
    assert r.status_code == 302
    assert CategorySkill.get(CategorySkill.category == active.id).min_level == 3
    r = admin.post("/admin/dispatch/categories", {"category_id": str(old.id),
                                                  "skill_id": str(skill.id), "min_level": "2"})
    assert r.status_code == 400
    assert "inactive" in field_error(r, "category_id")
    assert CategorySkill.select().count() == 1


def test_the_overview_lists_departments_and_health_problems(admin, org):
    users.create_user(SYSTEM, "floater", "流动客服", "agent")
    page = text(admin.get("/admin/dispatch/"))
    assert "售后" in page and "物流" in page
    assert "流动客服 has no department" in page


def test_the_dispatch_pages_render_in_chinese(admin, org):
    dispatch_admin.save_policy(SYSTEM, org.after_sales, {"strategy": "round_robin"})
    for path in PAGES:
        r = admin.get(path, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        assert r.status_code == 200, path
        assert "系统管理" in text(r), path
    r = admin.post(f"/admin/dispatch/departments/{org.after_sales}",
                   {**POLICY, "weights.skill": "-1", "expected_version": "1"},
                   headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert r.status_code == 400 and field_error(r, "weights-skill")
