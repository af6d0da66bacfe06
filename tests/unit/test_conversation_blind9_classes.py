"""The classes of error the ninth blind set (tests/data/transcripts/blind9) showed in the
chat/call rules, each in other wording and numbers than the transcripts.
See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from tests.unit.conversation_helpers import ids, turns


@pytest.mark.parametrize("conversation, needed", [
    # settled late in the customer's own words after "找不到" / "never got"
    ([("C", "后台找不到导出按钮"), ("A", "请退出后重新登录试试"), ("C", "好了，现在能登了"),
      ("C", "谢谢")], False),
    ([("C", "i never got the code"), ("A", "New code sent: 771204"), ("C", "got it now, thanks")],
     False),
    # the agent cancels a visit it had offered ("上门这个我就先帮您取消了")
    ([("C", "空调不制冷"), ("A", "我先给您登记上门"), ("C", "哦 滤网堵了 我洗了一下 现在凉了"),
      ("A", "好的 那上门这个我就先帮您取消了"), ("C", "好的谢谢")], False),
    # promises in words the set used: a fault raised with the network, a tech sent
    ([("C", "no internet since morning"), ("A", "I've raised it with the carrier as a priority "
      "fault, a tech should be out within twenty four hours"), ("C", "ok thanks")], True),
    ([("C", "dishwasher won't drain"), ("A", "It's under warranty so I'd like to send a "
      "technician, earliest is Monday"), ("C", "Monday's fine, thanks")], True),
    # resigned to a workaround: the need stays open
    ([("C", "APP里绑不了信用卡"), ("A", "暂时不支持这家银行，没有确切时间"),
      ("C", "那好吧，我先自己去柜台交，谢谢")], True),
])
def test_decisions_in_other_words(conversation, needed):
    assert cues.decide(turns(*conversation)).needs_ticket is needed


def test_a_number_read_back_as_the_one_to_reach_the_customer():
    got = ids(("agent", "and is the best number to reach you still 312 555 0177"), "yes, my cell")
    assert got.phones == ("+13125550177",)


def test_taiwan_mobiles_have_no_mainland_reading():
    assert ids("新的收件手机是 0933-221-456").phones == ("+886933221456",)
    assert ids("电话 0931-8812345").phones == ("0931-8812345",)   # Lanzhou, not Taiwan


def test_letters_before_an_account_number_keep_it_an_account():
    assert ids("宽带账号是 嗯 gd 0755 1234 567").phones == ()


def test_a_password_typed_wrong_is_not_a_correction():
    got = ids("我的账号是 ming@corp.example", "她的邮箱 li@corp.example 输错密码太多次了")
    assert "ming@corp.example" in got.emails


def test_an_address_given_for_someone_else_asked_about():
    got = ids("admin here: chen@corp.example", ("agent", "请问被锁的员工账号是？"), "zhou@corp.example")
    assert got.emails == ("chen@corp.example",)


@pytest.mark.parametrize("lines, orders", [
    (["订单号 DD2026120300871", ("agent", "圆通单号YT7788123456789已签收")], ("DD2026120300871",)),
    ([("agent", "催办已提交，催办单号CB11200388")], ()),
    ([("agent", "May I have the order number?"), "QX7710452. the annual one"], ("QX7710452",)),
    ([("agent", "ok your service order is SO 55213, you'll get a text")], ()),
    (["合同号是 呃 我找一下 HT 二零二四 零三 幺二 零零四一"], ("HT202403120041",)),
])
def test_order_words_and_what_is_not_an_order(lines, orders):
    assert ids(*lines).order_numbers == orders
