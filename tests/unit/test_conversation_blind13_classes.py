"""The classes of error the thirteenth and fourteenth blind sets (tests/data/transcripts/
blind13, many trades and countries; blind14, one appliance maker's service centre) showed
in the chat/call rules, each in other wording and numbers than the transcripts.
See docs/decisions/0015."""
from __future__ import annotations

import pytest

from appliance.rules import conversation_cues as cues
from appliance.rules.conversation_extract import Turn, extract_identifiers
from appliance.rules.phone_numbers import region_of
from appliance.rules.spoken_digits import normalise
from tests.unit.conversation_helpers import ids, turns


# --- phones: the country --------------------------------------------------------------------

@pytest.mark.parametrize("lines, phones", [
    # Malaysia: ringgit, a trunk-0 mobile
    ([("agent", "the duty is RM 38.20"), "ok my number is 013-772 4190"], ("+60137724190",)),
    # Singlish particles and an 8-digit number: Singapore (Malaysia has no such shape)
    (["cannot lah my handphone is 8123 6607"], ("+6581236607",)),
    # ... and a trunk-0 number with them: Malaysia
    (["aiyo call me at 016 228 4411 can or not"], ("+60162284411",)),
    # Philippines: pesos, an 09xx mobile
    (["i was charged 199 pesos, my number 0928 114 7702"], ("+639281147702",)),
    # Thailand, UAE and Germany named
    (["I'm in Bangkok, 089 551 2346"], ("+66895512346",)),
    (["I live in Sharjah, mobile 052 660 1234"], ("+971526601234",)),
    (["Müller GmbH in Germany, my line is 089 1234 5678"], ("+498912345678",)),
    # Hong Kong's floor notation
    (["Room 1203, 12/F, Kwun Tong. Call 6123 4477"], ("+85261234477",)),
    # two countries: the one named right before the number decides it
    (["HKID A1234567, mobile 9123 4567, but I'm in Singapore now so use my singapore number "
      "8765 4321"], ("+85291234567", "+6587654321")),
    # India's 5+5 layout in an English chat naming no country
    (["registered mobile 98110 23456"], ("+919811023456",)),
])
def test_numbers_of_more_countries(lines, phones):
    assert ids(*lines).phones == phones


def test_the_first_country_named_decides_a_number_that_fits_both():
    assert region_of("HKID please, I'm off to Singapore") == "hk+sg"


# --- phones: who and which ------------------------------------------------------------------

@pytest.mark.parametrize("lines, phones", [
    # the agent writes out the customer's landline with its area code: theirs without a yes
    (["座机 二一 六四八八 三二一零"], None),
    (["家里座机 二一 六四八八 三二一零", ("agent", "零二一 六四八八三二一零 好的 已登记")],
     ("021-64883210",)),
    (["电话是 八二三三 五六七八", ("agent", "座机 零一零 八二三三 五六七八 都记下了")],
     ("010-82335678",)),
    # a pasted SMS naming the technician's number
    (["[截图] 您的预约已确认，李师傅 139 2233 4455，请保持电话畅通"], ()),
    # a company's invoice details are not a contact for the case
    (["开票信息如下\n地址电话：北京市海淀区中关村大街1号 010-62881234\n开户行：工行海淀支行"], ()),
    # the contact person named by the customer is the contact for the case
    (["联系人 王经理 座机 0755-26881234"], ("0755-26881234",)),
    # "是" / "可以" alone answer the agent's question
    ([("agent", "联系电话用 13912340000 可以吗？"), "可以"], ("13912340000",)),
    ([("agent", "回电打 13912340001 是吗？"), "是"], ("13912340001",)),
    # 我报错了 in the same breath
    (["一三八 幺二三四 五六七八 不是 我报错了 一三八 幺二三四 五六八七"], ("13812345687",)),
    # letters spelled before digits: a reference, not a phone
    (["tracking is S P X three three two one eight eight four nine M Y, call 012 334 5566 "
      "ringgit"], ("+60123345566",)),
])
def test_whose_number_it_is(lines, phones):
    if phones is None:   # alone, ten digits starting 2 are no number the rules know
        assert ids(*lines).phones == ()
    else:
        assert ids(*lines).phones == phones


# --- orders --------------------------------------------------------------------------------

@pytest.mark.parametrize("lines, orders", [
    # 单号 after another word is a refund, an after-sales case, a registration
    ([("agent", "已原路退款，退款单号RT20260911000321"), "好的"], ()),
    ([("agent", "已经给您登记了 单号是 K 七七三幺零二"), "好"], ()),
    # a bank branch and its account number
    ([("agent", "请提供订单号和开票信息"), "订单号 DD20260912004411\n开户行：建设银行深圳南山支行 "
      "442012345678901"], ("DD20260912004411",)),
    # restarted in one turn after a pause: the whole one
    ([("agent", "订单号多少"), "订单号是 K九九四零二一 呃 等等 我看清楚 K九九四零三七七一"],
     ("K99403771",)),
    # a read-back the customer confirms after correcting the end replaces both pieces
    ([("agent", "订单号多少"), "订单号 Q W 二零二六 零九幺二 三三 四五 哦不对 最后是 五四 三三五四",
      ("agent", "Q W 二零二六零九幺二 三三五四 对吗"), "对"], ("QW202609123354",)),
    # the agent applies the customer's correction to the last digits
    ([("agent", "保单号多少"), "保单号 P 三幺零零 二二八四 九九六六", ("agent", "P31002284 9966 对吗"),
      "不对 最后四位是 九九六八", ("agent", "好的 P310022849968 查到了")], ("P310022849968",)),
    # 少打了一位: the next one replaces it
    (["订单号 DD2026091100712", ("agent", "好像少了一位"), "少打了一位 DD20260911007125"],
     ("DD20260911007125",)),
    # a record locator after "PNR is uh", letters as in words
    (["PNR is uh R as in robert four T as in tom nine uh W"], ("R4T9W",)),
    # lower-case spelled letters and a year said in pairs
    (["the agreement number is d a dash twenty twenty six dash s g p dash oh two one"],
     ("DA-2026-SGP-021",)),
    (["extended warranty it's e w s g two six oh oh one one two two"], ("EWSG26001122",)),
    # two different orders in one breath stay two, whatever is said between them
    ([("agent", "What's the order number?"), "I have two orders actually, 55-10293/LA and 55-10297/LA"],
     ("55-10293/LA", "55-10297/LA")),
])
def test_order_numbers(lines, orders):
    assert ids(*lines).order_numbers == orders


# --- e-mails -------------------------------------------------------------------------------

@pytest.mark.parametrize("spoken, written", [
    ("w a n g l e i 六六 at 一二六 点 com", "wanglei66@126.com"),
    ("l i u 下划线 m i n 二 二 at 一 六 三 点 com", "liu_min22@163.com"),
    ("it's tom dot reyes forty two at gmail dot com", "it's tom.reyes42@gmail.com"),
    ("so that's j o s h at b l u e p i n e dot c o", "so that's josh@bluepine.co"),
    ("priya dot nair eighty eight at the rate gmail dot com", "priya.nair88@gmail.com"),
    ("raj at tanco dot com dot my", "raj@tanco.com.my"),
])
def test_addresses_said_aloud(spoken, written):
    assert normalise(spoken) == written


def test_the_agents_own_address_is_not_the_customers():
    got = ids(("agent", "please send the photos to my email li.na@acme-service.com"),
              "yes I'll send them, mine is tom at tanco dot com")
    assert got.emails == ("tom@tanco.com",)


# --- decisions -----------------------------------------------------------------------------

@pytest.mark.parametrize("conversation, needed", [
    # found it before the last two turns, after "can't find"
    ([("C", "退订按钮找不到"), ("A", "在 我的-设置-自动续费 里"), ("C", "找到了 已经关了"),
      ("A", "好的 已解约 这期要退款吗 我可以帮您申请"), ("C", "不用了"), ("C", "谢谢")], False),
    # the customer fetches the parcel themselves
    ([("C", "快递一直不送"), ("A", "驿站在东门 取件码 3321"), ("C", "行 我明天自己去拿")], False),
    # 打不着火 is no fire; 以为坏了 is no fault
    ([("C", "灶台打不着火"), ("A", "把火盖擦干净试试"), ("C", "着了 还以为坏了 谢谢")], False),
    # found in the statement, working again
    ([("C", "still no refund"), ("A", "check pending items"), ("C", "oh there it is. thanks")],
     False),
    ([("C", "no data after the promo"), ("A", "re-processed it"), ("C", "yes working na, thanks")],
     False),
    # the courier's delivery and a call before a visit already booked are not new work
    ([("C", "parcel stuck at customs"), ("A", "duty is paid now, it will be delivered to you "
      "tomorrow"), ("C", "ok thanks")], False),
    ([("C", "can we move the installation"), ("A", "done, moved to the 20th; the technician "
      "will call you the day before"), ("C", "great thanks")], False),
    # ... but a repair booked with a dealer is
    ([("C", "is my car in the recall"), ("A", "yes; I can book the repair, shall I?"),
      ("C", "yes please"), ("A", "Booked. The dealer will call you the day before."),
      ("C", "thanks")], True),
])
def test_decisions_in_other_words(conversation, needed):
    assert cues.decide(turns(*conversation)).needs_ticket is needed


def test_a_site_order_pattern_reads_its_shape_anywhere():
    said = [Turn("customer", "我的延保是 HX-77-204415 帮我查下")]
    assert extract_identifiers(said).order_numbers == ()
    got = extract_identifiers(said, (r"(?<![A-Z0-9])HX-[0-9]{2}-[0-9]{6}(?![0-9])",))
    assert got.order_numbers == ("HX-77-204415",)


def test_long_runs_of_spelled_letters_and_dashes_are_handled_quickly():
    # an unbounded run of lower-case letters tried from every start was quadratic (2.3 s)
    import time
    started = time.perf_counter()
    normalise("x dash " * 4000)
    normalise("e w " * 3000 + "two")
    assert time.perf_counter() - started < 0.5


def test_a_site_pattern_reads_a_reference_spelled_and_grouped_by_an_asr():
    said = [Turn("agent", "好的 已经为您预约 安装单号 H X 二六零四幺一 零零三七 师傅会联系您"),
            Turn("customer", "好的")]
    site = (r"(?<![A-Z0-9])HX[0-9]{10}(?![0-9])",)
    assert extract_identifiers(said).order_numbers == ()
    assert extract_identifiers(said, site).order_numbers == ("HX2604110037",)
