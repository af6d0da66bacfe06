"""Priority and urgency rules for AI triage: critical signals an admin can edit (pure).

Two functions, called by the triage service after the priority classifier:

``priority_signals(text: str, facts, rules: Sequence[PriorityRule] = DEFAULT_RULES)
-> list[Signal]``
    Which rules fire for a ticket. `text` is subject + description as typed (it is
    normalised here: NFKC, lower case, common traditional characters → simplified).
    `facts` is anything with the attributes of `TicketFacts` (missing ones count as
    "no"; None means no facts): `vip_customer: bool`, `recent_contacts: int` (other
    tickets from the same requester in the last 7 days), `sentiment: str` and
    `sentiment_score: float` (appliance.rules.sentiment). `rules` mirror the
    models.ai.TriageRule rows (use `rule_from_row` to convert one).

``decide_priority(base_label_scores, signals, *, classifier_cap: int = 1) ->
(priority: int, urgency: str, confidence: float, reasons: list[str])``
    `base_label_scores` is the priority classifier's output (objects with `.label`
    "1".."4" and `.confidence`, e.g. ports.LabelScore; may be empty). A signal's
    priority is a floor ("at least P1"): classifier mass on less urgent priorities
    moves to the floor, so priority = argmax of min(classifier, floor) and confidence
    is that probability (1.0 when a P1 rule fires). Urgency is the highest a signal
    names, else follows the priority (P1/P2 high, P3 medium, P4 low). With neither
    classifier nor signal: P3, medium, confidence 0.0 (a human decides).
    `classifier_cap`: the most urgent priority the classifier may give on its own (its
    mass above the cap moves to the cap); pass COLD_START_CLASSIFIER_CAP (3) when the
    priority classifier is a cold-start one (kind == "cold"), 1 for a learned one.

Rule conditions: ``keywords`` (see `keyword_matches`: "a|b+c" means (a or b) and c,
so outage words can be required together with scope words; a keyword preceded
closely by a negator — 没有冒烟, not hacked — does not count), ``vip_customer``,
``repeat_contact`` (recent_contacts >= threshold), ``negative_sentiment``
(sentiment_score <= -threshold / 100).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

PRIORITIES = (1, 2, 3, 4)
URGENCY_RANK = {"low": 0, "medium": 1, "high": 2}
CONDITIONS = ("keywords", "vip_customer", "repeat_contact", "negative_sentiment")
DEFAULT_PRIORITY = 3
# A cold-start (profile-built) priority classifier confuses "about security/outages" with
# "critical": on bench/data/coldstart_zh it reached 47 % alone, 55 % with rules when it
# could propose P2, 74 % when P1/P2 came from the rules only. So a cold classifier
# chooses between P3 and P4 and the rules raise the rest; a learned one is not capped.
COLD_START_CLASSIFIER_CAP = 3
_URGENCY_OF = {1: "high", 2: "high", 3: "medium", 4: "low"}
_NEGATORS = ("没有", "没", "不是", "不", "未", "无", "别", "并非", "no ", "not ", "n't ", "never ")
_NEGATION_REACH = 1  # characters between a negator and the keyword it cancels: 没有再冒烟
# (a longer reach would cancel real signals: 没想到会冒烟 is a safety risk)


@dataclass(frozen=True)
class PriorityRule:
    """One rule; the fields mirror appliance.models.ai.TriageRule."""
    name: str
    condition: str  # keywords | vip_customer | repeat_contact | negative_sentiment
    keywords: tuple[str, ...] = ()
    threshold: int = 0
    priority: int | None = None  # at least this priority (1 = highest)
    urgency: str | None = None  # at least this urgency


@dataclass(frozen=True)
class TicketFacts:
    vip_customer: bool = False
    recent_contacts: int = 0
    sentiment: str = ""
    sentiment_score: float = 0.0


@dataclass(frozen=True)
class Signal:
    rule: str
    priority: int | None
    urgency: str | None
    reason: str  # what matched, for TriageRun.suggestions[...]["reason"] and the timeline


_SCOPE = ("整个小区|全小区|整栋|全楼|多栋|几栋|整层|全市|全县|全镇|整个镇|整个村|整片|一片|大面积|片区|周边"
          "|附近都|所有人|好多人|很多人|几百|几十|多家|园区|整个公司|全公司|邻居也|都上不了"
          "|whole building|entire|everyone|all users|many users|whole area")
_OUTAGE = ("断网|没网|上不了网|网络中断|中断|没信号|信号都断|打不了电话|打不通|打不进|瘫痪|不能用|用不了|断了"
           "|无服务|没有服务|outage|down|no signal|no internet")

DEFAULT_RULES: tuple[PriorityRule, ...] = (
    PriorityRule("safety_risk", "keywords", (
        "冒烟", "起火", "着火", "火花", "烧焦", "焦味", "漏电", "触电", "爆炸", "鼓包", "自燃",
        "smoke", "smoking", "fire", "sparks", "burning smell", "electric shock", "explod"),
        priority=1, urgency="high"),
    PriorityRule("mass_outage", "keywords", (f"{_SCOPE}+{_OUTAGE}",), priority=1, urgency="high"),
    PriorityRule("account_compromise_or_fraud", "keywords", (
        "被盗", "盗刷", "盗用", "密码被改", "被人补", "补了卡", "冒名", "安全账户", "洗钱",
        "网贷|贷款+注册|冒名|不是我|没借",
        "被转走", "转走了", "验证码告诉", "告诉别人了|告诉了对方+验证码",
        "骗|冒充|自称|中奖|钓鱼|陌生+转了|汇了|转账了|被扣|已经装了|点开了|点了链接|输了卡号|输了密码",
        "hacked", "account compromised", "stolen", "unauthori", "fraudulent"),
        priority=1, urgency="high"),
    PriorityRule("regulator_or_legal_threat", "keywords", (
        "工信部", "12315", "消协", "消费者协会", "律师", "起诉", "法院", "仲裁", "媒体", "曝光",
        "记者", "电信管理局", "银保监", "金融监管", "监管部门", "315晚会",
        "lawyer", "sue ", "lawsuit", "regulator", "court", "media", "journalist"),
        priority=1, urgency="high"),
    PriorityRule("service_down", "keywords", (
        "开不了机", "无法开机", "不开机", "无服务", "没有服务", "停机", "完全断", "断了两天", "断了一天",
        "完全|彻底|根本|一点都|全部|一直+用不了|不能用|没法用|上不了网|上不去|打不出|连不上|没网|断网"
        "|没有信号|不通",
        "no service", "completely down", "won't turn on", "not working at all"),
        priority=2, urgency="high"),
    PriorityRule("money_or_goods_lost", "keywords", (
        "多扣", "重复扣", "扣了两次", "乱扣", "扣错", "多收", "钱已经扣了", "空盒", "丢了", "丢失",
        "签收人不是我", "没收到+签收|已签收", "charged twice", "double charged", "lost parcel",
        "never received"),
        priority=2, urgency="high"),
    PriorityRule("suspected_account_misuse", "keywords", (
        "异常登录", "异常登入", "不是我本人", "不是本人", "没有操作过", "我没操作", "不是我操作",
        "不认识的设备", "蹭用", "冒用", "泄露|被人拿去|卖了+信息|手机号|地址|身份",
        "logged into my account", "unrecognised", "unrecognized", "unknown device", "wasn't me"),
        priority=2, urgency="high"),
    PriorityRule("unauthorised_charge", "keywords", (
        "没订过|没开通|没办过|没有订|未订购|没打过|不是我打的|没用过+扣|收|费|账单|包月|话单|详单",
        "收了我|乱收费|被收了", "didn't order|never ordered|didn't make+charge|fee|bill"),
        priority=2, urgency="high"),
    PriorityRule("unresolved_escalation", "keywords", (
        "根本没解决", "还是没解决", "没人处理", "没人回复", "没人管", "不回消息", "一个电话都没有",
        "nobody has called", "no one has replied", "still not resolved", "nobody called"),
        priority=2, urgency="high"),
    PriorityRule("repeated_in_text", "keywords", (
        "第三次", "第四次", "第五次", "好几次", "多次", "反复", "三次", "两次了",
        "three times", "several times", "again and again"), priority=2, urgency="high"),
    PriorityRule("vip_customer", "vip_customer", priority=2, urgency="high"),
    PriorityRule("repeat_contact", "repeat_contact", threshold=3, priority=2, urgency="high"),
    PriorityRule("strongly_negative", "negative_sentiment", threshold=80, urgency="high"),
)

# Traditional → simplified for the characters of the default keywords (OpenCC is a
# back-end library; the domain keeps this small table instead).
_T2S = str.maketrans(
    "驗會電無觸補錄話區棟費釣樓監燒癱縣醫貸園騙辦詐號開盜層轉煙戶協復網點幾沒異訴絡瘓記證鄰體個賬匯帳銀務積聯魚師鎮斷獎碼輸著",
    "验会电无触补录话区栋费钓楼监烧瘫县医贷园骗办诈号开盗层转烟户协复网点几没异诉络痪记证邻体个账汇帐银务积联鱼师镇断奖码输着")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", (text or "")[:20_000]).lower().translate(_T2S)
    return " ".join(text.split()) + " "  # trailing space: "sue " matches at the end too


def _negated(text: str, start: int) -> bool:
    """A negator ends at most _NEGATION_REACH characters before `start`."""
    before = text[max(0, start - _NEGATION_REACH - 4):start]
    return any(n in before[-(_NEGATION_REACH + len(n)):] for n in _NEGATORS)


def _find(text: str, term: str) -> bool:
    """`term` occurs in `text` without a negator just before it; a Latin term must
    start a word (it may end inside one: "explod" finds "explosion")."""
    latin = term[:1].isascii() and term[:1].isalnum()
    start = text.find(term)
    while start >= 0:
        word_start = not (latin and start > 0 and text[start - 1].isascii() and text[start - 1].isalnum())
        if word_start and not _negated(text, start):
            return True
        start = text.find(term, start + 1)
    return False


def keyword_matches(text: str, keyword: str) -> str | None:
    """The matched words if `keyword` ("a|b+c|d": every +group needs one alternative)
    occurs in normalised `text`, else None."""
    found = []
    for group in keyword.lower().split("+"):
        alts = [a for a in group.split("|") if a.strip()]
        hit = next((a for a in alts if _find(text, a)), None)
        if hit is None:
            return None
        found.append(hit.strip())
    return "+".join(found) if found else None


def _fires(rule: PriorityRule, text: str, facts) -> str | None:
    """Why `rule` fires for this ticket, or None."""
    if rule.condition == "keywords":
        hits = [m for k in rule.keywords if (m := keyword_matches(text, k))]
        return f"keywords: {', '.join(hits[:3])}" if hits else None
    if rule.condition == "vip_customer":
        return "VIP customer" if getattr(facts, "vip_customer", False) else None
    if rule.condition == "repeat_contact":
        n = int(getattr(facts, "recent_contacts", 0) or 0)
        return f"{n} contacts in 7 days" if n >= max(1, rule.threshold) else None
    if rule.condition == "negative_sentiment":
        score = float(getattr(facts, "sentiment_score", 0.0) or 0.0)
        return f"sentiment {score:.2f}" if score <= -rule.threshold / 100 and score < 0 else None
    raise ValueError(f"unknown rule condition {rule.condition!r}; expected one of {CONDITIONS}")


def priority_signals(text: str, facts=None,
                     rules: Sequence[PriorityRule] = DEFAULT_RULES) -> list[Signal]:
    norm = normalise(text)
    out = []
    for rule in rules:
        why = _fires(rule, norm, facts)
        if why:
            out.append(Signal(rule.name, rule.priority, rule.urgency, f"{rule.name}: {why}"))
    return out


def _distribution(base_label_scores) -> dict[int, float]:
    dist = {p: 0.0 for p in PRIORITIES}
    for s in base_label_scores or ():
        try:
            p = int(str(s.label).strip().lstrip("Pp"))
        except ValueError:
            continue
        if p in dist:
            dist[p] += float(s.confidence)
    return dist


def decide_priority(base_label_scores, signals: Sequence[Signal], *, classifier_cap: int = 1
                    ) -> tuple[int, str, float, list[str]]:
    dist = _distribution(base_label_scores)
    for p in PRIORITIES:
        if p < classifier_cap:  # the classifier alone may not go above the cap
            dist[classifier_cap], dist[p] = dist[classifier_cap] + dist[p], 0.0
    floors = [s.priority for s in signals if s.priority in PRIORITIES]
    reasons = [s.reason for s in signals]
    if floors:
        floor = min(floors)
        if sum(dist.values()) == 0:
            dist[floor] = 1.0  # no classifier: the rule decides alone
        for p in PRIORITIES:
            if p > floor:  # "at least P{floor}": less urgent mass moves up to the floor
                dist[floor], dist[p] = dist[floor] + dist[p], 0.0
    total = sum(dist.values())
    if total <= 0:
        priority, confidence = DEFAULT_PRIORITY, 0.0
    else:
        priority = min(PRIORITIES, key=lambda p: (-dist[p], -p))  # ties: the less urgent
        confidence = dist[priority] / total
        if not floors or priority != min(floors):
            reasons.insert(0, f"classifier: P{priority} ({confidence:.2f})")
    urgency = _URGENCY_OF[priority]
    for s in signals:
        if s.urgency in URGENCY_RANK and URGENCY_RANK[s.urgency] > URGENCY_RANK[urgency]:
            urgency = s.urgency
    return priority, urgency, round(confidence, 4), reasons


def rule_from_row(row) -> PriorityRule:
    """A PriorityRule from a models.ai.TriageRule row (or anything with its fields)."""
    return PriorityRule(row.name, row.condition, tuple(row.keywords or ()),
                        int(row.threshold or 0), row.priority, row.urgency or None)
