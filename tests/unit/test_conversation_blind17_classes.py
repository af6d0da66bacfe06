"""The classes of error the seventeenth and eighteenth blind sets (tests/data/transcripts/
blind17, one insurer's service centre; blind18, unusual trades, dialect-coloured ASR and
non-native English) showed in the chat/call rules, each in other wording and numbers.
See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from appliance.rules.conversation_extract import Turn, extract_identifiers
from appliance.rules.spoken_digits import normalise
from tests.unit.conversation_helpers import ids, turns


# --- phones --------------------------------------------------------------------------------

@pytest.mark.parametrize("lines, phones", [
    # other people's and places' numbers
    (["it's the city clinic, the front desk is +44 20 7946 0011"], ()),
    (["my visa guy is on +852 9123 4455, I'll ask him"], ()),
    (["the neighbour phone is 13900001111, he wants a call"], ()),
    (["is the assistance number on my card +86 21 6000 1234 the one to call?"], ()),
    (["[图片：维修估价单 合计3200元 店内电话0571-86000123]"], ()),
    # a yes that gives the number up
    ([("agent", "is +33 6 11 22 33 44 still your number?"),
      "yes that one I don't use anymore, remove it, the new one is 13611223344"],
     ("13611223344",)),
    # "actually no, that won't work": the earlier number is withdrawn
    (["my canadian cell is 604 555 0101 actually no that won't work here, use 18100001111"],
     ("18100001111",)),
    # Cantonese: a correction and a yes
    (["一三六 一二三四 五六七八 唔系唔系 最尾系 五六八七",
      ("agent", "一三六 一二三四 五六八七 对吗"), "啱 系呢个"], ("13612345687",)),
    # the agent checks the number on file
    ([("agent", "is the best number still oh four one two three three three four four four"),
      "yes this is my mobile"], ("+61412333444",)),
    ([("agent", "can I just check the number we have for you plus 49 151 1122 3344"),
      "yes this is my handy"], ("+4915111223344",)),
    # "should be" corrects
    (["it says 415-555-0191. should be 415-555-0119"], ("+14155550119",)),
    # typed with dots or slashes
    (["联系电话 139.1234.5678"], ("13912345678",)),
    (["call 512/555/0143 thx"], ("+15125550143",)),
    # the agent asks for ID numbers: the answer is no phone
    ([("agent", "我帮您预约 需要身份证号"), "六一零一零三 一九五九 零八一二 零零四 呃 零零四二"], ()),
    # 联系人是您 … 对吗
    ([("agent", "订单上的联系人是您 15200001111，再加一个 13800002222，对吗？"), "对 两个都留"],
     ("15200001111", "13800002222")),
])
def test_whose_number_it_is(lines, phones):
    assert ids(*lines).phones == phones


# --- orders --------------------------------------------------------------------------------

@pytest.mark.parametrize("lines, orders", [
    # a document's number, and the same read back
    ([("agent", "请提供保单号"), "保单 PA2026001122",
      ("agent", "报价单QT26-004411 是这份吗？"), "对"], ("PA2026001122",)),
    # an airline's report reference
    (["the airline gave me a property irregularity report, the reference is L H R B A 7 7 1 2"],
     ()),
    # a transaction number in an answer to the policy question
    ([("agent", "保单号多少"), "保单号 PA2026004455 支付宝交易号 2026 1213 2200 14"],
     ("PA2026004455",)),
    # one letter and four digits after "order"; fillers after the word; no "isRA…"
    (["the receipt say order K four four one two"], ("K4412",)),
    (["order number ah S Q 55201 884"], ("SQ55201884",)),
    (["yes is R B 7 7 3 4 0 0 9 1 the agreement"], ()),
    ([("agent", "rental agreement number?"), "yes is R B seven seven three four zero zero nine one"],
     ("RB77340091",)),
    # 预约码, 订阅 编号
    ([("agent", "已经预约好了 预约码是 M Z 六六零二幺八"), "好"], ("MZ660218",)),
    ([("agent", "您的订阅 编号 L X 杠 S U B 杠 55102"), "对"], ("LX-SUB-55102",)),
    # the question stands after a hint where to find it
    ([("agent", "需要会员合同号"), "合同号在哪看", ("agent", "在APP里，是HT开头的"),
      "找到了 HT-SZ-260113-077", ("agent", "合同HT-SZ-260113-077，是您本人吧？"), "对"],
     ("HT-SZ-260113-077",)),
])
def test_order_numbers(lines, orders):
    assert ids(*lines).order_numbers == orders


def test_a_site_pattern_is_not_vetoed_by_the_word_before():
    said = [Turn("agent", "已为您预约 安装单号 AZ2604110037")]
    site = (r"(?<![A-Z0-9])AZ[0-9]{10}(?![0-9])",)
    assert extract_identifiers(said).order_numbers == ()
    assert extract_identifiers(said, site).order_numbers == ("AZ2604110037",)


# --- e-mails -------------------------------------------------------------------------------

@pytest.mark.parametrize("spoken, written", [
    ("email is m tremblay at shaw dot c a", "email is mtremblay@shaw.ca"),
    ("j dot roy at videotron dot c a", "j.roy@videotron.ca"),
])
def test_addresses_said_aloud(spoken, written):
    assert normalise(spoken) == written


# --- decisions -----------------------------------------------------------------------------

@pytest.mark.parametrize("conversation, needed", [
    # reporting a claim is work; declining to report it is not
    ([("C", "冰雹把车砸了"), ("A", "我这边给您报案 报案号 RMT2511203548"), ("C", "好")], True),
    ([("C", "小刮擦要不要报"), ("A", "建议自费修"), ("C", "那算了 不报了"),
      ("A", "好的，那本次不为您报案。"), ("C", "好嘞")], False),
    ([("C", "the pipe burst"), ("A", "I've registered a claim; an adjuster will call"),
      ("C", "thanks")], True),
    # "call our official number to check" and 怕被骗 are no work or trouble
    ([("C", "这个续保短信是不是骗子"), ("A", "是真的 您签了自动续保"), ("C", "那就好 我就是怕被骗"),
      ("A", "以后有疑问随时打我们官方电话核实"), ("C", "好的谢谢")], False),
    # a request submitted, a specialist to call, a fix that fails again
    ([("C", "invoice has the wrong name"), ("A", "I've submitted the request to finance"),
      ("C", "thanks")], True),
    ([("C", "资料传不上去"), ("A", "压缩一下再传"), ("C", "好了 成功了"),
      ("C", "等下 刷新了又变成上传失败了"), ("A", "抱歉 我登记给技术处理"), ("C", "好吧")], True),
    # a callback withdrawn after the customer found a coupon
    ([("C", "有啥优惠 打我电话"), ("A", "可以安排专员给您回电"), ("C", "算了 不用了 我自己弄吧"),
      ("A", "好的，那就不安排回电了"), ("C", "领到了")], False),
])
def test_decisions_in_other_words(conversation, needed):
    assert cues.decide(turns(*conversation)).needs_ticket is needed
