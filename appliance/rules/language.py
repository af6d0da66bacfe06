"""Which language a ticket is written in, from the scripts it uses (pure, no model).

`detect_language(text)` returns "zh", "en", or "" when there is nothing to go on
(empty, only digits/emoji/punctuation, or another script). A Chinese character and a
Latin word each count as one unit: "我的VPN连不上" (5 characters, 1 word) is Chinese,
"Hi 你好, my invoice is wrong" (2 characters, 5 words) is English. Mixed text goes to
the language with more units, ties to Chinese (the desk's first language).
`script_profile(text)` gives the counts and whether the text is mixed, for callers
that want to show or act on "mixed".
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# CJK ideographs (incl. extension A and compatibility forms; traditional counts as zh).
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f\uff21-\uff3a\uff41-\uff5a]{2,}")
MIXED_SHARE = 0.2  # the minority script has at least this share of units: "mixed"
_SCAN = 20_000     # a huge paste is judged by its beginning


@dataclass(frozen=True)
class ScriptProfile:
    cjk_chars: int
    latin_words: int

    @property
    def units(self) -> int:
        return self.cjk_chars + self.latin_words

    @property
    def zh_share(self) -> float:
        return self.cjk_chars / self.units if self.units else 0.0

    @property
    def mixed(self) -> bool:
        return self.units > 0 and MIXED_SHARE <= self.zh_share <= 1 - MIXED_SHARE


def script_profile(text: str | None) -> ScriptProfile:
    head = (text or "")[:_SCAN]
    return ScriptProfile(len(_CJK.findall(head)), len(_LATIN_WORD.findall(head)))


def detect_language(text: str | None) -> str:
    """ "zh" | "en" | "" (nothing to go on). """
    p = script_profile(text)
    if p.units == 0:
        return ""
    return "zh" if p.cjk_chars >= p.latin_words else "en"
