"""The classes of error the fourth blind set (tests/data/transcripts/blind4) showed in the
chat/call rules (conversation_extract, phone_numbers, conversation_cues), each in other
wording and numbers than the transcripts. See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from tests.unit.conversation_helpers import ids, turns


# --- identifiers -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "我打过他们经理电话 137 2211 9087 没人接",
    "物业的号码 0571-88776655 一直占线",
    "my husband's number is 13566778899 but he's away",
    "I rang their manager's phone, 13988001122, no answer",
])
def test_a_number_named_as_another_persons_is_not_the_customers(text):
    assert ids(text).phones == ()


@pytest.mark.parametrize("text, phone", [
    ("他们让我留个电话，138 0013 8000", "13800138000"),
    ("我的手机 159 0000 1111，他们经理的我没有", "15900001111"),
])
def test_the_customers_own_number_beside_other_people_is_kept(text, phone):
    assert ids(text).phones == (phone,)


def test_a_letter_spelled_order_number_after_the_question():
    got = ids(("agent", "can I have the order number please"), "yes it's K T four four zero one two")
    assert got.order_numbers == ("KT44012",)


@pytest.mark.parametrize("lines", [
    [("agent", "Could you read me the serial number?"), "it's AB3310-55821"],
    ["S/N: AB3310-55821, it grinds"],
    ["机身序列号是 HX12-4456789"],
])
def test_a_serial_number_is_not_an_order(lines):
    assert ids(*lines).order_numbers == ()


def test_an_order_after_a_serial_question_still_counts_with_its_keyword():
    got = ids(("agent", "请提供机身序列号"), "序列号找不到，订单号是 JD2026110912345")
    assert got.order_numbers == ("JD2026110912345",)


def test_another_order_of_the_same_shape_in_a_later_message():
    got = ids(("agent", "麻烦发一下订单号"), "XM20261101778", "另外一单是 xm20261103002")
    assert [o.upper() for o in got.order_numbers] == ["XM20261101778", "XM20261103002"]


def test_later_numbers_of_another_shape_are_not_orders():
    got = ids(("agent", "order number?"), "AC1029384",
              "the tracking says 773011223344", "paid 2026 yesterday")
    assert got.order_numbers == ("AC1029384",)
    got = ids(("agent", "订单号？"), "2611010099887", "快递单号 2611010099123 也查不到")
    assert got.order_numbers == ("2611010099887",)


def test_a_corrected_email_replaces_the_typo():
    got = ids("wang.lei@gmial.com", "sorry, wang.lei@gmail.com")
    assert got.emails == ("wang.lei@gmail.com",)
    got = ids("li_na@qq.con", "li_na@qq.com")   # one letter off, no cue: the later one stands
    assert got.emails == ("li_na@qq.com",)
    got = ids("a.chen@163.com", "also b.zhou@126.com")   # two addresses, both stand
    assert got.emails == ("a.chen@163.com", "b.zhou@126.com")


# --- decision --------------------------------------------------------------------------------

def test_an_offer_put_as_a_question_and_declined_is_no_ticket():
    d = cues.decide(turns(("C", "路由器又断网了"),
                          ("A", "请重启一下光猫，如果还不行我安排师傅上门"),
                          ("C", "好了，能上了"),
                          ("A", "那还需要给您安排工程师上门检测一下吗？"),
                          ("C", "不用了，谢谢")))
    assert not d.needs_ticket
    d = cues.decide(turns(("C", "The app keeps logging me out"),
                          ("A", "Please update to the latest version."),
                          ("C", "ok that fixed it"),
                          ("A", "Would you like me to book a technician to check the router?"),
                          ("C", "no thanks, all good")))
    assert not d.needs_ticket


def test_an_offer_question_accepted_is_still_a_ticket():
    d = cues.decide(turns(("C", "热水器一直漏水"),
                          ("A", "需要给您安排师傅上门维修吗？"),
                          ("C", "要的，越快越好"),
                          ("A", "好的，已为您登记，师傅明天上午联系您")))
    assert d.needs_ticket


@pytest.mark.parametrize("agent", [
    "Sign in with the email you registered and open Settings.",
    "You can email your invoice to us any time.",
])
def test_email_you_without_a_promise_is_not_follow_up(agent):
    d = cues.decide(turns(("C", "How do I see my usage?"), ("A", agent), ("C", "great, cheers")))
    assert not d.needs_ticket


def test_we_will_email_you_is_still_a_promise():
    d = cues.decide(turns(("C", "My refund has not arrived"),
                          ("A", "I've asked finance to check; we'll email you once it's traced."),
                          ("C", "ok thanks")))
    assert d.needs_ticket


@pytest.mark.parametrize("last", ["找到了，已经交了，谢谢", "已经付了，谢谢", "I found it, thanks"])
def test_found_it_after_cannot_find_settles_it(last):
    d = cues.decide(turns(("C", "app 里找不到缴费入口"),
                          ("A", "首页点“生活缴费”再选“水费”"),
                          ("C", last)))
    assert not d.needs_ticket


def test_paid_but_not_credited_is_not_settled():
    d = cues.decide(turns(("C", "我已经付了钱但是显示没到账"),
                          ("A", "我帮您提交核查，24小时内回复")))
    assert d.needs_ticket


@pytest.mark.parametrize("last", ["alright, fair enough, thanks", "ok that makes sense",
                                  "understood, I'll wait then"])
def test_a_question_answered_and_accepted_settles_it(last):
    d = cues.decide(turns(("C", "why is the charge still showing on my card?"),
                          ("A", "Banks take 5 to 7 days to drop a hold after we release it."),
                          ("C", last)))
    assert not d.needs_ticket
