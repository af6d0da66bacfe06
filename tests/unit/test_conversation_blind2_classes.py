"""The classes of error the second blind set (tests/data/transcripts/blind2) showed in the
chat/call rules (conversation_extract, phone_numbers, conversation_cues), each in other
wording and numbers than the transcripts. See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from tests.unit.conversation_helpers import ids, turns


@pytest.mark.parametrize("text, order", [
    ("订单编号 KX20250817C3306，麻烦查一下", "KX20250817C3306"),
    ("order number: zr-88123-b", "ZR-88123-B"),
    ("Order # Pq7730415w please", "PQ7730415W"),
])
def test_order_numbers_with_letters_inside_or_after_the_digits_follow_an_order_keyword(
        text, order):
    assert ids(text).order_numbers == (order,)


def test_a_mixed_token_needs_an_order_keyword_and_enough_digits():
    assert ids("tracking 1Z999AA10123456784, model X5-200b").order_numbers == ()
    assert ids("order no. ab-12-c").order_numbers == ()


def test_a_mobile_with_86_and_dashes_before_a_comma_and_more_digits():
    assert ids("86-137-0099-2211，12号以后都可以").phones == ("13700992211",)
    assert ids("138 0011 2233, 7号前后").phones == ("13800112233",)
    assert ids("退款 1,249 元").phones == ()


@pytest.mark.parametrize("text, phones", [
    ("店里那个店员给了个座机 零二八 八五五三 幺二零七 我打了没人接", ()),
    ("你们师傅的电话 13766554433 一直关机", ()),
    ("the technician's number is +44 7700 900555 but he never answers", ()),
    ("师傅说打我手机 13766554433 就行", ("13766554433",)),
    ("店员没接，我的电话是 13766554433", ("13766554433",)),
])
def test_a_number_the_customer_gives_as_the_stores_or_staffs_is_not_theirs(text, phones):
    assert ids(text).phones == phones


def test_e_mail_addresses_of_the_company_are_not_the_customers():
    found = ids(("customer", "你们售后邮箱是 aftersales@bluefin.cn 吗，我的是 Liu.Fang@126.com"),
                ("agent", "是的，也可以写信到 help@bluefin.cn 或 billing@bluefin.cn"))
    assert found.emails == ("liu.fang@126.com",)


def test_an_e_mail_the_agent_reads_back_counts_once_the_customer_confirms_it():
    asked = ("agent", "we'll write to you, is mo.ali@fastmail.com still correct?")
    assert ids(asked, ("customer", "yes, that's right")).emails == ("mo.ali@fastmail.com",)
    assert ids(asked, ("customer", "no, use another one")).emails == ()
    assert ids(("agent", "您的邮箱是 chen_lu@qq.com 对吗"), ("customer", "对")).emails \
        == ("chen_lu@qq.com",)


@pytest.mark.parametrize("pairs", [
    (("C", "电视没信号了"),
     ("A", "如果重启后还是没有信号，我可以帮您提交维修工单。您先把机顶盒重启一下"),
     ("C", "插好了，现在信号满格"), ("A", "好的，那这边就不给您提交维修工单了"), ("C", "好的")),
    (("C", "电视没信号了"), ("A", "要是还不行，我给您安排师傅上门。先重启机顶盒试试"),
     ("C", "重启了，现在可以了")),
    (("C", "my speaker won't pair"),
     ("A", "If a reset doesn't help I'll arrange an engineer visit. Hold the button down."),
     ("C", "that worked, thanks")),
])
def test_a_conditional_ticket_offer_superseded_by_a_fix_in_place_is_no_ticket(pairs):
    assert not cues.decide(turns(*pairs)).needs_ticket


def test_an_unconditional_promise_is_still_a_ticket_after_a_fix():
    d = cues.decide(turns(("C", "电视没信号了"), ("A", "我给您安排师傅上门检测"),
                          ("C", "好的，现在可以了")))
    assert d.needs_ticket


@pytest.mark.parametrize("pairs, needs", [
    ((("C", "我改的收货时间怎么还没生效"), ("A", "已为您延长收货时间7天，现在已生效"),
      ("C", "好的，谢谢")), False),
    ((("C", "我改的收货时间怎么还没生效"), ("A", "已为您延长收货时间7天，现在已生效"),
      ("C", "还是不行，页面没变")), True),
])
def test_an_unresolved_complaint_fixed_in_place_later_needs_no_ticket(pairs, needs):
    assert cues.decide(turns(*pairs)).needs_ticket is needs


@pytest.mark.parametrize("pairs", [
    (("C", "The cash machine kept my card session, no cash came out but I was debited 200"),
     ("A", "Sorry. I've opened an investigation with the ATM team."), ("C", "ok")),
    (("C", "someone made an unauthorised payment of 300 from my card"),
     ("A", "I understand."), ("C", "ok")),
    (("C", "我在自助机取款，机器吞钞了，卡里扣了钱"), ("A", "已为您提交差错调查"), ("C", "好")),
])
def test_money_lost_or_disputed_needs_an_investigation_ticket(pairs):
    assert cues.decide(turns(*pairs)).needs_ticket


@pytest.mark.parametrize("customer, agent, level", [
    ("热水器点不着", "请先别着急，看看燃气灶能不能打着火", "medium"),
    ("退款还没到", "我帮您提交财务加急处理", "medium"),
    ("我想约一下油烟机安装", "好的，燃气灶一起装吗", "low"),
    ("下个月搬家，宽带能移机吗", "", "low"),
    ("烤箱插头冒火花，有股烧焦味", "", "high"),
    ("空调坏了 家里有老人 太热了", "", "high"),
    ("our broadband has been down since yesterday", "", "high"),
    ("no cash came out but my account was debited", "", "high"),
    ("my toaster is dented", "is anyone hurt? please evacuate", "high"),
    ("我马上要出门，你们查好回电吧", "", "medium"),
])
def test_urgency_reads_the_customers_situation_not_the_agents_process_words(
        customer, agent, level):
    assert cues.urgency(customer, agent) == level


@pytest.mark.parametrize("text, item", [
    ("我买的空气炸锅少了个配件", "空气炸锅"),
    ("蓝牙耳机左边没声音", "蓝牙耳机"),
    ("手机 13812345678，信用卡被盗刷了", "信用卡"),
    ("phone +65 8123 0000, my kettle leaks", "kettle"),
    ("the electric heater sparked", "heater"),
    ("our broadband keeps dropping", "broadband"),
])
def test_product_nouns_cover_appliances_services_and_cards(text, item):
    assert cues.product(text) == item
