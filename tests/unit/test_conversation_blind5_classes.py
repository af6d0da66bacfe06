"""The classes of error the fifth blind set (tests/data/transcripts/blind5) showed in the
chat/call rules (spoken_digits, order_numbers, phone_numbers, conversation_extract,
conversation_cues), each in other wording and numbers than the transcripts.
See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from appliance.rules.spoken_digits import normalise
from tests.unit.conversation_helpers import ids, turns


# --- spoken text -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, out", [
    ("it's Papa Lima four two Echo seven", "it's PL42E7"),
    ("ref delta foxtrot 1 2 3", "ref DF123"),
    ("we stayed at the hotel and played golf", "we stayed at the hotel and played golf"),
    ("K T dash four four zero one two", "KT-44012"),   # one token since blind10
    ("一五八 呃 六六二零 三三一四", "158 6620 3314"),
    ("eight eight one two um four four five six", "88124456"),
])
def test_spelled_letters_dashes_and_fillers_in_spoken_numbers(text, out):
    assert normalise(text) == out


# --- order numbers ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, order", [
    ("保单号是 PICC2026330100887766，想问下理赔进度", "PICC2026330100887766"),
    ("my confirmation number is 55102938", "55102938"),
    ("subscription ID AB-9Q7X-22K4 was charged twice", "AB-9Q7X-22K4"),
    ("Tenancy ref GRN/2231/C, the boiler is broken", "GRN/2231/C"),
    ("I bought it last week (order #61204)", "61204"),
    ("订座记录 K3M9QZ，航班取消了", "K3M9QZ"),
    ("I have a booking, ref CL-88213, for Friday", "CL-88213"),
])
def test_bookings_policies_and_subscriptions_are_orders(text, order):
    assert ids(text).order_numbers == (order,)


def test_a_record_locator_answering_the_booking_question():
    got = ids(("agent", "can I take the booking reference please"), "it's Bravo Tango 5 5 Kilo 2")
    assert got.order_numbers == ("BT55K2",)


@pytest.mark.parametrize("lines", [
    [("agent", "已为您登记故障单 单号是 GD20261127009 请记好")],
    [("agent", "抢修单号 QX553201 供您查询")],
    [("agent", "Your fault reference is FLT-44120.")],
    ["the claim reference you gave me was CLM-77120"],
    [("agent", "ok thanks"), ("agent", "your reference is REF-88231")],
])
def test_ticket_fault_and_claim_numbers_are_not_orders(lines):
    assert ids(*lines).order_numbers == ()


# --- phones ----------------------------------------------------------------------------------

def test_an_agent_echoing_only_the_digits_is_a_read_back():
    got = ids(("agent", "请留个电话"), "一八六 嗯 二一零四", "七七三五",
              ("agent", "一八六二一零四七七三五"), "对")
    assert got.phones == ("18621047735",)


def test_a_confirmed_read_back_replaces_the_customers_misread_number():
    got = ids("我手机 137 0000 5512 哦不对 后四位是 5521",
              ("agent", "好的 137 0000 5521 对吗"), "对")
    assert got.phones == ("13700005521",)


def test_a_riders_number_is_not_the_customers():
    assert ids("骑手电话 155 6677 8899 打不通").phones == ()
    assert ids("I called the rider on 13955667788, no answer").phones == ()


@pytest.mark.parametrize("lines, phone", [
    (["I'm in Singapore, my mobile is 8123 4567"], "+6581234567"),
    ([("agent", "best contact number?"), "oh one one seven four nine six oh one two three"],
     "+441174960123"),
    ([("agent", "and a callback number"), "three one two five five five oh one eight eight"],
     "+13125550188"),
])
def test_numbers_only_one_country_can_have(lines, phone):
    assert ids(*lines).phones == (phone,)


def test_a_robot_or_service_address_is_not_the_customers():
    got = ids("my login is Wei.Li@acme.cn", "I got a mail from no-reply@cloudbox.io, is that it?",
              "还有 support@acme-mail.com 是 service@x.com 发的吗")
    assert got.emails == ("wei.li@acme.cn",)


# --- decision --------------------------------------------------------------------------------

@pytest.mark.parametrize("conversation, needed", [
    # the agent only mentions registration at the counter: no promise
    ([("C", "周末能直接去吗"), ("A", "可以直接来，到店后前台会登记"), ("C", "好的谢谢")], False),
    # registered, then cancelled after a self-fix
    ([("C", "热水器显示E1"), ("A", "先帮您登记上门维修"), ("C", "我按复位键好了"),
      ("A", "好的，登记已取消"), ("C", "谢谢")], False),
    # re-review submitted, answer within 5 working days
    ([("C", "理赔怎么还没下来"), ("A", "已将资料补充并提交复审，5个工作日内审核完毕"), ("C", "好的")], True),
    # checked and refunded at once, money arrived
    ([("C", "外卖少了一份"), ("A", "我马上帮您核实"), ("A", "核实确认是商家漏送，已为您退款"),
      ("C", "钱到了，谢谢")], False),
    # a one-time code is not a promise of later work
    ([("C", "my card was declined"), ("A", "I'm sending a verification code to your phone"),
      ("C", "got it, 4411"), ("A", "Verified, the block is removed."), ("C", "it worked, thanks")],
     False),
    # the customer will do it themselves
    ([("C", "退货怎么弄"), ("A", "在我的订单里申请售后，选择上门取件"), ("C", "明白了，我自己去弄")], False),
    ([("C", "Can I get a new card?"), ("A", "Yes, you can order one in the app."),
      ("C", "ok I'll order it in the app myself")], False),
    # English promises in other words
    ([("C", "the heating is off"), ("A", "I've booked our contractor for this morning."),
      ("C", "thanks")], True),
    ([("C", "power's out on the street"), ("A", "I've created an outage report and a crew is "
      "being dispatched now"), ("C", "ok")], True),
    ([("C", "no hot water"), ("A", "I'll check in with you this afternoon."), ("C", "thanks")], True),
    ([("C", "line is slow"), ("A", "I'd like to book an engineer. The engineer will text you "
      "before arriving."), ("C", "fine")], True),
    # it works now
    ([("C", "the course still says not enrolled"), ("A", "I've moved it, log in again?"),
      ("C", "yes it's there now, thanks")], False),
])
def test_decisions_in_other_words(conversation, needed):
    assert cues.decide(turns(*conversation)).needs_ticket is needed
