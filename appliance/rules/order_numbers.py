"""Order numbers in transcript text (pure): built-in and configured patterns, an order
keyword before the number, a bare number answering an agent who asked for it, more of the
same shape in a list or a later message; tracking, serial and ticket numbers are not
orders. Normal form: upper case without spaces. See docs/decisions/0015."""
from __future__ import annotations

import re

from appliance.rules.phone_numbers import classify_phone


# (name, regex) matched against normalised text. The built-in shapes: "DD2026112600123"
# (also spoken "D D 2026 1120 7788"), "SO-2026-88123", "ORD-55012877", "A12-345678".
ORDER_PATTERNS: tuple[tuple[str, str], ...] = (
    ("prefixed", r"(?<![A-Za-z0-9])(?:[Dd] ?[Dd]|SO|PO|ORD|Ord|ord)[-_ ]?\d+(?:[- ]\d+)*"
                 r"(?![A-Za-z0-9])"),
    ("letter-dash", r"(?<![A-Za-z0-9-])[A-Z]{1,3}\d{1,4}-\d{5,10}(?![A-Za-z0-9-])"),
)
# Orders, bookings, policies, contracts, subscriptions: what the customer bought or holds.
# "单号" after 快递/运单/抢修/工/受理… is a parcel or a ticket, not an order.
_ORDER_WORD = (r"(?:订单编号|订单号码|订单号|订单|订阅\s?编号|订阅号|订阅(?=\s?[A-Za-z]{2,}-?\d)|(?<![\u4e00-\u9fff])(?<![\u4e00-\u9fff] )单号|(?<=[的个这那是])单号|保单号|保单|合同编号|合同号"
               r"|订舱号|订舱编号|延保合同号|延保号|延保单号|协议编号|协议号|合约编号|合约号|预订号|预定号|预约单号|预约号|预约码|预约编码|订座记录|订座编号|订座编码|订座号|预订编码|预定编码|确认号"
               r"|\b(?:order|booking|reservation|confirmation|policy|contract|subscription|tenancy"
               r"|itinerary|agreement|appointment(?=\s*(?:number|num|no\b|id\b|#|ref))|(?:mortgage|loan|lease|finance) account|sub(?=\s*id\b)"
               r"|(?:extended )?warranty(?= (?:contract|number|no\b|it'?s|is)))"
               r"\s*(?:number|num|no\.?|id|#|ref(?:erence)?|code)?)")
_ORDER_VALUE = r"(?:(?:[A-Za-z]{1,4}|(?-i:[A-Z])(?: (?-i:[A-Z])){1,3})[-_ ]?)?\d+(?:[- ]\d+(?![年月日号点时分]))*(?![A-Za-z0-9])"
# After an order keyword, one token of letters and digits, maybe hyphenated, in any case:
# "MD20261003B0441", "ec-55012-a", "SO-2026-88123".
_MIXED_VALUE = (r"(?=[A-Za-z0-9/-]*[A-Za-z])(?=[A-Za-z0-9/-]*\d)[A-Za-z0-9]+(?:[-/][A-Za-z0-9]+)*"
                r"(?![A-Za-z0-9/-])")
# A booking reference or record locator: 5-8 letters and digits, both ("HX7K2P", "XK72B9"),
# after a booking word.
_BOOKING_REF = re.compile(
    r"(?:订座记录|订座编号|订座编码|预订编码|预定编码|预订号|预定号|预约号|\b(?:booking|reservation|confirmation)\s*(?:ref(?:erence)?|code|number|no\.?)?"
    r"|\bPNR)\s*(?:is|:|#|是|为)?\s*(?:(?:uh|um|嗯|呃)\s+)?(?P<value>(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{5,8})"
    r"(?![A-Za-z0-9])", re.IGNORECASE)
# "ref HS-20417" from the customer is their booking; a fault/claim/case reference is not.
_CUSTOMER_REF = re.compile(r"(?<!fault )(?<!claim )(?<!case )(?<!ticket )(?<!incident )"
                           r"(?<!complaint )(?<!tracking )\bref(?:erence)?\b\s*(?:is|:|#|no\.?)?\s*"
                           r"(?P<value>" + _MIXED_VALUE + ")", re.IGNORECASE)
ORDER_DIGITS = (6, 24)   # fewer: a quantity or a code; more: several numbers run together
MIXED_MIN = (4, 7)       # a token with letters: at least 4 digits, 7 letters and digits
PREFIXED_MIN = (5, 7)    # two or more letters before the digits: 5 digits, 7 in all
KEYWORD_ORDER = re.compile(
    _ORDER_WORD + r"(?:[\u4e00-\u9fff ]{0,8}?(?=是|为))?\s*(?:is|it'?s|:|#|是|为|：)?\s*(?:(?:嗯|呃|那个|uh|um|ah|eh|er)\s*)?(?:(?:我)?(?:看|找|查)一下\s*)?(?:#\s*)?(?P<value>"
    + _MIXED_VALUE + "|" + _ORDER_VALUE + ")", re.IGNORECASE)
# ... and the same keyword with digit groups after letters ("预约单号BY2026 0607 115"):
# the longer reading wins (_take_orders)
_KEYWORD_SPACED = re.compile(
    _ORDER_WORD + r"\s*(?:is|:|#|是|为|：)?\s*(?:(?:嗯|呃|那个|uh|um)\s+)?(?P<value>" + _ORDER_VALUE + ")",
    re.IGNORECASE)
ASKS_OTHER = re.compile(r"序列号|机身号|型号|运单号|快递单号|物流单号|批次号|批号|柜号|箱号|\bcontainer (?:number|no)|\b(?:batch|lot) (?:number|no)|\bRx\b|prescription number|处方号|\bserial|\bmodel (?:number|no)"
                         r"|(?<![A-Za-z])S/?N\b|tracking|waybill|(?<![A-Za-z])IMEI", re.IGNORECASE)
ASKS_ORDER = re.compile(r"订单号|订单编号|订舱号|预约单号|预约码|保单号|合同的?编号|协议的编号|合同号|协议号|协议编号|合约编号|预订号|预约号|订座记录|订座编[号码]"
                        r"|order\s*(?:number|num|no|id|#)"
                        r"|(?:booking|reservation|confirmation|policy|contract|subscription|tenancy"
                        r"|itinerary|agreement|appointment|(?:mortgage|loan|lease|finance) account)"
                        r"\s*(?:number|num|no|id|#|ref|reference|code)", re.IGNORECASE)
# A reply that is only the number, after a few words of assent ("yeah it's 2026 1119 00789",
# "嗯 好的 是 DD2026…", "sure, ORD 5501 2877, thanks").
_REPLY_VALUE = re.compile(
    r"^\W*(?:(?:yeah|yes|yep|sure|ok(?:ay)?|um|uh|so|right|嗯|好的?|对|哦|啊)\W*){0,3}"
    r"(?:it'?s|it is|that'?s|here it is|是|就是)?\W*(?:(?:uh|um|嗯|呃)\W*)?(?P<value>" + _ORDER_VALUE + r")"
    r"(?:\W*(?:thanks|thank you|谢谢)?\W*$|\s*(?:和|及|与|跟|、|,|/|&|and\b))", re.IGNORECASE)
# ... or a record locator of letters and digits ("it's XK72B9", "HX7K2P").
_REPLY_REF = re.compile(
    r"^\W*(?:(?:yeah|yes|yep|sure|ok(?:ay)?|um|uh|so|right|嗯|好的?|对|哦|啊)\W*){0,3}"
    r"(?:it'?s|it is|that'?s|here it is|是|就是)?\W*(?:(?:编码|编号|代码|号码|code|ref)\W*)?"
    r"(?P<value>(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{5,8})"
    r"\W*(?:thanks|thank you|谢谢)?\W*$", re.IGNORECASE)
# In an answer to "order number?", any identifier-looking token with five or more digits
# ("I have two orders, 37-51902/NYC and 37-51988/NYC"), digit groups spoken in parts
# ("是 3852 0071 6649 23"); not a phone, a date, a time or an amount.
ANSWER_MAX_CHARS = 200
_ANSWER_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_$¥€£.#/:+-])#?(?P<value>(?:[A-Za-z]{1,4}[-_]?|[A-Z](?: [A-Z]){1,3} )?\d+(?:[- ]\d+)*(?:[-/][A-Za-z0-9]+)*"
    r"|[A-Za-z0-9]+(?:[-/][A-Za-z0-9]+)+"
    r"|(?=[A-Za-z0-9]*\d{4})(?=[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{8,20})"   # ZC20260306C059
    r"(?![\w/:-]|\.\w|\.\.|…)")   # "13800...": cut off
_LOCATOR = re.compile(r"(?<![A-Za-z0-9_-])(?P<value>(?=[A-Za-z]*\d)(?=\d*[A-Za-z]\d*[A-Za-z])"
                      r"[A-Za-z0-9]{5,8})(?![A-Za-z0-9_-])")
ASKS_BOOKING = re.compile(r"booking|reservation|confirmation (?:code|number)|\bPNR\b|订座|预订",
                          re.IGNORECASE)


_FLIGHT_BEFORE = re.compile(r"(?:\bflight|航班)\s*(?:no\.?|number|号)?\s*$", re.IGNORECASE)
_FLIGHT_AFTER = re.compile(r"\s*(?:航班|次航班|\bflight\b)", re.IGNORECASE)


def read_back_orders(text: str) -> list[str]:
    """Order-shaped values in an agent's read-back ("S O 228471", "QU6L9R Ms Tan", "订单号
    38520071664923 对吗"): a record locator or an order-sized value, not a phone or a date."""
    out = [m.group("value") for m in _LOCATOR.finditer(text)
           if not _FLIGHT_BEFORE.search(text[max(0, m.start() - 12):m.start()])
           and not _FLIGHT_AFTER.match(text, m.end())]
    out += [m.group(0) for m in re.finditer(r"(?<![A-Za-z0-9+-])" + _ORDER_VALUE, text)
            if _order_sized(m.group(0)) and not classify_phone(re.sub(r"\D", "", m.group(0)), False)
            and not _DATE.fullmatch(m.group(0))
            and not _NOT_ORDER_BEFORE.search(text[max(0, m.start() - 24):m.start()])]
    return [normalise_order(v) for v in out]


_DATE = re.compile(r"(?:19|20)\d{2}[-/ ]\d{1,2}(?:[-/ ]\d{1,2})?|\d{1,2}/\d{1,2}/\d{2,4}")
_OTHER_NUMBER_BEFORE = re.compile(r"(?:快递|运单|物流|报案|tracking|waybill|parcel|account|acct"
                                  r"|card|卡号|账号|身份证|开户行|支行|分行|folio|invoice|receipt|rewards"
                                  r"|loyalty|member(?:ship)?|会员|发票|角色|玩家|柜号|箱号|container"
                                  r"|交易号|交易单号|交易记录|流水号|transaction|txn|税号|纳税人识别号|信用代码"
                                  r"|\btax (?:id|no|number)|\bVAT (?:id|no|number))"
                                  r"[^,.;，。；]{0,10}$",
                                  re.IGNORECASE)


def _answer_token(value: str, before: str) -> bool:
    digits = re.sub(r"\D", "", value)
    return (len(digits) >= KEYWORD_DIGITS and not classify_phone(digits, False)
            and not _DATE.fullmatch(value) and not _OTHER_NUMBER_BEFORE.search(before)
            and not re.search(r"\+\s?\d{1,3}[\s-]*$", before))   # "+44 20 7946 0958"


# More numbers of the same shape in a message that gave one ("订单号是 A 和 B", "order #A,
# then I placed #B instead", a reply "A 和 B"): a list after one keyword.
_SIBLING = re.compile(r"(?<![A-Za-z0-9.$¥€£-])#?\s?(?P<value>[A-Za-z]{0,4}[-_]?\d[\d-]{4,}\d)"
                      r"(?![A-Za-z0-9.])")
SIBLING_SLACK = 2   # digits more or fewer than the order it accompanies
REPLY_MAX_CHARS = 80   # such a reply is short; longer text is not tried (the regex backtracks)


def compile_order_patterns(extra: tuple[str, ...] = ()) -> tuple[re.Pattern, ...]:
    """The built-in patterns plus the organisation's (`intake_order_patterns`; matched
    case-insensitively, settings lower-case them). ValueError names a bad one."""
    out = [re.compile(p) for _, p in ORDER_PATTERNS]
    for p in extra:
        try:
            out.append(re.compile(p, re.IGNORECASE))
        except re.error as exc:
            raise ValueError(f"order pattern {p!r}: {exc}") from None
    return tuple(out)


def normalise_order(value: str) -> str:
    return re.sub(r"[\s_]", "", value).upper()


def order_key(value: str) -> str:
    """What two spellings of one order number share (for comparing and de-duplicating)."""
    return re.sub(r"[^0-9A-Z]", "", value.upper())


def _trim_phone_tail(value: str) -> str:
    """ASR text has no punctuation: "DD 2026 1118 004417 138 2233 4455" is an order and
    a phone. Cut trailing space-separated groups that form a mobile number."""
    groups = value.split(" ")
    for i in range(1, len(groups)):
        if re.fullmatch(r"1[3-9]\d{9}", "".join(groups[i:])):
            return " ".join(groups[:i])
    return value


KEYWORD_DIGITS = 5   # after an order word ("order #55190") a shorter number is an order too


def _order_sized(value: str, keyword: bool = False) -> bool:
    digits = sum(c.isdigit() for c in value)
    if keyword and re.fullmatch(r"[A-Za-z]{2,5}-(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{5,10}", value) \
            and digits >= 2:
        return True   # "sub id is SUB-7Q2K9X": a prefix, then a code of letters and digits
    if keyword and re.fullmatch(r"\d+", value) and KEYWORD_DIGITS <= digits <= ORDER_DIGITS[1]:
        return True
    if keyword and re.fullmatch(r"[A-Za-z]-?\d{4,}", re.sub(r"\s", "", value)):
        return True   # "the receipt say order T3390": one letter and the digits
    if keyword and digits >= 2 and re.fullmatch(r"(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{8,20}", value):
        return True   # "order ID is MKT5R7Q2ZV": a long code of letters and a few digits
    if re.fullmatch(r"[A-Za-z0-9]+(?:[-/][A-Za-z0-9]+)*", value) \
            and re.search(r"\d[-/]?[A-Za-z]", value):
        # letters after digits ("…A0917", "…-A"): a mixed token from an order keyword
        return digits >= MIXED_MIN[0] and len(re.sub(r"\W", "", value)) >= MIXED_MIN[1]
    if re.match(r"[A-Za-z](?: ?[A-Za-z])+", value):   # "SUB-…", spelled "R A 99241" in ASR
        # a letter prefix ("SUB-88213", "TB20261028-3345"): the letters make it an identifier
        return digits >= PREFIXED_MIN[0] and len(re.sub(r"\W", "", value)) >= PREFIXED_MIN[1]
    return ORDER_DIGITS[0] <= digits <= ORDER_DIGITS[1]


_RESTARTED = re.compile(r"(?:\bno\b\W*\bwait\b|\bwait\b|\bsorry\b|\bi mean\b|不对|说错了|重新说)\W*"
                        r"(?P<value>" + _MIXED_VALUE + "|" + _ORDER_VALUE + ")", re.IGNORECASE)


# A reference as an ASR writes it, letters spelled and digits in groups ("A Z 260313 0088"):
# the site's patterns (not the built-in ones, which read spaced forms themselves) are tried
# on it without the spaces.
_SPACED_REF = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z] ){1,4}\d+(?: \d+){0,4}(?![A-Za-z0-9])")


def orders_in(text: str, patterns: tuple[re.Pattern, ...], asked: bool,
              asked_other: bool = False, customer: bool = True) -> tuple[list, str]:
    """Order numbers in one normalised message, and the text with them masked. A reply to
    a question for a serial or tracking number (`asked_other`) gives one only by keyword."""
    spans = []
    for i, rx in enumerate(() if asked_other else patterns):
        site = i >= len(ORDER_PATTERNS)   # the organisation's own shapes: no word before vetoes them
        spans += [(m.start(), m.end(), m.group(0), *(["site"] if site else []))
                  for m in rx.finditer(text)]
        spans += [(m.start(), m.end(), m.group(0), "site") for m in _SPACED_REF.finditer(text)
                  if site and rx.fullmatch(m.group(0).replace(" ", ""))]
    keyed = [KEYWORD_ORDER, _KEYWORD_SPACED, _CUSTOMER_REF] if customer \
        else [KEYWORD_ORDER, _KEYWORD_SPACED]
    spans += [(m.start("value"), m.end("value"), m.group("value"), "keyword")
              for rx in keyed for m in rx.finditer(text)
              if (customer or not (m.group(0).startswith("单号")
                                   and _FILED_BEFORE.search(text[max(0, m.start() - 14):m.start()])))
              and not (rx is _CUSTOMER_REF and _REPORT_BEFORE.search(text[max(0, m.start() - 40):m.start()]))]
    spans += [(m.start("value"), m.end("value"), m.group("value"), "booking")
              for m in _BOOKING_REF.finditer(text)]
    if any(s[3:] == ("keyword",) for s in spans):   # "order ID is OD432 no wait OD4321187650"
        spans += [(m.start("value"), m.end("value"), m.group("value"), "keyword")
                  for m in _RESTARTED.finditer(text)]
    if asked and len(text) <= REPLY_MAX_CHARS:
        m = _REPLY_VALUE.match(text)
        value = m.group("value") if m else ""
        if value and not classify_phone(re.sub(r"\D", "", value), False):
            spans.append((m.start("value"), m.end("value"), value))
        m = _REPLY_REF.match(text)
        if m:
            spans.append((m.start("value"), m.end("value"), m.group("value"), "booking"))
    if asked and not spans and len(text) <= ANSWER_MAX_CHARS:   # nothing else in the answer
        other = ASKS_OTHER.search(text) or _TXN_CONTEXT.search(text)   # "运单号我报给你 SF… 然后 8842"
        spans += [(m.start("value"), m.end("value"), m.group("value"), "keyword")
                  for m in _ANSWER_TOKEN.finditer(text)
                  if _answer_token(m.group("value"), text[max(0, m.start() - 16):m.start()])
                  and not (other and other.start() < m.start())
                  and not _REPORT_BEFORE.search(text[max(0, m.start() - 40):m.start()])]
        if not spans and asked == "booking":
            spans += [(m.start("value"), m.end("value"), m.group("value"), "booking")
                      for m in _LOCATOR.finditer(text)]
    found, masked = _take_orders(text, spans)
    siblings = [(m.start("value"), m.end("value"), m.group("value"))
                for m in _SIBLING.finditer(masked) if _same_shape(m.group("value"), found)]
    more, masked = _take_orders(masked, siblings)
    return found + more, masked


# "the airline gave me a property irregularity report, the reference is …": a report's.
_REPORT_BEFORE = re.compile(r"(?:report|\bPIR|claim|case|ticket|complaint|incident|tracking|transfer|payment)"
                            r"\W+(?:\w+\W+){0,3}$",
                            re.IGNORECASE)
# The agent's "申请已提交，单号 DB-…": the number of what they just filed, not an order.
_FILED_BEFORE = re.compile(r"(?:提交|登记|申请|受理|创建|生成|报修|工单|邮寄|寄出|发货|快递|EMS|顺丰)[^。！？.!?]{0,12}$")
_TRACKING_BEFORE = re.compile(r"(?:快递|运单|物流|取件|tracking|waybill|parcel|consignment)"
                              r"[^,.!?，。！？]{0,12}$", re.IGNORECASE)


_TXN_CONTEXT = re.compile(r"交易记录|交易流水|交易号|交易单号|流水号|\btransaction (?:ids?|refs?|records?|numbers?)\b",
                          re.IGNORECASE)


def later_orders(text: str, earlier: list[str]) -> tuple[list, str]:
    """A customer's later message with another order of a shape already given ("还有一单
    ps2026…" after "PS2026…"): the same letters, or for digits only the same length."""
    if not earlier or _TXN_CONTEXT.search(text):
        return [], text   # "交易记录里 一个是 T2026… 一个是 T2026…": payments, not orders
    spans = []
    for m in _SIBLING.finditer(text):
        value, (letters, digits) = m.group("value"), _shape(m.group("value"))
        if _TRACKING_BEFORE.search(text[:m.start()]) or not _same_shape(value, earlier):
            continue
        if letters or any(_shape(o) == (letters, digits) and digits >= 10 for o in earlier):
            spans.append((m.start("value"), m.end("value"), value))
    return _take_orders(text, spans)


def _shape(value: str) -> tuple[str, int]:
    return re.match(r"[A-Z]*", order_key(value)).group(0), sum(c.isdigit() for c in value)


def _same_shape(value: str, orders: list[str]) -> bool:
    """Same letters before the digits and about as many digits as an order already found,
    and not a phone number."""
    letters, digits = _shape(value)
    if classify_phone(re.sub(r"\D", "", value), False):
        return False
    return any(letters == o[0] and abs(digits - o[1]) <= SIBLING_SLACK
               for o in map(_shape, orders))


# A serial, model or device number is not an order ("SN KM4521-88310", "机身序列号 …").
_NOT_ORDER_BEFORE = re.compile(r"(?:\bS/?N|serial(?: (?:number|no\.?))?|model(?: (?:number|no\.?))?|批次号|批号"
                               r"|(?<=[\u4e00-\u9fff])(?<![订约保下的两一这那个每])单(?:号|编号|据)?"   # 定损单: a document
                               r"|车牌(?:号码?)?(?:是|为)?[\u4e00-\u9fff]?|\bplate(?: number| no\.?)?|报案(?:号|编号)|\bclaim (?:no\.?|number|ref(?:erence)?)|发票(?:号码?)?|客户编号|客户号|报价单?号?|\binvoice(?: (?:no\.?|number|#))?"
                               r"|\bquot(?:e|ation)(?: (?:no\.?|number|#))?|\bcustomer (?:no\.?|number|id|#)"
                               r"|\b(?:batch|lot)(?: (?:number|no\.?))?"
                               r"|\bIMEI|序列号|机身号|机身编码|型号|设备号|卡号|工单号|受理号|催办单号"
                               r"|\b(?:service|work|repair|job) order(?: (?:number|no\.?))?)"
                               r"\W{0,3}(?:is|是|为)?\W{0,3}$", re.IGNORECASE)


# A ticket, fault or case number the agent gives ("故障单 单号是 GZ…", "抢修单号 QX…").
_TICKET_BEFORE = re.compile(r"(?:故障|维修|报修|抢修|抢险|受理|服务|投诉|工|换新|换货|退货|派)单|受理编号|工单"
                            r"|\b(?:ticket|case|fault|claim|incident|complaint)\s*(?:ref|reference"
                            r"|number|no\.?|#)", re.IGNORECASE)


_S10 = re.compile(r"[A-Z]{2}\d{9}[A-Z]{2}", re.IGNORECASE)


def _take_orders(text: str, spans: list) -> tuple[list, str]:
    """Spans are (start, end, value[, how]); how: "keyword" (after an order word: shorter
    numbers count), "booking" (a record locator, sized by its own pattern), "site" (the
    organisation's own pattern: no word before it vetoes it) or matched."""
    found, masked = [], text
    for start, end, value, *how in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
        value = _trim_phone_tail(value.strip())
        if masked[start] == " ":
            continue
        if how != ["site"] and _S10.fullmatch(re.sub(r"\s", "", value)):
            continue   # "EA708251396CN": an international postal item, tracked, not ordered
        if how != ["site"] and (_NOT_ORDER_BEFORE.search(text[max(0, start - 24):start])
                                or _TICKET_BEFORE.search(text[max(0, start - 12):start])):
            continue
        if how not in (["booking"], ["site"]) and not _order_sized(value, how == ["keyword"]):
            continue
        if how == ["keyword"] and classify_phone(re.sub(r"\D", "", value), False) \
                and not re.match(r"[A-Za-z]", value):
            continue   # "the phone number on the order is 139 1602 7745"
        found.append(normalise_order(value))
        end = start + len(value)
        masked = masked[:start] + " " * (end - start) + masked[end:]
    return found, masked
