"""Saved queue filters: own filters only, validated like the queue, applied as queries."""
import pytest

from appliance.errors import NotFound, ValidationError
from appliance.services import saved_filters
from appliance.services.queues import list_tickets
from tests.factories import make_org, ticket


@pytest.fixture
def org(settings):
    return make_org()


def test_a_saved_filter_round_trips_into_the_same_queue_query(settings, org):
    vip = ticket(settings, org.agent, department_id=org.after_sales, priority=1, tags=["vip"])
    ticket(settings, org.agent, department_id=org.after_sales, priority=1)
    saved = saved_filters.save_filter(org.agent, " 要紧的 VIP ", {
        "view": ["all"], "priority": ["1"], "tag": ["vip"], "unknown": ["dropped"], "sort": ""})
    assert saved.name == "要紧的 VIP"
    assert saved.params == {"view": ["all"], "priority": ["1"], "tag": ["vip"]}
    again = saved_filters.get_filter(org.agent, saved.id)
    query = saved_filters.build_query(again.params)
    assert (query.view, query.priority, query.tag) == ("all", [1], "vip")
    assert [t.id for t in list_tickets(org.agent, query).items] == [vip.summary.id]
    assert [f.name for f in saved_filters.list_filters(org.agent)] == ["要紧的 VIP"]


def test_nobody_sees_or_deletes_someone_elses_filter(settings, org):
    saved = saved_filters.save_filter(org.agent, "mine", {"view": ["mine"]})
    assert saved_filters.list_filters(org.supervisor) == []
    with pytest.raises(NotFound):
        saved_filters.get_filter(org.supervisor, saved.id)
    with pytest.raises(NotFound):
        saved_filters.delete_filter(org.supervisor, saved.id)
    saved_filters.delete_filter(org.agent, saved.id)
    assert saved_filters.list_filters(org.agent) == []


def test_the_same_name_twice_is_refused_but_other_users_may_reuse_it(settings, org):
    saved_filters.save_filter(org.agent, "P1", {"priority": ["1"]})
    with pytest.raises(ValidationError) as exc:
        saved_filters.save_filter(org.agent, "P1", {"priority": ["2"]})
    assert "name" in exc.value.fields
    assert saved_filters.save_filter(org.supervisor, "P1", {"priority": ["1"]}).name == "P1"


@pytest.mark.parametrize("params, field", [
    ({"view": ["everything"]}, "view"), ({"status": ["done"]}, "status"),
    ({"priority": ["P9"]}, "priority"), ({"sort": ["random"]}, "sort"),
    ({"department_id": ["abc"]}, "department_id"), ({"assignee": ["somebody"]}, "assignee"),
    ({"channel": ["fax"]}, "channel")])
def test_filters_the_queue_would_reject_are_not_stored(settings, org, params, field):
    with pytest.raises(ValidationError) as exc:
        saved_filters.save_filter(org.agent, "bad", params)
    assert field in exc.value.fields
    assert saved_filters.list_filters(org.agent) == []


def test_a_filter_needs_a_name(settings, org):
    with pytest.raises(ValidationError) as exc:
        saved_filters.save_filter(org.agent, "   ", {"view": ["all"]})
    assert exc.value.fields == {"name": "required"}


def test_query_parameters_accept_p_prefixed_priorities_me_and_none(settings, org):
    q = saved_filters.build_query({"priority": ["P1", "2"], "assignee": ["me"]}, cursor="abc",
                                  limit=10)
    assert (q.priority, q.assignee_id, q.cursor, q.limit) == ([1, 2], "me", "abc", 10)
    assert q.view == "mine"
    assert saved_filters.build_query({"assignee": ["none"]}).assignee_id == "none"
    assert saved_filters.build_query({"assignee": ["7"]}).assignee_id == 7
