"""Organisation set-up and user administration, as the admin pages use them."""
from __future__ import annotations

import pytest

from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import User, UserSession
from appliance.services import org, users
from tests.factories import make_org


@pytest.fixture
def demo(settings):
    return make_org()


# --- departments and teams ------------------------------------------------------------------

def test_a_department_is_found_by_id_and_an_unknown_id_is_not_found(settings, demo):
    assert org.get_department(demo.after_sales).code == "AS"
    with pytest.raises(NotFound):
        org.get_department(999)


def test_a_department_can_be_renamed_deactivated_and_given_teams(settings, demo):
    org.save_department(demo.admin, "AS", "售后服务", "After-sales", active=False,
                        department_id=demo.after_sales)
    org.add_team(demo.admin, demo.after_sales, "二线", [demo.agent.user_id])
    d = org.get_department(demo.after_sales)
    assert (d.name, d.active, [t.name for t in d.teams]) == ("售后服务", False, ["二线"])
    assert [x.code for x in org.list_departments(active_only=True)] == ["LOG"]


def test_department_codes_and_team_names_are_unique(settings, demo):
    with pytest.raises(ValidationError) as exc:
        org.save_department(demo.admin, "LOG", "物流二部")
    assert exc.value.fields == {"code": "already used"}
    org.add_team(demo.admin, demo.logistics, "夜班")
    with pytest.raises(ValidationError) as exc:
        org.add_team(demo.admin, demo.logistics, "夜班")
    assert "name" in exc.value.fields


def test_only_admins_change_the_organisation(settings, demo):
    for who in (demo.agent, demo.supervisor, demo.customer):
        with pytest.raises(PermissionDenied):
            org.save_department(who, "RD", "研发")
        with pytest.raises(PermissionDenied):
            org.save_skill(who, "网络")
        with pytest.raises(PermissionDenied):
            org.save_category(who, "硬件")
        with pytest.raises(PermissionDenied):
            org.save_custom_field(who, "serial", "序列号", "text")
        with pytest.raises(PermissionDenied):
            users.reset_password(who, demo.agent.user_id)


# --- skills ------------------------------------------------------------------------------------

def test_an_agent_skill_level_is_set_changed_and_removed(settings, demo):
    skill = org.save_skill(demo.admin, "网络")
    org.set_agent_skill(demo.admin, demo.agent.user_id, skill.id, 2)
    org.set_agent_skill(demo.admin, demo.agent.user_id, skill.id, "5")
    assert users.get_user(demo.admin, demo.agent.user_id).skills == [("网络", 5)]
    org.set_agent_skill(demo.admin, demo.agent.user_id, skill.id, 0)
    assert users.get_user(demo.admin, demo.agent.user_id).skills == []


@pytest.mark.parametrize("level", [6, -1, "x"])
def test_a_skill_level_outside_one_to_five_is_refused(settings, demo, level):
    skill = org.save_skill(demo.admin, "网络")
    with pytest.raises(ValidationError) as exc:
        org.set_agent_skill(demo.admin, demo.agent.user_id, skill.id, level)
    assert exc.value.fields == {"level": "must be 1 to 5"}


def test_setting_a_skill_level_needs_a_skill(settings, demo):
    with pytest.raises(ValidationError) as exc:
        org.set_agent_skill(demo.admin, demo.agent.user_id, "", 3)
    assert exc.value.fields == {"skill_id": "required"}


# --- categories --------------------------------------------------------------------------------

def test_a_category_is_found_by_id_and_an_unknown_id_is_not_found(settings, demo):
    c = org.save_category(demo.admin, "硬件", department_id=demo.after_sales)
    assert org.get_category(c.id).department_id == demo.after_sales
    with pytest.raises(NotFound):
        org.get_category(c.id + 100)


def test_moving_a_category_rewrites_the_paths_below_it(settings, demo):
    hw = org.save_category(demo.admin, "硬件")
    sw = org.save_category(demo.admin, "软件")
    drivers = org.save_category(demo.admin, "驱动", parent_id=hw.id)
    org.save_category(demo.admin, "安装", parent_id=drivers.id)
    org.save_category(demo.admin, "驱动", parent_id=sw.id, category_id=drivers.id)
    assert [c.path for c in org.list_categories()] == ["硬件", "软件", "软件 / 驱动",
                                                       "软件 / 驱动 / 安装"]


def test_a_category_cannot_move_inside_its_own_subtree(settings, demo):
    hw = org.save_category(demo.admin, "硬件")
    printers = org.save_category(demo.admin, "打印机", parent_id=hw.id)
    for parent in (hw.id, printers.id):
        with pytest.raises(ValidationError) as exc:
            org.save_category(demo.admin, "硬件", parent_id=parent, category_id=hw.id)
        assert exc.value.fields == {"parent_id": "a category cannot be inside itself"}


def test_deactivated_categories_are_left_out_of_the_active_list(settings, demo):
    c = org.save_category(demo.admin, "旧产品")
    org.save_category(demo.admin, "旧产品", active=False, category_id=c.id)
    assert org.list_categories(active_only=True) == []
    assert [x.name for x in org.list_categories()] == ["旧产品"]


# --- custom fields -----------------------------------------------------------------------------

def test_a_custom_field_is_found_by_id_and_an_unknown_id_is_not_found(settings, demo):
    f = org.save_custom_field(demo.admin, "parts", "Parts", "multiselect", "screen, battery")
    assert org.get_custom_field(f.id).options == ["screen", "battery"]
    with pytest.raises(NotFound):
        org.get_custom_field(f.id + 100)


def test_custom_fields_are_listed_by_position(settings, demo):
    org.save_custom_field(demo.admin, "b_field", "B", "text", position=2)
    org.save_custom_field(demo.admin, "a_field", "A", "number", position="1")
    assert [f.key for f in org.list_custom_fields()] == ["a_field", "b_field"]


def test_a_position_that_is_not_a_number_is_a_field_error(settings, demo):
    with pytest.raises(ValidationError) as exc:
        org.save_custom_field(demo.admin, "serial", "序列号", "text", position="first")
    assert exc.value.fields == {"position": "must be a whole number"}


def test_a_custom_field_key_is_unique_and_choice_fields_need_options(settings, demo):
    org.save_custom_field(demo.admin, "serial", "序列号", "text")
    with pytest.raises(ValidationError) as exc:
        org.save_custom_field(demo.admin, "serial", "Serial", "text")
    assert exc.value.fields == {"key": "already used"}
    with pytest.raises(ValidationError) as exc:
        org.save_custom_field(demo.admin, "model", "型号", "select", options="")
    assert exc.value.fields == {"options": "list at least one option"}


# --- users ---------------------------------------------------------------------------------------

def test_a_created_user_can_be_made_to_change_the_generated_password(settings, demo):
    u, password = users.create_user(demo.admin, "zhaoliu", "赵六", "agent",
                                     department_id=demo.logistics, capacity="7", locale="en",
                                     must_change_password=True)
    assert len(password) >= 16 and u.capacity == 7 and u.locale == "en"
    assert users.authenticate("zhaoliu", password).must_change_password


@pytest.mark.parametrize("changes, field", [({"capacity": "many"}, "capacity"),
                                            ({"capacity": 501}, "capacity"),
                                            ({"locale": "de"}, "locale")])
def test_user_capacity_and_language_are_validated_on_create_and_update(settings, demo, changes,
                                                                       field):
    with pytest.raises(ValidationError) as exc:
        users.create_user(demo.admin, "zhaoliu", "赵六", "agent", **changes)
    assert field in exc.value.fields
    assert not User.select().where(User.username == "zhaoliu").exists()
    with pytest.raises(ValidationError) as exc:
        users.update_user(demo.admin, demo.agent.user_id, dict(changes))
    assert field in exc.value.fields


def test_an_admin_cannot_disable_or_demote_their_own_account(settings, demo):
    with pytest.raises(ValidationError) as exc:
        users.disable_user(demo.admin, demo.admin.user_id)
    assert "active" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        users.update_user(demo.admin, demo.admin.user_id, {"role": "agent"})
    assert "role" in exc.value.fields
    assert User.get_by_id(demo.admin.user_id).active
    users.update_user(demo.admin, demo.admin.user_id, {"display_name": "系统管理员"})


def test_disabling_a_user_ends_their_sessions(settings, demo):
    token = users.start_session(User.get_by_id(demo.agent.user_id), "127.0.0.1", "test")
    users.disable_user(demo.admin, demo.agent.user_id)
    assert users.resume_session(token, settings) is None
    assert UserSession.get().revoked


def test_a_password_reset_ends_sessions_and_forces_a_change(settings, demo):
    token = users.start_session(User.get_by_id(demo.agent.user_id), "127.0.0.1", "test")
    new_password = users.reset_password(demo.admin, demo.agent.user_id)
    assert users.resume_session(token, settings) is None
    assert users.authenticate("wangfang", new_password).must_change_password
    with pytest.raises(NotFound):
        users.reset_password(demo.admin, 999)


def test_users_are_listed_by_role_and_department(settings, demo):
    names = [u.username for u in users.list_users(demo.admin, role="agent",
                                                  department_id=demo.after_sales)]
    assert names == ["wangfang"]
