"""The classes of error the sixth blind set (tests/data/transcripts/blind6) showed in the
chat/call rules, each in other wording and numbers than the transcripts.
See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from tests.unit.conversation_helpers import ids, turns


# --- identifiers -----------------------------------------------------------------------------

@pytest.mark.parametrize("lines, phone", [
    ([("agent", "mobile on the account?"), "oh seven seven zero zero uh", "nine double oh one two three"],
     "+447700900123"),
    ([("agent", "请留个电话"), "幺五八 六六二零", "三三幺四"], "15866203314"),
])
def test_a_number_over_two_messages_is_one(lines, phone):
    assert ids(*lines).phones == (phone,)


def test_a_later_message_starting_with_digits_is_not_joined_when_it_goes_on():
    got = ids(("agent", "订单号?"), "DD202611220001 和 DD202611220002", "02那单少了个配件")
    assert got.order_numbers == ("DD202611220001", "DD202611220002")


def test_an_order_number_over_two_messages_answering_the_question():
    got = ids(("agent", "请问订单号是多少"), "订单号 嗯 我找一下 是4471", "0920 5561 08",
              ("agent", "44710920556108 对吗"), "对")
    assert got.order_numbers == ("4471 0920 5561 08".replace(" ", ""),)


def test_identifiers_in_an_answer_to_the_order_question():
    got = ids(("agent", "What's the order number?"),
              "two orders actually, 52-77120/LDN and 52-77184/LDN, for my sister")
    assert got.order_numbers == ("52-77120/LDN", "52-77184/LDN")
    got = ids(("agent", "What's the order number?"), "it was on 2026-11-03, call me on +44 20 7946 0958")
    assert got.order_numbers == ()


def test_someone_elses_number_introduced_earlier_in_the_turn():
    got = ids("骗子那个电话是 0755 嗯 我记下来了 0755 8866 1234，我的手机是 139 1111 2222")
    assert got.phones == ("13911112222",)
    assert ids("楼上业主电话是13600001111，一直不接").phones == ()


def test_an_agent_read_back_of_the_customers_own_number_after_a_staff_word():
    got = ids(("agent", "师傅会联系您下单的手机 是 138 0000 1234 吗"), "是的")
    assert got.phones == ("13800001234",)


@pytest.mark.parametrize("lines, phone", [
    (["my mobile is 0412 345 678, I'm in Sydney"], "+61412345678"),
    ([("agent", "Contact number? Our claims team is at claims@parcel.sg"), "8123 9876"],
     "+6581239876"),
    ([("agent", "best number?"), "0412 345 678"], "+61412345678"),
])
def test_australian_and_singapore_numbers(lines, phone):
    assert ids(*lines).phones == (phone,)


def test_a_subscription_number_in_chinese():
    assert ids("订阅编号SUB-2026-11902，发票开错了").order_numbers == ("SUB-2026-11902",)


def test_a_booking_reference_with_x_ray_spoken_apart():
    got = ids(("agent", "booking reference please"), "it's X ray four kilo nine papa quebec")
    assert got.order_numbers == ("X4K9PQ",)


# --- decision --------------------------------------------------------------------------------

@pytest.mark.parametrize("conversation, needed", [
    ([("C", "我想改一下扣款银行卡"), ("A", "为核实身份，请报一下身份证后六位"), ("C", "1234X5"),
      ("A", "核实通过，已经帮您变更好了"), ("C", "好的谢谢")], False),
    ([("C", "我被骗了，转了五万"), ("A", "已帮您冻结银行卡，反诈中心的同事今天之内会给您回电话"),
      ("C", "好，我知道了")], True),
    ([("C", "everyone is locked out"), ("A", "I've linked your account to the incident and we'll "
      "email updates every 30 minutes."), ("C", "ok keep me posted")], True),
    ([("C", "can I move my appointment to Friday?"), ("A", "Done, you're moved. We'll send a text "
      "reminder the day before."), ("C", "thanks")], False),
])
def test_decisions_in_other_words(conversation, needed):
    assert cues.decide(turns(*conversation)).needs_ticket is needed
