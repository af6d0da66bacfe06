"""Presence, the dispatch profile and notifications through the real services, on
SQLite and PostgreSQL: login and logout, idleness, the heartbeat, who may set whose
presence, and notifications that only their owner sees."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance.errors import PermissionDenied, ValidationError
from appliance.models import AgentProfile, Ticket, User, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import (agent_dispatch, dispatch, notifications, org, presence,
                                users)
from tests.factories import actor, make_org, ticket


@pytest.fixture
def o(settings):
    return make_org()


def _stored(a) -> AgentProfile:
    return AgentProfile.get(AgentProfile.user == a.user_id)


def _login(a) -> str:
    return users.start_session(User.get_by_id(a.user_id), "127.0.0.1", "pytest")


def test_an_agent_comes_online_at_login_and_goes_offline_when_the_last_session_ends(o):
    first, second = _login(o.agent), _login(o.agent)
    assert _stored(o.agent).presence == "online" and _stored(o.agent).presence_auto
    users.end_session(first)
    assert _stored(o.agent).presence == "online"  # still logged in elsewhere
    users.end_session(second)
    assert _stored(o.agent).presence == "offline"


def test_an_administrator_logging_in_is_not_put_online_for_routing(o):
    _login(o.admin)
    assert not AgentProfile.select().where(AgentProfile.user == o.admin.user_id).exists()


def test_an_idle_agent_is_set_away_and_the_heartbeat_brings_them_back(o):
    _login(o.agent)
    later = utcnow() + dt.timedelta(minutes=60)
    assert presence.mark_idle(later) == 1
    assert _stored(o.agent).presence == "away" and _stored(o.agent).presence_auto
    assert presence.heartbeat(o.agent) == "online"
    assert _stored(o.agent).presence == "online"


def test_the_heartbeat_does_not_undo_an_away_the_agent_chose(o):
    presence.set_presence(o.agent, "away")
    assert presence.heartbeat(o.agent) == "away"
    p = _stored(o.agent)
    assert p.presence == "away" and not p.presence_auto and p.last_activity_at is not None


def test_an_agent_with_recent_activity_is_not_idle(o):
    _login(o.agent)
    assert presence.mark_idle(utcnow() + dt.timedelta(minutes=1)) == 0
    assert _stored(o.agent).presence == "online"


def test_a_supervisor_may_set_another_agents_presence_but_an_agent_may_not(o):
    presence.set_presence(o.supervisor, "busy", user_id=o.agent.user_id)
    assert _stored(o.agent).presence == "busy" and not _stored(o.agent).presence_auto
    with pytest.raises(PermissionDenied):
        presence.set_presence(o.agent2, "offline", user_id=o.agent.user_id)
    assert _stored(o.agent).presence == "busy"


def test_an_unknown_presence_is_refused_naming_the_field(o):
    with pytest.raises(ValidationError) as exc:
        presence.set_presence(o.agent, "sleeping")
    assert "presence" in exc.value.fields


def test_customers_have_no_presence(o):
    with pytest.raises(PermissionDenied):
        agent_dispatch.change_presence(o.customer, "online")
    with pytest.raises(PermissionDenied):
        agent_dispatch.presence_of(o.customer)
    assert not AgentProfile.select().where(AgentProfile.user == o.customer.user_id).exists()


def test_an_online_agent_at_capacity_is_shown_busy(settings, o):
    users.update_user(o.admin, o.agent.user_id, {"capacity": 1})
    agent_dispatch.change_presence(o.agent, "online")
    ticket(settings, o.admin, "打印机卡纸", department_id=o.after_sales,
           assignee_id=o.agent.user_id)
    now = agent_dispatch.presence_of(o.agent)
    assert (now.presence, now.effective) == ("online", "busy")
    assert now.load == 1.0 and now.capacity == 1


def test_the_dispatch_profile_lists_skills_languages_and_permissions(o):
    repair = org.save_skill(SYSTEM, "售后维修")
    org.set_agent_skill(SYSTEM, o.agent.user_id, repair.id, 4)
    p = agent_dispatch.profile(o.agent)
    assert p.display_name == "王芳" and p.department.name == "售后"
    assert [(s.name, s.level) for s in p.skills] == [("售后维修", 4)]
    assert p.allowed_categories == [] and p.vip_tiers == ["*"] and p.shifts == []
    assert p.presence.presence == "offline" and p.efficiency == []


def test_only_supervisors_may_read_another_agents_dispatch_profile(o):
    assert agent_dispatch.profile(o.supervisor, o.agent.user_id).display_name == "王芳"
    with pytest.raises(PermissionDenied):
        agent_dispatch.profile(o.agent2, o.agent.user_id)


# --- notifications -------------------------------------------------------------------------

@pytest.fixture
def notified(settings, o):
    """A ticket in a department without agents: every administrator hears of it."""
    users.create_user(SYSTEM, "admin2", "第二管理员", "admin")
    empty = org.save_department(SYSTEM, "EMPTY", "空部门", "Empty")
    t = ticket(settings, o.admin, "没人管的工单", department_id=empty.id).summary
    Ticket.update(triage_state="auto").where(Ticket.id == t.id).execute()  # as after triage
    dispatch.dispatch_ticket(t.id)
    return t


def test_notifications_are_listed_for_their_owner_only(o, notified):
    mine = notifications.list_notifications(o.admin)
    assert [(n.kind, n.ticket_id, n.ticket_number, n.read) for n in mine] == [
        ("routing_no_agents", notified.id, notified.number, False)]
    assert mine[0].data["department"] == "空部门"
    assert notifications.list_notifications(o.agent) == []
    assert notifications.unread_count(o.admin) == 1


def test_marking_read_changes_only_the_actors_own_notifications(o, notified):
    other = actor("admin2")
    theirs = notifications.list_notifications(other)[0]
    assert notifications.mark_read(o.admin, [theirs.id]) == 0
    assert notifications.unread_count(other) == 1
    mine = notifications.list_notifications(o.admin)[0]
    assert notifications.mark_read(o.admin, [mine.id]) == 1
    assert notifications.unread_count(o.admin) == 0 and notifications.unread_count(other) == 1
    assert notifications.list_notifications(o.admin, unread_only=True) == []
    assert notifications.list_notifications(o.admin)[0].read


def test_marking_all_read_counts_each_once_and_bad_ids_are_refused(o, notified):
    assert notifications.mark_read(o.admin) == 1
    assert notifications.mark_read(o.admin) == 0
    with pytest.raises(ValidationError) as exc:
        notifications.mark_read(o.admin, ["1"])
    assert "ids" in exc.value.fields
    with pytest.raises(ValidationError):
        notifications.mark_read(o.admin, [2**40])  # no row has it; PostgreSQL would overflow
