"""Transcript text made comparable (pure): full-width forms to ASCII, digits spoken as
Chinese or English words in ASR text ("幺三八…", "one three eight…", "double five"),
letters spelled in the NATO alphabet, "加八六"/"plus" before a number, spelled-out e-mail
addresses. See docs/decisions/0015."""
from __future__ import annotations

import re

from appliance.rules.pii import FULLWIDTH_TO_ASCII


_ZH_DIGITS = {"零": "0", "〇": "0", "幺": "1", "一": "1", "二": "2", "两": "2", "三": "3",
              "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_ZH_DIGIT_CHARS = "零〇幺一二两三四五六七八九"
_ZH_RUN = re.compile("[零〇幺一二两三四五六七八九](?:[ ,，、-]?[零〇幺一二两三四五六七八九])+")
_EN_WORDS = {"zero": "0", "oh": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
             "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
             "hundred": "00", "ten": "10"}
# "oh" and "nought" are zeros in British phone numbers ("oh seven seven double oh …");
# "hundred" only inside a run ("nine hundred one two three").
_EN_DIGIT = r"(?:zero|oh|nought|one|two|three|four|five|six|seven|eight|nine)"
_EN_ITEM = rf"(?:(?:double|triple)[ -]{_EN_DIGIT}|{_EN_DIGIT}|hundred|ten)"   # "oh ten …": 010
_EN_RUN = re.compile(rf"\b(?:(?:double|triple)[ -])?{_EN_DIGIT}(?:[ ,-]+{_EN_ITEM})+\b",
                     re.IGNORECASE)
MIN_SPOKEN_DIGITS = 4   # "三四个", "one or two" stay words; codes and numbers convert...
_TEENS = ("ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7",
         "eighty": "8", "ninety": "9"}


def _spoken_digits_kept(m: re.Match, digits: str) -> bool:
    """...and so does a shorter run right next to written digits: ASR writes some groups of
    one number as digits and others as words ("139 幺二三 4567", "07700 nine two three 45")."""
    if len(digits) >= MIN_SPOKEN_DIGITS:
        return True
    before, after = m.string[max(0, m.start() - 4):m.start()], m.string[m.end():m.end() + 3]
    # ... or next to spelled capital letters of a reference ("S O two two eight", "Q U six")
    return bool(re.search(rf"[\d{_ZH_DIGIT_CHARS}] ?(?:[ -]|杠) ?$|(?:^|\s)(?-i:[A-Z])(?:[ -]| ?杠 ?)$", before)
                or re.match(rf"[ -]?\d| (?-i:[A-Z])(?:\s|$)| ?杠 ?[\d{_ZH_DIGIT_CHARS}]", after))


# One spoken digit between spelled letters of a reference ("M F 六 K 二 Q").
_ZH_SINGLE = re.compile(rf"(?<=(?-i:[A-Z0-9]) )[{_ZH_DIGIT_CHARS}](?= (?-i:[A-Z0-9])(?![a-z]))")


def _zh_run(m: re.Match) -> str:
    head, sep, tail = m.group(0).rpartition(" ")
    whole = _ZH_RUN.fullmatch(head) if sep and len(tail) <= 2 else None
    if whole and m.string[m.end():m.end() + 1] in ("点", "月", "日", "号", "时", "年"):
        # "…六九零四 一点五匹": the last group starts a decimal, not part of the number
        return _zh_run(whole) + sep + tail
    digits = [_ZH_DIGITS[c] if c in _ZH_DIGITS else " " for c in m.group(0)]
    if not _spoken_digits_kept(m, "".join(d for d in digits if d != " ")):
        return m.group(0)
    return "".join(d for i, d in enumerate(digits) if d != " " or digits[i - 1] != " ")


_ONE_AS_PRONOUN = re.compile(r"\b(?:a|an|the|this|that|my|new|old|another)\s+(?:[a-z]+\s+)?$", re.IGNORECASE)


def _en_run(m: re.Match) -> str:
    if m.group(0).lower().startswith("one ") and _ONE_AS_PRONOUN.search(m.string, 0, m.start()):
        rest = m.group(0)[4:]   # "my number is a Chinese one uh one eight six …"
        inner = _EN_RUN.match(rest)
        return m.group(0)[:4] + (_en_run(inner) + rest[inner.end():] if inner else rest)
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
    r" dot (?:com|net|org|edu|gov|io|[a-z]{2}))\b", re.IGNORECASE)


# ... and spelled letter by letter, with dashes or Chinese words between the parts
# ("w a n g j g at jinlun 杠 m f g 点 c n", "ana dot petrova at bayfield dash foods dot de").
_PART = r"(?:[a-z0-9](?: [a-z0-9]){1,40}(?: \d{2,4})?|(?:[a-z] )?[a-z0-9]+(?: \d{2,4})?)"   # bounded: "1 2 1 2 …" stays linear
_JOIN = r"(?:dot|dash|hyphen|minus|underscore|点|杠|横杠|下划线)"
_SPELLED_EMAIL = re.compile(
    rf"(?<![\w.@'’-])({_PART}(?: {_JOIN} {_PART}){{0,8}}) (?:at|艾特) ({_PART}(?: {_JOIN} {_PART}){{0,8}}"
    r" (?:dot|点) (?:com|net|org|edu|gov|io|[a-z]{2}|c o m|n e t|o r g|[a-z] [a-z]))(?![\w.@-])",
    re.IGNORECASE)
# Digits said in Chinese inside a spelled address ("l i n m e i h u a 七七 at 一六三 点 com").
_ZH_IN_EMAIL = re.compile(rf"(?:(?<=[a-z0-9] )|(?<=at )|(?<=艾特 ))[{_ZH_DIGIT_CHARS}](?: ?[{_ZH_DIGIT_CHARS}]){{1,3}}"
                          r"(?= (?:at|艾特|点|dot)\b)", re.IGNORECASE)
# ... and in English, a number said after a word of the address ("hannah dot price ninety one
# at outlook dot com"): its digits joined to that word.
_EN_IN_EMAIL = re.compile(rf"\b([a-z]+) ((?:{'|'.join(_TENS)})(?:[ -]{_EN_DIGIT})?|{'|'.join(_TEENS)}"
                          rf"|{_EN_DIGIT}(?: {_EN_DIGIT}){{0,3}})"
                          r"(?= at [a-z0-9-]+(?: dot [a-z]{2,6})+\b)", re.IGNORECASE)


# A given name said as two pinyin syllables between the parts ("wang 点 xiao yu 二零零八 艾特 …").
_PINYIN_PAIR = re.compile(r"(?<=点 )([a-z]{1,6}) ([a-z]{1,6})(?= (?:\d|艾特|点|下划线))", re.IGNORECASE)


def _en_in_email(m: re.Match) -> str:
    words = re.split(r"[ -]", m.group(2).lower())
    joiner = " " if m.group(1).lower() in ("dot", "underscore", "dash") else ""
    if words[0] in _TEENS:
        return m.group(1) + joiner + str(10 + _TEENS.index(words[0]))
    if words[0] in _TENS:
        digits = _TENS[words[0]] + (_EN_WORDS[words[1]] if len(words) > 1 else "0")
    else:
        digits = "".join(_EN_WORDS[w] for w in words)
    return m.group(1) + joiner + digits
_JOINERS = {"dot": ".", "点": ".", "dash": "-", "hyphen": "-", "minus": "-", "杠": "-", "横杠": "-",
            "underscore": "_", "下划线": "_"}


def _spelled_email(m: re.Match) -> str:
    if not re.search(r"(?:^| )[a-z0-9] [a-z0-9](?: |$)|dash|hyphen|minus|杠|点|下划线", m.group(0), re.I):
        return m.group(0)   # plain words: _SPOKEN_EMAIL's case
    def join(part: str) -> str:
        words = re.split(rf" ({_JOIN}) ", part, flags=re.I)
        return "".join(_JOINERS.get(w.lower(), w.replace(" ", "")) for w in words)
    return f"{join(m.group(1))}@{join(m.group(2))}".lower()


def _spoken_email(m: re.Match) -> str:
    def join(part: str) -> str:
        return re.sub(r" dot ", ".", re.sub(r" underscore ", "_", part, flags=re.I), flags=re.I)
    return f"{join(m.group(1))}@{join(m.group(2))}"


_NATO = {"alpha": "A", "alfa": "A", "bravo": "B", "charlie": "C", "delta": "D", "echo": "E",
         "foxtrot": "F", "golf": "G", "hotel": "H", "india": "I", "juliet": "J", "juliett": "J",
         "kilo": "K", "lima": "L", "mike": "M", "november": "N", "oscar": "O", "papa": "P",
         "quebec": "Q", "romeo": "R", "sierra": "S", "tango": "T", "uniform": "U",
         "victor": "V", "whiskey": "W", "whisky": "W", "x-ray": "X", "xray": "X",
         "yankee": "Y", "zulu": "Z"}
_NATO_WORD = "|".join(sorted(map(re.escape, _NATO), key=len, reverse=True))
_SPELLED_ITEM = rf"(?:{_NATO_WORD}|{_EN_DIGIT}|\d|(?-i:[A-Z]))"
# "X-ray Kilo seven two Bravo nine" -> "XK72B9": a run of NATO words, letters and digits
# with at least two NATO words (so that ordinary words such as "golf" or "hotel" stay).
_NATO_RUN = re.compile(rf"\b{_SPELLED_ITEM}(?:[ ,-]+{_SPELLED_ITEM}){{2,}}\b", re.IGNORECASE)
# ASR fillers inside a spoken number ("一三三 嗯 二零一七", "nine one two two uh three four"):
# dropped, so that the groups form one run.
_DIGIT_CHARS = "0-9" + _ZH_DIGIT_CHARS
_FILLER_IN_NUMBER = re.compile(
    rf"([{_DIGIT_CHARS}]|\b{_EN_DIGIT}) +(?:嗯|呃|额|啊|那个|uh|um|er|erm)[ ,，]+"
    rf"(?=[{_DIGIT_CHARS}]|{_EN_DIGIT}\b|(?-i:[A-Z])\b)", re.IGNORECASE)


# ... and between a spelled letter and "dash" or the next letter ("C R uh dash C T U")
_FILLER_IN_SPELLING = re.compile(r"(?<=\b(?-i:[A-Z])) +(?:uh|um|er|erm|呃|嗯) +(?=(?:dash|hyphen|杠)\b|(?-i:[A-Z])\b)",
                                 re.IGNORECASE)


def _nato_run(m: re.Match) -> str:
    items = re.split(r"[ ,]+|(?<=\w)-(?!ray)", m.group(0))
    if sum(i.lower() in _NATO for i in items) < 2:
        return m.group(0)
    return "".join(_NATO.get(i.lower()) or _EN_WORDS.get(i.lower()) or i.upper() for i in items)


# "Q for Quebec", "D as in David": the letter.
_LETTER_FOR = re.compile(r"\b([A-Z]) (?:for|as in) (?i:[a-z]+)\b")
# A spelled reference of single letters and digits ("Q U 6 L 9 R") joined.
_SPELLED_ITEM1 = rf"(?:(?-i:[A-Z])|\d{{1,10}}|{_EN_DIGIT})"
_SPELLED_RUN = re.compile(rf"(?<![\w-])(?:{_SPELLED_ITEM1} ){{4,19}}{_SPELLED_ITEM1}(?![\w-])",
                          re.IGNORECASE)
_ALL_ONE_WORD = re.compile(r"\bat ((?:(?!dot\b)[a-z0-9-]+ ){1,3}(?!dot\b)[a-z0-9-]+)((?: dot [a-z]{2,6}){1,2})?,?"
                           r" all one word\b",
                           re.IGNORECASE)


def _spelled_run(m: re.Match) -> str:
    items = [_EN_WORDS.get(i.lower(), i) if len(i) > 1 else i for i in m.group(0).split(" ")]
    letters, digits = sum(i.isalpha() for i in items), sum(i.isdigit() for i in items)
    return "".join(items) if letters >= 2 and digits >= 1 else m.group(0)


# A reference spoken with "杠" (or "dash") between its parts, letters spelled one by one
# ("H T 杠 二零二五 杠 S H 杠 零八七二", "S C-D E-20931"): one token, "HT-2025-SH-0872".
_SEP = r"(?:\s*(?:横杠|杠|-)\s*|\s)"
_HYPHENED_RUN = re.compile(rf"(?<![A-Za-z0-9-])(?:(?-i:[A-Z])|\d+)(?:{_SEP}(?:(?-i:[A-Z])|\d+))+"
                           r"(?![A-Za-z0-9-])")


def _hyphened_run(m: re.Match) -> str:
    run = m.group(0)
    if not re.search(r"\d", run) or not (
            "杠" in run or (re.search(r"[A-Z]", run) and "-" in run)):   # not "2026-11-18 14"
        return run
    return re.sub(r"\s*(?:横杠|杠|-)\s*", "-", run).replace(" ", "")


# A year said in pairs inside a reference ("d a dash twenty twenty five dash …"): 2025.
_YEAR = re.compile(r"\b(nineteen|twenty)[ -](" + "|".join(_TEENS + list(_TENS)) + r")(?:[ -]("
                   + _EN_DIGIT + r"))?\b", re.IGNORECASE)


def _year(m: re.Match) -> str:
    second = m.group(2).lower()
    ones = _EN_WORDS.get((m.group(3) or "").lower())
    if second in _TEENS:
        if ones:
            return m.group(0)   # "twenty fifteen three": not a year
        pair = str(10 + _TEENS.index(second))
    else:
        pair = _TENS[second] + (ones or "0")
    return ("19" if m.group(1).lower() == "nineteen" else "20") + pair


# Letters spelled in lower case by an ASR ("e w u k two five …", "d a-2025-m y s-oh one
# four"): upper case, so that they join the digits next to them like spelled capitals.
_LOWER_SEP = r"(?:[ -]| dash | ?杠 ?)"
_LOWER_SPELLED = re.compile(rf"(?<![\w'’-])[a-z](?:{_LOWER_SEP}[a-z]){{1,7}}"
                            rf"(?={_LOWER_SEP}(?:\d|{_EN_DIGIT}\b|[{_ZH_DIGIT_CHARS}]))")


def normalise(text: str) -> str:
    """Full-width forms to ASCII, spoken digit runs to digits, NATO spelling to letters,
    "dash" between letters/digits to "-", "加86"/"plus 44" to "+", spelled-out e-mail
    addresses to addresses."""
    text = (text or "").translate(FULLWIDTH_TO_ASCII)
    text = re.sub(r"(?<=[A-Za-z0-9])[‐‑‒–—](?=[A-Za-z0-9])", "-", text)   # typographic dashes
    text = re.sub(r"\bat the rate(?: of)?\b", "at", text, flags=re.IGNORECASE)   # India's "@"
    text = _ALL_ONE_WORD.sub(lambda m: "at " + m.group(1).replace(" ", "") + (m.group(2) or ""), text)
    if re.search(r"\bat\b|艾特", text, re.IGNORECASE):
        text = _ZH_IN_EMAIL.sub(lambda m: "".join(_ZH_DIGITS[c] for c in m.group(0) if c != " "), text)
        text = _EN_IN_EMAIL.sub(_en_in_email, text)
        text = _PINYIN_PAIR.sub(r"\1\2", text)
        text = _SPELLED_EMAIL.sub(_spelled_email, text)
    text = _SPOKEN_EMAIL.sub(_spoken_email, text)
    text = _LETTER_FOR.sub(r"\1", text)
    text = _FILLER_IN_NUMBER.sub(r"\1 ", text)
    text = _FILLER_IN_SPELLING.sub(" ", text)
    text = _NATO_RUN.sub(_nato_run, re.sub(r"\bx ray\b", "x-ray", text, flags=re.IGNORECASE))
    text = _YEAR.sub(_year, text)
    text = _LOWER_SPELLED.sub(lambda m: re.sub(r"\b[a-z]\b", lambda c: c.group(0).upper(),
                                                m.group(0)), text)
    text = re.sub(rf"(\b[A-Za-z0-9]|\b{_EN_DIGIT}) dash (?=[A-Za-z0-9]\b|\d|{_EN_DIGIT}\b)", r"\1-",
                  text, flags=re.IGNORECASE)
    text = _ZH_RUN.sub(_zh_run, text)
    text = _ZH_SINGLE.sub(lambda m: _ZH_DIGITS[m.group(0)], text)
    text = _EN_RUN.sub(_en_run, text)
    text = re.sub(r"(?:(?<=\b[A-Za-z0-9])|(?<=\d)) dash (?=[A-Za-z0-9])", "-", text,
                  flags=re.IGNORECASE)
    text = _SPELLED_RUN.sub(_spelled_run, text)
    text = _HYPHENED_RUN.sub(_hyphened_run, text)
    text = re.sub(r"加\s?(?=86)", "+", text)
    return re.sub(r"\bplus\s+(?=\d)", "+", text, flags=re.IGNORECASE)
