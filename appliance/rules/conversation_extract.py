"""Customer identifiers in chat and call transcripts: phone numbers, e-mail addresses,
order numbers and postal addresses (pure; no I/O). See docs/decisions/0015.

Deterministic on purpose: the small local models copy digits unreliably, and a wrong
phone number attached to a ticket is worse than none. The text is first normalised
(full-width forms, digits spoken as Chinese or English words in ASR text, "加八六" /
"plus" before a number), then

- e-mail addresses are taken and masked (their digits are not numbers): the customer's,
  not one they name as the company's, and an agent's only when read back and confirmed
  (the company's own service@/billing@ addresses are not the customer's);
- order numbers are matched by a table of patterns (`ORDER_PATTERNS`, extended by the
  setting `intake_order_patterns`), by an order keyword before the number, or as the
  customer's reply to an agent asking for the order number ("yeah it's 2026 1119 00789");
  tracking numbers, dates and amounts have their own shapes and keywords and are left alone;
- what is left goes to `phone_numbers`: digit chunks classified as phones, with the
  conversation's country for numbers written without a country code, and only the
  numbers the customer gave or confirmed, a corrected one replacing the earlier.

Normal forms: mobile "13812345678", landline "021-64883210", international
"+447700900123", e-mail lower case, order numbers upper case without spaces.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.rules.phone_numbers import (affirms, classify_phone, corrects, customer_phones,
                                           region_of, third_party_before)
from appliance.rules.pii import FULLWIDTH_TO_ASCII

__all__ = ["Identifiers", "Turn", "classify_phone", "extract_identifiers", "normalise"]

# --- normalising spoken and full-width digits ------------------------------------------------

_ZH_DIGITS = {"零": "0", "〇": "0", "幺": "1", "一": "1", "二": "2", "两": "2", "三": "3",
              "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_ZH_RUN = re.compile("[零〇幺一二两三四五六七八九](?:[ ,，、-]?[零〇幺一二两三四五六七八九])+")
_EN_WORDS = {"zero": "0", "oh": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
             "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
             "hundred": "00"}
# "oh" and "nought" are zeros in British phone numbers ("oh seven seven double oh …");
# "hundred" only inside a run ("nine hundred one two three").
_EN_DIGIT = r"(?:zero|oh|nought|one|two|three|four|five|six|seven|eight|nine)"
_EN_ITEM = rf"(?:(?:double|triple)[ -]{_EN_DIGIT}|{_EN_DIGIT}|hundred)"
_EN_RUN = re.compile(rf"\b(?:(?:double|triple)[ -])?{_EN_DIGIT}(?:[ ,-]+{_EN_ITEM})+\b",
                     re.IGNORECASE)
MIN_SPOKEN_DIGITS = 4   # "三四个", "one or two" stay words; codes and numbers convert...


def _spoken_digits_kept(m: re.Match, digits: str) -> bool:
    """...and so does a shorter run right next to written digits: ASR writes some groups of
    one number as digits and others as words ("139 幺二三 4567", "07700 nine two three 45")."""
    if len(digits) >= MIN_SPOKEN_DIGITS:
        return True
    before, after = m.string[max(0, m.start() - 2):m.start()], m.string[m.end():m.end() + 2]
    return bool(re.search(r"\d[ -]?$", before) or re.match(r"[ -]?\d", after))


def _zh_run(m: re.Match) -> str:
    digits = [_ZH_DIGITS[c] if c in _ZH_DIGITS else " " for c in m.group(0)]
    if not _spoken_digits_kept(m, "".join(d for d in digits if d != " ")):
        return m.group(0)
    return "".join(d for i, d in enumerate(digits) if d != " " or digits[i - 1] != " ")


def _en_run(m: re.Match) -> str:
    out = []
    for word in re.split(r"[ ,-]+", m.group(0).lower()):
        if word in ("double", "triple"):
            out.append(word)
        elif out and out[-1] in ("double", "triple"):
            out[-1] = _EN_WORDS[word] * (2 if out[-1] == "double" else 3)
        else:
            out.append(_EN_WORDS[word])
    digits = "".join(out)
    return digits if _spoken_digits_kept(m, digits) else m.group(0)


# "peter dot wong at gmail dot com" (chat and ASR) -> peter.wong@gmail.com
_SPOKEN_EMAIL = re.compile(
    r"\b([a-z0-9_]+(?: (?:dot|underscore) [a-z0-9_]+)*) at ([a-z0-9-]+(?: dot [a-z0-9-]+)*"
    r" dot (?:com|net|org|cn|edu|gov|io|co|uk|de|jp|hk|tw))\b", re.IGNORECASE)


def _spoken_email(m: re.Match) -> str:
    def join(part: str) -> str:
        return re.sub(r" dot ", ".", re.sub(r" underscore ", "_", part, flags=re.I), flags=re.I)
    return f"{join(m.group(1))}@{join(m.group(2))}"


def normalise(text: str) -> str:
    """Full-width forms to ASCII, spoken digit runs to digits, "加86"/"plus 44" to "+",
    spelled-out e-mail addresses to addresses."""
    text = (text or "").translate(FULLWIDTH_TO_ASCII)
    text = _SPOKEN_EMAIL.sub(_spoken_email, text)
    text = _ZH_RUN.sub(_zh_run, text)
    text = _EN_RUN.sub(_en_run, text)
    text = re.sub(r"加\s?(?=86)", "+", text)
    return re.sub(r"\bplus\s+(?=\d)", "+", text, flags=re.IGNORECASE)


# --- e-mail -------------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+"
                    r"(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

# An address the agent says is the customer's only when put to them as theirs ("您的邮箱是…
# 对吗", "is your email …?") and confirmed; otherwise it is the company's own
# (service@…, billing@…) or one already given.
_EMAIL_CHECK_BEFORE = re.compile(r"(?:您|你)的?(?:邮箱|电子邮件|邮件地址)|\byour (?:e-?mail|address)"
                                 r"|\bthat'?s|\bis that|\bto confirm|\bi have you", re.IGNORECASE)
_EMAIL_CHECK_AFTER = re.compile(r"\W{0,3}(?:还是?)?(?:对吗|对吧|是吗|吗|[?？]|(?:still )?(?:right|correct"
                                r"|yours?)\b)", re.IGNORECASE)


def _emails_in(speaker: str, text: str) -> list[str]:
    """The customer's addresses in one message (the agent's: those read back to them)."""
    out = []
    for m in _EMAIL.finditer(text):
        if speaker == "customer":
            keep = not third_party_before(text, m.start())
        else:
            keep = bool(_EMAIL_CHECK_BEFORE.search(text[max(0, m.start() - 24):m.start()])
                        or _EMAIL_CHECK_AFTER.match(text, m.end()))
        if keep:
            out.append(m.group(0).lower())
    return out


def _corrected_emails(kept: list[str], new: list[str], correction: bool) -> list[str]:
    """The addresses kept so far, less those a new one corrects: all of them after a
    correction cue ("sorry typo, …", "写错了，是 …"), else a near spelling of a new one
    (one or two letters off: the earlier was a typo)."""
    if not new:
        return kept
    if correction:
        return []
    return [e for e in kept
            if not any(e != n and _edits(e, n) <= 2 for n in new)]


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (short strings only: e-mail addresses)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


# --- order numbers ------------------------------------------------------------------------------

# (name, regex) matched against normalised text. The built-in shapes: "DD2026112600123"
# (also spoken "D D 2026 1120 7788"), "SO-2026-88123", "ORD-55012877", "A12-345678".
ORDER_PATTERNS: tuple[tuple[str, str], ...] = (
    ("prefixed", r"(?<![A-Za-z0-9])(?:[Dd] ?[Dd]|SO|PO|ORD|Ord|ord)[-_ ]?\d+(?:[- ]\d+)*"
                 r"(?![A-Za-z0-9])"),
    ("letter-dash", r"(?<![A-Za-z0-9-])[A-Z]{1,3}\d{1,4}-\d{5,10}(?![A-Za-z0-9-])"),
)
_ORDER_WORD = (r"(?:订单编号|订单号码|订单号|订单|(?<![快运物流递])单号"
               r"|\border\s*(?:number|num|no\.?|id|#)?)")
_ORDER_VALUE = r"(?:[A-Za-z](?: ?[A-Za-z]){0,3}[-_ ]?)?\d+(?:[- ]\d+)*(?![A-Za-z0-9])"
# After an order keyword, one token of letters and digits, maybe hyphenated, in any case:
# "MD20261003B0441", "ec-55012-a", "SO-2026-88123".
_MIXED_VALUE = (r"(?=[A-Za-z0-9-]*[A-Za-z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
                r"(?![A-Za-z0-9-])")
ORDER_DIGITS = (6, 24)   # fewer: a quantity or a code; more: several numbers run together
MIXED_MIN = (4, 7)       # a token with letters: at least 4 digits, 7 letters and digits
PREFIXED_MIN = (5, 7)    # two or more letters before the digits: 5 digits, 7 in all
_KEYWORD_ORDER = re.compile(
    _ORDER_WORD + r"\s*(?:is|:|#|是|为|：)?\s*(?:#\s*)?(?P<value>" + _MIXED_VALUE + "|"
    + _ORDER_VALUE + ")", re.IGNORECASE)
_ASKS_OTHER = re.compile(r"序列号|机身号|型号|运单号|快递单号|物流单号|\bserial|\bmodel (?:number|no)"
                         r"|\bS/?N\b|tracking|waybill|\bIMEI", re.IGNORECASE)
_ASKS_ORDER = re.compile(r"订单号|订单编号|order\s*(?:number|num|no|id|#)", re.IGNORECASE)
# A reply that is only the number, after a few words of assent ("yeah it's 2026 1119 00789",
# "嗯 好的 是 DD2026…", "sure, ORD 5501 2877, thanks").
_REPLY_VALUE = re.compile(
    r"^\W*(?:(?:yeah|yes|yep|sure|ok(?:ay)?|um|uh|so|right|嗯|好的?|对|哦|啊)\W*){0,3}"
    r"(?:it'?s|it is|that'?s|here it is|是|就是)?\W*(?P<value>" + _ORDER_VALUE + r")"
    r"(?:\W*(?:thanks|thank you|谢谢)?\W*$|\s*(?:和|及|与|跟|、|,|/|&|and\b))", re.IGNORECASE)
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


# --- addresses ----------------------------------------------------------------------------------

_ZH_ADDRESS = re.compile(
    r"(?:[\u4e00-\u9fff]{2,4}(?:省|自治区))?[\u4e00-\u9fff]{2,4}市"
    r"[\u4e00-\u9fff0-9A-Za-z\- ]{2,40}?(?:号楼|号|室|栋|座|单元|楼|层|幢)"
    r"(?:[0-9A-Za-z\- \u4e00-\u9fff]{0,12}?(?:室|楼|层|单元|座|栋|幢|号)[0-9A-Za-z]*)*"
    r"(?:[ ]?[0-9]{2,4}(?![0-9]))?")
_ZH_LEAD = re.compile(r"^.*?(?:改成|改为|地址是|地址|住在|送到|寄到|发到|是|在)(?=[\u4e00-\u9fff]{2,4}(?:省|市))")
_EN_ADDRESS = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr"
    r"|Boulevard|Blvd|Way|Court|Ct|Place|Pl)\b\.?(?:,?\s+[A-Z][a-z]+){0,2}")


def _addresses_in(text: str) -> list[str]:
    out = []
    for m in _ZH_ADDRESS.finditer(text):
        value = _ZH_LEAD.sub("", m.group(0)).strip()
        if re.search(r"[区县路街道镇乡村]", value):
            out.append(value)
    out += [m.group(0).strip() for m in _EN_ADDRESS.finditer(text)]
    return out


# --- all together -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Identifiers:
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    order_numbers: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    speaker: str   # customer | agent | bot | system
    text: str


def _unique(values, key=lambda v: v) -> tuple[str, ...]:
    seen, out = set(), []
    for v in values:
        if v and key(v) not in seen:
            seen.add(key(v))
            out.append(v)
    return tuple(out)


def _order_sized(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    if re.fullmatch(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*", value) and re.search(r"\d-?[A-Za-z]", value):
        # letters after digits ("…A0917", "…-A"): a mixed token from an order keyword
        return digits >= MIXED_MIN[0] and len(re.sub(r"\W", "", value)) >= MIXED_MIN[1]
    if re.match(r"[A-Za-z](?: ?[A-Za-z])+", value):   # "SUB-…", spelled "R A 99241" in ASR
        # a letter prefix ("SUB-88213", "TB20261028-3345"): the letters make it an identifier
        return digits >= PREFIXED_MIN[0] and len(re.sub(r"\W", "", value)) >= PREFIXED_MIN[1]
    return ORDER_DIGITS[0] <= digits <= ORDER_DIGITS[1]


def _orders_in(text: str, patterns: tuple[re.Pattern, ...], asked: bool,
               asked_other: bool = False) -> tuple[list, str]:
    """Order numbers in one normalised message, and the text with them masked. A reply to
    a question for a serial or tracking number (`asked_other`) gives one only by keyword."""
    spans = []
    for rx in () if asked_other else patterns:
        spans += [(m.start(), m.end(), m.group(0)) for m in rx.finditer(text)]
    spans += [(m.start("value"), m.end("value"), m.group("value"))
              for m in _KEYWORD_ORDER.finditer(text)]
    if asked and len(text) <= REPLY_MAX_CHARS:
        m = _REPLY_VALUE.match(text)
        value = m.group("value") if m else ""
        if value and not classify_phone(re.sub(r"\D", "", value), False):
            spans.append((m.start("value"), m.end("value"), value))
    found, masked = _take_orders(text, spans)
    siblings = [(m.start("value"), m.end("value"), m.group("value"))
                for m in _SIBLING.finditer(masked) if _same_shape(m.group("value"), found)]
    more, masked = _take_orders(masked, siblings)
    return found + more, masked


_TRACKING_BEFORE = re.compile(r"(?:快递|运单|物流|取件|tracking|waybill|parcel|consignment)"
                              r"[^,.!?，。！？]{0,12}$", re.IGNORECASE)


def _later_orders(text: str, earlier: list[str]) -> tuple[list, str]:
    """A customer's later message with another order of a shape already given ("还有一单
    ps2026…" after "PS2026…"): the same letters, or for digits only the same length."""
    if not earlier:
        return [], text
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
_NOT_ORDER_BEFORE = re.compile(r"(?:\bS/?N|serial(?: (?:number|no\.?))?|model(?: (?:number|no\.?))?"
                               r"|\bIMEI|序列号|机身号|机身编码|型号|设备号|卡号|工单号|受理号)"
                               r"\W{0,3}(?:is|是|为)?\W{0,3}$", re.IGNORECASE)


def _take_orders(text: str, spans: list) -> tuple[list, str]:
    found, masked = [], text
    for start, end, value in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
        value = _trim_phone_tail(value.strip())
        if not _order_sized(value) or _NOT_ORDER_BEFORE.search(text[max(0, start - 24):start]):
            continue
        found.append(normalise_order(value))
        end = start + len(value)
        masked = masked[:start] + " " * (end - start) + masked[end:]
    return found, masked


def extract_identifiers(turns: list[Turn], extra_order_patterns: tuple[str, ...] = ()
                        ) -> Identifiers:
    """Identifiers the customer gave (phones: or confirmed when the agent said them).
    System messages are skipped; agents' own numbers are kept out (phone_numbers)."""
    patterns = compile_order_patterns(extra_order_patterns)
    turns = [Turn(t.speaker, normalise(t.text)) for t in turns if t.speaker != "system"]
    region = region_of(" ".join(t.text for t in turns if t.speaker == "customer"),
                       " ".join(t.text for t in turns if t.speaker != "customer"))
    emails, orders, addresses, said, pending = [], [], [], [], []
    asked = asked_other = False
    for turn in turns:
        text = turn.text
        found = _emails_in(turn.speaker, text)
        if turn.speaker == "customer":
            emails = _corrected_emails(emails, found, corrects(text))
            emails += (pending if affirms(text) else []) + found
        pending = [] if turn.speaker == "customer" else found
        text = _EMAIL.sub(lambda m: " " * len(m.group(0)), text)
        mine = turn.speaker == "customer"
        o, text = _orders_in(text, patterns, asked and mine, asked_other and mine
                             and not _KEYWORD_ORDER.search(text))
        if mine and not o:
            o, text = _later_orders(text, orders)
        orders += o
        said.append((turn.speaker, text))
        addresses += _addresses_in(text)
        if not mine:
            asked = bool(_ASKS_ORDER.search(text))
            asked_other = not asked and bool(_ASKS_OTHER.search(text))
    return Identifiers(_unique(customer_phones(said, region)), _unique(emails),
                       _unique(orders, order_key), _unique(addresses))
