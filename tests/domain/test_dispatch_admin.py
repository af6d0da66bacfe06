"""Administration of dispatch on SQLite and PostgreSQL: department policies, agent
profiles, shifts, absences, the skills categories need and the health check."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.models import (AgentProfile, AgentShift, CategorySkill, Customer,
                              DispatchPolicy, Job, QueueEntry, Skill, User, utcnow)
from appliance.rules import routing
from appliance.rules.access import SYSTEM
from appliance.services import dispatch_admin as admin
from appliance.services import org, users
from tests.factories import actor, make_org, ticket


@pytest.fixture
def demo(settings):
    return make_org()


def _jobs(name: str, object_id: int) -> int:
    return Job.select().where((Job.name == name) & (Job.object_id == object_id)
                              & Job.done_at.is_null()).count()


def _fields(exc) -> dict:
    return exc.value.fields


# --- policies -----------------------------------------------------------------------------------

def test_a_department_without_a_policy_shows_the_defaults_at_version_0(settings, demo):
    p = admin.get_policy(demo.admin, demo.after_sales)
    assert (p.strategy, p.auto_assign, p.version) == ("skills", True, 0)
    assert p.weights == dict(routing.DEFAULT_WEIGHTS)


def test_saving_a_policy_stores_it_and_tries_the_departments_queue_again(settings, demo):
    p = admin.save_policy(demo.admin, demo.after_sales, {
        "strategy": "least_loaded", "weights": {"skill": 2, "load": 1},
        "channel_weights": {"phone": 2}, "priority_weights": {1: 1.5},
        "escalate_after_minutes": 30, "lead_id": demo.supervisor.user_id,
        "overflow_department_id": demo.logistics}, expected_version=0)
    assert (p.strategy, p.version, p.escalate_after_minutes) == ("least_loaded", 1, 30)
    assert p.weights["skill"] == 2 and p.weights["fairness"] == 0
    assert p.priority_weights == {"1": 1.5} and p.overflow_department_id == demo.logistics
    assert _jobs("dispatch_department", demo.after_sales) == 1
    again = admin.save_policy(demo.admin, demo.after_sales, {"auto_assign": False},
                              expected_version=1)
    assert (again.auto_assign, again.strategy, again.version) == (False, "least_loaded", 2)


def test_weights_that_are_all_zero_are_refused_naming_weights(settings, demo):
    with pytest.raises(ValidationError) as exc:
        admin.save_policy(demo.admin, demo.after_sales, {"weights": {"skill": 0, "load": 0}})
    assert _fields(exc) == {"weights": "at least one weight must be greater than 0"}
    assert not DispatchPolicy.select().exists()


def test_an_unknown_weight_component_or_channel_is_named(settings, demo):
    with pytest.raises(ValidationError) as exc:
        admin.save_policy(demo.admin, demo.after_sales, {
            "weights": {"skill": 1, "charm": 1, "load": -1},
            "channel_weights": {"fax": 2}, "priority_weights": {"9": 1, "2": 0}})
    fields = _fields(exc)
    assert fields["weights.charm"].startswith("unknown component")
    assert fields["weights.load"] == "must be between 0 and 100"
    assert fields["channel_weights.fax"].startswith("unknown")
    assert set(fields) >= {"priority_weights.9", "priority_weights.2"}


def test_bad_strategy_escalation_lead_and_team_are_all_reported_at_once(settings, demo):
    with pytest.raises(ValidationError) as exc:
        admin.save_policy(demo.admin, demo.after_sales, {
            "strategy": "random", "escalate_after_minutes": 10081,
            "lead_id": demo.customer.user_id, "overflow_team_id": 999,
            "overflow_department_id": 999})
    assert set(_fields(exc)) == {"strategy", "escalate_after_minutes", "lead_id",
                                 "overflow_team_id", "overflow_department_id"}


def test_an_overflow_cycle_is_refused_naming_the_departments(settings, demo):
    admin.save_policy(demo.admin, demo.after_sales, {"overflow_department_id": demo.logistics})
    with pytest.raises(ValidationError) as exc:
        admin.save_policy(demo.admin, demo.logistics, {"overflow_department_id": demo.after_sales})
    assert _fields(exc) == {
        "overflow_department_id": "would make an overflow cycle: LOG → AS → LOG"}
    with pytest.raises(ValidationError) as exc:
        admin.save_policy(demo.admin, demo.logistics, {"overflow_department_id": demo.logistics})
    assert _fields(exc) == {"overflow_department_id": "cannot be the department itself"}


def test_a_stale_policy_version_conflicts(settings, demo):
    admin.save_policy(demo.admin, demo.after_sales, {"strategy": "round_robin"})
    with pytest.raises(Conflict):
        admin.save_policy(demo.admin, demo.after_sales, {"strategy": "skills"},
                          expected_version=0)
    assert admin.get_policy(demo.admin, demo.after_sales).strategy == "round_robin"


def test_only_admins_configure_dispatch(settings, demo):
    category = org.save_category(demo.admin, "硬件")
    skill = org.save_skill(demo.admin, "网络")
    for who in (demo.agent, demo.supervisor, demo.customer):
        with pytest.raises(PermissionDenied):
            admin.save_policy(who, demo.after_sales, {"strategy": "round_robin"})
        with pytest.raises(PermissionDenied):
            admin.get_policy(who, demo.after_sales)
        with pytest.raises(PermissionDenied):
            admin.save_profile(who, demo.agent.user_id, {"capacity": 50})
        with pytest.raises(PermissionDenied):
            admin.set_category_skill(who, category.id, skill.id, 3)
        with pytest.raises(PermissionDenied):
            admin.health(who)
    assert User.get_by_id(demo.agent.user_id).capacity == 10


def test_the_lead_must_be_able_to_open_the_departments_tickets(settings, demo):
    """An agent of another department would be told of tickets they cannot open."""
    users.create_user(SYSTEM, "gone", "离职", "supervisor", department_id=demo.after_sales)
    users.update_user(SYSTEM, actor("gone").user_id, {"active": False})
    for wrong in (demo.agent2.user_id, actor("gone").user_id, demo.customer.user_id):
        with pytest.raises(ValidationError) as exc:
            admin.save_policy(demo.admin, demo.after_sales, {"lead_id": wrong})
        assert _fields(exc) == {"lead_id": admin.BAD_LEAD}
    for right in (demo.supervisor.user_id, demo.agent.user_id, demo.admin.user_id):
        assert admin.save_policy(demo.admin, demo.after_sales,
                                 {"lead_id": right}).lead_id == right
    choices = {r.name for r in admin.lead_choices(demo.admin, demo.after_sales)}
    assert choices == {"王芳", "陈主管", "管理员"}
    kept = admin.lead_choices(demo.admin, demo.after_sales, keep=demo.agent2.user_id)
    assert "李雷" in {r.name for r in kept}  # the current lead shows, so the form says why


def test_unicode_digits_and_ids_too_large_for_the_database_name_the_field(settings, demo):
    """"²".isdigit() is True but int("²") fails; 20 digits overflow SQLite's INTEGER."""
    with pytest.raises(ValidationError) as exc:
        admin.save_policy(demo.admin, demo.after_sales, {
            "lead_id": "²", "overflow_department_id": "9" * 20, "overflow_team_id": 2**63})
    assert _fields(exc) == {"lead_id": "must be an id", "overflow_department_id": "must be an id",
                            "overflow_team_id": "must be an id"}
    with pytest.raises(ValidationError) as exc:  # the largest id: a number, just not found
        admin.save_policy(demo.admin, demo.after_sales, {"lead_id": str(2**63 - 1)})
    assert _fields(exc) == {"lead_id": admin.BAD_LEAD}
    c = org.save_category(demo.admin, "维修")
    with pytest.raises(ValidationError) as exc:
        admin.set_category_skill(demo.admin, c.id, "9" * 20, "³")
    assert _fields(exc) == {"skill_id": "must be an id", "min_level": "must be 1 to 5"}
    with pytest.raises(ValidationError) as exc:
        admin.save_profile(demo.admin, demo.agent.user_id, {
            "allowed_category_ids": ["¹"], "allowed_customer_ids": ["9" * 20],
            "shifts": [{"weekday": "²", "start": "09:00", "end": "17:00"}]})
    assert _fields(exc) == {"allowed_category_ids": "must be a list of ids",
                            "allowed_customer_ids": "must be a list of ids",
                            "shifts[0].weekday": "must be 0 (Monday) to 6 (Sunday)"}


def test_an_unknown_department_is_not_found(settings, demo):
    with pytest.raises(NotFound):
        admin.save_policy(demo.admin, 999, {"strategy": "skills"})


# --- profiles, shifts and absences --------------------------------------------------------------

def test_a_profile_is_saved_and_read_back(settings, demo):
    category = org.save_category(demo.admin, "硬件")
    p = admin.save_profile(demo.admin, demo.agent.user_id, {
        "allowed_category_ids": [category.id], "vip_tiers": ["VIP-Gold", "*"],
        "languages": ["ZH", "en", "zh"], "capacity": 6,
        "shifts": [{"weekday": 0, "start": "09:00", "end": "18:00"},
                   {"weekday": 4, "start": "22:00", "end": "06:00"}]})
    assert p.allowed_category_ids == [category.id] and p.vip_tiers == ["vip-gold", "*"]
    assert p.languages == ["zh", "en"] and p.capacity == 6
    assert [(s.weekday, s.start, s.end) for s in p.shifts] == [(0, "09:00", "18:00"),
                                                               (4, "22:00", "06:00")]
    assert AgentShift.select().count() == 2


def test_a_whole_day_shift_runs_from_00_00_to_24_00(settings, demo):
    p = admin.save_profile(demo.admin, demo.agent.user_id, {"shifts": [
        {"weekday": 2, "start": "00:00", "end": "24:00"},
        {"weekday": 3, "start": "08:00", "end": "24:00"}]})
    assert [(s.weekday, s.start, s.end) for s in p.shifts] == [(2, "00:00", "24:00"),
                                                               (3, "08:00", "24:00")]
    with pytest.raises(ValidationError) as exc:
        admin.save_profile(demo.admin, demo.agent.user_id, {"shifts": [
            {"weekday": 2, "start": "00:00", "end": "00:00"},
            {"weekday": 3, "start": "24:00", "end": "24:00"}]})
    assert _fields(exc) == {"shifts[0].end": "must differ from the start",
                            "shifts[1].start": "must be a time HH:MM"}


def test_a_category_made_inactive_stays_allowed_but_cannot_be_newly_added(settings, demo):
    """Dropping it on the next save would widen what the agent may handle."""
    uid = demo.agent.user_id
    kept = org.save_category(demo.admin, "旧型号")
    retired = org.save_category(demo.admin, "停产", active=False)
    admin.save_profile(demo.admin, uid, {"allowed_category_ids": [kept.id]})
    org.save_category(demo.admin, "旧型号", active=False, category_id=kept.id)
    p = admin.save_profile(demo.admin, uid, {"allowed_category_ids": [str(kept.id)],
                                             "capacity": 9})
    assert p.allowed_category_ids == [kept.id] and p.capacity == 9
    with pytest.raises(ValidationError) as exc:
        admin.save_profile(demo.admin, uid, {"allowed_category_ids": [kept.id, retired.id]})
    assert _fields(exc) == {"allowed_category_ids": f"unknown or inactive categories: "
                                                    f"{retired.id}"}
    assert admin.get_profile(demo.admin, uid).allowed_category_ids == [kept.id]


def test_a_stale_profile_version_conflicts_and_each_save_bumps_it(settings, demo):
    uid = demo.agent.user_id
    before = admin.get_profile(demo.admin, uid).version
    p = admin.save_profile(demo.admin, uid, {"capacity": 6}, expected_version=before)
    assert p.version == before + 1
    with pytest.raises(Conflict) as exc:
        admin.save_profile(demo.admin, uid, {"capacity": 20}, expected_version=before)
    assert exc.value.message == admin.PROFILE_CHANGED
    assert User.get_by_id(uid).capacity == 6
    assert AgentProfile.get(AgentProfile.user == uid).version == before + 1


def test_overlapping_shifts_are_refused_naming_the_shift(settings, demo):
    with pytest.raises(ValidationError) as exc:
        admin.save_profile(demo.admin, demo.agent.user_id, {"shifts": [
            {"weekday": 1, "start": "09:00", "end": "12:00"},
            {"weekday": 2, "start": "08:00", "end": "17:00"},
            {"weekday": 1, "start": "11:00", "end": "14:00"}]})
    assert _fields(exc) == {"shifts[2]": "overlaps shifts[0]"}
    with pytest.raises(ValidationError) as exc:  # Sunday night runs into Monday morning
        admin.save_profile(demo.admin, demo.agent.user_id, {"shifts": [
            {"weekday": 0, "start": "05:00", "end": "09:00"},
            {"weekday": 6, "start": "22:00", "end": "06:00"}]})
    assert _fields(exc) == {"shifts[1]": "overlaps shifts[0]"}
    assert not AgentShift.select().exists()


def test_bad_shift_times_and_profile_values_are_named(settings, demo):
    with pytest.raises(ValidationError) as exc:
        admin.save_profile(demo.admin, demo.agent.user_id, {
            "shifts": [{"weekday": 7, "start": "9am", "end": "25:00"},
                       {"weekday": 1, "start": "10:00", "end": "10:00"}],
            "languages": ["中文"], "vip_tiers": ["gold tier"], "capacity": 501,
            "allowed_category_ids": [999], "allowed_customer_ids": [998]})
    assert set(_fields(exc)) == {"shifts[0].weekday", "shifts[0].start", "shifts[0].end",
                                 "shifts[1].end", "languages", "vip_tiers", "capacity",
                                 "allowed_category_ids", "allowed_customer_ids"}
    assert _fields(exc)["allowed_category_ids"] == "unknown or inactive categories: 999"


def test_raising_capacity_schedules_a_dispatch_of_the_agent(settings, demo):
    uid = demo.agent.user_id
    admin.save_profile(demo.admin, uid, {"capacity": 5})
    assert _jobs("dispatch_agent", uid) == 0  # less room: nothing to try
    admin.save_profile(demo.admin, uid, {"capacity": 12})
    assert _jobs("dispatch_agent", uid) == 1


def test_raising_capacity_on_the_user_page_schedules_a_dispatch_too(settings, demo):
    uid = demo.agent.user_id
    users.update_user(demo.admin, uid, {"capacity": 10})
    assert _jobs("dispatch_agent", uid) == 0
    users.update_user(demo.admin, uid, {"capacity": 15})
    assert _jobs("dispatch_agent", uid) == 1


def test_changing_permissions_schedules_a_dispatch_of_the_agent(settings, demo):
    admin.save_profile(demo.admin, demo.agent.user_id, {"vip_tiers": ["vip"]})
    assert _jobs("dispatch_agent", demo.agent.user_id) == 1


def test_an_absence_is_added_listed_and_removed(settings, demo):
    start = utcnow() + dt.timedelta(hours=1)
    a = admin.add_absence(demo.admin, demo.agent.user_id, "training", start,
                          (start + dt.timedelta(hours=3)).isoformat() + "+00:00", "产品培训")
    assert [x.id for x in admin.get_profile(demo.admin, demo.agent.user_id).absences] == [a.id]
    admin.delete_absence(demo.admin, demo.agent.user_id, a.id)
    assert admin.get_profile(demo.admin, demo.agent.user_id).absences == []
    assert _jobs("dispatch_agent", demo.agent.user_id) == 1
    with pytest.raises(NotFound):
        admin.delete_absence(demo.admin, demo.agent.user_id, a.id)


def test_an_absence_must_end_after_it_starts_and_last_at_most_60_days(settings, demo):
    start = utcnow()
    with pytest.raises(ValidationError) as exc:
        admin.add_absence(demo.admin, demo.agent.user_id, "nap", start, start)
    assert set(_fields(exc)) == {"kind", "ends_at"}
    with pytest.raises(ValidationError) as exc:
        admin.add_absence(demo.admin, demo.agent.user_id, "leave", start,
                          start + dt.timedelta(days=61))
    assert _fields(exc) == {"ends_at": "at most 60 days after the start"}


def test_an_absence_before_year_1_in_utc_is_a_validation_error_not_a_crash(settings, demo):
    with pytest.raises(ValidationError) as exc:
        admin.add_absence(demo.admin, demo.agent.user_id, "leave", "0001-01-01T00:00:00+08:00",
                          "9999-12-31T23:59:00-08:00")
    assert _fields(exc) == {"starts_at": "must be an ISO 8601 date-time",
                            "ends_at": "must be an ISO 8601 date-time"}


def test_staff_and_customer_choices_are_read_in_one_query(settings, demo, queries):
    assert "张三" not in {u.display_name for u in admin.list_staff(demo.admin)}
    assert {u.role for u in admin.list_staff(demo.admin)} <= {"agent", "supervisor", "admin"}
    ids = [c.id for c in Customer.select(Customer.id).order_by(Customer.id)]
    queries.clear()
    choices = admin.customer_choices(demo.admin, [str(ids[-1]), "²", "9" * 20], limit=1)
    assert len(queries) == 1
    assert [(c.id, c.name) for c in choices] == [(ids[0], "张三"), (ids[-1], "李四")]
    with pytest.raises(PermissionDenied):
        admin.customer_choices(demo.agent)


def test_a_customer_has_no_dispatch_profile(settings, demo):
    with pytest.raises(NotFound):
        admin.get_profile(demo.admin, demo.customer.user_id)


# --- skills ---------------------------------------------------------------------------------------

def test_a_language_skill_needs_its_language_code(settings, demo):
    s = org.save_skill(demo.admin, "English", kind="language", language="EN")
    assert (Skill.get_by_id(s.id).kind, Skill.get_by_id(s.id).language) == ("language", "en")
    with pytest.raises(ValidationError) as exc:
        org.save_skill(demo.admin, "日语", kind="language")
    assert "language" in _fields(exc)
    with pytest.raises(ValidationError) as exc:
        org.save_skill(demo.admin, "x", kind="magic")
    assert "kind" in _fields(exc)


def test_a_category_requires_skills_at_a_minimum_level(settings, demo):
    c = org.save_category(demo.admin, "维修")
    s = org.save_skill(demo.admin, "售后维修")
    view = admin.set_category_skill(demo.admin, c.id, s.id, 3)
    assert [(r.skill, r.min_level) for r in view.skills] == [("售后维修", 3)]
    with pytest.raises(ValidationError) as exc:
        admin.set_category_skill(demo.admin, c.id, s.id, 6)
    assert _fields(exc) == {"min_level": "must be 1 to 5"}
    admin.set_category_skill(demo.admin, c.id, s.id, None)
    assert not CategorySkill.select().exists()


def test_skills_on_an_inactive_category_are_refused_with_a_clear_message(settings, demo):
    c = org.save_category(demo.admin, "旧产品", active=False)
    s = org.save_skill(demo.admin, "售后维修")
    with pytest.raises(ValidationError) as exc:
        admin.set_category_skill(demo.admin, c.id, s.id, 2)
    assert _fields(exc) == {"category_id": admin.INACTIVE_CATEGORY}
    with pytest.raises(ValidationError) as exc:
        admin.set_category_skills(demo.admin, c.id, [{"skill_id": s.id, "min_level": 2}])
    assert _fields(exc) == {"category_id": admin.INACTIVE_CATEGORY}
    admin.set_category_skills(demo.admin, c.id, [])  # clearing is always allowed


def test_the_skills_of_all_categories_are_read_in_one_query(settings, demo, queries):
    s = org.save_skill(demo.admin, "售后维修")
    t = org.save_skill(demo.admin, "安装")
    counts = []
    for n in range(2):
        c = org.save_category(demo.admin, f"类别{n}")
        admin.set_category_skill(demo.admin, c.id, s.id, 2)
        admin.set_category_skill(demo.admin, c.id, t.id, 3)
        org.save_category(demo.admin, f"空类别{n}")
        queries.clear()
        rows = admin.list_category_skills(demo.admin)
        counts.append(len(queries))
    assert counts == [1, 1]
    both = sorted([("售后维修", 2), ("安装", 3)])
    assert {r.category.name: sorted((x.skill, x.min_level) for x in r.skills)
            for r in rows} == {"类别0": both, "类别1": both, "空类别0": [], "空类别1": []}
    assert [r.category.path for r in rows] == [
        c.path for c in org.list_categories()]  # in path order, like the category list
    assert [x.skill for x in rows[0].skills] == [x.skill for x in admin.category_skills(
        demo.admin, rows[0].category.id).skills]  # skills in name order, as for one category
    assert all(r.category.active is True for r in rows)


def test_replacing_category_skills_names_unknown_and_repeated_skills(settings, demo):
    c = org.save_category(demo.admin, "维修")
    s = org.save_skill(demo.admin, "售后维修")
    with pytest.raises(ValidationError) as exc:
        admin.set_category_skills(demo.admin, c.id, [{"skill_id": s.id, "min_level": 2},
                                                     {"skill_id": s.id, "min_level": 3},
                                                     {"skill_id": 999, "min_level": 1}])
    assert _fields(exc) == {"skills[1].skill_id": "listed twice",
                            "skills[2].skill_id": "does not exist"}


# --- health ---------------------------------------------------------------------------------

def test_health_reports_homeless_agents_and_skills_nobody_in_the_department_has(settings, demo):
    users.create_user(SYSTEM, "floater", "流动", "agent")
    c = org.save_category(demo.admin, "维修", department_id=demo.after_sales)
    s = org.save_skill(demo.admin, "售后维修")
    admin.set_category_skill(demo.admin, c.id, s.id, 3)
    org.set_agent_skill(demo.admin, demo.agent.user_id, s.id, 2)  # not enough
    org.set_agent_skill(demo.admin, demo.agent2.user_id, s.id, 5)  # other department
    problems = {p.code: p for p in admin.health(demo.admin)}
    assert problems["agent_without_department"].params["name"] == "流动"
    missing = problems["required_skill_missing"]
    assert missing.severity == "error"
    assert (missing.params["department"], missing.params["skill"],
            missing.params["min_level"]) == ("售后", "售后维修", 3)
    org.set_agent_skill(demo.admin, demo.agent.user_id, s.id, 3)
    assert "required_skill_missing" not in {p.code for p in admin.health(demo.admin)}


def test_health_reports_empty_departments_waiting_tickets_and_stale_category_skills(settings,
                                                                                   demo):
    empty = org.save_department(SYSTEM, "RD", "研发")
    c = org.save_category(demo.admin, "旧产品")
    s = org.save_skill(demo.admin, "老型号")
    admin.set_category_skill(demo.admin, c.id, s.id, 2)
    org.save_category(demo.admin, "旧产品", active=False, category_id=c.id)
    t = ticket(settings, demo.admin, "没人处理", department_id=empty.id).summary
    QueueEntry.insert(ticket=t.id, department=empty.id, reason="no_agents").on_conflict_ignore(
    ).execute()
    codes = {(p.code, p.params.get("department_id") or p.params.get("category_id"))
             for p in admin.health(demo.admin)}
    assert ("department_without_agents", empty.id) in codes
    assert ("tickets_waiting_unroutable", empty.id) in codes
    assert ("skill_on_inactive_category", c.id) in codes
    assert ("department_without_agents", demo.after_sales) not in codes


def test_a_dispatch_profile_for_an_agent_in_no_department_is_refused_with_the_reason(demo):
    homeless, _ = users.create_user(SYSTEM, "drifter", "无部门", "agent")
    with pytest.raises(ValidationError) as exc:
        admin.save_profile(demo.admin, homeless.id, {"capacity": 5})
    assert "no department" in _fields(exc)["department_id"]
    users.update_user(demo.admin, homeless.id, {"department_id": demo.after_sales})
    assert admin.save_profile(demo.admin, homeless.id, {"capacity": 5}).capacity == 5
