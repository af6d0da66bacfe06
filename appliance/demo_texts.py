"""What the demo is made of: the organisation's names, and ticket texts.

Ticket texts are read at run time from the public datasets in ../shared/data (never
copied into the project) and mapped to categories; when that folder is missing, a
small built-in list keeps `make run` working. Replies, notes and follow-ups are short
templates in both languages. Kept apart from `appliance.demo` (which makes things
through the services) so each module stays readable.
"""
from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from pathlib import Path

DEPARTMENTS = (  # code, name, name_en, teams
    ("CS", "客服", "Customer service", ("一线A组", "英文组")),
    ("AS", "售后", "After-sales", ("维修组", "退换组")),
    ("LOG", "物流", "Logistics", ("配送组",)),
    ("TECH", "技术", "R&D / IT", ("网络组", "应用组")),
    ("FIN", "财务", "Finance", ("账务组",)),
)
SKILLS = ("售后维修", "退换货", "物流查询", "发票", "退款", "账户安全", "网络故障", "English", "投诉处理")
STAFF = (  # username, display name, role, department, email name, {skill: level}
    ("wangfang", "王芳", "agent", "CS", "wang.fang", {"投诉处理": 4, "退换货": 3, "English": 3}),
    ("emily", "Emily Chen", "agent", "CS", "emily.chen", {"English": 5, "投诉处理": 3}),
    ("liuyang", "刘洋", "agent", "CS", "liu.yang", {"退换货": 2, "物流查询": 2}),
    ("zhangwei", "张伟", "agent", "AS", "zhang.wei", {"售后维修": 5, "退换货": 3}),
    ("lina", "李娜", "agent", "AS", "li.na", {"退换货": 4, "English": 2}),
    ("chenjing", "陈静", "agent", "LOG", "chen.jing", {"物流查询": 5, "English": 2}),
    ("yanglei", "杨磊", "agent", "LOG", "yang.lei", {"物流查询": 3}),
    ("zhaoqiang", "赵强", "agent", "TECH", "zhao.qiang", {"网络故障": 5, "账户安全": 4}),
    ("david", "David Li", "agent", "TECH", "david.li", {"账户安全": 3, "English": 4}),
    ("sunli", "孙丽", "agent", "FIN", "sun.li", {"发票": 5, "退款": 4, "English": 3}),
    ("malihua", "马丽华", "supervisor", "CS", "ma.lihua", {"投诉处理": 5, "English": 3}),
    ("guojian", "郭建国", "supervisor", "AS", "guo.jianguo", {"售后维修": 4, "退款": 3}),
)
CATEGORIES = (  # top level, department, children
    ("售后", "AS", ("维修", "退换货")),
    ("物流", "LOG", ("配送延迟", "地址变更")),
    ("账户", "TECH", ("登录问题", "账户安全", "实名认证", "资料变更")),
    ("支付", "FIN", ("退款", "支付问题", "银行卡", "转账与充值")),
    ("财务", "FIN", ("发票",)),
    ("订单", "CS", ("订单变更", "取消订单")),
    ("技术", "TECH", ("网络", "应用故障")),
    ("服务", "CS", ("投诉", "咨询")),
)
PRODUCTS = ("手机", "平板", "电脑", "热水器", "服装", "日化", "食品", "图书", "酒店", "银行卡", "其他")
CUSTOM_FIELDS = (("order_no", "订单号 Order number", "text", ()),
                 ("product_line", "产品线 Product line", "select", PRODUCTS),
                 ("purchase_date", "购买日期 Purchase date", "date", ()))
PORTAL_INDEXES = (0, 7, 14)  # customers that also get a portal login (zh, en, zh)
TAGS = ("VIP", "加急", "回访", "批量", "复购")
CHANNELS = ("email", "email", "phone", "chat", "chat", "web", "api")
HANDOFF = {"CS": "LOG", "AS": "LOG", "LOG": "FIN", "TECH": "AS", "FIN": "TECH"}

_ZH_PRODUCT = {"平板": "平板", "手机": "手机", "计算机": "电脑", "热水器": "热水器", "衣服": "服装",
               "洗发水": "日化", "水果": "食品", "蒙牛": "食品", "书籍": "图书", "酒店": "酒店"}
_BITEXT = {"DELIVERY": "物流/配送延迟", "SHIPPING_ADDRESS": "物流/地址变更", "INVOICE": "财务/发票",
           "REFUND": "支付/退款", "PAYMENT": "支付/支付问题", "CANCELLATION_FEE": "订单/取消订单",
           "ORDER": "订单/订单变更", "FEEDBACK": "服务/投诉", "CONTACT": "服务/咨询",
           "NEWSLETTER": "服务/咨询", "ACCOUNT": "账户/资料变更"}
_BITEXT_INTENT = {"recover_password": "账户/登录问题", "registration_problems": "账户/登录问题",
                  "cancel_order": "订单/取消订单", "review": "服务/咨询"}
_SMP_TAGS = {"app": "技术/应用故障", "website": "技术/网络", "telephone": "技术/应用故障",
             "message": "技术/应用故障", "email": "技术/网络", "contacts": "技术/应用故障"}
_FILL = {"Customer Support Phone Number": "400-000-0000", "Live Chat": "live chat",
         "Website Name": "the Demo Shop website", "Website URL": "https://shop.example.com",
         "Customer Support Availability": "9:00-21:00 every day", "Company Name": "Demo Shop",
         "Customer Support Email": "support@example.com", "number of days": "7"}


@dataclass(frozen=True)
class Source:
    lang: str          # zh | en
    subject: str
    description: str
    category: str      # "售后/维修": a key of CATEGORIES
    product: str
    priority: int
    order_no: str = ""
    reply: str = ""    # the agent's first reply when the dataset has one (bitext)


class Pool:
    """Ticket texts per language, handed out in a fixed shuffled order (reused if short)."""

    def __init__(self, zh: list[Source], en: list[Source]):
        self._lists = {"zh": zh, "en": en}
        self._next = {"zh": 0, "en": 0}

    def take(self, lang: str) -> Source:
        items = self._lists[lang] or self._lists["zh" if lang == "en" else "en"]
        i = self._next[lang]
        self._next[lang] = i + 1
        return items[i % len(items)]


def load_pool(data_dir: Path | None, rng: random.Random, size: int = 3000) -> Pool:
    if data_dir is None:
        zh, en = _builtin(rng)
    else:
        zh = _sample(rng, _shopping(data_dir, rng), size) + _sample(rng, _smp(data_dir), size // 6)
        en = _sample(rng, _bitext(data_dir, rng), size) + _sample(rng, _banking(data_dir, rng),
                                                                   size * 2 // 3)
    rng.shuffle(zh)
    rng.shuffle(en)
    return Pool(zh, en)


def _sample(rng: random.Random, items: list, k: int) -> list:
    return rng.sample(items, min(k, len(items)))


def _rows(path: Path, delimiter: str = ",") -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def _shopping(data_dir: Path, rng: random.Random) -> list[Source]:
    """Negative reviews read as complaints; keywords pick delivery, refund and invoice cases."""
    out = []
    for row in _rows(data_dir / "online_shopping_10_cats" / "train.csv"):
        text = " ".join((row["review"] or "").split())
        if row["label"] != "0" or not 12 <= len(text) <= 500:
            continue
        category = _zh_category(row["cat"], text)
        out.append(Source("zh", subject(text, "zh"), text, category, _ZH_PRODUCT.get(row["cat"], "其他"),
                          priority_of(category, text), order_no=_order_no(rng)))
    return out


def _zh_category(cat: str, text: str) -> str:
    if re.search("物流|快递|送货|发货|配送|到货", text):
        return "物流/配送延迟"
    if re.search("退款|退钱", text):
        return "支付/退款"
    if "发票" in text:
        return "财务/发票"
    if cat in ("平板", "手机", "计算机", "热水器"):
        return "售后/维修"
    return "服务/投诉" if cat == "酒店" else "售后/退换货"


def _smp(data_dir: Path) -> list[Source]:
    """Voice-assistant commands that failed: tickets for the app team."""
    out = []
    for row in _rows(data_dir / "smp2017" / "train.tsv", "\t"):
        category = _SMP_TAGS.get(row["Tag"])
        if category:
            said = row["Sentence"].strip()
            out.append(Source("zh", f"智能助手无法执行“{said}”"[:80],
                              f"客户反馈：在 App 里对智能助手说“{said}”后没有正确响应，重试多次仍然失败，"
                              f"请技术同事排查。", category, "手机", 3))
    return out


def _bitext(data_dir: Path, rng: random.Random) -> list[Source]:
    out = []
    for row in _rows(data_dir / "bitext" / "customer_support_sample.csv"):
        category = _BITEXT_INTENT.get(row["intent"]) or _BITEXT.get(row["category"], "服务/咨询")
        text = _fill(row["instruction"].strip())
        order = _order_no(rng) if row["category"] in ("ORDER", "DELIVERY", "REFUND") else ""
        out.append(Source("en", subject(text, "en"), text, category, "其他",
                          priority_of(category, text), order_no=order,
                          reply=_fill(row["response"].strip(), order)))
    return out


def _fill(text: str, order: str = "") -> str:
    """Bitext leaves {{placeholders}}; fill the common ones, else keep the label's words."""
    def one(m: re.Match) -> str:
        name = m[1].strip()
        if "Anonymized" in name:
            return order or "your order"
        return _FILL.get(name, name)
    return re.sub(r"\{\{([^}]*)\}\}", one, text)


def _banking(data_dir: Path, rng: random.Random) -> list[Source]:
    out = []
    for row in _rows(data_dir / "banking77" / "train.csv"):
        text, label = row["text"].strip(), row["category"].lower()
        category = _bank_category(label)
        out.append(Source("en", subject(text, "en"), text, category, "银行卡",
                          priority_of(category, text)))
    return out


def _bank_category(label: str) -> str:
    if any(k in label for k in ("stolen", "compromised", "passcode", "pin_blocked", "lost")):
        return "账户/账户安全"
    if "verify" in label or "identity" in label:
        return "账户/实名认证"
    if "refund" in label or "reverted" in label:
        return "支付/退款"
    if "transfer" in label or "top_up" in label:
        return "支付/转账与充值"
    return "支付/银行卡" if "card" in label else "支付/支付问题"


def _order_no(rng: random.Random) -> str:
    return f"DD{rng.randrange(10**11, 10**12)}"


def subject(text: str, lang: str) -> str:
    """A one-line subject: the first clause(s), long enough to say something."""
    parts = re.split(r"(?<=[，。！？,.!?；;])\s*|\n", text.strip())
    want, cap = (12, 40) if lang == "zh" else (20, 90)
    out = ""
    for part in parts:
        out = (out + (" " if lang == "en" and out else "") + part).strip()
        if len(out) >= want:
            break
    out = out.rstrip("，。,.;；!！ ")
    if len(out) > cap:
        out = out[:cap - 1] + "…"
    out = out or ("客户反馈问题" if lang == "zh" else "Customer request")
    return out[0].upper() + out[1:] if lang == "en" else out


def priority_of(category: str, text: str) -> int:
    if category == "账户/账户安全" or re.search(
            r"(?i)urgent|stolen|fraud|hacked|紧急|漏电|爆炸|着火|被盗", text):
        return 1
    if category in ("服务/投诉", "支付/退款") or re.search(r"(?i)complain|投诉|差评|骗", text):
        return 2
    return 4 if category == "服务/咨询" else 3


_PHRASES = {
    "chase": {"zh": ["请问现在处理得怎么样了？", "麻烦尽快处理，谢谢。", "已经等了两天了，还没有人联系我。"],
              "en": ["Any update on this, please?", "Could someone get back to me soon?",
                     "I have been waiting two days without an answer."]},
    "note": {"zh": ["已电话联系客户，客户情绪较激动，建议优先处理。", "查询记录：该客户近三个月有两次同类反馈。",
                    "已与仓库确认库存，可安排换货。", "疑似批次质量问题，已同步质检组。"],
             "en": ["Called the customer; they are upset, please prioritise.",
                    "History: two similar reports from this customer in three months.",
                    "Checked with the warehouse: a replacement is in stock."]},
    "ask": {"zh": ["为便于进一步核查，请补充订单号和问题照片或截图。", "请提供收货地址和联系电话，方便我们安排上门。"],
            "en": ["To look into this, please send the order number and a photo or screenshot.",
                   "Please confirm your delivery address and a phone number we can reach you on."]},
    "follow": {"zh": ["好的，谢谢，我等你们消息。", "收到，谢谢处理。", "订单号和照片已经按要求补充了。"],
               "en": ["Thanks, I'll wait for your update.", "OK, thank you.",
                      "I have sent the details you asked for."]},
    "done": {"zh": ["问题已处理完毕，如仍有疑问可直接回复本工单。", "已为您处理完成，感谢您的耐心等待。"],
             "en": ["This is now sorted. If anything is still wrong, just reply to this ticket.",
                    "All done on our side; thank you for your patience."]},
    "handoff": {"zh": ["请协助核实该订单的处理记录并在本子工单回复结论。", "客户问题涉及贵部门，请协助处理后回填结果。"],
                "en": ["Please check the records for this order and reply with your findings here.",
                       "This needs your department; please handle it and report back on this sub-ticket."]},
}
_REPLIES = {
    "物流": ("您好，已为您联系承运商核实配送状态，预计 1-2 个工作日内送达，有进展会第一时间通知您。",
           "Hello, we have asked the carrier about your parcel; it should arrive within 1-2 working days."),
    "售后": ("您好，非常抱歉给您带来不便。请提供订单号和商品照片，我们会为您安排检测或换货。",
           "Sorry for the trouble. Please send the order number and a photo; we will arrange a repair or exchange."),
    "支付/退款": ("您好，退款申请已提交财务审核，通常 3-5 个工作日原路退回，请留意到账通知。",
              "Your refund request is with our finance team; it usually reaches you in 3-5 working days."),
    "支付": ("您好，已转交支付团队核查您的账户记录，将在一个工作日内答复您。",
           "We have passed this to our payments team; they will check your account within one working day."),
    "财务": ("您好，发票信息已核对，更正后的电子发票将发送到您的邮箱。",
           "We have checked the invoice details; a corrected e-invoice will be emailed to you."),
    "账户": ("您好，为保障账户安全，我们已临时冻结异常登录，请通过绑定手机重置密码后重新登录。",
           "For your security we have blocked the unusual sign-in; please reset your password from your phone."),
    "技术": ("您好，技术同事正在排查该问题，初步判断与近期版本更新有关，修复后会通知您。",
           "Our engineers are looking into it; it seems related to a recent update. We will let you know."),
}
_REPLY_DEFAULT = ("您好，感谢反馈，我们已记录您的问题并转交相关同事处理，会尽快给您答复。",
                  "Thank you for reaching out. We have logged your request and will get back to you shortly.")


def pick(rng: random.Random, kind: str, lang: str) -> str:
    return rng.choice(_PHRASES[kind][lang])


def reply(src: Source) -> str:
    zh, en = _REPLIES.get(src.category) or _REPLIES.get(src.category.split("/")[0], _REPLY_DEFAULT)
    return zh if src.lang == "zh" else en


def handoff_subject(src: Source) -> str:
    return ("【协办】" if src.lang == "zh" else "[Sub-task] ") + src.subject


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛",
          "明", "超", "秀英", "晓东", "海燕", "建华", "志强", "文静", "子轩")
_ENGLISH = ("Oliver Smith", "Emma Brown", "Liam Johnson", "Sophia Miller", "Noah Davis",
            "Ava Wilson", "James Taylor", "Mia Anderson", "Lucas Thomas", "Chloe Martin",
            "Henry Clark", "Grace Lewis", "Jack Walker", "Lily Young", "Daniel King")
_COMPANIES = ("华东精密制造有限公司", "北方智联科技有限公司", "蓝海贸易有限公司", "星河电子商务有限公司",
              "Acme Trading Ltd", "Pacific Rim Logistics Co.", "Northwind Retail Ltd", "恒通医疗器械有限公司")


def customer_people(rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    """(name, company, email): about a quarter English names, 40% individuals."""
    people = []
    for i in range(n):
        if i % 4 == 3:
            name = _ENGLISH[(i // 4) % len(_ENGLISH)]
            email = name.lower().replace(" ", ".") + "@example.com"
        else:
            name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
            email = f"kehu{i + 1:02d}@example.com"
        company = rng.choice(_COMPANIES) if rng.random() < 0.6 else ""
        people.append((name, company, email))
    return people


def _builtin(rng: random.Random) -> tuple[list[Source], list[Source]]:
    zh, en = [], []
    for lang, category, product, text in BUILTIN:
        src = Source(lang, subject(text, lang), text, category, product, priority_of(category, text),
                     order_no=_order_no(rng) if product != "其他" else "")
        (zh if lang == "zh" else en).append(src)
    return zh, en


# Used when ../shared/data is absent, so `make run` works anywhere. Written for the demo.
BUILTIN = (
    ("zh", "售后/维修", "手机", "手机买了不到一个月，充电时机身发烫，电量从80%很快掉到20%，希望安排检测。"),
    ("zh", "售后/维修", "热水器", "热水器安装后一直显示E3故障码，洗澡洗到一半就没有热水了，请尽快派师傅上门。"),
    ("zh", "售后/维修", "电脑", "笔记本开机后屏幕有一条竖线，外接显示器正常，应该是屏幕排线问题，申请保修。"),
    ("zh", "售后/退换货", "服装", "收到的外套尺码和吊牌不一致，袖子明显偏短，想换大一号。"),
    ("zh", "售后/退换货", "日化", "洗发水瓶盖破裂，到货时盒子里全是洗发水，要求退换。"),
    ("zh", "售后/退换货", "食品", "水果收到时已经有一半烂了，箱子里都是汁水，请处理。"),
    ("zh", "物流/配送延迟", "图书", "下单一周了物流信息一直停在中转站，没有任何更新，到底什么时候能送到？"),
    ("zh", "物流/配送延迟", "平板", "快递显示已签收，但我本人没有收到，也没人给我打电话，请核实签收记录。"),
    ("zh", "物流/地址变更", "服装", "订单还没发货，想把收货地址改成公司地址，页面上找不到修改入口。"),
    ("zh", "支付/退款", "平板", "退货已经寄回仓库五天了，退款还没到账，请帮忙查一下进度。"),
    ("zh", "支付/支付问题", "其他", "付款时提示支付失败，但银行卡已经扣款，订单状态还是待支付。"),
    ("zh", "财务/发票", "电脑", "公司报销需要增值税专用发票，开出来的是普通发票，抬头和税号也不对，请重开。"),
    ("zh", "账户/登录问题", "其他", "手机号换了，收不到验证码，无法登录账户，请协助更换绑定手机。"),
    ("zh", "账户/账户安全", "其他", "紧急：收到异地登录提醒，不是我本人操作，担心账户被盗，请立即冻结。"),
    ("zh", "订单/取消订单", "手机", "下错了颜色，订单刚提交十分钟，想取消重新下单。"),
    ("zh", "订单/订单变更", "热水器", "预约的安装时间改到周六上午，可以吗？"),
    ("zh", "技术/网络", "其他", "公司内网访问你们的服务平台一直超时，换成手机热点就正常，是否有IP限制？"),
    ("zh", "技术/应用故障", "手机", "App 升级到新版本后一打开就闪退，已经重装过还是一样。"),
    ("zh", "服务/投诉", "酒店", "前台办理入住等了四十分钟，房间也不是预订的大床房，服务态度很差，要求投诉。"),
    ("zh", "服务/咨询", "其他", "请问会员积分可以抵扣运费吗？积分有效期是多久？"),
    ("en", "售后/维修", "手机", "My phone's screen started flickering two weeks after purchase. Can you repair it under warranty?"),
    ("en", "售后/维修", "电脑", "The laptop fan is extremely loud and the machine shuts down when it gets hot."),
    ("en", "售后/退换货", "服装", "The jacket I received is the wrong size. I would like to exchange it for a larger one."),
    ("en", "售后/退换货", "日化", "The shampoo bottle arrived broken and leaked all over the box. Please replace it."),
    ("en", "物流/配送延迟", "图书", "My order was supposed to arrive last Friday and the tracking has not updated since."),
    ("en", "物流/配送延迟", "平板", "Tracking says delivered but nothing arrived at my door. Please check with the courier."),
    ("en", "物流/地址变更", "其他", "I need to change the shipping address on my order before it ships."),
    ("en", "支付/退款", "服装", "I returned the item ten days ago and still have not received my refund."),
    ("en", "支付/支付问题", "其他", "I was charged twice for the same order. Please refund the duplicate payment."),
    ("en", "支付/银行卡", "银行卡", "My card keeps getting declined at checkout although it works elsewhere."),
    ("en", "支付/转账与充值", "银行卡", "My top-up has been pending for two days. When will the money show up?"),
    ("en", "财务/发票", "电脑", "Could you send me a VAT invoice for my last order with our company details?"),
    ("en", "账户/登录问题", "其他", "I forgot my password and the reset email never arrives."),
    ("en", "账户/账户安全", "其他", "Urgent: someone logged into my account from another country. Please lock it."),
    ("en", "账户/实名认证", "银行卡", "My identity verification keeps failing even though my documents are valid."),
    ("en", "订单/取消订单", "手机", "Please cancel my order, I bought the wrong model by mistake."),
    ("en", "订单/订单变更", "热水器", "Can I add the installation service to the order I placed yesterday?"),
    ("en", "技术/应用故障", "手机", "The app crashes every time I open my order history since the last update."),
    ("en", "服务/投诉", "酒店", "I want to complain: the room was dirty and the front desk ignored my calls."),
    ("en", "服务/咨询", "其他", "Do you offer extended warranties for water heaters? What do they cover?"),
)
