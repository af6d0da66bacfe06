"""The customer's phone numbers in a normalised chat or call transcript (pure; no I/O).
See docs/decisions/0015. `conversation_extract` normalises the text and masks e-mails and
order numbers first; this module owns what is left:

- digit chunks (groups joined by single spaces or dashes, as ASR and people write them)
  are classified: Chinese mobile (1[3-9] + 9 digits, optional +86/0086), landline with
  area code ("0xx-xxxxxxxx"), international with "+" or "00" (E.164 "+447700900123"),
  and, where the conversation names the country (`region_of`), UK domestic (07700 900123)
  and North-American ((212) 555-0198) numbers. A chunk that is none of them as a whole is
  tried group by group (an extension after a landline, two numbers in a row).
- numbers after account/verification/PIN/amount/hotline/store words are not phones, nor
  the wrong half of "不是…"/"… not …";
- who said it counts (`customer_phones`): a number the agent or bot says is the customer's
  only when the agent puts it to the customer as theirs (a read-back, "您登记的手机号…")
  and the customer's next turn confirms it ("对", "yes"); a store's landline is not,
  nor a number the customer gives as the store's or staff's ("门店留的电话 …",
  "the technician's number is …") unless they call it theirs ("我的", "my");
  a customer turn that corrects itself ("不对，是…", "sorry, it's …") replaces the
  customer's previous number of the same kind.

Normal forms: mobile "13812345678", landline "021-64883210", international "+447700900123".
"""
from __future__ import annotations

import re
from functools import lru_cache

_MOBILE = re.compile(r"1[3-9]\d{9}")
MAX_DIGITS = 17   # "00" and the 15 digits E.164 allows
_UK = re.compile(r"0(?:[1237]\d{9}|1\d{8})")   # 01/02/03 geographic and 07 mobile, no 08/09
_UK_MOBILE = re.compile(r"07[1-9]\d{8}")
_UK_EN = re.compile(r"07[1-9]\d{8}|01[1-9]\d{8}|03\d{9}")   # the UK shapes no Chinese number has
_SG = re.compile(r"[3689]\d{7}")
_HK = re.compile(r"[235-9]\d{7}")
_AU_MOBILE = re.compile(r"04\d{8}")   # no Chinese number has this shape either
_AU_LANDLINE = re.compile(r"0[2378]\d{8}")   # only where Australia is named: 02… is Chinese too
_IN_MOBILE = re.compile(r"[6-9]\d{9}")
_TW_MOBILE = re.compile(r"09\d{8}")   # nor this one (an 09xx area code takes 7-8 more digits)
# NXX-NXX-XXXX without toll-free and reserved N00 area codes (company lines, not a caller's)
_NANP = re.compile(r"(?!8(?:00|33|44|55|66|77|88))(?![2-9]00)[2-9]\d{2}[2-9]\d{6}")
_NANP_LAYOUT = re.compile(r"(?:1[ -]?)?(?:\(\d{3}\) ?|\d{3}[ -])\d{3}[ -]\d{4}")

# --- the conversation's country ----------------------------------------------------------------

_REGION_CUES = (
    ("gb", re.compile(r"\b(?:uk|u\.k\.|united kingdom|great britain|britain|british|england"
                      r"|scotland|wales|northern ireland|london|manchester|birmingham|glasgow"
                      r"|edinburgh|leeds|liverpool|bristol|cardiff|belfast|postcode)\b|\.co\.uk\b"
                      r"|£|(?:\+|\b00) ?44\b|英国|伦敦", re.IGNORECASE)),
    ("nanp", re.compile(r"\b(?:usa|u\.s\.a?\.|united states|american?(?! express)|canada|canadian"
                        r"|new york|nyc|new jersey|california|texas|florida|chicago|boston"
                        r"|seattle|los angeles|san francisco|toronto|vancouver|montreal"
                        r"|zip ?code)\b|\+ ?1[ (-]*\d{3}|美国|加拿大|纽约|\.ca\b", re.IGNORECASE)),
    ("sg", re.compile(r"\b(?:singapore|s'pore|nric|hdb|orchard road|jurong|tampines|novena"
                      r"|woodlands|bedok|ang mo kio|toa payoh|yishun|sengkang|punggol|hougang"
                      r"|clementi|pasir ris|bishan|serangoon)\b|(?:\+|\b00) ?65\b|新加坡|\.sg\b", re.IGNORECASE)),
    ("hk", re.compile(r"\b(?:hong kong|hkid|kowloon|mong kok|tsim sha tsui|causeway bay)\b"
                      r"|\bHK(?:D|\$)?\b|\b\d{1,2}/F\b"   # "18/F": Hong Kong's floor notation
                      r"|(?:\+|\b00) ?852\b|香港|\.hk\b", re.IGNORECASE)),
    ("au", re.compile(r"\b(?:australia|australian|sydney|melbourne|brisbane|perth|adelaide"
                      r"|canberra|hobart|g'day|bigpond)\b|(?:\+|\b00) ?61\b|澳大利亚|澳洲|\.au\b",
                      re.IGNORECASE)),
    ("in", re.compile(r"\b(?:india|indian|rupees?|upi|neft|imps|ifsc|aadhaar|mumbai|delhi"
                      r"|bengaluru|bangalore|chennai|hyderabad|kolkata|pune|lakh|crore)\b|₹|\bRs\.?\s?\d"
                      r"|(?:\+|\b00) ?91\b|印度", re.IGNORECASE)),
    ("my", re.compile(r"\b(?:malaysia|malaysian|kuala lumpur|penang|johor|selangor|petaling jaya"
                      r"|ipoh|melaka|sabah|sarawak|ringgit|myr)\b|(?-i:\bRM\b)|(?:\+|\b00) ?60\b"
                      r"|马来西亚|吉隆坡|\.my\b", re.IGNORECASE)),
    # Singlish and Manglish particles: Singapore or Malaysia, whose number shapes differ
    ("my+sg", re.compile(r"\b(?:lah|leh|lor|aiyo+|aiyah|walao|can or not|got or not)\b",
                         re.IGNORECASE)),
    ("ph", re.compile(r"\b(?:philippines|filipino|pilipinas|manila|cebu|davao|quezon|makati"
                      r"|taguig|pasig|pesos?|gcash)\b|₱|\bphp ?\d|(?:\+|\b00) ?63\b|菲律宾|\.ph\b",
                      re.IGNORECASE)),
    ("th", re.compile(r"\b(?:thailand|thai|bangkok|chiang mai|phuket|pattaya|baht)\b|฿"
                      r"|(?:\+|\b00) ?66\b|泰国|曼谷|\.th\b", re.IGNORECASE)),
    ("ae", re.compile(r"\b(?:uae|u\.a\.e\.?|emirates|dubai|abu dhabi|sharjah|ajman|dirhams?|aed)\b"
                      r"|(?:\+|\b00) ?971\b|阿联酋|迪拜|\.ae\b", re.IGNORECASE)),
    ("de", re.compile(r"\b(?:germany|german|deutschland|berlin|munich|münchen|hamburg|frankfurt"
                      r"|stuttgart|cologne|köln|düsseldorf|gmbh)\b|(?:\.|\bdot )de\b"
                      r"|(?:\+|\b00) ?49\b|德国", re.IGNORECASE)),
    ("ng", re.compile(r"\b(?:nigeria|nigerian|lagos|abuja|ikeja|lekki|port harcourt|naira)\b|₦"
                      r"|(?:\+|\b00) ?234\b|尼日利亚", re.IGNORECASE)),
    ("za", re.compile(r"\b(?:south africa|south african|johannesburg|joburg|cape town|durban"
                      r"|pretoria|sandton|rand|zar)\b|(?:\+|\b00) ?27\b|南非|\.za\b", re.IGNORECASE)),
    ("nz", re.compile(r"\b(?:new zealand|aotearoa|auckland|wellington|christchurch|kia ora)\b"
                      r"|(?:\+|\b00) ?64\b|新西兰|\.nz\b", re.IGNORECASE)),
    ("kr", re.compile(r"\b(?:korea|korean|seoul|busan|incheon)\b|(?:\+|\b00) ?82\b|韩国|首尔|\.kr\b",
                      re.IGNORECASE)),
    ("br", re.compile(r"\b(?:brazil|brasil|brazilian|são paulo|sao paulo|rio de janeiro|belo horizonte"
                      r"|reais)\b|R\$|(?:\+|\b00) ?55\b|巴西", re.IGNORECASE)),
    ("cn", re.compile(r"\b(?:china|chinese mainland|shanghai|beijing|shenzhen|guangzhou"
                      r"|hangzhou)\b|(?:\+|\b00) ?86\b|中国|大陆", re.IGNORECASE)),
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def region_of(customer_text: str, other_text: str = "") -> str:
    """Which domestic numbers the conversation allows: "gb" or "nanp" when the customer
    (else the agent) names one country; "en" for an English conversation with no country
    named (UK 07 mobiles and North-American layout only); "" otherwise (Chinese only)."""
    for text in (customer_text, other_text):
        named = named_regions(text)
        if named:   # several countries: "sg+au"; a number that fits several takes the first
            return "" if "cn" in named else "+".join(named)
    said = customer_text or other_text
    return "en" if said.strip() and not _CJK.search(said) else ""


def named_regions(text: str) -> list[str]:
    """The countries `text` names, in the order it first names them."""
    at: dict[str, int] = {}
    for names, rx in _REGION_CUES:
        m = rx.search(text)
        for name in names.split("+") if m else ():
            at[name] = min(at.get(name, m.start()), m.start())
    return sorted(at, key=lambda n: at[n])


# --- one number --------------------------------------------------------------------------------

@lru_cache(maxsize=4096)   # pure; a long ASR run tries the same digit strings many times
def classify_phone(digits: str, plus: bool, region: str = "") -> str:
    """The normal form of a phone number written as `digits`, or "" when it is not one."""
    if len(digits) < 7:
        return ""   # no number of any country is shorter
    if not plus and digits.startswith("00") and len(digits) > 10:
        digits, plus = digits[2:], True
    if plus or (digits.startswith("86") and len(digits) == 13):
        return _international(digits, plus)
    if _MOBILE.fullmatch(digits):
        return digits
    domestic = _domestic(digits, region)
    if domestic:
        return domestic
    if digits.startswith("0") and not digits.startswith("00"):
        return _landline(digits)
    return ""


def _international(digits: str, plus: bool) -> str:
    if digits.startswith("86"):
        rest = digits[2:]
        if _MOBILE.fullmatch(rest):
            return rest
        if 9 <= len(rest) <= 11 and rest[0] != "0":
            return _landline("0" + rest)
        return ""
    return "+" + digits if plus and 8 <= len(digits) <= 15 else ""


def _domestic(digits: str, region: str) -> str:
    """The number in the first named country it fits (see _domestic_in)."""
    return next((v for v in (_domestic_in(digits, r) for r in region.split("+")) if v), "")


def _domestic_in(digits: str, region: str) -> str:
    """UK, North-American and Singapore numbers written without the country code. An
    English conversation naming no country reads the shapes no Chinese number has: UK 07
    mobiles, 01x/03 numbers (no Chinese area code starts 011-019 or 03 with 11 digits) and
    ten digits starting 2-9 (a North-American number)."""
    uk = _UK if region == "gb" else _UK_EN if region == "en" else None
    if uk and uk.fullmatch(digits):
        return "+44" + digits[1:]
    if region in ("nanp", "en") and len(digits) in (10, 11) and digits[-11:-10] in ("", "1") \
            and _NANP.fullmatch(digits[-10:]) and (region == "nanp" or len(digits) == 10):
        return "+1" + digits[-10:]
    if region == "sg" and _SG.fullmatch(digits):
        return "+65" + digits
    if region == "hk" and _HK.fullmatch(digits):
        return "+852" + digits
    if region in ("au", "en") and _AU_MOBILE.fullmatch(digits):
        return "+61" + digits[1:]
    if region == "au" and _AU_LANDLINE.fullmatch(digits):
        return "+61" + digits[1:]
    if region == "in" and _IN_MOBILE.fullmatch(digits[-10:]) and digits[:-10] in ("", "0", "91"):
        return "+91" + digits[-10:]
    if region in ("", "en") and _TW_MOBILE.fullmatch(digits):
        return "+886" + digits[1:]
    if region == "br" and re.fullmatch(r"[1-9][1-9](?:9\d{8}|[2-5]\d{7})", digits):
        return "+55" + digits   # (11) 98472-3051: area code and number, no trunk 0
    shape = _TRUNK_ZERO.get(region)
    if shape and shape[1].fullmatch(digits):
        return shape[0] + digits[1:]
    return ""


# Countries whose domestic numbers are a trunk 0 and a national number: (code, shape)
_TRUNK_ZERO = {
    "my": ("+60", re.compile(r"01\d{8,9}|0[3-9]\d{7,8}")),
    "ph": ("+63", re.compile(r"09\d{9}|02\d{8}")),
    "th": ("+66", re.compile(r"0[689]\d{8}|02\d{7}")),
    "ae": ("+971", re.compile(r"05[024568]\d{7}|0[2-79]\d{7}")),
    "de": ("+49", re.compile(r"01[5-7]\d{8,9}|0[2-9]\d{7,10}")),
    "ng": ("+234", re.compile(r"0[789][01]\d{8}")),
    "kr": ("+82", re.compile(r"01[016789]\d{7,8}")),
    "za": ("+27", re.compile(r"0[1-8]\d{8}")),
    "nz": ("+64", re.compile(r"02\d{7,9}|0[3-79]\d{7}")),
}


def _landline(digits: str) -> str:
    """'0xx-xxxxxxxx': Beijing 010 and 02x have three-digit area codes, the rest four
    (03xx-09xx); no other area code starts 01."""
    if len(digits) < 10 or (digits[1] == "1" and digits[2] != "0"):
        return ""   # too short for area code + local number ("0 2" in ASR text)
    area = 3 if digits[1] in "12" else 4
    local = digits[area:]
    if len(local) in (7, 8) and local[0] not in "01":
        return f"{digits[:area]}-{local}"
    return ""


# --- numbers in one message --------------------------------------------------------------------

# Not inside a decimal or thousands part ("1,249.50"); a comma after words or before other
# digits is a clause break ("打我电话吧，189 …" normalised to ","), ("86-159-0011-2233，12号以后", the full-width comma normalised).
_CHUNK = re.compile(r"(?<![A-Za-z0-9.$¥€£#-])(?<!\d,)(?P<plus>\+ ?)?\(?\d+\)?(?:[ -]\(?\d+\)?)*"
                    r"(?![A-Za-z0-9]|\.\d|,\d{3}(?!\d))")
_NOT_PHONE_BEFORE = re.compile(
    r"(?:账号|帐号|账户|工号|验证码|密码|编号|金额|价格|花了|退款|积分|热线|客服电话|拨打|分机|转"
    r"|投诉电话|举报电话|服务电话|咨询电话|公示的?电话|卡号|致电|请拨|打(?:来|过来)的(?:号码?|电话)?"
    r"|店内电话|店铺电话|商家电话|help ?line|emergency (?:number|line)"
    r"|assistance (?:number|line)|(?:number|line) on (?:my|the|your) (?:card|policy)"
    r"|called (?:me|us) from|calling (?:me |us )?from"
    r"|(?:门店|(?<!打)(?<!打到)店里|专卖店|(?:你们|贵)(?:公司|店))的?(?:电话|号码|座机)?"
    r"|account(?: number)?|acct|\bpin|code|ticket|\bext\.?|extension|hotline|call us(?: at)?"
    r"|\breference(?: number)?|\bref\b|(?<!in )\bcase(?: number)?|tracking|\$|¥|rmb|身份证号?码?|证件号码?"
    r"|\btransaction(?: id| number| no\.?| ref)?|\btxn(?: id)?|\butr|流水号|交易号"
    r"|\b(?:your|the) (?:store|shop|branch|showroom)(?:'s)?(?: (?:number|phone))?)"
    r"\W{0,3}(?:is|是|为|it's|at|on)?\W{0,3}(?:(?:那个|嗯|呃|uh|um)\W{0,2})?(?:[A-Za-z]{1,4}\s?)?$",
    re.IGNORECASE)
# The wrong number in "不是 138…，是 139…" / "07700 900123 not 07700 900132".
_DENIED_BEFORE = re.compile(r"(?:不是|\bnot|instead of|rather than)\W{0,2}$", re.IGNORECASE)


# A number the customer gives as someone else's: the store's, the engineer's, the company's
# ("门店那个小伙子留了个电话 021…", "the shop gave me their number …", "你们客服邮箱 …"),
# unless they say it is theirs ("打我电话", "my number").
_OWNER = (r"门店|店里|店员|专卖店|商家|卖家|师傅|快递员|快递小哥|小伙子?|你们|贵公司|骑手|配送员|送餐员|司机"
          r"|\b(?:the|your|their) (?:\w+ )?(?:store|shop|seller|branch|technician|engineer|courier|driver"
          r"|installer|agent|support|company|manager|landlord|contractor|rider|clinic|hotel|hospital"
          r"|desk|reception|neighbou?r|tenant|doctor|surveyor|adjuster|garage|mechanic|office)\b"
          r"|\bthey (?:gave|sent|left)\b"
          r"|\b(?:store|shop|company)'s|\b(?:their|his|her)\b"
          r"|\bmy (?:husband|wife|son|daughter|mum|mom|dad|father|mother|friend|colleague"
          r"|boss|manager|landlord|neighbou?r|partner|(?:\w+ )?(?:guy|agent|broker|lawyer|accountant"
          r"|assistant|secretary|driver|helper))'?s?\b")
# Other people the customer names ("他们项目经理电话 …", "我老公的手机 …"): only when the
# phone word follows closely, so "他们让我留个电话" still gives the customer's own.
_PERSON = (r"(?<!其)他们?|她们?|对方|经理|负责人|物业|房东|中介|邻居|朋友|同事|老公|老婆|爱人|丈夫|门卫|保安|前台|老人"
           r"|妻子|儿子|女儿|父亲|母亲|我爸|我妈|业主|楼上|楼下|隔壁|骗子")
# A turn that introduces someone else's number ("他那个电话是 010 嗯 我写在纸上了 010 …"):
# what follows is theirs until the customer marks their own ("我的", "my").
_PERSON_NUMBER = re.compile(rf"(?:{_PERSON})的?(?:(?![我让叫给留要打]).){{0,6}}?"
                            r"(?:电话|号码|手机|号)(?:号码?)?(?:是|:|\s|我有)")
_OWN = re.compile(r"我的|我家|本人|我(?:这个)?(?:手机|电话|号)|打我|\bmy\b|\bmine\b", re.IGNORECASE)
_PHONE_WORD = r"(?:电话|号码|座机|手机|邮箱|number|phone|line|e-?mail|address)"
_THIRD_PARTY = re.compile(
    rf"(?:(?:{_OWNER})(?:(?!我的|我自己|本人|我(?:家|手机|电话|号码|邮箱)|您|\bmy\b|\byour\b|\bmine\b).){{0,16}}?"
    rf"|(?:{_PERSON})的?(?:(?![我让叫给留要打]).){{0,6}}?){_PHONE_WORD}\W{{0,3}}(?:\w{{0,5}}\W{{0,2}})?$"
    rf"|(?:{_OWNER})\s+(?:is\s+)?(?:on|at)\W{{0,2}}$|(?:{_PERSON})的\W{{0,2}}$"
    rf"|(?:{_OWNER})\s+is\W{{0,3}}$"
    r"|(?:师傅|快递员|快递小哥|骑手|配送员|司机|技师|工程师)\W{0,2}$"   # "王师傅 137 5810 2246"
    r"|\bthey (?:gave|sent|left) (?:me|us) (?:a|the|their) (?:number|phone)[^.;]{0,30}$",
    re.IGNORECASE)
# "联系人 孙经理 座机 029-…": the person named is the contact for the case, as the customer
# gives them (a manager, a spouse at the address).
_CONTACT = re.compile(rf"联系人|contact (?:person|name)|(?:打|联系|通知|找)(?:给)?(?:{_PERSON})"
                      r"|\b(?:call|reach|contact|ring|try|text) (?:my|our) (?:wife|husband|son|daughter"
                      r"|mum|mom|dad|father|mother|sister|brother|partner|colleague)\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[。！？!?；;\n]|[.,，](?!\d)")


def _sentence(text: str, start: int, width: int) -> str:
    before = text[max(0, start - width):start]
    ends = [m.end() for m in _SENTENCE_END.finditer(before)]
    return before[ends[-1] if ends else 0:]


_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?!\d)")


def third_party_before(text: str, start: int) -> bool:
    """Whether the clause before `start` gives what follows as someone else's."""
    before = text[max(0, start - 60):start].rstrip(" ,:")   # "their phone, 139…": one clause
    ends = [m.end() for m in _CLAUSE_END.finditer(before)]
    clause = before[ends[-1] if ends else 0:]
    if _THIRD_PARTY.search(clause) and not _CONTACT.search(_sentence(text, start, 100)):
        return True
    intro = [m.end() for m in _PERSON_NUMBER.finditer(text, 0, start)]
    return bool(intro) and not _OWN.search(text, intro[-1], start) \
        and not _CONTACT.search(_sentence(text, start, 100))   # "你们打他电话 136…": the contact


def phones_in(text: str, region: str = "") -> list[str]:
    """Phone numbers in one normalised message, in order."""
    return [value for value, _ in _numbers_at(text, region)]


def _numbers_at(text: str, region: str) -> list[tuple[str, re.Match]]:
    """(number, the chunk it is in) for each phone number in one message."""
    text = _DOTTED.sub(lambda m: re.sub(r"[./]", " ", m.group(0)), text)   # same length
    found = []
    for m in _CHUNK.finditer(text):
        before = text[max(0, m.start() - 24):m.start()]
        if _NOT_PHONE_BEFORE.search(before) or third_party_before(text, m.start()) \
                or _SPELLED_BEFORE.search(before) or _INVOICE_LINE.search(_line_before(text, m)) \
                or _OLD_BEFORE.search(before) or _OLD_AFTER.match(text, m.end()):
            continue
        if _id_card(m.group(0), text[m.end():m.end() + 2]):
            continue
        numbers = _classify_chunk(m.group(0), bool(m.group("plus")), _region_at(text, m.start(),
                                                                                region))
        if _DENIED_BEFORE.search(before):   # "不是138 139 5566 7788": only the first is wrong
            numbers = [(at, v) for at, v in numbers if at > 0]
        found += [(v, m) for _, v in numbers]
    return found


# A number the customer no longer has ("that's my old one 07911 123456, don't have it
# anymore", "以前的号 139… 停机了").
_OLD_BEFORE = re.compile(r"(?:\bold (?:one|number|mobile|phone|cell|line)|旧(?:号|手机|电话)"
                         r"|以前的(?:号码?|手机|电话)|原来的(?:号码?|手机)|原来留的是?(?:家里)?(?:座机|电话|手机)?)\W{0,3}(?:is|was|是)?\W{0,3}$",
                         re.IGNORECASE)
_OLD_AFTER = re.compile(r"[^.;!?。；！？,，\d]{0,12}?(?:don'?t have it|no longer (?:have|use|in use)"
                        r"|not in use|(?:已经)?停(?:机|用)?了|不用了|(?:那个|这个)?是我?以前的(?:号码?|手机|电话))"
                        r"|[^.;!?。；！？\d]{0,24}?\b(?:please )?(?:do not|don'?t) call (?:it|this|that)\b"
                        r"|[^。！？\d]{0,3}?(?:别打|不要打)|\s?(?:这个|那个)(?:号码?)?(?:别打|不要打)",
                        re.IGNORECASE)
# Letters spelled one by one right before the digits: a reference ("K E X 30291774 M Y").
_SPELLED_BEFORE = re.compile(r"(?:(?<![A-Za-z])[A-Za-z] ){2,}$")
# A company's invoice details ("地址电话：上海市…1588号 021-5831…", "开户行及账号"): the
# number printed on invoices, not a contact for the case.
_INVOICE_LINE = re.compile(r"^\W*(?:地址(?:、|及|和)?电话|开票(?:地址|电话)|注册(?:地址|电话)|开户行)")


def _line_before(text: str, m: re.Match) -> str:
    return text[text.rfind("\n", 0, m.start()) + 1:m.start()]


# A number typed with dots between its groups ("138.2614.9057", "512.381.0764").
_DOTTED = re.compile(r"(?<![\d./])\d{3}([./])\d{3,4}\1\d{4}(?![\d./])")


def _region_at(text: str, start: int, region: str) -> str:
    """A country named just before the number ("my singapore number 8812 3056", "英国的
    手机 07700 …") decides it; otherwise the conversation's."""
    before = text[max(0, start - 40):start]
    ends = [m.end() for m in _CLAUSE_END.finditer(before)]
    named = named_regions(before[ends[-1] if ends else 0:])
    return "+".join(named) if named and "cn" not in named else region


def _id_card(chunk: str, after: str) -> bool:
    """A mainland ID number read out in groups ("310115 1988 0322 441 X"): 18 characters,
    the last a digit or X; its middle would otherwise read as a phone."""
    digits = sum(c.isdigit() for c in chunk)
    return digits == 18 or (digits == 17 and bool(re.match(r"\s?[Xx](?![A-Za-z0-9])", after)))


_CARD_LAYOUT = re.compile(r"\d{4}(?:[ -]\d{4}){3}(?:[ -]\d{1,4})?")   # 6217 0023 1048 5527 916


def _classify_chunk(chunk: str, plus: bool, region: str) -> list[tuple[int, str]]:
    """(group index, number) for the numbers in one chunk (none in a card number)."""
    if not plus and _CARD_LAYOUT.fullmatch(chunk):
        return []
    if region == "en" and re.fullmatch(r"0\d{3}[ -]\d{7,8}", chunk):
        region = ""   # "0771 2345678" is laid out as a Chinese area code and local number
    if ({"en", "in"} & set(region.split("+")) and not plus
            and re.fullmatch(r"(?:0|91[ -]?)?[6-9]\d{4}[ -]\d{5}", chunk)):
        return [(0, "+91" + re.sub(r"\D", "", chunk)[-10:])]   # "98450 61372": India's layout
    if {"en", "nanp"} & set(region.split("+")) and _NANP_LAYOUT.fullmatch(chunk.lstrip("+ ")) \
            and (not plus or chunk.lstrip("+ ").startswith("1")):   # "+354 862 4417" is Iceland
        # (415) 555-0132 / 1-415-555-0132: North-American or nothing (1-800 is a company's)
        value = _domestic(re.sub(r"\D", "", chunk), "nanp")
        return [(0, value)] if value else []
    whole = classify_phone(re.sub(r"\D", "", chunk), plus, region)
    if whole:
        return [(0, whole)]
    groups = [re.sub(r"\D", "", g) for g in re.split(r"[ -]", chunk.lstrip("+ ")) if g]
    out, i = [], 0
    while i < len(groups):   # longest run of groups from i that is a phone
        for j in range(_run_end(groups, i), i, -1):
            value = classify_phone("".join(groups[i:j]), plus and i == 0, region)
            if value:
                out.append((i, value))
                i = j
                break
        else:
            i += 1
    return out


def _run_end(groups: list[str], i: int) -> int:
    """Where a run of groups from i passes MAX_DIGITS (no number is longer): the search
    stays linear in a long chunk ("1 2 1 2 …" in ASR text)."""
    j, digits = i, 0
    while j < len(groups) and digits + len(groups[j]) <= MAX_DIGITS:
        digits += len(groups[j])
        j += 1
    return max(j, i + 1)


# --- who said it -------------------------------------------------------------------------------

# The agent reads a number back or asks whether it is the customer's ("13955667788 对吗",
# "您登记的手机号是…", "that's 07911 123456", "is 0161 496 0321 still your number?"), as
# opposed to giving out a number of their own (a store, a hotline).
_CHECK_BEFORE = re.compile(
    r"(?:(?:您|你)的?(?:手机|电话|号码|联系方式)|联系人是(?:您|你)|登记的|记录的|预?留的|核对|确认一下"
    r"|\byour (?:\w+ )?(?:number|mobile|cell|phone)|\bthat'?s|\bis (?:that|it|this)(?: still)?"
    r"|\bto confirm|\b(?:reach|call|text) you(?: back)?(?: on| at)?(?: still)?"
    r"|\bread (?:that|it|this|them) back|\blet me repeat|\brepeating"
    r"|\bi(?: have|'ve got) you(?: down)? (?:as|on|at)"
    r"|\b(?:i|we) (?:have|'ve got)(?: on (?:file|record))?(?=\W{0,2}$)"
    r"|\bbest (?:number|contact)\b|\bthe number we have(?: on file)?(?: for you)? is\b|\b(?:check|confirm|verify) (?:the|your) (?:number|mobile|phone)\b(?: we have)?(?: for you)?)"
    r"\D{0,12}$", re.IGNORECASE)
_CHECK_AFTER = re.compile(r"\W{0,3}(?:对吗|对吧|是吧|对不对|是吗|吗|没错吧|[?？]|right\b|correct\b"
                          r"|is (?:that|this|it) still"
                          r"|is (?:that|this|it) (?:right|correct|yours?)|(?:still )?yours?\b)"
                          r"|[，,]?[ \w]{0,24}(?:吗|吧|[?？])"   # in the same question ("…的用户吗")
                          r"|\s?(?:是这个|是这个号码?|这个号码?)\s?(?:对吧|对吗|是吧|没错吧)",
                          re.IGNORECASE)

# The customer confirms what the agent just said ("对对", "yes", "that's right"); "好的"/"ok"
# only acknowledge (a store's number, opening hours) and confirm nothing.
_AFFIRMED = re.compile(r"\W*(?:嗯\W*)?(?:对(?![不于])|是的|是啊|啱|系(?:啊|呀|嘅|呢个)|(?:是|可以)(?=\W*$)|没错|正确|yes|yeah"
                       r"|yep|yup|correct"
                       r"|right|that'?s (?:right|correct|it|me)|exactly|uh-huh)", re.IGNORECASE)
# The customer corrects a number they gave ("不对，是139…", "sorry, it's …", "… not …").
_CORRECTS = re.compile(
    r"不对|哦不(?=[\s,，])|唔系|唔啱|我报错了?|(?:少|多|漏)(?:打|输|写|报)了?(?:一位|一个|几位)?|(?:说|打|写|记|输|念)错(?!了?(?:密码|验证码|\d+次|好几次|太多次|多次))|号码?错了|更正|纠正|应该是|重新报"
    r"|不是\S{0,8}是"
    r"|\bsorry\W{0,3}(?:it'?s|that'?s|i meant?|should be|make that|\+?\d)|\bi meant?\b"
    r"|\bcorrection\b|\bmy (?:mistake|bad)\b|\btypo\b|\bwrong (?:number|one|digit)"
    r"|\bmake that\b|\bscratch that\b|\boops\b|\bwhoops\b|\bsorry\W*$|\bno\W{0,2}sorry\b|\bsorry\W{0,2}no\b"
    r"|\bactually\W{0,3}(?:it'?s|that'?s|my number|no\b|\+?\d)|\bnot\W{0,2}\+?\d"
    r"|\bthat won'?t work\b|\bshould be\b|重新说|我再说一遍|let me say (?:it )?again", re.IGNORECASE)


def corrects(text: str) -> bool:
    """The customer's turn corrects something they said before."""
    return bool(_CORRECTS.search(text))


def affirms(text: str) -> bool:
    """The customer's turn confirms what the agent just put to them."""
    return bool(_AFFIRMED.match(text))


def _kind(phone: str) -> str:
    return "mobile" if _MOBILE.fullmatch(phone) else "landline" if "-" in phone else "international"


def _read_back(text: str, region: str) -> list[str]:
    """The numbers an agent's message puts to the customer as theirs: asked about, or
    echoed alone (an ASR agent repeating the digits back, "好的 13320179586")."""
    found = _numbers_at(text, region)
    echo = len(re.sub(r"[\d\s+()\-.,，。]|好的?|嗯|ok(?:ay)?|thanks?|thank you|sorry|so", "", text,
                      flags=re.IGNORECASE)) <= 2
    return [v for v, m in found
            if echo or _CHECK_BEFORE.search(text[max(0, m.start() - 40):m.start()])
            or _CHECK_AFTER.match(text, m.end())]


def _uncorrected(text: str, region: str) -> list[str]:
    """The numbers in one customer turn, less one taken back later in the same turn
    ("158 1234 0987 哦不对 说错了 是158 1234 0978", "07700 900111 sorry I mean …"); all
    before a retraction ("… actually no that won't work, use my chinese number …")."""
    found = _numbers_at(text, region)
    quote = _QUOTES.search(text)
    if quote:   # the quoted sentence, up to its end ("it says 415-555-0191. should be …")
        found = [(v, m) for v, m in found
                 if m.start() < quote.start() or _OWN.search(text, quote.end(), m.start())
                 or _SENTENCE_END.search(text, quote.end(), m.start())]
    cue = _CORRECTS.search(text)
    if not cue:
        return [v for v, _ in found]
    if _RETRACTS_ALL.match(text, cue.start()):
        return [v for v, m in found if m.start() >= cue.start()]
    later = {_kind(v) for v, m in found if m.start() >= cue.start()}
    return [v for v, m in found if m.start() >= cue.start() or _kind(v) not in later]


_RETRACTS_ALL = re.compile(r"actually\W{0,3}no\b|that won'?t work|(?:我)?重新说|我再说一遍"
                           r"|let me say (?:it )?again", re.IGNORECASE)
# The customer reads out a text or a mail ("短信说 … 联系人王经理 170…", "it says …"): the
# numbers in it are not theirs unless they say so.
_QUOTES = re.compile(r"(?:短信|信息|消息|邮件)(?:上|里)?(?:说|写着?|内容是?)|它说|上面写着?|\bit says\b"
                     r"|\bthe (?:text|sms|message|e-?mail) says\b", re.IGNORECASE)
# "yes this one I don't use anymore, remove it": a yes that gives the number up.
_DISOWNS = re.compile(r"don'?t use (?:it|this|that)? ?any ?more|no longer|not (?:mine|my number)"
                      r"|\bold (?:one|number)|remove it|delete it|不用了|停机了|不是我的|旧号|换号了",
                      re.IGNORECASE)


def _near(a: str, b: str) -> bool:
    """The same number but for a few digits (the agent read back the corrected one)."""
    return a != b and len(a) == len(b) and _kind(a) == _kind(b) \
        and sum(x != y for x, y in zip(a, b)) <= 4


def _completed(text: str, region: str, loose: str) -> list[str]:
    """Numbers the agent writes out from what the customer just said without its area or
    trunk code ("二四 八三九二 零六五七" → "零二四 八三九二零六五七", "6501 2388" → "010
    6501 2388"): the customer's own digits, so theirs without a "yes"."""
    if len(loose) < 7:
        return []
    out = []
    for value, _ in _numbers_at(text, region):
        digits = re.sub(r"\D", "", value)
        extra = digits[:-len(loose)] if digits.endswith(loose) else ""
        if extra.startswith("0") and len(extra) <= 4:
            out.append(value)
    return out


# The agent asks for a number that is another person's line, not the customer's contact.
_ASKS_OTHERS_NUMBER = re.compile(r"副卡(?:的)?(?:号码|手机号|号)|对方的?(?:号码|电话|手机)|被叫号码"
                                 r"|身份证号码?|证件号码?|\bID (?:card )?number|passport (?:number|no)"
                                 r"|\blost (?:phone|mobile)|丢(?:失)?的(?:手机|号码)|挂失的?号码"
                                 r"|\b(?:the other (?:person'?s )?|secondary (?:line|card|sim) )number",
                                 re.IGNORECASE)


def _asks_others_number(text: str) -> bool:
    """The agent asks (not just mentions) for a number that is not the customer's contact
    ("副卡号码是多少？", "需要两位的身份证号"), and not for their phone in the same breath."""
    for m in _ASKS_OTHERS_NUMBER.finditer(text):
        sentence = _sentence(text, m.start(), 30) + text[m.start():m.end() + 12]
        if _REQUEST.search(sentence) and not _ASKS_PHONE.search(text):
            return True
    return False


_REQUEST = re.compile(r"需要|请(?:提供|报|告诉)|提供一下|报一下|多少|是什么|[?？]|\bplease\b|\bcan i (?:have|get)\b"
                      r"|\bwhat(?:'s| is)\b",
                      re.IGNORECASE)
_ASKS_PHONE = re.compile(r"手机号?|电话号码|联系电话|联系方式|\b(?:phone|mobile|cell|contact) number\b",
                         re.IGNORECASE)


def customer_phones(turns: list[tuple[str, str]], region: str = "") -> list[str]:
    """The customer's numbers in (speaker, normalised text) turns, in order (may repeat)."""
    kept: list[str] = []
    given: list[str] = []     # the customer's numbers in their latest turn that gave any
    pending: list[str] = []   # new numbers the agent or bot said, waiting for a "yes"
    loose = ""   # the digits of the customer's last turn, when they made no number
    fixing = False   # that turn corrected a number without saying it whole ("sorry, 8423 at the end")
    others = False   # the agent asked for another line's number ("副卡号码是多少")
    for speaker, text in turns:
        if speaker != "customer":
            others = _asks_others_number(text)
            kept += [p for p in _completed(text, region, loose) if p not in kept]
            if fixing:   # "So 18651098423.": the agent applied the correction
                for p in (v for v, _ in _numbers_at(text, region)):
                    if any(_near(k, p) for k in kept):
                        kept = [k for k in kept if not _near(k, p)] + [p]
            pending = [p for p in _read_back(text, region) if p not in kept]
            continue
        heard = [] if others else _uncorrected(text, region)
        loose = "" if heard else re.sub(r"\D", "", text)
        fixing = not heard and bool(kept) and bool(_CORRECTS.search(text))
        if pending and affirms(text) and not _DISOWNS.search(text):
            kept = [p for p in kept if not any(_near(p, q) for q in pending)] + pending
        pending = []
        if heard and _CORRECTS.search(text):
            kinds = {_kind(p) for p in heard}
            kept = [p for p in kept if p not in given or _kind(p) not in kinds]
        given = heard or given
        kept += heard
    return kept
