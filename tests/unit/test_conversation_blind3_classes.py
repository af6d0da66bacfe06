"""The classes of error the third blind set (tests/data/transcripts/blind3) showed in the
chat/call rules (conversation_extract, phone_numbers, conversation_cues), each in other
wording and numbers than the transcripts. See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from tests.unit.conversation_helpers import ids, turns


# --- identifiers -----------------------------------------------------------------------------

def test_digit_groups_right_after_a_full_width_comma_are_a_phone():
    assert ids("有消息就打我手机吧，177 3300 2468").phones == ("17733002468",)
    assert ids("退款 1,249 元").phones == ()


def test_a_number_taken_back_within_the_same_turn_is_dropped():
    got = ids("我手机 136 5555 1212 啊不对 记错了 应该是 136 5555 1221")
    assert got.phones == ("13655551221",)
    got = ids(("agent", "your mobile please"),
              ("customer", "07700 900111 sorry I meant 07700 900118"))
    assert got.phones == ("+447700900118",)


def test_a_number_confirmed_after_an_in_turn_correction_is_kept_once():
    got = ids("号码 135 1111 2222 不对不对 是 135 1111 2223",
              ("agent", "核对一下 135 1111 2223 对吗"), "对")
    assert got.phones == ("13511112223",)


@pytest.mark.parametrize("text, orders", [
    ("订单号是 7730012245 和 7730012299，麻烦查下", ("7730012245", "7730012299")),
    ("order #40012877, and the one after it #40012901", ("40012877", "40012901")),
    ("订单 JD20261201-7781、JD20261201-7790 都没到", ("JD20261201-7781", "JD20261201-7790")),
])
def test_a_list_of_order_numbers_after_one_keyword(text, orders):
    assert ids(text).order_numbers == orders


def test_a_reply_with_two_order_numbers_and_more_words():
    got = ids(("agent", "方便提供订单号吗"), "88120034567 跟 88120034590，都是上周买的")
    assert got.order_numbers == ("88120034567", "88120034590")


def test_list_siblings_must_share_the_shape_and_not_be_phones():
    got = ids("order #40012877, call me on 13912345678, paid $189")
    assert got.order_numbers == ("40012877",)
    assert got.phones == ("13912345678",)
    assert ids("订单号 DD2026110100123 金额 3,488").order_numbers == ("DD2026110100123",)


def test_a_letter_prefixed_number_with_five_digits_after_an_order_keyword():
    assert ids("订阅订单号：PRO-45120").order_numbers == ("PRO-45120",)
    assert ids("order number ab 12").order_numbers == ()


# --- decision --------------------------------------------------------------------------------

@pytest.mark.parametrize("said", [
    "厨房里一股煤气味，我们已经出来了",
    "插座冒烟了，现在好了，拔掉了",
    "there's a burning smell from the dryer, it's off now, all good",
])
def test_a_safety_hazard_always_needs_a_ticket(said):
    d = cues.decide(turns(("C", said), ("A", "请先离开房间"), ("C", "好的")))
    assert d.needs_ticket


def test_a_hazard_denied_is_not_one():
    d = cues.decide(turns(("C", "热水器不出热水，没有煤气味"), ("A", "把温度旋钮调高试试"),
                          ("C", "可以了，出热水了")))
    assert not d.needs_ticket


def test_someone_on_the_way_or_a_replacement_being_sent_is_a_ticket():
    assert cues.decide(turns(("C", "电梯困人了"), ("A", "救援人员立即出发，请保持冷静"),
                             ("C", "好")))
    assert cues.decide(turns(("C", "the kettle won't heat"),
                             ("A", "we're posting you a new one today"), ("C", "ok")))
    assert cues.decide(turns(("C", "App 一直闪退"), ("A", "已经提交到研发团队了，结果会通知您"),
                             ("C", "好吧"))).needs_ticket


def test_a_delivery_estimate_alone_is_information_not_a_promise():
    d = cues.decide(turns(("C", "我的包裹到哪了"), ("A", "已到北京转运中心，预计后天送达"),
                          ("C", "好的，知道了")))
    assert not d.needs_ticket


def test_a_question_answered_with_information_then_understood_is_no_ticket():
    d = cues.decide(turns(("C", "积分怎么还没到账？"), ("A", "积分在确认收货7天后发放，您的订单后天满7天"),
                          ("C", "原来如此，明白了")))
    assert not d.needs_ticket
    d = cues.decide(turns(("C", "my refund still not showing"),
                          ("A", "it was sent on Monday, banks take 3-5 days"),
                          ("C", "ah ok, got it, thanks for the info")))
    assert not d.needs_ticket


def test_understanding_does_not_undo_a_promise():
    d = cues.decide(turns(("C", "怎么还没修好"), ("A", "我帮您加急，明天师傅上门"), ("C", "明白了")))
    assert d.needs_ticket


@pytest.mark.parametrize("last", [
    "哦是模式选错了，是我搞错了，投诉就算了",
    "行了能用了，退货就不用了",
    "oh it works, never mind the complaint",
])
def test_a_complaint_the_customer_drops_is_no_ticket(last):
    d = cues.decide(turns(("C", "你们这个热水壶根本不加热，我要投诉！"),
                          ("A", "请确认底座插头插紧，按一下底部的开关"), ("C", last)))
    assert not d.needs_ticket


def test_the_customer_declining_the_visit_and_the_agent_not_booking_it():
    d = cues.decide(turns(("C", "热水器显示E3不出热水"), ("A", "如果处理不好我给您登记上门维修"),
                          ("C", "复位一下好了，那就不用师傅上门了"),
                          ("A", "好的，维修就先不帮您登记了"), ("C", "谢谢")))
    assert not d.needs_ticket


@pytest.mark.parametrize("fixed", ["there we go, the wifi is up. ta", "that did the trick",
                                   "ok data's back up"])
def test_still_not_then_fixed_in_other_words_is_no_ticket(fixed):
    d = cues.decide(turns(("C", "no internet on my phone"), ("A", "toggle airplane mode"),
                          ("C", "still no connection"), ("A", "now restart the phone"),
                          ("C", fixed)))
    assert not d.needs_ticket
