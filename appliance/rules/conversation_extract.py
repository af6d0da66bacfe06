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

from appliance.rules.order_numbers import (ASKS_BOOKING, ASKS_ORDER, ASKS_OTHER, KEYWORD_ORDER,
                                           ORDER_PATTERNS, compile_order_patterns, later_orders,
                                           order_key, orders_in, read_back_orders)
from appliance.rules.phone_numbers import (affirms, classify_phone, corrects, customer_phones,
                                           region_of, third_party_before)
from appliance.rules.spoken_digits import normalise

__all__ = ["ORDER_PATTERNS", "Identifiers", "Turn", "classify_phone", "compile_order_patterns",
           "extract_identifiers", "normalise", "order_key"]

# --- e-mail -------------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+"
                    r"(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

# An address the agent says is the customer's only when put to them as theirs ("您的邮箱是…
# 对吗", "is your email …?") and confirmed; otherwise it is the company's own
# (service@…, billing@…) or one already given.
_EMAIL_CHECK_BEFORE = re.compile(r"(?:您|你)的?(?:邮箱|电子邮件|邮件地址)|\byour (?:e-?mail|address)"
                                 r"|\b(?:e-?mail|send|sent|mail)\b[^.?!]{0,30}\bto"
                                 r"|\bthat'?s|\bis that|\bto confirm|\bi have you"
                                 r"|\b(?:correct(?:ed)?|update[sd]?|change[sd]?) (?:it|that)(?: to)?", re.IGNORECASE)
# "send them to my email kelly.wong@…": the agent's own address.
_AGENTS_OWN = re.compile(r"(?:\b(?:my|our) (?:e-?mail|address|inbox)(?: address)?(?: is)?|(?:我|我们)的邮箱(?:是)?)"
                         r"\W{0,3}$", re.IGNORECASE)
_EMAIL_CHECK_AFTER = re.compile(r"\W{0,3}(?:还是?)?(?:对吗|对吧|是吗|吗|[?？]|[^.!。！\n]{0,40}[?？]"
                                r"|(?:still )?(?:right|correct"
                                r"|yours?)\b)", re.IGNORECASE)


def _emails_in(speaker: str, text: str) -> list[str]:
    """The customer's addresses in one message (the agent's: those read back to them)."""
    out = []
    for m in _EMAIL.finditer(text):
        if speaker == "customer":
            keep = not third_party_before(text, m.start())
        else:
            before = text[max(0, m.start() - 40):m.start()]
            keep = bool(_EMAIL_CHECK_BEFORE.search(before) or _EMAIL_CHECK_AFTER.match(text, m.end())) \
                and not _AGENTS_OWN.search(before)
        alone = speaker == "customer" and len(text.strip(" .,;:!?，。")) == len(m.group(0))
        if keep and (alone or not _SERVICE_ADDRESS.match(m.group(0))) and not _ROBOT.match(m.group(0)) \
                and not _SENT_BY_AFTER.match(text, m.end()):
            out.append(m.group(0).lower())
    return out


# An organisation's role or robot address is never the customer's own ("noreply@…",
# "support@…"), nor one the customer names as the sender of a mail ("是 x@y 发的吗").
_SERVICE_ADDRESS = re.compile(r"(?:no-?reply|do-?not-?reply|donotreply|support|service|help"
                              r"|helpdesk|billing|notifications?|mailer-daemon|postmaster|info"
                              r"|customerservice|kefu)@", re.IGNORECASE)
# ... though a role address the customer gives as the whole answer is theirs ("billing@
# their-company.example"), a robot's never is.
_ROBOT = re.compile(r"(?:no-?reply|do-?not-?reply|donotreply|mailer-daemon|postmaster)@", re.IGNORECASE)
_SENT_BY_AFTER = re.compile(r"\s*(?:发的|发来的|发过来的|寄来的)")
# The agent asks for someone else's account ("被锁的员工账号是？", "the employee's email?"):
# the address in the answer is theirs, not the customer's.
_ASKS_SOMEONE_ELSES = re.compile(
    r"(?:员工|同事|家人|孩子|子女|对方|成员|下属|学生)的?(?:账号|帐号|邮箱|电子邮件)"
    r"|\b(?:employee|colleague|staff member|member|user|student|child)'?s? (?:account|e-?mail|address)",
    re.IGNORECASE)


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


_READ_BACK_END = re.compile(r"(?:对吗|对吧|是吗|吗|[?？]|\bright|\bcorrect|\bis that (?:right|correct))"
                            r"\W*$", re.IGNORECASE)


# The agent tells the customer where to find it or what it looks like ("是HT开头的"): the
# question still stands.
_SHAPE_HINT = re.compile(r"开头的|\bstarts? with\b|\bbegins? with\b", re.IGNORECASE)


def _order_read_back(text: str) -> list[str]:
    """Order numbers an agent reads back after asking for one ("S O 228471", "订单号
    38520071664923 对吗"): kept when the customer's next turn confirms them."""
    values = read_back_orders(text)
    rest = re.sub(r"[\d\s,.，。-]|(?-i:[A-Z])", "", text)
    return values if values and (len(rest) <= 12 or _READ_BACK_END.search(text)) else []


_ENDS_IN_DIGITS = re.compile(r"\d(?:\s+(?:uh|um|er|嗯|呃|那个))?\W*$", re.IGNORECASE)
_STARTS_WITH_DIGITS = re.compile(r"^\W*(?:(?:uh|um|er|嗯|呃|那个)\s+)?\d[\d\s-]*\W*$", re.IGNORECASE)


def _joined(turns: list[Turn]) -> list[Turn]:
    """A number the customer gives over two messages or an ASR pause ("oh seven nine one
    one uh" / "one two three four five six") is one: such turns are joined."""
    out: list[Turn] = []
    for t in turns:
        if out and t.speaker == out[-1].speaker == "customer" \
                and _ENDS_IN_DIGITS.search(out[-1].text) and _STARTS_WITH_DIGITS.match(t.text):
            head = re.sub(r"\s+(?:uh|um|er|嗯|呃|那个)\W*$", "", out[-1].text, flags=re.IGNORECASE)
            tail = re.sub(r"^\W*(?:(?:uh|um|er|嗯|呃|那个)\s+)?", "", t.text, flags=re.IGNORECASE)
            out[-1] = Turn("customer", f"{head.rstrip()} {tail}")
        else:
            out.append(t)
    return out


def _completed(orders: list[str], confirmed: list[str], fixed: bool = False) -> list[str]:
    """A read-back the customer confirms replaces a start of it they gave ("…1234 呃 后面还
    有 5 6" read back whole): the shorter one was the number cut off. After a correction
    ("…0422 一三 哦不对 最后是 三一 …"), it replaces the near and partial ones too."""
    keys = [order_key(c) for c in confirmed]
    return [o for o in orders if not any(k != order_key(o) and (k.startswith(order_key(o)) or (
        fixed and (_edits(k, order_key(o)) <= 2 or _shared_run(k, order_key(o)) >= 6))
        or (len(k) != len(order_key(o)) and _shared_run(k, order_key(o)) >= 8))
        for k in keys)]   # ... and a stammered one ("310 呃 310 77…"): another length, long runs shared


def _applied(orders: list[str], said: list[str]) -> list[str]:
    """The agent's version of an order the customer has just corrected replaces it."""
    for value in said:
        near = [o for o in orders if 0 < _edits(order_key(o), order_key(value)) <= 2]
        if near:
            orders = [o for o in orders if o not in near] + [value]
    return orders


def _shared_run(a: str, b: str) -> int:
    """The longest run of characters two references share ("…042213" + "最后是 31 042231"
    against the confirmed "LC20260319042231": the pieces it replaces)."""
    best = 0
    for i in range(len(b)):
        for j in range(i + best + 1, len(b) + 1):
            if b[i:j] not in a:
                break
            best = j - i
    return best


def _restarted(found: list[str], text: str) -> list[str]:
    """In one turn, a reference begun, then a pause or a correction, then the whole one
    ("E917305 呃 等一下 我看清楚 E917306284"): the earlier is dropped."""
    if len(found) < 2 or not (corrects(text) or _PAUSES.search(text)):
        return found
    keys = [order_key(o) for o in found]
    return [o for i, o in enumerate(found)
            if not any(_edits(keys[i], later[:len(keys[i])]) <= 2 and len(later) > len(keys[i])
                       for later in keys[i + 1:])]


_PAUSES = re.compile(r"等一下|等等|我看(一下|清楚)|看清楚|\bwait\b|\bhold on\b|\blet me check\b",
                     re.IGNORECASE)


# A customer turn that only takes back what they just typed ("wait", "等等", "不对").
_RETRACTS = re.compile(r"\W*(?:wait|hold on|oops|sorry|no wait|等等|等一下|不对|错了|打错了)\W*$",
                       re.IGNORECASE)


def _unprefixed_dropped(orders: list[str]) -> list[str]:
    """"WB20240357" and "20240357" (its letters said apart, "WB 二零二四…"): one order."""
    keys = [order_key(o) for o in orders]
    return [o for o, k in zip(orders, keys)
            if not any(other != k and other.endswith(k) and other[:-len(k)].isalpha()
                       for other in keys)]


def extract_identifiers(turns: list[Turn], extra_order_patterns: tuple[str, ...] = ()
                        ) -> Identifiers:
    """Identifiers the customer gave (phones: or confirmed when the agent said them).
    System messages are skipped; agents' own numbers are kept out (phone_numbers)."""
    patterns = compile_order_patterns(extra_order_patterns)
    turns = _joined([Turn(t.speaker, normalise(t.text)) for t in turns if t.speaker != "system"])
    region = region_of(" ".join(t.text for t in turns if t.speaker == "customer"),
                       " ".join(t.text for t in turns if t.speaker != "customer"))
    emails, orders, addresses, said, pending = [], [], [], [], []
    asked: bool | str = False
    asked_other, order_pending, someone_elses, retracted, fixed = False, [], False, False, False
    for turn in turns:
        text = turn.text
        found = _emails_in(turn.speaker, text)
        if turn.speaker == "customer" and someone_elses:
            found = []
        someone_elses = turn.speaker != "customer" and bool(_ASKS_SOMEONE_ELSES.search(text))
        if turn.speaker == "customer":
            if len(found) > 1 and corrects(text):
                found = found[-1:]   # "r dot jones at gmail dot com no sorry … at fastmail dot com"
            emails = _corrected_emails(emails, found, corrects(text))
            emails += (pending if affirms(text) else []) + found
        pending = [] if turn.speaker == "customer" else found
        text = _EMAIL.sub(lambda m: " " * len(m.group(0)), text)
        mine = turn.speaker == "customer"
        unmasked = text   # read-backs are read before their orders are masked
        o, text = orders_in(text, patterns, asked if mine else False, asked_other and mine
                            and not KEYWORD_ORDER.search(text), customer=mine)
        if mine and not o:
            o, text = later_orders(text, orders)
        o = _restarted(o, turn.text) if mine else o
        if mine and order_pending and affirms(turn.text):
            o += [p for p in order_pending   # pieces of an order already given ("JY2024", "118306")
                  if not any(order_key(p) != order_key(q) and order_key(p) in order_key(q) for q in orders)]
            orders = _completed(orders, order_pending, fixed)
        if mine and o and orders and (corrects(turn.text) or retracted):
            orders = [p for p in orders if not any(_edits(order_key(p), order_key(n)) <= 2
                                                   for n in o)]   # "SL-…406" "wait" "SL-…460 sorry"
        orders += o
        if mine:   # "wait" / "不对" alone: the customer's next order replaces a near one
            retracted = bool(_RETRACTS.match(turn.text))
            fixed = bool(orders) and (corrects(turn.text) or bool(_PAUSES.search(turn.text)))
        elif fixed:   # "不对 最后四位是七三五五" → "好的 P2100…7355 查到了": the agent applied it
            orders = _applied(orders, read_back_orders(unmasked))
        said.append((turn.speaker, text))
        addresses += _addresses_in(text)
        if not mine:
            order_pending = _order_read_back(unmasked) if asked else []
            asked = ("booking" if ASKS_BOOKING.search(text) else True) \
                if ASKS_ORDER.search(text) else asked if order_pending or _SHAPE_HINT.search(text) else False
            other = [m.start() for m in ASKS_OTHER.finditer(text)]
            if asked and other and other[-1] > max((m.start() for m in ASKS_ORDER.finditer(text)),
                                                   default=len(text)):
                asked = False   # "合约编号HY-…有效。麻烦提供一下手机的IMEI": the question is the last
            asked_other = not asked and bool(other)
        else:
            order_pending = []
    return Identifiers(_unique(customer_phones(said, region)), _unique(emails),
                       _unique(_unprefixed_dropped(orders), order_key), _unique(addresses))
