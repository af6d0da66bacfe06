import datetime as dt

import pytest

from appliance.rules import states

NOW = dt.datetime(2026, 11, 26, 12, 0)


def allowed(status, ended=None, by_customer=False, window=7):
    return states.allowed_transitions(status, ended_at=ended, now=NOW, window_days=window,
                                      by_customer=by_customer)


def test_a_new_ticket_can_be_opened_put_on_hold_resolved_or_closed():
    assert allowed("new") == ["open", "pending_customer", "pending_internal", "resolved", "closed"]


def test_nothing_goes_back_to_new():
    for status in states.STATUSES:
        assert "new" not in allowed(status, ended=NOW)


def test_a_resolved_ticket_reopens_only_within_the_window():
    assert "open" in allowed("resolved", ended=NOW - dt.timedelta(days=6, hours=23))
    assert "open" not in allowed("resolved", ended=NOW - dt.timedelta(days=7, seconds=1))


def test_a_closed_ticket_without_end_time_cannot_reopen():
    assert allowed("closed", ended=None) == []


def test_a_customer_may_only_close_or_reopen_their_ticket():
    assert allowed("open", by_customer=True) == ["closed"]
    assert allowed("resolved", ended=NOW, by_customer=True) == ["open", "closed"]
    assert allowed("closed", ended=NOW, by_customer=True) == ["open"]


@pytest.mark.parametrize("status,by_customer,internal,reopen_ok,expected", [
    ("new", False, False, True, "open"),            # first agent reply opens the ticket
    ("new", False, True, True, None),                # an internal note changes nothing
    ("pending_customer", True, False, True, "open"),  # the customer answered
    ("resolved", True, False, True, "open"),         # customer reply reopens within window
    ("closed", True, False, False, None),            # ...but not after it
    ("open", True, False, True, None),
    ("pending_internal", False, False, True, None),
])
def test_replies_move_the_status_as_the_rules_say(status, by_customer, internal, reopen_ok, expected):
    assert states.status_after_reply(status, by_customer=by_customer, internal=internal,
                                     reopen_ok=reopen_ok) == expected


def test_open_statuses_are_exactly_the_unfinished_ones():
    assert {s for s in states.STATUSES if states.is_open(s)} == {
        "new", "open", "pending_customer", "pending_internal"}
