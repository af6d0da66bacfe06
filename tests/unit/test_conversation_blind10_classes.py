"""The classes of error the tenth blind set (tests/data/transcripts/blind10) showed in the
chat/call rules, each in other wording and numbers than the transcripts.
See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from appliance.rules.spoken_digits import normalise
from tests.unit.conversation_helpers import ids, turns


@pytest.mark.parametrize("conversation, needed", [
    # a crew or an engineer is sent ("派维修", "已派单"), and rings before arriving
    ([("C", "小区门口的路灯整排都不亮"), ("A", "好的 我这边马上派维修 到了先给您打电话"),
      ("C", "好")], True),
    ([("C", "燃气表那里有气味"), ("A", "已派单了 请先开窗不要开火")], True),
    # a request handed to another office, which confirms later, though "that's all"
    ([("C", "can I get an extra bed in the room?"), ("A", "I've forwarded your request to the "
      "hotel, they'll confirm by email"), ("C", "great, that's all thanks")], True),
    # the awaited thing arrives during the chat
    ([("C", "退款三天了还没到"), ("A", "已经原路退回，一般1-3个工作日"), ("C", "刚看了一下，已经到账了"),
      ("C", "谢谢")], False),
    # the customer accepts the new date ("能到就行")
    ([("C", "包裹怎么还没到"), ("A", "显示明天上午派送"), ("C", "哦 那明天能到就行"), ("C", "谢谢")], False),
])
def test_decisions_in_other_words(conversation, needed):
    assert cues.decide(turns(*conversation)).needs_ticket is needed


@pytest.mark.parametrize("spoken, written", [
    ("合同号 K S 杠 二零二四 杠 B J 杠 零零九一", "合同号 KS-2024-BJ-0091"),
    ("预约号 M Z 二零二六 零一零九 杠 零零三二", "预约号 MZ20260109-0032"),
    ("it's L N dash U K dash four four one zero two", "it's LN-UK-44102"),
    ("at 2026-11-18 14:30 then", "at 2026-11-18 14:30 then"),   # a date and time stay apart
    ("邮箱 l i u y at hongda 杠 tech 点 c n", "邮箱 liuy@hongda-tech.cn"),
    ("send it to mark dot ellis at north dash star dot com", "send it to mark.ellis@north-star.com"),
    ("that's j dot lee at acme dot com", "that's j.lee@acme.com"),   # not "sj.lee"
])
def test_spoken_hyphens_and_spelled_addresses(spoken, written):
    assert normalise(spoken) == written


@pytest.mark.parametrize("lines, orders", [
    (["协议号 SVC-2026-00412"], ("SVC-2026-00412",)),
    (["our framework agreement is FA-2023-118"], ("FA-2023-118",)),
    ([("agent", "May I have your mortgage account number?"), "HL-7730021945"], ("HL-7730021945",)),
    ([("agent", "请提供订座编码"), "编码 ZK8P2M"], ("ZK8P2M",)),
    (["订座编号 RT6W9K"], ("RT6W9K",)),
    ([("agent", "已派单，派单号 PD 2026 1130 0042")], ()),
    # cut off, then read back whole and confirmed: the whole one only
    ([("agent", "保单号是多少"), "保单号 A B 1 2 3 4 5 6 7 8 嗯 后面还有 9 0",
      ("agent", "AB 1234 5678 90 对吗"), "对"], ("AB1234567890",)),
])
def test_order_words_and_completions(lines, orders):
    assert ids(*lines).order_numbers == orders


def test_an_id_number_read_in_groups_is_not_a_phone():
    assert ids(("agent", "请说一下证件号"), "四四零三 零五 一九九零 一二一二 二二三 X").phones == ()
    assert ids("身份证 三七零二 零二 一九七六 零三一五 四四一二").phones == ()


def test_just_in_case_is_not_a_case_number():
    assert ids("my cell just in case, +49 170 555 1234").phones == ("+491705551234",)


def test_a_number_the_agent_has_on_file_confirmed():
    got = ids(("agent", "and your NRIC please"), "S1234567A", "what number do you have for me",
              ("agent", "I have nine one two three four five six seven"), "yes that's correct")
    assert got.phones == ("+6591234567",)
