"""Who has a ticket open or is writing a reply: beats, lapses, events, permissions."""
import datetime as dt

import pytest

from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import LivePresence, utcnow
from appliance.services import live, live_presence
from tests.factories import make_org, ticket

T0 = utcnow().replace(microsecond=0)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def org(settings):
    return make_org()


@pytest.fixture
def t(settings, org):
    return ticket(settings, org.agent, department_id=org.after_sales).summary


def presence_events(ticket_id):
    return [e.actor_id for e in live.read_after(0)
            if e.ticket_id == ticket_id and e.kind == "presence"]


def state_of(viewers, user_id):
    return {v.user_id: v.state for v in viewers}.get(user_id)


def test_viewers_see_each_other_and_who_is_replying(settings, org, t):
    live_presence.heartbeat(org.agent, t.id, "viewing", now=at(0))
    seen = live_presence.heartbeat(org.supervisor, t.id, "replying", now=at(1))
    assert [(v.name, v.state, v.me) for v in seen] == [("陈主管", "replying", True),
                                                     ("王芳", "viewing", False)]
    assert seen[0].expires_in == live_presence.REPLYING_SECONDS


def test_a_state_change_publishes_one_event_and_a_repeated_beat_none(settings, org, t):
    live_presence.heartbeat(org.agent, t.id, "viewing", now=at(0))
    live_presence.heartbeat(org.agent, t.id, "viewing", now=at(25))
    live_presence.heartbeat(org.agent, t.id, "replying", now=at(30))
    live_presence.heartbeat(org.agent, t.id, "replying", now=at(35))
    live_presence.heartbeat(org.agent, t.id, "viewing", now=at(40))
    live_presence.heartbeat(org.agent, t.id, "left", now=at(41))
    assert presence_events(t.id) == [org.agent.user_id] * 4
    assert all(e.internal for e in live.read_after(0) if e.kind == "presence")


def test_presence_lapses_without_beats(settings, org, t):
    live_presence.heartbeat(org.agent, t.id, "replying", now=at(0))
    reader = org.supervisor
    assert state_of(live_presence.viewers(reader, t.id, now=at(10)), org.agent.user_id) == "replying"
    assert state_of(live_presence.viewers(reader, t.id, now=at(16)), org.agent.user_id) == "viewing"
    assert live_presence.viewers(reader, t.id, now=at(61)) == []
    # A beat after the lapse is an arrival again: one more event.
    live_presence.heartbeat(org.agent, t.id, "viewing", now=at(70))
    assert len(presence_events(t.id)) == 2
    assert live_presence.prune(now=at(200)) == 1
    assert LivePresence.select().count() == 0


def test_presence_is_for_staff_who_may_see_the_ticket(settings, org, t):
    with pytest.raises(NotFound):
        live_presence.heartbeat(org.agent2, t.id, "viewing")
    with pytest.raises(NotFound):
        live_presence.viewers(org.agent2, t.id)
    with pytest.raises(PermissionDenied):
        live_presence.heartbeat(org.customer, t.id, "viewing")
    with pytest.raises(ValidationError) as exc:
        live_presence.heartbeat(org.agent, t.id, "typing")
    assert "state" in exc.value.fields
    assert LivePresence.select().count() == 0
