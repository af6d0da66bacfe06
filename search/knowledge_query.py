"""A knowledge-base search string as word groups: what each word may match, and why.

Pure apart from jieba/OpenCC (through search.analysis). One `Group` per query word:
its analysed form plus, when the word belongs to an admin-defined synonym set
(退款/退钱/返款), every word of the set. Typed syntax (quotes, AND/OR, fields) is
not offered: people paste symptoms, not queries; the words are what matters.

* Synonyms are found in the folded (simplified, half-width, lower-case) query text,
  longest first, before segmentation: jieba does not know every word an admin adds
  (返款 comes out as 返 + 款), so a set word must be matched as typed. A Latin set
  word must stand alone ("refund" is not found inside "refunded"; but a query word
  with the same stem as a set word belongs to the set).
* A set word that analyses to several tokens becomes a phrase (返款 → "返 款").
* Latin words of at least FUZZY_MIN_CHARS letters also match words one edit away
  (typos), with a lower weight than the exact word.
* `distinctive_words(text, n)` turns a long text (a ticket) into a bounded query.
"""
from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from search.analysis import _HAS_CJK, analyzer, clean, fold

# Words of the request rather than its subject ("I need help to…", "怎么…"): in a question
# they match every article that happens to use them. Dropped from a query unless nothing
# else is left. (Measured on the labelled sets, bench/knowledge_retrieval.py.)
REQUEST_WORDS = frozenset(
    "need help want assist assistance how can could would like please tell know "
    "怎么 如何 怎样 怎么办 请问 一下 吗 呢 么".split())
MAX_GROUPS = 32      # distinct query words: a pasted page must not fan out to thousands of matchers
FUZZY_MIN_CHARS = 5  # shorter words have too many neighbours one edit away ("care" → "card")
_LATIN_WORD = re.compile(r"[a-z0-9]")


@dataclass(frozen=True)
class Group:
    """One query word. `alternatives[i]` is an analysed token sequence, shown as `labels[i]`
    when it matched; the first alternative is the typed word itself."""
    alternatives: tuple[tuple[str, ...], ...]
    labels: tuple[str, ...]
    fuzzy: bool = False
    synonym: bool = False


_local = threading.local()


def _analyze(text: str) -> list[tuple[str, int, int]]:
    """(analysed token, start, end) in query mode; offsets point into `text`."""
    an = getattr(_local, "an", None)
    if an is None:
        an = _local.an = analyzer()
    return [(t.text, t.startchar, t.endchar) for t in an(text, mode="query", chars=True)]


def tokens(text: str) -> tuple[str, ...]:
    return tuple(t for t, _, _ in _analyze(text))


def _norm(text: str) -> str:
    folded = fold(text)
    low = folded.lower()
    return low if len(low) == len(folded) else folded


@dataclass(frozen=True)
class _Synonyms:
    words: tuple[tuple[str, int], ...]            # (normalised word, set index), longest first
    sets: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # per set: (labels, and their tokens)
    by_token: dict                                 # single analysed token -> set index


@lru_cache(maxsize=8)
def compile_synonyms(sets: tuple[tuple[str, ...], ...]) -> _Synonyms:
    """Cached per distinct tuple of sets (the service reloads the tuple when a set changes)."""
    words, compiled, by_token = [], [], {}
    for i, words_of_set in enumerate(sets):
        labels, toks = [], []
        for w in words_of_set:
            t = tokens(w)
            if not t:
                continue
            labels.append(w)
            toks.append(t)
            words.append((_norm(w), i))
            if len(t) == 1:
                by_token.setdefault(t[0], i)
        compiled.append((tuple(labels), tuple(toks)))
    words.sort(key=lambda p: -len(p[0]))
    return _Synonyms(tuple(words), tuple(compiled), by_token)


def _stands_alone(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (_LATIN_WORD.match(before) or _LATIN_WORD.match(after))


def _synonym_spans(norm: str, syn: _Synonyms) -> list[tuple[int, int, int]]:
    """Non-overlapping (start, end, set index) of set words in the normalised query."""
    taken: list[tuple[int, int, int]] = []
    for word, i in syn.words:
        pos = norm.find(word)
        while pos >= 0:
            end = pos + len(word)
            latin_ok = _HAS_CJK.search(word) or _stands_alone(norm, pos, end)
            if latin_ok and all(end <= s or pos >= e for s, e, _ in taken):
                taken.append((pos, end, i))
            pos = norm.find(word, pos + 1)
    return sorted(taken)


def _set_group(syn: _Synonyms, i: int, typed_tokens: tuple[str, ...], typed: str) -> Group:
    labels, toks = syn.sets[i]
    # The typed word first: its label is what the searcher wrote.
    order = sorted(range(len(toks)), key=lambda k: toks[k] != typed_tokens)
    alts = tuple(toks[k] for k in order)
    names = tuple(labels[k] for k in order)
    if typed_tokens not in alts:
        alts, names = (typed_tokens,) + alts, (typed,) + names
    return Group(alts, names, synonym=True)


def parse(text: str, synonyms: tuple[tuple[str, ...], ...] = ()) -> list[Group]:
    """The query's word groups in typed order, without duplicates, at most MAX_GROUPS."""
    text = clean(text or "")
    norm = _norm(text)
    syn = compile_synonyms(synonyms) if synonyms else None
    spans = _synonym_spans(norm, syn) if syn else []
    groups: list[Group] = []
    last = 0
    for start, end, i in spans + [(len(text), len(text), -1)]:
        groups.extend(_plain_groups(text[last:start], syn))
        if i >= 0:
            typed = text[start:end]
            groups.append(_set_group(syn, i, tokens(typed), typed))
        last = end
    seen, out = set(), []
    for g in groups:
        if g.alternatives not in seen:
            seen.add(g.alternatives)
            out.append(g)
    subject = [g for g in out if g.synonym or g.alternatives[0] not in _request_tokens()]
    return (subject or out)[:MAX_GROUPS]


@lru_cache(maxsize=1)
def _request_tokens() -> frozenset[tuple[str, ...]]:
    return frozenset(tokens(w) for w in REQUEST_WORDS) - {()}


def _plain_groups(segment: str, syn: _Synonyms | None) -> list[Group]:
    out = []
    for tok, start, end in _analyze(segment):
        typed = segment[start:end]
        if syn is not None and tok in syn.by_token:
            out.append(_set_group(syn, syn.by_token[tok], (tok,), typed))
            continue
        fuzzy = tok.isascii() and tok.isalpha() and len(typed) >= FUZZY_MIN_CHARS
        out.append(Group(((tok,),), (typed,), fuzzy=fuzzy))
    return out


# --- bounded queries from long texts --------------------------------------------------------

@lru_cache(maxsize=1)
def _idf_table() -> tuple[dict, float]:
    """jieba's shipped IDF table (general Chinese text): which words say more than others."""
    import os

    import jieba.analyse
    path = os.path.join(os.path.dirname(jieba.analyse.__file__), "idf.txt")
    table = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            word, _, value = line.rstrip("\n").rpartition(" ")
            if word:
                table[word] = float(value)
    median = sorted(table.values())[len(table) // 2] if table else 10.0
    return table, median


def distinctive_words(text: str, n: int = 12, max_chars: int = 4000) -> list[str]:
    """The `n` most distinctive words of `text` (tf × idf), typed forms, best first.

    Chinese words are weighted by jieba's IDF table; Latin words, which it lacks, by a
    length-based stand-in (long words are rarer), with the stop lists of the analyzer
    already applied. Only the first `max_chars` characters are read: the start of a
    ticket says what it is about, and the cost must not grow with the text.
    """
    text = clean(text or "")[:max_chars]
    table, median = _idf_table()
    counts: Counter = Counter()
    typed: dict[str, str] = {}
    for tok, start, end in _analyze(text):
        if len(tok) < 2 and not tok.isdigit():
            continue  # single characters match too much
        counts[tok] += 1
        typed.setdefault(tok, text[start:end])

    def weight(tok: str) -> float:
        idf = table.get(tok, median) if _HAS_CJK.search(tok) else min(4.0 + len(tok), 14.0)
        return (1 + math.log(counts[tok])) * idf
    best = sorted(counts, key=lambda t: (-weight(t), t))[:n]
    return [typed[t] for t in best]
