"""A small bilingual lexicon of service-desk concepts, for cold-start features.

With no history, a classifier only knows the few words an admin typed into a label
profile; a ticket that says 出货 or "tracking number" shares no term with a profile
that says 快递 and 发货. Each concept here groups words that mean the same thing on a
Chinese/English service desk (telecom, bank, retail, IT), and `concepts(norm)` names
the concepts a normalised text mentions. Cold-start classifiers add them as features
("§delivery"), so a profile and a ticket meet on the concept even when their words
differ, across languages too.

The list is general domain knowledge, not tuned to any label set: it names what a
ticket is about (money, delivery, devices, connectivity, accounts, people, fraud) and
how bad it is (total loss of service, money lost, repeat contact, a question only).
Latin entries are matched as whole (stemmed) words or phrases; Chinese entries as
substrings of the simplified, lower-cased text.
"""
from __future__ import annotations

import re
from functools import lru_cache

CONCEPTS: dict[str, tuple[str, ...]] = {
    # what it is about
    "charge": ("扣费", "扣款", "扣钱", "扣了", "收费", "计费", "费用", "话费", "月租", "资费", "账单",
               "帐单", "欠费", "余额", "缴费", "交费", "充值", "付款", "支付", "多收", "乱收",
               "bill", "billing", "charge", "charged", "fee", "payment", "balance", "top up",
               "top-up", "overcharged", "debit", "续费", "包年", "包月", "到账", "预存", "月结",
               "充错", "renew", "renewal", "recharge"),
    "refund": ("退款", "退钱", "退费", "退还", "返还", "补偿", "赔偿", "退回", "refund", "compensation",
               "reimburse", "money back"),
    "invoice": ("发票", "收据", "报销", "税号", "抬头", "invoice", "receipt", "fapiao", "vat"),
    "plan": ("套餐", "资费", "流量包", "合约", "办理", "变更", "升级", "降档", "退订", "订购", "开通",
             "取消", "业务", "plan", "package", "subscription", "subscribe", "unsubscribe",
             "contract", "upgrade", "downgrade", "cancel"),
    "account_admin": ("实名", "过户", "销户", "开户", "名下", "资料", "联系人", "积分", "会员",
                      "account", "profile", "membership", "points"),
    "connectivity": ("网络", "上网", "宽带", "断网", "没网", "网速", "掉线", "断线", "信号", "wifi",
                     "wi-fi", "无线", "5g", "4g", "流量用不了", "连不上", "打不开", "卡顿", "延迟",
                     "ping", "基站", "光纤", "光缆", "线路", "无服务", "打不通", "internet",
                     "network", "broadband", "signal", "connection", "offline", "outage",
                     "slow", "latency", "coverage", "disconnect"),
    "device": ("手机", "光猫", "路由器", "机顶盒", "电视盒", "遥控器", "平板", "耳机", "手表", "电池",
               "屏幕", "充电", "主板", "摄像头", "设备", "终端", "硬件", "适配器", "modem",
               "router", "phone", "device", "tv box", "set-top", "screen", "battery",
               "charger", "hardware", "tablet"),
    "repair": ("维修", "修理", "报修", "送修", "返修", "返厂", "保修", "质保", "换新", "换货", "更换",
               "坏了", "故障", "损坏", "上门", "师傅", "安装", "装机", "移机", "预约", "repair",
               "fix", "broken", "warranty", "technician", "install", "installation",
               "replace", "replacement", "faulty", "defective", "装维", "网线", "水晶头", "布线",
               "重启", "黑屏", "死机", "自动关机", "不开机", "进水", "摔", "碎", "划痕", "鼓包"),
    "delivery": ("快递", "物流", "发货", "出货", "出库", "到货", "收货", "签收", "派送", "配送",
                 "送货", "包裹", "运单", "单号", "寄", "邮寄", "快递柜", "自提", "中转", "运费",
                 "次日达", "顺丰", "邮政", "还没到", "没收到", "delivery", "deliver", "shipping",
                 "ship", "shipped", "shipment", "courier", "parcel", "package", "tracking",
                 "dispatch", "arrive", "arrived", "order"),
    "order": ("订单", "下单", "购买", "买的", "商城", "网上营业厅", "退货", "拒收", "order",
              "purchase", "bought", "store", "return"),
    "staff": ("态度", "客服", "工作人员", "营业员", "服务", "不耐烦", "挂电话", "爱答不理", "不理",
              "经理", "员工", "staff", "agent", "rude", "attitude", "service", "employee"),
    "complain": ("投诉", "不满", "失望", "太差", "差评", "曝光", "维权", "说法", "欺骗", "欺诈",
                 "虚假宣传", "霸王", "骚扰", "推销", "营销", "complain", "complaint",
                 "disappointed", "unacceptable", "terrible", "spam", "marketing"),
    "praise": ("表扬", "感谢", "谢谢", "点赞", "满意", "辛苦", "耐心", "thank", "thanks",
               "great service", "appreciate", "praise"),
    "suggest": ("建议", "希望", "能不能增加", "改进", "优化", "功能", "suggest", "suggestion",
                "feature", "improve"),
    "fraud": ("诈骗", "骗子", "冒充", "钓鱼", "中奖", "安全账户", "洗钱", "可疑", "盗刷", "被盗",
              "被骗", "转账", "scam", "fraud", "phishing", "fake", "impersonate", "impersonating", "suspicious",
              "stolen", "自称", "陌生", "不认识", "境外", "响一声", "链接", "风险", "骗", "木马",
              "病毒", "共享屏幕", "远程控制", "拦截", "黑名单", "白名单", "骚扰电话", "冒名",
              "malware", "virus", "unknown caller", "block"),
    "login": ("账号", "帐号", "登录", "登入", "密码", "验证码", "锁定", "解锁", "异常登录", "二次验证",
              "补卡", "补办", "login", "log in", "logged", "password", "verification code",
              "otp", "2fa", "locked", "hacked", "sign in"),
    "privacy": ("个人信息", "隐私", "泄露", "泄漏", "身份证", "人脸", "通讯录", "权限", "位置",
                "信息卖", "留存", "删除", "读取", "注销", "privacy", "personal data", "personal info",
                "leak", "leaked", "permission", "gdpr"),
    "it_system": ("电脑", "笔记本", "打印机", "显示器", "键盘", "鼠标", "邮箱", "vpn", "内网",
                  "系统", "报错", "错误码", "蓝屏", "软件", "安装包", "权限申请", "开通权限", "域账号",
                  "服务器", "数据库", "computer", "laptop", "printer", "email", "software",
                  "error", "server", "system", "access request"),
    "hr_admin": ("请假", "考勤", "工资", "薪资", "社保", "公积金", "入职", "离职", "合同", "报销",
                 "差旅", "培训", "leave", "salary", "payroll", "onboarding", "expense"),
    "bank": ("银行卡", "信用卡", "借记卡", "转账", "汇款", "贷款", "还款", "利息", "额度", "冻结",
             "挂失", "取款", "存款", "atm", "card", "transfer", "loan", "credit card",
             "interest", "withdraw", "deposit", "frozen"),
    "facility": ("空调", "停电", "断电", "漏水", "水管", "电梯", "门禁", "照明", "卫生", "保洁",
                 "工位", "会议室", "air conditioning", "power cut", "elevator", "lift",
                 "cleaning"),
    "product_quality": ("质量", "做工", "瑕疵", "假货", "二手", "颜色不对", "尺码", "少了", "缺件",
                        "破损", "压坏", "quality", "damaged", "missing", "wrong item", "defect"),
    # how bad it is
    "total_loss": ("完全", "彻底", "一点都", "根本", "无法使用", "用不了", "不能用", "开不了机",
                   "打不出去", "没有服务", "全部", "都不行", "瘫痪", "停机", "completely",
                   "not at all", "totally", "dead", "won't turn on", "no service"),
    "money_lost": ("多扣", "重复扣", "扣了两次", "被扣", "乱扣", "转走", "损失", "double charged",
                   "charged twice", "lost money"),
    "repeat": ("第二次", "第三次", "第四次", "第五次", "又", "多次", "反复", "好几次", "一直没",
               "还是没", "几次", "again", "three times", "several times", "still not",
               "repeatedly"),
    "hurry": ("急", "马上", "立即", "尽快", "赶紧", "今天必须", "等着用", "asap", "urgent",
              "immediately", "right now"),
    "question": ("请问", "咨询", "了解", "怎么", "如何", "是否", "能不能", "可以吗", "可不可以", "吗",
                 "多久", "在哪", "几点", "how do", "how to", "can i", "is it possible",
                 "what is", "where", "wondering"),
    "slight": ("有点", "偶尔", "稍微", "一点点", "有时", "时不时", "sometimes", "a bit",
               "occasionally", "slightly"),
}

_LATIN = re.compile(r"^[a-z0-9][a-z0-9 '\-]*$")


@lru_cache(maxsize=1)
def _matchers():
    """One regex for CJK substrings and one for Latin words/phrases (word-bounded)."""
    cjk, latin = {}, {}
    for concept, terms in CONCEPTS.items():
        for t in terms:
            (latin if _LATIN.match(t) else cjk).setdefault(t, set()).add(concept)
    by_len = lambda d: sorted(d, key=len, reverse=True)  # noqa: E731
    cjk_re = re.compile("|".join(map(re.escape, by_len(cjk))))
    latin_re = re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, by_len(latin)))
                          + r")(?![a-z0-9])")
    return cjk_re, cjk, latin_re, latin


def concepts(norm: str) -> list[str]:
    """Concept tokens ("§delivery", ...) mentioned in a normalised text, once per mention."""
    cjk_re, cjk, latin_re, latin = _matchers()
    out = []
    for rx, table in ((cjk_re, cjk), (latin_re, latin)):
        for m in rx.finditer(norm):
            out.extend(f"§{c}" for c in sorted(table[m.group()]))
    return out
