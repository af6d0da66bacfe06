"""The classes of error the twelfth blind set (tests/data/transcripts/blind12) showed in
the chat/call rules, each in other wording and numbers than the transcripts.
See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from appliance.rules.spoken_digits import normalise
from tests.unit.conversation_helpers import ids, turns


@pytest.mark.parametrize("conversation, needed", [
    # an offer "我可以给您登记…" the customer turns down
    ([("C", "水费怎么这么高"), ("A", "夏天用水多，如果不放心我可以给您登记一个检表"),
      ("C", "不用不用 我就问问"), ("C", "谢谢")], False),
    # the system arranges it by itself; the customer did it and says so
    ([("C", "想换个颜色"), ("A", "在订单里点换货，系统会自动安排快递上门取件"),
      ("C", "弄好了 已经提交了"), ("A", "看到了，已自动审核通过"), ("C", "好的谢谢")], False),
    # several short messages in a row: the settling one is in the customer's last two turns
    ([("C", "退款怎么还没到"), ("A", "已原路退回，1-5个工作日"), ("C", "我看了 没有"),
      ("C", "等下"), ("C", "哦 到了到了"), ("C", "不好意思"), ("A", "没事"), ("C", "没了 拜拜")],
     False),
    # a coupon not used yet is not "没用"
    ([("C", "我还有张券没用 能用吗"), ("A", "这张券月底前都能用"), ("C", "好的")], False),
    # already part of a known outage, "no need for a separate report"
    ([("C", "no water since 7am"), ("A", "you're linked to the main break on our incident "
      "list, so there's no need for a separate report; crews expect to finish by noon"),
      ("C", "ok thanks")], False),
])
def test_decisions_in_other_words(conversation, needed):
    assert cues.decide(turns(*conversation)).needs_ticket is needed


@pytest.mark.parametrize("spoken, written", [
    ("订单 四四零二 幺幺八 七七六 零三 两点五公斤", "订单 4402 118 776 03 两点五公斤"),
    ("订单 四四零二幺幺八七七六零三 一点五匹", "订单 440211877603 一点五匹"),   # not "…031"
    ("it's s dot ng at harbor view hotels dot com, all one word", "it's s.ng@harborviewhotels.com"),
])
def test_decimals_after_a_number_and_one_word_domains(spoken, written):
    assert normalise(spoken) == written


@pytest.mark.parametrize("lines, orders", [
    (["预约单号 KB2026 0811 207"], ("KB20260811207",)),
    (["合约编号 L T 二零二五 零九 幺二 零三"], ("LT2025091203",)),
    (["订单号XC20260811003344 预订编码QK7M2P"], ("XC20260811003344", "QK7M2P")),
    (["顺便问下 我们订阅PRO-20260071 啥时候到期"], ("PRO-20260071",)),
    ([("agent", "已经派出维修 单号 WX 零九零八 零幺五七")], ()),
    ([("agent", "your order number?"),
      "sure it's K P 4 4 1 0 2 9 3 and the Rx number is 7 7 1 2 0 4 if you need it"],
     ("KP4410293",)),
    ([("agent", "请提供协议号"), "协议号 HT0755 8812", ("agent", "HT07558812 对吧"),
      "对 运单号我也报一下 SF1122 3344 5566 然后 5567 5568"], ("HT07558812",)),
    ([("agent", "合同号多少"), "合同号 QD20260418", ("agent", "QD20260418 对吧"),
      "对 批次号是 B 二六零四幺八"], ("QD20260418",)),
])
def test_order_keywords_and_what_follows_other_numbers(lines, orders):
    assert ids(*lines).order_numbers == orders


def test_a_number_read_back_after_a_partial_correction():
    got = ids("oh seven seven double oh nine oh oh one two three no sorry one two four",
              ("agent", "let me read that back oh seven seven oh oh nine oh oh one two four"),
              "yes that's it")
    assert got.phones == ("+447700900124",)
    got = ids("幺三九 幺二三四 五六七八 哦不对 最后是七九",
              ("agent", "幺三九幺二三四五六七九 是这个对吧"), "对 这个")
    assert got.phones == ("13912345679",)


def test_an_address_corrected_in_the_same_breath():
    got = ids("k dot wu at gmail dot com no sorry not gmail outlook k dot wu at outlook dot com")
    assert got.emails == ("k.wu@outlook.com",)
