"""The classes of error the fifteenth and sixteenth blind sets (tests/data/transcripts/
blind15, one telecom operator's service centre; blind16, many trades and countries)
showed in the chat/call rules, each in other wording and numbers than the transcripts.
See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from appliance.rules.spoken_digits import normalise
from tests.unit.conversation_helpers import ids, turns


# --- phones --------------------------------------------------------------------------------

@pytest.mark.parametrize("lines, phones", [
    # more countries: Nigeria, South Africa, New Zealand, Korea ("oh ten …")
    (["I'm in Abuja, reach me on 0813 552 0917"], ("+2348135520917",)),
    (["Sandton office, cell 072 118 4406"], ("+27721184406",)),
    (["Auckland here, my mobile's 021 889 4410"], ("+64218894410",)),
    (["use my korean number oh ten nine nine one two three four five six"], ("+821099123456",)),
    # a number the customer no longer has, in its own clause
    (["my old number 07700 900111, don't have it now; new one is 07700 900222"],
     ("+447700900222",)),
    (["以前的号 139 0000 1111 停机了 现在用 139 2222 3333"], ("13922223333",)),
    # ... but "不用了" about something else in the next clause leaves it
    (["取件打我电话 17712345678，下单时留的那个号不用了"], ("17712345678",)),
    # someone the customer names as the contact for the case counts
    (["别打我 打我爸的 13599887766"], ("13599887766",)),
    (["best to call my colleague Tom, he handles it, his number is 13611112222"],
     ("13611112222",)),
    # ... someone's number the customer only mentions does not
    (["我老婆的号 13688889999 以后别打她那了"], ()),
    # "sorry no" corrects
    (["oh four one two three four five six seven eight sorry no so oh four one two three four "
      "five six seven nine, Sydney"],
     ("+61412345679",)),
    # a number read from a scam text, and one that called the customer
    (["短信说 请致电 0512 6666 7777 缴费"], ()),
    (["都是这个号打来的 021-66668888 天天推销"], ()),
    # the customer's own shop
    (["电话打店里 0512 6778 1111"], ("0512-67781111",)),
    # the agent applies a correction the customer gave only in part
    (["Me, 186 5109 8432", "sorry, 8423 at the end", ("agent", "So 18651098423.")],
     ("18651098423",)),
])
def test_whose_number_it_is(lines, phones):
    assert ids(*lines).phones == phones


# --- orders --------------------------------------------------------------------------------

@pytest.mark.parametrize("lines, orders", [
    # what the agent files is numbered, not ordered; what the agent generates as an order is
    ([("agent", "调货申请已提交，单号 TH-0811-223"), "好"], ()),
    ([("agent", "我先给您生成改约订单 订单号 S O 二零二六零八幺幺 零零四四幺二"), "好的"],
     ("SO20260811004412",)),
    # a shipping booking; the container number the customer adds is none
    (["订舱号 QDA5520831174", "柜号 MSKU7711203 已经进港"], ("QDA5520831174",)),
    # a long code of letters and a few digits after "order ID"
    (["order ID is uh K Q M seven T two W R X P"], ("KQM7T2WRXP",)),
    # a date after the digits is not part of them
    (["充值订单号 GM20250801123456 8月1号充的"], ("GM20250801123456",)),
    # a folio, a rewards number, a role id
    ([("agent", "your booking number?"), "77120455", "folio # is F-220133 too",
      "rewards # 220 118 904"], ("77120455",)),
    # a stammered reading confirmed by the agent's clean read-back
    ([("agent", "保单号"), "保单号 B K 二零二六 五五一 呃 五五一 零八 八 二 三",
      ("agent", "B K 二零二六 五五一零 八八二三 对吗"), "对"], ("BK202655108823",)),
    # the agent's contract note (the case's contract), then the real question: an IMEI
    ([("agent", "合约编号HY-2026-0011223有效。麻烦提供一下手机的IMEI"), "861234567890123"],
     ("HY-2026-0011223",)),
])
def test_order_numbers(lines, orders):
    assert ids(*lines).order_numbers == orders


# --- e-mails -------------------------------------------------------------------------------

@pytest.mark.parametrize("spoken, written", [
    ("li 点 jia hui 一九九零 艾特 幺六三 点 com", "li.jiahui1990@163.com"),
    ("priya dot s underscore seventeen at yahoo dot co dot in", "priya.s_17@yahoo.co.in"),
])
def test_addresses_said_aloud(spoken, written):
    assert normalise(spoken) == written


def test_an_address_the_agent_corrects_and_the_customer_confirms():
    got = ids(("agent", "it was sent to k o h dot s g at gmial dot com"),
              "gmial no it's gmail",
              ("agent", "let me correct it koh dot sg at gmail dot com"), "yes that's right")
    assert got.emails == ("koh.sg@gmail.com",)


# --- decisions -----------------------------------------------------------------------------

@pytest.mark.parametrize("conversation, needed", [
    # raising / filing a request is work
    ([("C", "wrong tablets delivered"), ("A", "I'm raising a replacement request on priority")],
     True),
    ([("C", "this bill is estimated"), ("A", "I'll file a request for an actual reading; a "
      "meter reader will visit within five days"), ("C", "ok")], True),
    # no fault after all
    ([("C", "charged TWICE!!"), ("A", "one is only a hold, it drops off"),
      ("C", "oh the second says pending. panic over"), ("C", "cheers")], False),
    ([("C", "no data"), ("A", "set the APN to abc"), ("C", "ok websites work now"),
      ("C", "thanks")], False),
    # the customer did it themselves; the system collects the parcel
    ([("C", "想换货"), ("A", "请稍等"), ("C", "找到换货按钮了 自己搞定了"),
      ("A", "上门取件的单号系统会自动关联"), ("C", "好的")], False),
    # the cabinet failed to report it; the agent fixed it in place
    ([("C", "还了还在计费"), ("A", "机柜没有上报成功，已手动结束订单并退回32元"),
      ("C", "看到了 退回来了"), ("C", "没了")], False),
    # recording a contact number is no work; "on that number only"
    ([("C", "话费怎么多了"), ("A", "是来电显示的功能费"), ("C", "哦 那没问题了"),
      ("A", "那我登记一下 以后有事打这个座机找您"), ("C", "好")], False),
    ([("C", "turn on roaming"), ("A", "done; we'll contact you on the 139 number only"),
      ("C", "got the sms, thanks")], False),
    # a paid visit offered and declined after a remark, fixed by advice
    ([("C", "卧室信号差"), ("A", "可以上门装组网 九十九 您需要吗"), ("C", "九十九啊 算了 不用了"),
      ("A", "把光猫拿出弱电箱试试"), ("C", "好了 三格了"), ("C", "不需要上门 谢谢")], False),
])
def test_decisions_in_other_words(conversation, needed):
    assert cues.decide(turns(*conversation)).needs_ticket is needed


def test_the_number_of_another_line_the_agent_asked_for_is_not_a_contact():
    got = ids("想把我老公的号加成副卡", ("agent", "请问副卡号码是多少？"), "13655558888 他也是你们的用户",
              ("agent", "处理好联系您，主卡是您现在这个号码13711112222吗？"), "对")
    assert got.phones == ("13711112222",)
