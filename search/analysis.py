"""Text analysis for the full-text index: PII masking, folding and mixed zh/en tokens.

Owns four things, all pure apart from a once-per-process jieba/OpenCC set-up:

* `mask_pii(text)` runs on every text before it reaches the index (SECURITY.md:
  the index must not become a plaintext copy of PII). It replaces, in this order:
    - e-mail addresses  ``local@domain.tld``                          → 〔email〕
    - 18-digit resident ID numbers  ``\\d{17}[\\dXx]``                  → 〔id-number〕
    - bank card numbers, 16–19 digits, optionally in groups of four
      separated by spaces or hyphens                                   → 〔bank-card〕
    - Chinese mobile numbers ``1[3-9]\\d{9}``, optionally with +86/0086
      and spaces or hyphens as in ``138 1234 5678``                     → 〔phone〕
  Digit runs must not touch other digits (an 18-digit ID is not a phone number
  plus seven digits). Full-width digits are matched as well. Any other digit run
  of 16–19 digits is masked too: a false positive costs a search term, a false
  negative leaks PII.
* `fold(text)`: traditional → simplified Chinese (OpenCC ``t2s``) and full-width →
  ASCII, always keeping the length so that token offsets still point into the
  original text (highlights are cut from the original).
* `analyzer()`: the Whoosh analyzer. CJK runs are segmented by jieba without HMM
  (so a query and a document segment the same string the same way); at index time
  the dictionary sub-words of long words are added at the word's position
  (jieba's search mode), so 打印 finds 打印机 while phrases still line up. Latin
  words are lower-cased, stop-listed and Snowball-stemmed.
* `match_spans(text, terms)`: where the analysed query terms occur in a text,
  for highlighting without re-running jieba over every hit.
"""
from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

from whoosh.analysis import Filter, LowercaseFilter, StopFilter, Token, Tokenizer
from whoosh.lang.snowball.english import EnglishStemmer

# PII masking lives in the domain's rules so that other places (AI prompts) use the same.
from appliance.rules.pii import FULLWIDTH_TO_ASCII as _WIDTH, MASKS, mask_pii  # noqa: F401

SUBJECT_END = "\ue002"  # private use: never in cleaned ticket text (see clean())
SUBJECT_BOOST = 3.0
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_RUNS = re.compile(
    r"(?P<mask>〔(?:email|id-number|bank-card|phone)〕)"
    f"|(?P<cjk>[{_CJK}]+)"
    f"|(?P<word>[^\\W_{_CJK}]+(?:\\.[^\\W_{_CJK}]+)*)")

EN_STOPS = frozenset("""a an and are as at be but by for if in into is it no not of on or
such that the their then there these they this to was will with i me my we our you your""".split())
# Single-character function words: they match almost every Chinese ticket.
ZH_STOPS = frozenset("的 了 吗 呢 吧 啊 呀 哦 嗯 着 之 与 及 和 或 是 在 也 都 就 把 被 我 你 您 他 她 它 这 那".split())

log = logging.getLogger(__name__)
_init_lock = threading.Lock()
_ready = False
_local = threading.local()


def clean(text: str) -> str:
    """`text` masked (mask_pii) and without the private-use characters the index uses."""
    return mask_pii(text).translate(_PRIVATE)


_PRIVATE = {0xE000: None, 0xE001: None, 0xE002: None}


def _jieba():
    """jieba's default tokenizer, initialised once per process and quietly."""
    global _ready
    import jieba
    if not _ready:
        with _init_lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)  # it logs dictionary loading at DEBUG to stderr
                jieba.dt.initialize()
                _ready = True
    return jieba.dt


def _converter():
    # OpenCC converters are cheap to create; one per thread avoids sharing C++ state.
    conv = getattr(_local, "t2s", None)
    if conv is None:
        import opencc
        conv = _local.t2s = opencc.OpenCC("t2s")
    return conv


def fold(text: str) -> str:
    """Simplified Chinese and half-width ASCII, with exactly the length of `text`."""
    text = text.translate(_WIDTH)
    if not _HAS_CJK.search(text):
        return text
    conv = _converter()
    out = conv.convert(text)
    if len(out) == len(text):
        return out
    # A phrase rule changed the length: fall back to character by character.
    return "".join(s if len(s := conv.convert(c)) == 1 else c for c in text)


class MixedTokenizer(Tokenizer):
    """Chinese words from jieba, Latin words by regex; offsets refer to the original text.

    Words before a SUBJECT_END character get SUBJECT_BOOST as their weight: one
    indexed field then carries subject, description and replies, and a query word
    costs one posting list instead of one per field.
    """

    def __call__(self, value: str, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kw):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kw)
        pos = start_pos
        boosted_until = value.find(SUBJECT_END)
        for text, start, end, sub in _words(fold(value), index=(mode != "query")):
            t.text, t.stopped = text, False
            t.boost = SUBJECT_BOOST if start < boosted_until else 1.0
            if keeporiginal:
                t.original = text
            if positions:
                t.pos = pos
            if chars:
                t.startchar, t.endchar = start_char + start, start_char + end
            yield t
            if not sub:
                pos += 1


def _words(text: str, index: bool):
    """(word, start, end, is_sub_word) over `text`; masks are dropped."""
    seg = None
    for m in _RUNS.finditer(text):
        kind = m.lastgroup
        if kind == "word":
            yield m.group(), m.start(), m.end(), False
        elif kind == "cjk":
            seg = seg or _jieba()
            yield from _cjk_words(seg, m.group(), m.start(), index)


def _cjk_words(seg, run: str, offset: int, index: bool):
    start = offset
    for w in seg.cut(run, HMM=False):
        n = len(w)
        if index and n > 2:
            # Search-mode sub-words share the word's position (they are flagged `sub`).
            for size in (2, 3):
                for i in range(n - size + 1 if n > size else 0):
                    gram = w[i:i + size]
                    if seg.FREQ.get(gram):
                        yield gram, start + i, start + i + size, True
        yield w, start, start + n, False
        start += n


def space_words(text: str) -> str:
    """`text` with spaces around the Chinese words jieba finds, for the query parser.

    The parser then sees 打印机无法打印 as three words, like "printer not printing",
    and can require each of them in any field rather than all of them in one.
    """
    folded = fold(text)
    out, last = [], 0
    for m in _RUNS.finditer(folded):
        if m.lastgroup != "cjk":
            continue
        out.append(text[last:m.start()])
        pos, words = m.start(), []
        for w in _jieba().cut(m.group(), HMM=False):
            words.append(text[pos:pos + len(w)])
            pos += len(w)
        out.append(" " + " ".join(words) + " ")
        last = m.end()
    out.append(text[last:])
    return "".join(out)


@lru_cache(maxsize=100_000)
def _stem(word: str) -> str:
    return _STEMMER.stem(word)


_STEMMER = EnglishStemmer()


class LatinStemFilter(Filter):
    """Snowball-stems ASCII words only; Chinese words pass through untouched."""

    def __call__(self, tokens):
        for t in tokens:
            if t.text.isascii() and t.text.isalpha():
                t.text = _stem(t.text)
            yield t


def analyzer():
    return (MixedTokenizer() | LowercaseFilter()
            | StopFilter(stoplist=EN_STOPS | ZH_STOPS, minsize=1, renumber=False)
            | LatinStemFilter())


def match_spans(text: str, terms: frozenset[str]) -> list[tuple[int, int]]:
    """Character spans in `text` where analysed query `terms` occur (for highlights).

    CJK terms are found by substring search in the folded text (no segmentation
    needed); Latin words are stemmed and compared. Overlaps are merged.
    """
    if not text or not terms:
        return []
    folded = _lower(fold(text))
    spans = []
    for term in terms:
        if _HAS_CJK.search(term):
            i = folded.find(term)
            while i >= 0:
                spans.append((i, i + len(term)))
                i = folded.find(term, i + len(term))
    if any(not _HAS_CJK.search(t) for t in terms):
        for m in _RUNS.finditer(folded):
            if m.lastgroup == "word":
                w = m.group()
                if w in terms or (w.isascii() and w.isalpha() and _stem(w) in terms):
                    spans.append((m.start(), m.end()))
    return _merge(spans)


def _lower(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]
