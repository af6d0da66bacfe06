"""Who hears what of a live event (appliance.rules.live): pure decisions over facts."""
import pytest

from appliance.rules import live as rules
from appliance.rules.access import Actor, TicketFacts

AGENT_AS = Actor(user_id=2, role="agent", department_id=1)
AGENT_LOG = Actor(user_id=3, role="agent", department_id=2)
LEAD_AS = Actor(user_id=4, role="supervisor", department_id=1)
ADMIN = Actor(user_id=1, role="admin")
CUSTOMER = Actor(user_id=9, role="customer", customer_id=7)


def event(kind="reply_added", ticket_id=5, dept=1, assignee=None, internal=False, data=None,
          topic="", customer=7, requester=9):
    facts = None if ticket_id is None else TicketFacts(dept, assignee, customer, requester)
    return rules.LiveFacts(id=10, kind=kind, topic=topic, ticket_id=ticket_id,
                           internal=internal, actor_id=2, version=3, ticket=facts,
                           data=data or {})


def test_topics_are_parsed_deduplicated_and_bad_ones_named():
    assert rules.parse_topics("ticket:5, queue:mine,ticket:5") == ("ticket:5", "queue:mine")
    for raw, why in (("", "at least one"), ("queue:everything", "queue:everything"),
                     ("ticket:abc", "ticket:abc"), ("ticket:0", "ticket:0"),
                     ("board:1", "board:1"), ("TICKET:5", "TICKET:5"),
                     (",".join(f"ticket:{i}" for i in range(1, 30)), "at most 20")):
        with pytest.raises(ValueError, match=why):
            rules.parse_topics(raw)
    assert rules.valid_topic("process:12") and not rules.valid_topic("process")


def test_a_ticket_follower_gets_ids_kind_and_version_and_nothing_else():
    payload = rules.deliver(AGENT_AS, "ticket:5", event())
    assert payload == {"topic": "ticket:5", "id": 10, "kind": "reply_added", "ticket_id": 5,
                       "version": 3, "actor_id": 2}
    assert rules.deliver(AGENT_AS, "ticket:6", event()) is None


def test_customers_never_hear_of_internal_events_and_staff_do():
    assert rules.deliver(CUSTOMER, "ticket:5", event(internal=True)) is None
    assert rules.deliver(CUSTOMER, "ticket:5", event())["kind"] == "reply_added"
    assert rules.deliver(AGENT_AS, "ticket:5", event(kind="note_added", internal=True))


def test_a_ticket_that_moved_out_of_sight_is_checked_against_the_database():
    moved = event(kind="field_changed", dept=2, data={"department_id": [1, 2]})
    verdict = rules.deliver(AGENT_AS, "ticket:5", moved)
    assert verdict[0] == rules.RECHECK and verdict[1]["ticket_id"] == 5


def test_queue_hints_reach_only_readers_who_may_see_the_ticket():
    e = event(kind="status_changed")
    assert rules.deliver(AGENT_AS, "queue:open", e) == {
        "topic": "queue:open", "id": 10, "kind": "changed", "ticket_id": 5}
    assert rules.deliver(AGENT_LOG, "queue:open", e) is None
    assert rules.deliver(AGENT_LOG, "queue:all", e) is None
    assert rules.deliver(CUSTOMER, "queue:open", e) is None
    assert rules.deliver(ADMIN, "queue:all", e)["ticket_id"] == 5


def test_a_ticket_leaving_a_view_changes_it_without_telling_which_ticket():
    moved = event(kind="field_changed", dept=2, data={"department_id": [1, 2]})
    assert rules.deliver(AGENT_AS, "queue:open", moved) == {
        "topic": "queue:open", "id": 10, "kind": "changed", "ticket_id": None}
    assert rules.deliver(AGENT_LOG, "queue:open", moved)["ticket_id"] == 5


def test_mine_and_unassigned_follow_assignments_in_both_directions():
    taken = event(kind="assigned", assignee=2, data={"assignee_id": [None, 2]})
    assert rules.deliver(AGENT_AS, "queue:mine", taken)
    assert rules.deliver(AGENT_AS, "queue:unassigned", taken)  # it left the unassigned view
    given_away = event(kind="assigned", assignee=4, data={"assignee_id": [2, 4]})
    assert rules.deliver(AGENT_AS, "queue:mine", given_away)
    assert rules.deliver(AGENT_AS, "queue:unassigned", given_away) is None
    assert rules.deliver(AGENT_LOG, "queue:mine", given_away) is None


def test_presence_changes_no_queue_row():
    assert rules.deliver(AGENT_AS, "queue:open", event(kind="presence", internal=True)) is None
    assert rules.deliver(AGENT_AS, "ticket:5", event(kind="presence", internal=True))


def test_the_board_hears_routing_changes_of_its_departments_only():
    routed = event(kind="routed")
    assert rules.deliver(LEAD_AS, "board", routed) == {"topic": "board", "id": 10,
                                                        "kind": "changed"}
    assert rules.deliver(LEAD_AS, "board", event(kind="routed", dept=2)) is None
    assert rules.deliver(ADMIN, "board", event(kind="routed", dept=2))
    assert rules.deliver(AGENT_AS, "board", routed) is None
    assert rules.deliver(LEAD_AS, "board", event(kind="reply_added")) is None


def test_registered_topics_get_their_own_events_with_their_data():
    e = event(topic="process:3", ticket_id=None, kind="step_done", data={"step": 4})
    assert rules.deliver(AGENT_AS, "process:3", e) == {"topic": "process:3", "id": 10,
                                                        "kind": "step_done",
                                                        "data": {"step": 4}}
    assert rules.deliver(AGENT_AS, "process:4", e) is None
    assert rules.deliver(AGENT_AS, "queue:open", e) is None
    assert rules.deliver(AGENT_AS, "ticket:5", event(topic="process:3")) is None
