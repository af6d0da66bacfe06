"""The classes of error the nineteenth and twentieth blind sets (tests/data/transcripts/
blind19, one industrial-equipment maker's service desk; blind20, one retail-and-services
platform with customers from many countries) showed in the chat/call rules, each in other
wording and numbers than the transcripts. See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from appliance.rules.spoken_digits import normalise
from tests.unit.conversation_helpers import ids, turns


@pytest.mark.parametrize("spoken, written", [
    # lower-case spelled letters before Chinese digits or 杠; typographic dashes
    ("合同号 s c 二六 零二二四一", "合同号 S C 26 02241"),
    ("合同号 s c 杠 二六 杠 零零七一二", "合同号 SC-26-00712"),
    ("Contract SC–26–00331", "Contract SC-26-00331"),
    # a filler inside a spelled reference
    ("it's K L uh dash P E K dash four four one two nine", "it's KL-PEK-44129"),
    # a date after spoken digits stays apart
    ("预约单号 B J 二零二六零六幺二 杠 零三二一 六月十三号", "预约单号 BJ20260612-0321 六月十三号"),
    # any spelled country domain, "minus" as a hyphen
    ("send it to ha dot le at vinasteel dot v n", "send it to ha.le@vinasteel.vn"),
    ("k dot braun at weber minus technik dot de", "k.braun@weber-technik.de"),
])
def test_spoken_references_and_addresses(spoken, written):
    assert normalise(spoken) == written


@pytest.mark.parametrize("lines, phones", [
    # a number in a text the customer reads out is not theirs
    (["它说 尊敬的客户 请联系王经理 一七零 二二一八 九零二六 办理续费"], ()),
    (["it says: call 0161 496 0000 to pay. my own is 07700 900456"], ("+447700900456",)),
    # a gatehouse's number; "我重新说" withdraws the garbled start
    (["座机别打 那个是门卫的 0510 8821 4470"], ()),
    (["一三六 一五 零 零 一三六 哎 我重新说 一三六 零一五 零二 九八七"], ("13601502987",)),
    # "the number we have is …"
    ([("agent", "the number we have is one three nine one six two two four zero eight three"),
      "yep that's my number"], ("13916224083",)),
    # an old number, and one not to call
    (["下单用的 一三七 幺六 零四 二九 九三 哦 那个是我以前的号 现在用 幺八六 零二幺七 五五四八"],
     ("18602175548",)),
    (["+7 701 334 2290 is work, please do not call it. Use +7 747 318 20 64"], ("+77473182064",)),
    # Brazil, Iceland
    (["aqui em São Paulo, phone (11) 98472-3051"], ("+5511984723051",)),
    (["+354 862 4417"], ("+3548624417",)),
    # 哦不 corrects
    (["零幺零 六二 五七 三四 八幺 哦不 等等 零幺零 六二五七 三四八九"], ("010-62573489",)),
])
def test_whose_number_it_is(lines, phones):
    assert ids(*lines).phones == phones


@pytest.mark.parametrize("lines, orders", [
    # invoices, quotations, customer numbers, a transfer's reference, payments, a tax id
    (["Order SP2701-01456. Invoice SI2701-00217"], ("SP2701-01456",)),
    (["订单号SP2701-04417", "客户编号KH108842"], ("SP2701-04417",)),
    ([("agent", "order number?"), "SP2701-08801", "prepayment was by bank transfer, ref PL/2027/01/1187"],
     ("SP2701-08801",)),
    ([("agent", "请提供订单号"), "订单号 DS20270101778120",
      "交易记录里 一个是 T202701011832450017 一个是 T202701011833020245"], ("DS20270101778120",)),
    ([("agent", "请提供订单号和开票信息"), "抬头：某某公司，税号91310115MA1K4L2X8R"], ()),
    # 预约单号 asks; a long mixed answer; a number cut off with "..." is none
    ([("agent", "请问您的预约单号是多少"), "是 W X 呃 不是 是 A Z 二零二七 零一二零 五五三幺"],
     ("AZ202701205531",)),
    ([("agent", "may i have the rental order number"), "Z C two zero two seven zero one zero six uh C zero five nine"],
     ("ZC20270106C059",)),
    ([("agent", "请提供预约单号或者预约手机号"), "预约号YM20270113062", ("agent", "预约单号不变，还是YM20270113062。"),
      "之前发的是我老公的号 13800... 就是那个13816620459 以后别发他那了"], ("YM20270113062",)),
    # what the agent files, even a dozen characters after 提交
    ([("agent", "我已经为您提交紧急到店无房处理，单号JJ-113-0091"), "好"], ()),
    # a claim number is no order
    ([("agent", "请提供预约单号。"), "YY202701200093", ("agent", "查到了，关联报案号RMT2701189920，是这个吗？"),
      "对"], ("YY202701200093",)),
])
def test_order_numbers(lines, orders):
    assert ids(*lines).order_numbers == orders


@pytest.mark.parametrize("conversation, needed", [
    ([("C", "漏油了"), ("A", "合同过期了 可以单次有偿上门"), ("C", "先约吧"),
      ("A", "我给您约后天上午的工程师 预约号 FS27011812"), ("C", "好")], True),
    ([("C", "cancel my parts order"), ("C", "wait, keep it, sorry"),
      ("A", "No problem, the order stays and will ship within 2 working days."),
      ("C", "ok good thanks")], False),
    ([("C", "I need the manual in English"), ("A", "I can email you the manual right now"),
      ("C", "yes I have it thank you")], False),
    ([("C", "does the warranty work here?"), ("A", "yes, through our partner"),
      ("C", "ok good to know, nothing is broken yet"), ("C", "ty")], False),
    ([("C", "parcel says delivered but it's not here"),
      ("A", "if it doesn't turn up I can open an investigation"),
      ("C", "wait my neighbour has it, all fine")], False),
])
def test_decisions_in_other_words(conversation, needed):
    assert cues.decide(turns(*conversation)).needs_ticket is needed
