"""What a chat or call is about: urgency, product, subject and description (pure; no I/O).
See docs/decisions/0015.

Urgency and product come from small lexicons of the customer's words (urgency: danger,
vulnerable people, outages, money taken; the agent only for safety or incident words);
the subject (when no model writes one) is the first substantive thing the customer said,
and the description is everything the customer said without greetings, thanks and ASR
fillers.
"""
from __future__ import annotations

import re

from appliance.rules.conversation_extract import Turn

# Urgency is read from the customer's words: the agent's "加急处理" or "燃气灶" (a product
# named while troubleshooting) says nothing about the customer's situation. High: the
# customer says it is urgent, or the situation is: danger (gas, fire, sparks, electricity,
# flooding), vulnerable people at home, an outage for many or for days, money taken.
HIGH = (r"紧急|很急|急啊|急死|^急|(?<![不别])着急|赶紧|立即|马上(?:派|来|处理|解决|安排|过来)"
        r"|煤气味|燃气味|漏气|(?:煤气|燃气|天然气)泄[漏露]|漏水|冒烟|(?<!打)着火|起火|触电|漏电|火花|烧焦"
        r"|焦糊?味|老人|孕妇|婴儿|新生儿|断网|整层楼|所有人|被盗|盗刷|追回"
        r"|\b(?:urgent|emergency|asap|immediately|gas leak|smell of gas|smoke|fire|sparks?"
        r"|sparking|sparked|burning smell|electric shock|flood(?:ed|ing)?|newborn|elderly"
        r"|pregnant|no heating|hacked|outage|none of our|all (?:our )?users"
        r"|whole (?:office|floor|building|team)|unauthori[sz]ed|fraud(?:ulent)?|was debited"
        r"|no cash came out)\b"
        r"|\b(?:internet|broadband|network|service|system|line|wifi)(?:'s| is| has)?(?: been)?"
        r" down\b")
# The agent's words count only where they name danger or an incident.
AGENT_HIGH = (r"安全隐患|开窗通风|离开(?:现场|房间)|不要(?:开关电器|使用明火)"
              r"|\b(?:priority incident|safety (?:report|team|issue)|are you safe|anyone hurt"
              r"|evacuate)\b")
# Low: the customer asks a question or plans ahead, with no date pressing.
LOW = (r"不急|不着急|有空|方便的时候|咨询一下|问一下|想约|约一下|下个月|下周|(?:以后|哪天|周末)都行"
       r"|\b(?:no rush|no hurry|whenever|not urgent|just wondering|next (?:week|month))\b")

# Household appliances, electronics, services and payment cards. The earliest one the
# customer names wins; a longer name starting at the same place ("蓝牙耳机") beats its tail.
PRODUCTS = (
    "扫地机器人", "净水器", "热水器", "洗衣机", "洗碗机", "冰箱", "空调", "电视", "路由器", "光猫",
    "打印机", "笔记本", "电脑", "手机", "平板", "蓝牙耳机", "耳机", "音箱", "微波炉", "油烟机",
    "燃气灶", "电饭煲", "吸尘器", "摄像头", "门锁", "宽带", "鞋子", "杯子", "沙发", "空气炸锅",
    "烤箱", "电磁炉", "电水壶", "热水壶", "咖啡机", "豆浆机", "破壁机", "榨汁机", "加湿器",
    "空气净化器", "净化器", "电暖器", "取暖器", "电风扇", "风扇", "吹风机", "电动牙刷", "剃须刀",
    "投影仪", "显示器", "键盘", "鼠标", "手表", "充电宝", "充电器", "烘干机", "信用卡", "银行卡",
    "储蓄卡",
    "washing machine", "dishwasher", "fridge", "refrigerator", "air conditioner", "boiler",
    "headphones", "earbuds", "laptop", "printer", "router", "modem", "television", "tv",
    "phone", "tablet", "camera", "sofa", "jacket", "shoes", "vpn", "app", "microwave",
    "oven", "air fryer", "coffee machine", "kettle", "toaster", "blender", "heater",
    "vacuum", "tumble dryer", "dryer", "monitor", "keyboard", "smartwatch", "watch", "charger",
    "charging case", "projector", "speaker", "credit card", "debit card", "broadband",
    "internet",
)

# "手机号", "phone number": a contact, not the product the conversation is about.
_NOT_PRODUCT = re.compile(r"手机号|手机号码|手机\W{0,2}(?=\+?\d)|phone (?:number|no)|on my phone"
                          r"|my phone is|phone\W{0,3}(?:is\W{0,2})?(?=\+?\d)")

_GREETING = re.compile(
    r"^(?:(?:你好|您好|喂|在吗|在不在|hi|hello|hey|good (?:morning|afternoon|evening)|yeah|yes"
    r"|哈喽|嗨|请问|那个|嗯|啊|呃|哦|uh|um|so|ok|okay)[\s,，。.!！?？~]*)+", re.IGNORECASE)
_FILLER = re.compile(r"(?:(?<=\s)|^)(?:嗯|啊|呃|额|哦|那个|就是说|uh|um|erm|you know)(?=\s|$|[，,])",
                     re.IGNORECASE)
_SMALL_TALK = re.compile(
    r"^(?:好的?|好吧|行|嗯|哦|谢谢|谢谢啊|多谢|不客气|再见|拜拜|没有了|没有|转人工|人工|在吗|你好|您好"
    r"|ok(?:ay)?|thanks?|thank you|thx|bye|great|perfect|cool|got it|no|yes|yep|hi|hello)"
    r"[\s,，。.!！~]*(?:(?:谢谢|thanks?|bye|了|啊|呀|哈)[\s,，。.!！~]*)*$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])")
# ASR stutters: "就 就不行", "好了 好了", "I I think"
_REPEAT_ZH = re.compile(r"([\u4e00-\u9fff]{1,2}) (?=\1)")
_REPEAT_EN = re.compile(r"(?<![\w'])([A-Za-z']{1,12}) (?=\1(?![\w']))", re.IGNORECASE)


def urgency(customer_text: str, agent_text: str = "") -> str:
    if re.search(HIGH, customer_text, re.IGNORECASE | re.MULTILINE) \
            or re.search(AGENT_HIGH, agent_text, re.IGNORECASE):
        return "high"
    if re.search(LOW, customer_text, re.IGNORECASE):
        return "low"
    return "medium"


def product(customer_text: str) -> str:
    """The first product named by the customer (the lexicon's spelling)."""
    low = _NOT_PRODUCT.sub(" ", customer_text.lower())
    hits = [(m.start(), -len(p), p) for p in PRODUCTS
            for m in [re.search(rf"(?<![a-z]){re.escape(p)}(?![a-z])", low)] if m]
    return min(hits)[2] if hits else ""


def clean(text: str) -> str:
    """One customer utterance without greetings, ASR fillers and stutters."""
    text = _SPACES.sub(" ", text).strip()
    text = _GREETING.sub("", text)
    text = _FILLER.sub("", text)
    text = _REPEAT_EN.sub("", _REPEAT_ZH.sub("", _SPACES.sub(" ", text)))
    return _CJK_GAP.sub("", text).strip(" ,，")   # ASR marks pauses with spaces


def description(turns: list[Turn], limit: int = 4000) -> str:
    """What the customer said, one line per message, small talk dropped."""
    lines = [clean(t.text) for t in turns if t.speaker == "customer"]
    return "\n".join(x for x in lines if x and not _SMALL_TALK.match(x))[:limit]


def subject(turns: list[Turn], limit: int = 80) -> str:
    """The first substantive customer utterance, cut at a sentence end."""
    for line in description(turns).splitlines():
        if len(re.findall(r"[\u4e00-\u9fff]|[A-Za-z]+", line)) >= 3:
            first = re.split(r"(?<=[。！？!?])|(?<=[.])\s", line)[0].strip()
            return (first or line)[:limit]
    return ""
