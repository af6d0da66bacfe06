"""The classes of error the eighth blind set (tests/data/transcripts/blind8) showed in the
chat/call rules, each in other wording and numbers than the transcripts.
See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from appliance.rules.spoken_digits import normalise
from tests.unit.conversation_helpers import ids, turns


@pytest.mark.parametrize("text, out", [
    ("it's M K L dash two two one dash oh four four nine", "it's MKL-2210449"),   # blind10: one token
    ("保单号 嗯 P A Z B 二零二六 幺幺零三 四四七七二一", "保单号 嗯 PAZB20261103447721"),
])
def test_spelled_prefixes_dashes_and_long_groups(text, out):
    assert normalise(text) == out


def test_a_number_in_the_agents_question_confirmed():
    got = ids(("agent", "请问是手机号 137 2200 4411 的用户吗"), "对对 是我")
    assert got.phones == ("13722004411",)
    got = ids(("agent", "the cell we have is 312 555 0110, is that still yours"), "yes")
    assert got.phones == ("+13125550110",)


def test_a_question_that_follows_a_company_number_is_not_a_read_back():
    got = ids(("agent", "You can ring our Leeds branch on 0113 496 0000. Anything else?"), "yes")
    assert got.phones == ()


@pytest.mark.parametrize("text", [
    "你可以打我儿子的 139 2222 3333",
    "they gave me a number for the front desk +34 911 222 333",
    "后面那辆车司机的电话我也记了 136 0000 1111",
])
def test_other_peoples_numbers(text):
    assert ids(text).phones == ()


def test_hong_kong_numbers():
    got = ids("I'm in Hong Kong, the card is HKD", ("agent", "your mobile for SMS?"),
              "nine one two three four five six seven")
    assert got.phones == ("+85291234567",)


@pytest.mark.parametrize("lines, orders", [
    ([("agent", "麻烦提供订单号"), "订单号我这边看是 2611 2018 4473 0915"], ("2611201844730915",)),
    (["my itinerary number is 7211458830192"], ("7211458830192",)),
    ([("agent", "订单号？"), "DD2026120100123", ("agent", "换新单号HX20261202-117，抢险单号是 1128 006")],
     ("DD2026120100123",)),
    ([("agent", "order number please"), "X T 2026 1203 4487",
      ("agent", "X T 2026 1203 4487 on flight XT8817, right?"), "yes"], ("XT202612034487",)),
])
def test_order_words_and_what_is_not_an_order(lines, orders):
    assert ids(*lines).order_numbers == orders


def test_an_address_the_agent_will_mail_to_confirmed():
    got = ids(("agent", "I'll email the new itinerary to lee dot ward at gmail dot com"), "that's right")
    assert got.emails == ("lee.ward@gmail.com",)


@pytest.mark.parametrize("conversation, needed", [
    ([("C", "我的空气炸锅到哪了"), ("A", "预计今天下午送达，快递员派送前会电话联系您"), ("C", "好的")], False),
    ([("C", "my internet is down"), ("A", "There's an outage; I've linked your account to the outage."),
      ("C", "can you text me when it's back?"), ("A", "Sure, alerts are set up.")], True),
    ([("C", "we rotated the cert and it worked fine for a bit, now nobody can log in"),
      ("A", "I'm opening a Priority 1 incident now and engineering has been paged.")], True),
    ([("C", "沙发扶手破了"), ("A", "好的，为您安排换新，新沙发从仓库重新发出"), ("C", "谢谢")], True),
    ([("C", "wrong item sent"), ("A", "I've set up a replacement kettle – it will be dispatched "
      "tomorrow."), ("C", "ok thanks")], True),
    ([("C", "发票发我邮箱"), ("A", "已发送，一般5分钟内到达"), ("C", "收到了")], False),
    ([("C", "被追尾了"), ("A", "我这边先给您立案，查勘员会在三十分钟内联系您"), ("C", "好")], True),
])
def test_decisions_in_other_words(conversation, needed):
    assert cues.decide(turns(*conversation)).needs_ticket is needed
