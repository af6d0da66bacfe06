"""The classes of error the seventh blind set (tests/data/transcripts/blind7) showed in the
chat/call rules, each in other wording and numbers than the transcripts.
See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from appliance.rules.spoken_digits import normalise
from tests.unit.conversation_helpers import ids, turns


@pytest.mark.parametrize("text, out", [
    ("B for Bravo seven E as in echo two two F", "B7E22F"),
    ("that's a dot chen at river stone all one word dot com", "that's a.chen@riverstone.com"),
    ("P O three one four", "P O 314"),
])
def test_spelled_references_and_addresses(text, out):
    assert normalise(text) == out


def test_an_order_read_back_by_the_agent_and_confirmed():
    got = ids(("agent", "can I have the order number"), "yeah it's P O three one four",
              "nine nine two", ("agent", "P O three one four nine nine two"), "correct")
    assert got.order_numbers == ("PO314992",)


def test_a_read_back_not_confirmed_is_not_taken():
    got = ids(("agent", "can I have the order number"), "one moment",
              ("agent", "is it P O 314992?"), "no, I don't have it")
    assert got.order_numbers == ()


def test_a_lower_case_locator_answering_the_booking_question_with_a_name():
    got = ids(("agent", "Please enter your booking reference and surname."), "m4tq7z, Okafor")
    assert got.order_numbers == ("M4TQ7Z",)


def test_a_keyword_then_a_filler_then_the_number():
    assert ids("预约单号是 嗯 GH 2026 1120 017").order_numbers == ("GH20261120017",)


def test_a_phone_after_an_order_word_is_a_phone():
    got = ids(("agent", "The phone number on the order is 138 1111 2222, is that right?"), "yes")
    assert got.order_numbers == () and got.phones == ("13811112222",)


@pytest.mark.parametrize("lines", [
    ["公示牌上写着投诉电话0571-88112233，打了没人接"],
    [("agent", "请报一下宽带账号"), "账号是那个 028 8612 3456"],
    ["卡号 6222 0210 0112 3456 789"],
])
def test_complaint_lines_accounts_and_card_numbers_are_not_phones(lines):
    assert ids(*lines).phones == ()


def test_a_number_only_one_of_two_named_countries_fits():
    got = ids("I flew from Singapore to Sydney, my bag is missing. Mobile 0423 456 789")
    assert got.phones == ("+61423456789",)


def test_an_agent_asking_is_it_still_a_number_and_a_yes():
    got = ids(("agent", "is it still four one five five five five oh one three three"), "yes")
    assert got.phones == ("+14155550133",)


def test_an_address_in_the_agents_question_confirmed_is_the_customers():
    got = ids(("agent", "I'll email you. Is mei.lin@outlook.com still the best address?"),
              "yes that's me")
    assert got.emails == ("mei.lin@outlook.com",)


@pytest.mark.parametrize("agent", [
    "I've ordered a replacement card, it'll be posted to your home address.",
    "I've ordered you a new SIM. It will be sent first class tomorrow.",
])
def test_a_replacement_ordered_for_later_is_a_ticket(agent):
    d = cues.decide(turns(("C", "my card was stolen"), ("A", agent), ("C", "thanks, that's all")))
    assert d.needs_ticket
