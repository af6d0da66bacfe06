"""The classes of error the twenty-first and twenty-second blind sets (tests/data/transcripts/
blind21, public-sector and regulated services; blind22, one new-energy car maker's service
centre) showed in the chat/call rules, each in other wording and numbers than the
transcripts. See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from tests.unit.conversation_helpers import ids, turns


@pytest.mark.parametrize("lines, phones", [
    # the customer asks us to call someone else, who is then the contact
    (["那你们打他电话 13677776666 他下午有空"], ("13677776666",)),
    (["你们能不能打给她 她电话是 一九九 一二三四 五六七八"], ("19912345678",)),
    # the lost phone's own number is no contact
    ([("agent", "what's the number of the lost phone itself?"), "it's +1 617 555 0101",
      ("agent", "and another number?"), "my wife's, +1 617 555 0199, call her"],
     ("+16175550199",)),
    # a landline that has been cut off; a neighbour's or an old person's number
    (["原来留的是家里座机0931-6620000 那个已经停了 发我手机 18011112222"], ("18011112222",)),
    (["四楼那家 老人住的 电话我有 一五九 八八三 二二 七零幺"], ()),
    # "text 647 …" (not an extension) with a Canadian address
    (["my email is kim@student.example.ca", "or text 647 302 8816"], ("+16473028816",)),
    # "a Chinese one uh one eight six …": the pronoun is no digit
    (["my number is a Chinese one uh one eight six two one seven zero five five nine three"],
     ("18621705593",)),
])
def test_whose_number_it_is(lines, phones):
    assert ids(*lines).phones == phones


@pytest.mark.parametrize("lines, orders", [
    # appointments are bookings; 合同编号 and 协议的编号 ask for one
    ([("agent", "Booked: Fri 15:00. Appointment no. OPD-270515-0932.")], ("OPD-270515-0932",)),
    ([("agent", "can I have your appointment reference please"), "it's V A Q 7 7 3 0 9 2 uh K"],
     ("VAQ773092K",)),
    ([("agent", "请问校车服务协议的编号"), "协议编号 我看一下 邮件里有 是 B S 二零二六 杠 零三八七"],
     ("BS2026-0387",)),
    # an international postal item and a parcel the agent posted are tracked, not ordered
    ([("agent", "请提供单号"), "单号 EA708251396CN"], ()),
    ([("agent", "已安排EMS邮寄，单号1183204476812"), "好"], ()),
    # a read-back of a phone given with "+" is no order; pieces of a given order are none
    ([("agent", "what's the booking reference"), "APN-771406",
      ("agent", "and the best way to reach you"), "plus nine one nine eight four five oh two two six one seven",
      ("agent", "plus nine one nine eight four five zero two two six one seven"), "yes"], ("APN-771406",)),
    ([("agent", "请报一下合同编号"), "合同编号 J Y 二零二五 杠 一一八三零六",
      ("agent", "JY二零二五杠一一八三零六 是吧"), "对"], ("JY2025-118306",)),
    # a licence plate read back is no order
    ([("agent", "合同号"), "合同号 B S P 二六零一 零二五五", ("agent", "BSP26010255 对吗 车牌是皖A D七二九一六"),
      "对"], ("BSP26010255",)),
])
def test_order_numbers(lines, orders):
    assert ids(*lines).order_numbers == orders


@pytest.mark.parametrize("conversation, needed", [
    # a court's 立案 window is a place, not work; the customer submits it themselves
    ([("C", "想预约线下立案"), ("A", "已为您预约6月3日 立案3号窗口"), ("C", "好的谢谢")], False),
    ([("C", "退税怎么是补税"), ("A", "补填房贷信息后 您确认无误后提交 申请退税就可以了"),
      ("C", "好了 我提交了 谢谢")], False),
    # the complaint withdrawn and the agent won't log it
    ([("C", "nobody told me the hearing moved, I want to complain"), ("A", "the SMS went out on the 3rd"),
      ("C", "oh there it is in spam, never mind the complaint"), ("A", "no problem, I won't log a complaint"),
      ("C", "thanks")], False),
    # nothing for the customer to do; the app updates by itself; the customer's own deadline
    ([("C", "charged twice?"), ("A", "the second is a pending authorisation that drops off"),
      ("C", "oh ok so i don't need to do anything"), ("C", "thanks")], False),
    ([("C", "change the colour please"), ("A", "Done. The app will show it within a few minutes; "
      "please confirm the new quote there within 48 hours."), ("C", "it shows, confirmed"), ("C", "thx")],
     False),
    # a coordinator who will confirm later is work
    ([("C", "the claim was rejected"), ("A", "our error; our insurance coordinator will confirm by email "
      "once the insurer accepts it"), ("C", "ok")], True),
])
def test_decisions_in_other_words(conversation, needed):
    assert cues.decide(turns(*conversation)).needs_ticket is needed
