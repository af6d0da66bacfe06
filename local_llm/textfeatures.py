"""Text features for the triage classifiers: normalisation, zh/en/mixed tokens, n-grams.

Owns the one way ticket text becomes features, used both when a classifier is trained
and when a loaded one predicts, so a stored classifier sees exactly the features it
was trained on. Pure apart from a once-per-process jieba/OpenCC set-up.

* `normalize(text)`: truncates huge text, NFKC (full-width → ASCII, compatibility
  forms), lower case, traditional → simplified Chinese (OpenCC ``t2s``), whitespace
  collapsed, and digit runs of 4 or more replaced by their shape (``0000`` /
  ``00000`` / ``0000000000``): order numbers, phones and amounts then share features
  instead of each being a unique, useless term (and PII never reaches a vocabulary).
* `words(norm)`: jieba words for CJK runs, word tokens for Latin/digits, and each
  emoji or other symbol as its own token (😡 and 👍 carry sentiment and intent).
  English words are Snowball-stemmed (arrive/arrived/arriving are one feature).
* `word_ngrams(tokens, n)`, `word_pairs(tokens, window)` and `char_ngrams(norm, lo, hi)`:
  the features. Character n-grams are taken inside whitespace-separated chunks, padded
  with a space at each end (scikit-learn's ``char_wb``), so they also work for
  unsegmented Chinese, typos and unknown product names. Word pairs (two words a gap
  apart) catch "card ... not arrived" that bigrams miss.
* `Vocabulary` and `Featurizer`: sublinear TF-IDF over those blocks (plus the concept
  tokens of local_llm/concepts.py when `concept_weight` > 0, for cold start), each
  block L2-normalised and weighted, as a sparse matrix. They are plain arrays (terms, idf),
  so a classifier can be stored without pickle (see local_llm/classifier.py).
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse

from local_llm.concepts import concepts

MAX_CHARS = 2000          # a ticket's routing signal is in its first lines; this bounds latency
_MAX_RAW = MAX_CHARS * 4  # cut before NFKC so a 10 MB paste costs no more than a page

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKENS = re.compile(f"(?P<cjk>[{_CJK}]+)"
                     f"|(?P<word>[^\\W_{_CJK}]+(?:['’][^\\W_{_CJK}]+)?)|(?P<sym>\\S)")
_DIGITS = re.compile(r"[0-9]{4,}")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_FORMAT = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_SYMBOL_CATEGORIES = {"So", "Sk", "Sm", "Sc"}

_local = threading.local()
_init_lock = threading.Lock()
_jieba_ready = False


def _digit_shape(m: re.Match) -> str:
    n = len(m.group())
    return "0000" if n == 4 else ("00000" if n < 10 else "0000000000")


def _t2s(text: str) -> str:
    """Traditional → simplified; unchanged if OpenCC is missing (it is a dependency)."""
    conv = getattr(_local, "t2s", False)
    if conv is False:
        try:
            import opencc
            conv = opencc.OpenCC("t2s")
        except Exception as exc:  # noqa: BLE001 - a broken converter must not stop triage
            logging.getLogger(__name__).warning(
                "OpenCC unavailable (%s): traditional Chinese is not folded to simplified", exc)
            conv = None
        _local.t2s = conv  # one per thread: the C++ converter is not shared
    return conv.convert(text) if conv is not None else text


def normalize(text: str | None) -> str:
    """Comparable form of a ticket text (see module docstring); "" for empty input."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text)[:_MAX_RAW]).lower()
    # Control/format characters (NUL, zero-width joiners, BOM) carry no meaning and
    # must not reach a vocabulary, whose terms are stored newline-separated.
    text = _FORMAT.sub("", _CONTROL.sub(" ", text))
    text = _SPACE.sub(" ", text).strip()[:MAX_CHARS]
    if re.search(f"[{_CJK}]", text):
        text = _t2s(text)
    return _DIGITS.sub(_digit_shape, text)


def _jieba():
    global _jieba_ready
    import jieba
    if not _jieba_ready:
        with _init_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)  # it logs dictionary loading to stderr
                jieba.dt.initialize()
                _jieba_ready = True
    return jieba.dt


@lru_cache(maxsize=1)
def _stemmer():
    # whoosh3 is a dependency; its Snowball stemmer is pure Python and the one search uses.
    from whoosh.lang.snowball.english import EnglishStemmer
    return EnglishStemmer()


@lru_cache(maxsize=50_000)  # ~16 µs a word uncached; ticket vocabularies repeat a lot
def _stem(word: str) -> str:
    return _stemmer().stem(word)


def words(norm: str) -> list[str]:
    """Tokens of a normalised text: Chinese words, Latin words, and symbols/emoji."""
    out: list[str] = []
    for m in _TOKENS.finditer(norm):
        kind, tok = m.lastgroup, m.group()
        if kind == "cjk":
            out.extend(w for w in _jieba().cut(tok, HMM=False) if w.strip())
        elif kind == "word":
            out.append(_stem(tok) if tok.isascii() and tok.isalpha() else tok)
        elif unicodedata.category(tok) in _SYMBOL_CATEGORIES:
            out.append(tok)
    return out


def word_ngrams(tokens: list[str], n: int = 2) -> list[str]:
    """Unigrams and, up to `n`, space-joined n-grams of consecutive tokens."""
    grams = list(tokens)
    for k in range(2, n + 1):
        grams.extend(" ".join(tokens[i:i + k]) for i in range(len(tokens) - k + 1))
    return grams


def char_ngrams(norm: str, lo: int = 1, hi: int = 4) -> list[str]:
    """Character n-grams inside space-padded chunks of `norm` (scikit-learn's char_wb)."""
    grams: list[str] = []
    for chunk in norm.split():
        if lo <= 1:
            grams.extend(chunk)  # unigrams: the padding spaces alone are not features
        padded = f" {chunk} "
        size = len(padded)
        for n in range(max(lo, 2), min(hi, size) + 1):
            grams.extend([padded[i:i + n] for i in range(size - n + 1)])
    return grams


def word_pairs(tokens: list[str], window: int = 5) -> list[str]:
    """Pairs of tokens one to `window - 2` tokens apart (adjacent ones are bigrams)."""
    return [f"{tokens[i]}~{tokens[j]}" for i in range(len(tokens))
            for j in range(i + 2, min(len(tokens), i + window))]


@dataclass(frozen=True)
class FeatureConfig:
    """Which features, and how much each block counts (chosen by bench/triage_eval.py)."""
    word_n: int = 2
    pair_window: int = 5
    char_lo: int = 1
    char_hi: int = 4
    word_weight: float = 1.0
    pair_weight: float = 0.7
    char_weight: float = 1.0
    concept_weight: float = 0.0  # local_llm.concepts; cold start only (see coldstart.py)
    min_df: int = 2  # for pairs and char n-grams; every word is kept

    def to_dict(self) -> dict:
        return asdict(self)


BLOCKS = ("word", "pair", "char", "concept")
_PRUNED = ("pair", "char")  # blocks whose rare terms are noise: cfg.min_df applies


def analyse(text: str, cfg: FeatureConfig) -> dict[str, list[str]]:
    """The terms of one text for each feature block."""
    norm = normalize(text)
    toks = words(norm)
    return {"word": word_ngrams(toks, cfg.word_n), "pair": word_pairs(toks, cfg.pair_window),
            "char": char_ngrams(norm, cfg.char_lo, cfg.char_hi),
            "concept": concepts(norm) if cfg.concept_weight else []}


class Vocabulary:
    """Terms → columns with smoothed idf (scikit-learn's ``smooth_idf``)."""

    def __init__(self, terms: list[str], idf: np.ndarray):
        self.terms = list(terms)
        self.index = {t: i for i, t in enumerate(self.terms)}
        self.idf = np.asarray(idf, dtype=np.float32)
        if len(self.index) != len(self.terms) or self.idf.shape != (len(self.terms),):
            raise ValueError("vocabulary terms and idf do not match")

    @classmethod
    def fit(cls, docs: list[list[str]], min_df: int = 1) -> "Vocabulary":
        df = Counter(t for d in docs for t in set(d))
        terms = sorted(t for t, c in df.items() if c >= min_df)
        n = len(docs)
        idf = np.log((1 + n) / (1 + np.array([df[t] for t in terms], dtype=np.float64))) + 1
        return cls(terms, idf)

    def row(self, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Columns and L2-normalised sublinear TF-IDF values of one document."""
        counts = Counter(i for i in map(self.index.get, terms) if i is not None)
        if not counts:
            return _EMPTY_I, _EMPTY_F
        cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        vals = (np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts))) + 1
                ) * self.idf[cols]
        return cols, vals / np.sqrt(vals @ vals)


_EMPTY_I, _EMPTY_F = np.zeros(0, dtype=np.int64), np.zeros(0)


class Featurizer:
    """Texts → one weighted, block-wise L2-normalised TF-IDF matrix (CSR)."""

    def __init__(self, cfg: FeatureConfig, vocabs: dict[str, Vocabulary]):
        self.cfg, self.vocabs = cfg, vocabs
        self._weights = {"word": cfg.word_weight, "pair": cfg.pair_weight,
                         "char": cfg.char_weight, "concept": cfg.concept_weight}

    @classmethod
    def fit(cls, texts: list[str], cfg: FeatureConfig) -> "Featurizer":
        return cls.fit_docs([analyse(t, cfg) for t in texts], cfg)

    @classmethod
    def fit_docs(cls, docs: list[dict[str, list[str]]], cfg: FeatureConfig) -> "Featurizer":
        """From already analysed texts (training analyses each text once)."""
        return cls(cfg, {b: Vocabulary.fit([d[b] for d in docs], cfg.min_df if b in _PRUNED else 1)
                         for b in BLOCKS})

    @property
    def n_features(self) -> int:
        return sum(len(v.terms) for v in self.vocabs.values())

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        return self.transform_docs([analyse(t, self.cfg) for t in texts])

    def transform_docs(self, docs: list[dict[str, list[str]]]) -> sparse.csr_matrix:
        cols, vals, indptr = [], [], [0]
        for d in docs:
            offset = 0
            for b in BLOCKS:
                c, v = self.vocabs[b].row(d[b])
                cols.append(c + offset)
                vals.append(v * self._weights[b])
                offset += len(self.vocabs[b].terms)
            indptr.append(indptr[-1] + sum(len(c) for c in cols[-len(BLOCKS):]))
        return sparse.csr_matrix(
            (np.concatenate(vals) if vals else _EMPTY_F, np.concatenate(cols) if cols else _EMPTY_I,
             np.asarray(indptr)), shape=(len(docs), self.n_features))
