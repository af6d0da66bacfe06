"""Does a finished chat or call need a ticket, and what is it about (pure; no I/O).

The decision weighs cues by who says them (docs/decisions/0015):
- follow-up: the agent promises work after the conversation ("我帮您提交工单",
  "转给技术", "24小时内联系您", "安排师傅上门", "we'll escalate", "call you back");
- resolved: the customer confirms ("好了好了 可以了", "没有其他问题了", "that worked",
  "that's all"), or the agent reports a change done in place ("已经为您修改好了");
- unresolved: the customer says the advice failed ("还是不行", "still crashes") or
  asks a question nobody answered at the end; a complaint or a refund/repair request
  counts less (it is often handled in the chat).
score > 0 means a ticket. |score| gives the confidence; near 0 the local model decides
when one is available, otherwise "no follow-up cue" means no ticket.

A conditional offer ("如果还是不行，我可以提交工单") counts half; an agent's fix in place
after the customer's last trouble, acknowledged, settles it; money lost or disputed
("no cash came out but I was debited", "盗刷") needs an investigation, so a ticket.

Urgency, product, subject and description live in `conversation_text` (re-exported).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.rules.conversation_extract import Turn
from appliance.rules.conversation_text import clean, description, product, subject, urgency

__all__ = ["Decision", "clean", "decide", "description", "product", "subject", "urgency"]

# What is sent during the chat is not later work: a code, a link, a text, a confirmation.
_NOT_WORK = (r"(?! (you )?(a |an |the |your )?([\w-]+ ){0,2}(one-time|verification|passcode|pass code"
             r"|code|otp|link|reset|text|sms|reminder|confirmation|receipt|e-?mail|message)s?\b)")

# A call before a visit already booked ("the technician will call you the day before", cf.
# "出发前会电话联系您"): part of that visit, not new work.
_BEFORE_VISIT = (r"(?![^.!?]{0,40}?\b(the day before|the night before|before (arriving|coming|arrival"
                 r"|they come|he comes|she comes|heading (out|over)|the visit)|on (the|their|his|her) way"
                 r"|an hour before))")

# (pattern, weight). Patterns are matched case-insensitively on one message.
FOLLOW_UP = (
    (r"工单|维修单|报修单|(?<!无误后)(?<!无误)提交.{0,8}(申请|维修|工单|复审|审核|审批|变更)|创建.{0,4}单|(?<!没有)(?<!没)上报(?!成功)|加急"
     r"|(帮|给|为)您.{0,4}登记|已(经)?(帮您|为您|给您)?登记(?!.{0,2}(取消|撤销))|登记(好|下来)了"
     r"|专员会?(跟进|联系您)|会有专人(跟进|联系)|需要(安排)?(工程师|师傅|技术员|人员)上门(?!吗)|我(这边)?(一起|一并)(帮您|给您|为您)?登记|(给您|为您|帮您)约(了)?.{0,10}(工程师|师傅|技术员|上门)"
     r"|让.{0,4}(销售|专员|同事|工程师|技术).{0,4}(联系|回电|打给)您|我(这边|先)?(帮您|给您|为您)?登记(一下|一个|给)(?![^。！？]{0,12}(电话|号码|座机|手机|联系方式|邮箱))", 1.2),
    (r"(转|交|提交|上报|报)(给|到|至)了?.{0,8}(技术|研发|工程|团队|部门|同事|专员|主管|售后|财务|中心)"
     r"|反馈给(?!.{0,10}参考)|升级处理|进度.{0,8}(发到|发送|通知|告知|同步)", 1.2),
    # someone is on the way or something is being sent ("抢修人员马上出发", "给您寄一台新的")
    (r"(人员|师傅|工程师|技术员|抢修|维修工|快递员).{0,6}(马上|立即|立刻|尽快|已经)?(出发(?!前)|赶过去|赶到|到场)"
     r"|(给您|为您)(补寄|寄出|寄一|寄个|重新寄|换一台|换新)", 1.2),
    (r"(?<!自动)安排.{0,6}(师傅|工程师|上门|人员|勘测|复核|检测)|(?<!自动安排快递)(?<!自动安排)上门(检测|维修|安装|取件|服务)(?![^，。,.]{0,10}自动)|师傅.{0,6}(上门|联系)"
     r"|(马上|立即|立刻|已经?|这就)(给您|为您)?派(了)?(抢修|维修|师傅|人员|工程师|人|单)|派单了|已派单", 1.2),
    (r"(到了|到之前|到场前|出发前|上门前)先?(会)?(给您|跟您)(打电话|打个电话|来电|联系)", 1.0),
    (r"(小时|工作日|天)内.{0,10}(联系|回复|答复|回电|处理|发送|发到|通知|审核|复核|核查)"
     r"|(?<![上下的])立案(?![\d号窗庭大那这])"
     r"|分钟内.{0,10}(联系|回电|回复|到场|上门)"
     r"|(安排|为您)(换新|换货|补发)|重新(发出|发货|寄出)"
     r"|稍后.{0,4}(回电|联系)|(?<![前时])会.{0,6}电话联系您|(服务商|工程师|技术员|客户经理|销售)会联系您|(今天|当天|明天)(之内|以内|内)?.{0,12}(回电|联系您|回复您)", 1.0),
    # money on its way arrives by itself: a weak cue, settled by "到了"
    (r"给您回电|(?<!不要)(?<!别)回拨|(?<!不要)(?<!别)回电|(小时|工作日|天)内.{0,10}到账|(?<![经已为])核查(?!了|过|后|确认|身份|通过)|(?<![经已为])(?<!电话)(?<![\d零幺一二三四五六七八九] )(?<!\d)核实(?!了|过|后|到|确认|身份|一下(您的)?身份|通过)|跟进|补发"
     r"|审核后", 0.8),
    # money that went missing is investigated after the chat ("提交争议交易调查", "lodge a dispute")
    (r"(提交|发起|申请|登记).{0,6}(争议|调查|申诉|调账)|调查结果|调取.{0,4}(录像|监控|记录)"
     r"|(?<!不)(?<!不再)(给您|帮您|为您)报(了)?案|已经?报(了)?案|\bregister(ed)? (a|the|your) claim", 1.2),
    (r"(lodge|raise|file|open|start)(ed)? an? .{0,12}(dispute|claim|investigation|chargeback)"
     r"|investigation (usually |will )?(take|be)|opened an investigation", 1.2),
    (r"escalat|rais(e|ed|ing) .{0,20}(ticket|request|case)|(create|open|log|logged).{0,20}(ticket|case|request"
     r"|report|claim|complaint|work order|job)|logged it", 1.2),
    (r"get back to you|call you back|(will|'ll|shall|going to) (contact|call|email|reach|text|ring"
     r"|phone) you" + _BEFORE_VISIT + r"(?![^.!?]{0,40}\bnumber only\b)|(will|'ll) (text|send|email|post) (you )?(updates|an update)|check in with you"
     r"|passed (\w+ ){0,2}on|linked (\w+ ){0,3}to (the |an? )?(incident|outage)"
     r"|email you (back|once|when|as soon|with|an update|the(?![^.!?]{0,60}\bright now\b))"
     r"|pass (this|it) on|they'?ll (confirm|be in touch|get in touch|contact you|call you|email you)"
     r"|supervisor|(we|I)'ll (arrange|schedule|send" + _NOT_WORK + r")", 1.0),
    (r"\b(i'?m|i am|we'?re|we are|i'?ll|we'?ll|i will|we will|going to)( be)? (sending|send"
     r"|posting|post|shipping|ship|dispatching|dispatch|couriering|courier|replacing|replace"
     r"|refunding|refund)\b" + _NOT_WORK, 1.2),
    (r"(i'?ve|we'?ve|i have|we have) (ordered|set up|arranged) (you )?(a|an|the) (\w+ ){0,2}(replacement|new)"
     r"|(it'?ll|it will|they'?ll|they will) be (posted|sent|shipped|couriered|dispatched)"
     r" (to|on|by|first|out|tomorrow|today)"
     r"|(opening|opened|raising|raised) (a|an) (\w+ ){0,3}(incident|ticket|case|fault)|has been paged"
     r"|(raised|logged|lodged|reported) (it|this|that|the fault) with (\w+ ){0,3}as an? (\w+ ){0,2}"
     r"(fault|incident|case|priority)"
     r"|stay on (this|it) until"
     r"|\b(?:our|the) (?:\w+ ){0,2}(?:team|coordinator|officer|department|specialist) will (?:confirm|contact|call"
     r"|email|review|check|get back)"
     r"|(sent|passed|forwarded|referred|handed|escalated) (the|your|this) (\w+ )?request (on |over )?to",
     1.2),
    (r"\b(?:i'?ll|we'?ll|i will|we will|let me) (?:file|submit|lodge|log) (?:a|an|the) (?:\w+ ){0,3}"
     r"(?:request|claim|report|complaint|adjustment|dispute)"
     r"|\b(?:i'?ve|i have|we'?ve|we have) (?:submitted|filed|lodged|logged) (?:a|an|the|your) (?:\w+ ){0,3}"
     r"(?:request|claim|report|complaint|case|ticket)"
     r"|(engineer|technician|\btech\b|contractor|plumber|electrician|crew|meter reader|inspector"
     r"|installer).{0,30}(come|out|visit|call"
     r"|contact|booked|be there|text|arrive|attend|dispatched)" + _BEFORE_VISIT
     + r"|(send|sending|dispatch|dispatching) (you )?(an?|the|our|one of our) (\w+ )?(engineer|technician"
     r"|tech\b|contractor|plumber|electrician)"
     r"|book(ed)? (an?|the|our|your) (\w+ )?(engineer|technician|tech\b|contractor|plumber"
     r"|electrician|repair|visit)|get (someone|somebody|a \w+) out to you"
     r"|(dispatch|send)(ed|ing)? (a|the) crew"
     r"|arrange.{0,12}(pickup|exchange|visit|replacement)|arranged an? (exchange|replacement)"
     r"|returns team|priority incident"
     # a repair booked with the people who will do it (not a clinic appointment moved)
     r"|(?:^|[.!] |\b(?:i'?ve|i have|we'?ve|we have) (?:now |just )?)booked(?: (?:it|you|that|this)(?: in)?)?\b"
     r"(?=.{0,60}\b(?:dealer|technician|engineer|workshop|service cent(?:er|re)|garage|repair))", 1.2),
    (r"(?<!ship )(?<!ships )(?<!arrive )(?<!deliver )within (\d+|an?|one|two|three|four|five|six|eight|twelve|twenty[- ]four|forty[- ]eight"
     r"|seventy[- ]two|24|48|72|a few|a couple of)"
     r" (hours?|minutes|(business |working )?days?)|within the hour", 0.8),
)
RESOLVED = (
    (r"解决了|可以了|好了好了|^\W*好了(?=[，,。！!]|\s*(她|他|我|现在|已经))|没问题了|没有其他问题|没有别的|没有了|能用了|正常了|可以上网了"
     r"|(能|可以)(正常)?(登|登录|登上|进去|打开|连上|上网|开机|取|收)了"
     r"|(?<![我人经都])出来了|搞定|成功了|收到了|没事了|没啥事了|没别的事|没其他事"
     r"|(?<![没不])(找|查)到了|(刚刚?|已经)(到|收到|到账)了|到了到了|^\W*(嗯\W*)?看到了|^\W*(我\W*)?(弄|搞|办|填|提交)好了|(?<=能)到就行(?![，, ]*(否则|不然|要不))|(钱|款|退款)(已经)?到(账|了)|(已经|已)(交|付|缴|办|弄|改|设置|登录|登上|约|订)(好|完|上|成功)?了"
     r"(?=\s*(?:[,，。.!！~]|谢|$))", 1.2),
    (r"明白了|知道了|清楚了|了解了|原来是这样|那我再|那我等", 0.8),
    (r"that worked|it worked(?! fine for| for a| until| before| at first)|works now|working (now|na|lah)\b|it's working|fixed it|it'?s back"
     r"|problem solved|all good|that'?s all|no further|that helps|that'?s helpful|i'?m in now"
     r"|all i needed|thanks for the info|got it,? thanks|alright got it|found it"
     r"|got it (already|now)\b|(picked|collected) (it|the parcel|my parcel) up|(picked|collected) up (the|my) parcel"
     r"|(i'?ve|i have) (paid|done|changed|booked|found) it"
     r"|(is|'s|are|'re) (back )?(on|running|working) (now|again)|(running|working) again"
     r"|(it'?s|they'?re|it is|they are) (there|showing|visible) now|\bthere it is\b|(just )?(paid|tried) .{0,20}and it"
     r" worked"
     r"|there we go|that did (it|the trick)|panic over|false alarm|all sorted|\bi don'?t need to do anything\b|\bno need to do anything\b|all fine|\b(?:she|he|they) (?:has|had|have) it\b|\bgot (?:it|them)\s*!|\b(it'?s|they'?re) (loading|working) now\b"
     r"|\b(websites?|pages?|apps?|data|internet) (work|works|load|loads)\b(?! (but|except|only))|\b(4g|5g|data|internet|wi-?fi|signal|connection|it"
     r"|service|network|line|app|site)('s| is| are) (back )?up\b",
     1.2),
    (r"\b(fair enough|makes sense|i see now|understood|i'?ll wait|i will wait|i'?ll give it"
     r"|i'?ll (check|try) (that|again) (later|tomorrow))\b", 0.8),
)
DONE_IN_PLACE = (
    (r"已经?(为|帮|给)您.{0,8}(修改|更换|更改|重置|取消|退订|开通|关闭|解绑|绑定|补偿|赔偿|返还|发放)"
     r"|已经?(修改|更换)(好|成功)", 0.6),
    (r"已经?(为|帮|给)您.{0,6}(备注|改约|延期|延长|恢复|激活|解锁|设置|催促|加速)", 0.6),
    (r"已经(退了|退回|退款|原路退)|退款已经?办好|退订和退费都已经?生效", 0.6),
    (r"\bdone\b|i'?ve (just )?(sent|reset|changed|updated|cancelled|canceled)|is cancelled"
     r"|is now|it'?s now", 0.6),
)
# The agent takes back an offer of later work because it is no longer needed ("那就不需要
#师傅上门了，报修单就不提交了", "no engineer needed, I won't book the visit"): the
# promises before it no longer count, and it counts as settled in place.
WITHDRAWN = (
    (r"(不需要|不用|无需|没必要|不必)(再)?(给您|帮您)?(安排)?(师傅|工程师|人员)?"
     r"(上门|提交|登记|报修|派单|预约)(\w{0,4}?(工单|单子|申请|单))?"
     r"|(工单|报修单|维修单|报修|维修|登记|预约|上门)[^，。,.!?！？]{0,8}?(就|也|先)?不(再)?"
     r"(给您|帮您|为您)?(提交|登记|创建|安排|派|预约)了?"
     r"|(取消|撤销|撤回|作废)(了|掉)?(这个|您的)?(工单|报修单?|维修单|登记|预约|上门)"
     r"|(工单|报修单?|维修单|登记|预约|上门)(已经?)?(被|帮您|给您|为您)?(取消|撤销|撤回|作废)"
     r"|(工单|报修单?|维修单|登记|预约|上门)(这个|那个)?(我)?(就|也)?(先)?(帮您|给您|为您)(取消|撤销|撤回)"
     r"|(就|也|先)不(再)?(给您|帮您|为您)?(提交|登记|创建|安排|派|预约)(报障|报修|维修|申请|预约"
     r"|上门)?(工单|单子|单)?(?<=[障修请约门单子记])", 1.0),
    (r"\bno (need (for|to) )?(an? |the )?(separate |new |further )?(engineer|technician|tech|visit|ticket|repair|report"
     r"|call-?out)s?( (is )?(needed|required|necessary))?"
     r"|(won'?t|will not|don'?t need to|no need to|not going to) (book|raise|log|open|send"
     r"|arrange|schedule|submit|create|file) (an? |the |that |this |your |any )?(\w+ )?"
     r"(engineer|technician|tech|visit|ticket|repair|request|case|booking|call-?out|someone"
     r"|anyone|complaint|report)|(cancel(led)?|withdraw(n)?) (the|that|this|your) (\w+ )?(ticket|visit|booking"
     r"|request|case)", 1.0),
)
# Danger to people or property: a ticket whatever else is said (an emergency crew, a
# safety report), and never settled by "好了" or "I'm outside now".
HAZARD = (
    (r"煤气味|燃气味|漏气|(煤气|燃气|天然气)泄[漏露]|冒烟|(?<![打点])(?<![打点]不)着火|起火|火花|烧焦|焦糊?味|触电|漏电"
     r"|\b(gas leak|smell(s|ing)? (of )?gas|smoke|smoking|on fire|caught fire|sparks?|sparking"
     r"|burning smell|electric shock|flood(ed|ing))\b", 1.6),
)
# The customer takes back a complaint or a request, or says the fault was theirs ("投诉就算了",
# "是我搞错了", "never mind the refund", "my mistake"): settled, and the cue it names
# no longer counts.
DROPPED = (
    (r"我自己(去|来)?(弄|办|操作|申请|处理|搞)|自己(搞|弄|办)(定|好)了|自己(去)?(弄|办|申请)(就行|吧)"
     r"|(我|自己)(下班|明天|晚上|回头|待会儿?|一会儿?)?(自己)?(去|过去)(拿|取)(?![钱款消])"
     r"|\bi'?ll (go and |just )?(pick|collect) (it|them|the (parcel|package)|my (parcel|package)) up"
     r"|\bi'?ll (go and |just )?(pick up|collect) (it|them|the (parcel|package)|my (parcel|package))"
     r"|\bi'?ll (do|sort|order|apply|book|handle) (it|that|this|the \w+( \w+)?)( in the app| online)?"
     r" (myself|later myself|myself later)"
     r"|(投诉|退款|退货|换货|维修|报修|师傅|上门)[^，。,.!?！？]{0,4}?(就)?(算了|不用了|不要了|取消)"
     r"|不(投诉|退|换|修)了|是我(自己)?(搞|弄|看|操作|设置)错了|不(用|需要)(师傅|人|工程师)?(来|过来|上门)(了)?"
     r"|\b(never ?mind|forget (it|the \w+)|cancel (the|my) (complaint"
     r"|refund|return|visit))\b", 1.2),
)
UNRESOLVED = (
    (r"还是不行|还是不|(?<![码券卡])没用(?![过了\s]*(还|过|掉))(?![过了])|(?<!就)没用了|不管用|没解决|怎么还没|还没到|一直(不|没)|仍然|没找到|找不到|不行啊"
     r"|又(变成|变回|出现|不行|失败|没了|报错|报警|坏了|断了|往上走)|又.{0,8}失败", 1.0),
    # resigned to a workaround, the need itself left open ("那行吧，我先手动交")
    (r"^\W*(那|哎|唉)?(行吧|好吧|只能这样了?|只好这样了?)(?=[，,。\s]).{0,12}(先|自己|手动)"
     r"|\b(i guess i'?ll (just )?have to|fine,? i'?ll (just )?(do|pay|use|wait))", 1.0),
    (r"still (not|doesn|does|crash|flicker|no)|doesn'?t work|didn'?t (help|work)|not acceptable"
     r"|never (got|received|arrived)|when will it be fixed|it still|can'?t find|couldn'?t find", 1.0),
)
PROBLEM = (
    (r"投诉|退款|退货|换货|维修|坏了|不制冷|漏水|被盗|扣错|碎了|态度.{0,3}差|要求赔偿", 0.4),
    (r"refund|replacement|broken|rude|complain|charged twice|hacked|defect", 0.4),
    # money gone without what it paid for: needs an investigation, rarely settled in a chat
    (r"吞卡|吞钞|没(有)?出钞|钱没(出来|吐出来)|扣(了)?(钱|款).{0,8}(没|未)(到|收到|出)|盗刷|被盗刷|被骗|诈骗|骗了"
     r"|不是(我)?本人(操作|消费)|追回", 0.8),
    (r"no (cash|money) came out|debited but|was debited|charged but (never|didn'?t|not)"
     r"|unauthori[sz]ed|fraudulent|not (me|mine)\b|didn'?t make (this|these|that|those)", 0.8),
)
STRONG_PROMISE = 1.0   # follow-up cues at least this heavy decide on their own


@dataclass(frozen=True)
class Decision:
    needs_ticket: bool
    confidence: float
    reason: str
    score: float


_NEGATIONS = (r"不需要|不用|无需|没必要|不必|(?:就)?不(?:再)?(?:给您|为您|帮您)?安排|no need to"
              r"|don'?t need to|not necessary to|no need for")
_NEGATED = re.compile(rf"(?:{_NEGATIONS})\W{{0,2}}\w{{0,6}}\W?$", re.IGNORECASE)
# A problem the customer only imagines ("万一以后坏了", "what if it breaks", "害我以为坏了")
# is not one.
_UNASSERTED = re.compile(rf"(?:{_NEGATIONS}|万一|如果|要是|假如|假设|以为|怕|担心|\bif|in case|should it|\bnothing"
                         r"|\bthought|\bafraid|\bworried)"
                         r"(?:\W{0,2}[\w']{0,8}){0,2}\W{0,2}$", re.IGNORECASE)
_NO_HAZARD = re.compile(r"(?:没有|没|无|不是|\bno|\bnot|\bwithout)\W{0,2}\w{0,2}\W?$", re.IGNORECASE)
# "text me when it's back", "等修好了再说": a fix only hoped for.
_HYPOTHETICAL = re.compile(r"(?:\bwhen|\bonce|\buntil|\btill|\bif|as soon as|等到?|如果|要是)\W{0,2}[\w']{0,8}"
                           r"\W{0,2}$|(?:不需要|不用|无需|no need to|don'?t need to)\W{0,2}\w{0,6}\W?$",
                           re.IGNORECASE)
STRONG_SETTLED = 1.2   # a resolved cue at least this heavy, late, outweighs earlier trouble
# An offer made on a condition ("如果还是不行，我可以给您提交工单", "if it still fails I can
# book an engineer") is not yet a promise: it counts half, below a strong promise.
_CONDITIONAL = re.compile(r"(?:如果|要是|假如|万一|若是?|\bif\b|\bin case\b|\bshould it\b)"
                          r"[^。！？.!?]{0,40}$", re.IGNORECASE)
CONDITIONAL_WEIGHT = 0.5
# An offer put as a question ("还需要给您安排师傅上门检查一下吗", "would you like me to book an
# engineer?") is not yet a promise either; the customer's "不用了" / "no thanks" declines it.
_OFFER_BEFORE = re.compile(r"(?:需要|要不要|要我|是否|用不用|\bwant\b|would you like|shall i|should i"
                           r"|do you need|can i)[^。！？.!?]{0,40}$", re.IGNORECASE)
_QUESTION_AFTER = re.compile(r"[^。！？.!?]{0,30}?(?:吗|么|[?？])")
_DECLINES = re.compile(r"\W*(?:[^\W\d]{1,4}[啊呀吧]?\s+)?(?:(?:哦|嗯|啊|那)\W*)?(?:不用|不需要|不要了|没必要|算了|no\b|nah\b"
                       r"|that'?s (?:ok|okay|fine)|i'?m (?:good|fine|ok))", re.IGNORECASE)


def _question_offer(text: str, start: int, end: int) -> bool:
    """An offer the customer may turn down: put as a question, or as "我可以给您…" / "I can …"."""
    before = text[max(0, start - 48):start]
    return bool(_OFFER_BEFORE.search(before) and _QUESTION_AFTER.match(text, end)) \
        or bool(_CAN_OFFER.search(before)) or bool(_CAN_IN_SENTENCE.search(_sentence_before(text, start)))


# "I can open a technical case so our engineers check … and call you back": the whole
# sentence is the offer.
_CAN_IN_SENTENCE = re.compile(r"(?:我|我们|这边)(?:也)?可以(?:给|帮|为)(?:您|你)|\b(?:i|we) can (?:open|raise|log|"
                              r"arrange|book|send|ask|have|get|create|submit)\b", re.IGNORECASE)


_SENTENCE_END = re.compile(r"[。！？!?；;]|\.(?!\d)")


_SHOWS_BY_ITSELF = re.compile(r"(\b(?:(?:app|system|page|status|balance|it|they) will (?:show|update|appear|reflect"
                              r"|refresh)|please|you (?:can|need to|should|must|have to))\b[^.!?;]{0,60}?)\bwithin\b",
                              re.IGNORECASE)   # ... nor the customer's ("please confirm it within 48 hours")


def _sentence_before(text: str, start: int) -> str:
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    return text[ends[-1] if ends else 0:start]


_CAN_OFFER = re.compile(r"(?:我|我们|这边)(?:也)?可以(?:给|帮|为)?(?:您|你)?$|\b(?:i|we) can (?:\w+ ){0,2}$",
                        re.IGNORECASE)


def _best(patterns, text: str, skip: re.Pattern | None = _NEGATED,
          soft: re.Pattern | None = None) -> tuple[float, str]:
    """The heaviest cue in `text`, skipping negated ones ("不需要提交工单", "no need to
    open a ticket"); those after `soft` count CONDITIONAL_WEIGHT of theirs."""
    best, hit = 0.0, ""
    for rx, weight in patterns:
        for m in re.finditer(rx, text, re.IGNORECASE):
            if skip and skip.search(text[max(0, m.start() - 16):m.start()]):
                continue
            soft_hit = bool(soft and (soft.search(text[max(0, m.start() - 48):m.start()])
                                      or _question_offer(text, m.start(), m.end())))
            w = weight * (CONDITIONAL_WEIGHT if soft_hit else 1.0)
            if w > best:
                best, hit = w, m.group(0)
            if not soft_hit:
                break
    return best, hit


@dataclass
class _Tally:
    """The heaviest cue of each kind so far, and where the customer last spoke of the problem."""
    follow: tuple = (0.0, "")
    resolved: tuple = (0.0, "")
    unresolved: tuple = (0.0, "")
    problem: tuple = (0.0, "")
    hazard: tuple = (0.0, "")
    settled_at: tuple = (-1, -1)   # (turn, offset) of the last strong late "it is solved"
    understood_at: tuple = (-1, -1)   # ... of a weaker one late ("明白了", "那我再等两天")
    trouble_at: tuple = (-1, -1)   # (turn, offset) of the last problem or "still not working"
    done_at: int = -1              # the last agent turn that reports a change done in place
    found_at: tuple = (-1, -1)     # ... of a strong "solved" before the last two turns ("找到了")

    offered: bool = False   # the agent's last turn offered later work as a question

    def customer(self, i: int, text: str, late: bool) -> None:
        if self.offered and _DECLINES.match(text):
            self.follow = (0.0, "")
        self.offered = False
        text = self._dropped(text)
        r = max(_best(RESOLVED, text, _HYPOTHETICAL), self._drop)
        self.resolved = max(self.resolved, (r[0] * (1.0 if late else 0.6), r[1]))
        at = (i, text.rfind(r[1]) if r[1] in text else len(text))
        if late and r[0] >= STRONG_SETTLED:
            self.settled_at = at
        elif r[0] >= STRONG_SETTLED:
            self.found_at = at
        elif late and r[0]:
            self.understood_at = at
        self.hazard = max(self.hazard, _best(HAZARD, text, _NO_HAZARD))
        for name, patterns in (("unresolved", UNRESOLVED), ("problem", PROBLEM)):
            cue = _best(patterns, text, _UNASSERTED)
            setattr(self, name, max(getattr(self, name), cue))
            if cue[0]:
                self.trouble_at = max(self.trouble_at, (i, text.rfind(cue[1])))

    _drop: tuple = (0.0, "")

    def _dropped(self, text: str) -> str:
        """Note and mask what the customer takes back ("投诉就算了", "不用师傅来了"); a visit
        they decline is no longer promised."""
        self._drop = _best(DROPPED, text, None)
        if not self._drop[0]:
            return text
        if re.search(r"师傅|上门|人|工程师|维修|报修|visit|自己|myself", self._drop[1], re.IGNORECASE):
            self.follow = (0.0, "")
        for rx, _ in DROPPED:
            text = re.sub(rx, lambda m: " " * len(m.group(0)), text, flags=re.IGNORECASE)
        return text

    def agent(self, i: int, text: str) -> None:
        taken_back = _best(WITHDRAWN, text, None)
        if taken_back[0]:
            self.follow = (0.0, "")   # the offers before it no longer stand
            self.resolved = max(self.resolved, (taken_back[0] * 0.8, taken_back[1]))
            for rx, _ in WITHDRAWN:
                text = re.sub(rx, lambda m: " " * len(m.group(0)), text, flags=re.IGNORECASE)
        text = _SHOWS_BY_ITSELF.sub(r"\1in", text)   # "the app will show it within minutes": no one's work
        f = _best(FOLLOW_UP, text, soft=_CONDITIONAL)
        if taken_back[0] and re.match(r"linked", f[1], re.IGNORECASE):
            f = (0.0, "")   # "linked to the outage, so no need for a separate report"
        at = text.find(f[1]) if f[0] else -1
        self.offered = at >= 0 and _question_offer(text, at, at + len(f[1]))
        if self.offered and self.follow[0] < f[0] * 2:
            self.follow = (0.0, "")   # put as a question: the earlier offer awaits the answer
        self.follow = max(self.follow, f)
        if not f[0]:
            d = _best(DONE_IN_PLACE, text)
            self.resolved = max(self.resolved, (d[0] * 0.8, d[1]))
            self.done_at = i if d[0] else self.done_at

    def settled_in_place(self, last_customer: int) -> bool:
        """The agent fixed it after the customer's last trouble, with no promise of later
        work, and the customer spoke again without new trouble ("怎么还没到" … "已为您备注
        放在驿站" … "好的谢谢")."""
        return (not self.follow[0] and self.trouble_at[0] < self.done_at < last_customer)


def _last_two_blocks(turns: list[Turn], customer: list[int]) -> int:
    """Where the customer's last two turns start, a turn being all they wrote between two
    agent messages (chat customers send several short messages in a row)."""
    starts = [i for i in customer if i == 0 or turns[i - 1].speaker != "customer"]
    return starts[-2] if len(starts) > 1 else 0


def decide(turns: list[Turn]) -> Decision:
    """Rules only. `reason` names the strongest cue, e.g. "follow_up: 提交维修工单"."""
    turns = [t for t in turns if t.speaker != "system" and t.text.strip()]
    tally = _Tally()
    customer = [i for i, t in enumerate(turns) if t.speaker == "customer"]
    late_from = _last_two_blocks(turns, customer)
    for i, t in enumerate(turns):
        if t.speaker == "customer":
            tally.customer(i, t.text, late=i >= late_from)
        else:
            tally.agent(i, t.text)
    follow, resolved = tally.follow, tally.resolved
    unresolved, problem = tally.unresolved, tally.problem
    if tally.settled_at > tally.trouble_at or (customer and tally.settled_in_place(customer[-1])) \
            or (not follow[0] and max(tally.understood_at, tally.found_at) > tally.trouble_at):
        # The customer's last word on it is that it is solved ("坏了" … "好了，没事了").
        unresolved, problem = (0.0, ""), (0.0, "")
    unresolved = max(unresolved, tally.hazard)   # danger is never settled in the chat
    score = follow[0] + unresolved[0] + problem[0] - resolved[0]
    if follow[0] >= STRONG_PROMISE:
        # A promise of later work is work, even when the customer also said thanks or
        # that another question was settled ("好的解决了。另外热水器…" / "that's all").
        score = max(score, follow[0] - resolved[0] / 2)
    if turns and turns[-1].speaker == "customer" and _open_question(turns[-1].text) and not follow[0]:
        score += 0.5   # the customer's last word is a question nobody answered
    return _decision(score, follow, resolved, unresolved, problem)


def _open_question(text: str) -> bool:
    return bool(re.search(r"[?？]\s*$|什么时候|怎么办|when will", text, re.IGNORECASE))


def _decision(score, follow, resolved, unresolved, problem) -> Decision:
    named = {"follow_up": follow, "customer_confirmed": resolved, "unresolved": unresolved,
             "problem_reported": problem}
    if score > 0:
        kind = max(("follow_up", "unresolved", "problem_reported"), key=lambda k: named[k][0])
    else:
        kind = "customer_confirmed" if resolved[0] else "no_follow_up_cue"
    hit = named.get(kind, (0, ""))[1]
    confidence = min(0.5 + abs(score) / 2.4, 0.99)
    if not any(v[0] for v in named.values()):
        confidence = 0.5
    return Decision(score > 0, round(confidence, 3),
                    f"{kind}: {hit}" if hit else kind, round(score, 3))
