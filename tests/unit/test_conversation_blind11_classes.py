"""The classes of error the eleventh blind set (tests/data/transcripts/blind11) showed in
the chat/call rules, each in other wording and numbers than the transcripts.
See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from appliance.rules.spoken_digits import normalise
from tests.unit.conversation_helpers import ids, turns


@pytest.mark.parametrize("conversation, needed", [
    # a refund done in the chat, "usually within 2 hours", and the customer sees it arrive
    ([("C", "充值没到账"), ("A", "已经为您退回原账户，一般1小时内到账"), ("C", "到了到了 谢谢")], False),
    ([("C", "多扣了我二十块"), ("A", "这个我这边已经退了，原路退回"), ("C", "嗯 看到了 行")], False),
    # "之后就没用了" is "not used since", not "useless"
    ([("C", "卡丢了 帮我冻结"), ("A", "最近一笔是昨天的吗"), ("C", "对 之后就没用了"),
      ("A", "已经为您冻结，新卡七个工作日寄到"), ("C", "好 谢谢")], False),
    # "核实到…" reports a check made; a suggestion passed on "for reference" is no work
    ([("C", "为什么多扣了10块"), ("A", "核实到您开通了彩铃，已经为您退订并退回10元"),
      ("C", "行吧")], False),
    ([("C", "建议出个黑色款"), ("A", "感谢建议，已记录并反馈给设计部门参考"), ("C", "好")], False),
])
def test_decisions_in_other_words(conversation, needed):
    assert cues.decide(turns(*conversation)).needs_ticket is needed


def test_longer_spelled_references_and_single_spoken_digits():
    assert normalise("policy is S L 9 0 3 4 4 7 1 2 3") == "policy is SL903447123"
    assert normalise("记录编号是 K 八 M P 三 Z") == "记录编号是 K8MP3Z"


@pytest.mark.parametrize("lines, orders", [
    (["subscription id SUB-4R8T2Z"], ("SUB-4R8T2Z",)),
    (["sub id is ACC-9Q3L7"], ("ACC-9Q3L7",)),
    # a typo taken back ("wait" / "sorry"): the corrected number only
    ([("agent", "order number?"), "TB-55102934", "wait", "TB-55102943 sorry"], ("TB-55102943",)),
    (["order no is K T 3 1 no wait K T 3 1 7 7 0 2 4 5"], ("KT31770245",)),
    # the letters said apart from the digits: one order, not two
    ([("agent", "合同号是 H B 二零二五 零四四八 对吧"), "对 就是 HB 二零二五零四四八"], ("HB20250448",)),
])
def test_order_corrections_and_restarts(lines, orders):
    assert ids(*lines).order_numbers == orders


@pytest.mark.parametrize("lines, phones", [
    (["I paid through UPI, my mobile is 98450 11234"], ("+919845011234",)),
    (["UPI transaction id 4 0 1 2 7 7 8 9 3 5 6 1"], ()),
    (["HK account, call me on 9123 4567"], ("+85291234567",)),
    (["g'day, home number is 03 9876 5432"], ("+61398765432",)),
    (["07700 900 611", "oops 07700 900 616 sorry"], ("+447700900616",)),
])
def test_regions_transactions_and_corrections(lines, phones):
    assert ids(*lines).phones == phones


def test_a_role_address_the_customer_gives_as_the_answer_is_theirs():
    got = ids(("agent", "What's the account email?"), "billing@ridgeline-studio.com")
    assert got.emails == ("billing@ridgeline-studio.com",)
    assert ids("noreply@ridgeline-studio.com").emails == ()
