"""The Whoosh index of knowledge articles (`appliance.ports.KnowledgeIndex`).

Lives in `<index_dir>/kb`, beside the ticket index, with the same generations,
write lock and searcher handling (it *is* a search.whoosh_index.WhooshIndex with
another schema): CURRENT names the live generation, `rebuild()` builds a new one and
swaps it in atomically, one writer at a time across processes.

Every article is indexed whatever its status (staff search drafts and articles in
review); status, visibility, language, category and "AI-generated" are filters
applied in the index before ranking, so totals, facets and pages only ever count what
the caller may see; so is the department scope of unpublished articles (`dept`,
docs/decisions/0033). Only the article's own category is indexed (the caller expands a
parent to its sub-categories), so moving a category needs no re-indexing. Title and
tags are separate fields with a higher weight than the body.

A search, per query word group (search.knowledge_query):

* ranking: BM25 per field, title ×TITLE_BOOST, tags ×TAGS_BOOST, body ×1, computed
  here straight from the posting lists (`_Scorer`), not by Whoosh's matchers: those
  cost ~20 µs per posting and built a union matcher per query (200-500 ms for a
  plain English sentence over a few thousand articles); per query word the best of
  its alternatives (typed word, synonyms, typo neighbours) counts, times the share
  of query words the article has;
* the same pass gives the exact total, the facets over every allowed match and
  the matched words ("reason"); per-segment values (facets, field lengths, the
  Latin vocabulary for typo neighbours) are computed once per segment and cached;
* highlights are cut from stored, PII-masked plain text and returned as safe HTML.
"""
from __future__ import annotations

import contextlib
import html
import math
import re
import shutil
import time
import uuid
from collections import Counter, OrderedDict
from pathlib import Path

import nh3
import numpy as np
from whoosh import index as windex
from whoosh import query as wq
from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema
from whoosh.highlight import BasicFragmentScorer, Fragment, PinpointFragmenter, top_fragments
from whoosh.matching.wrappers import FilterMatcher
from whoosh.writing import MERGE_SMALL

from appliance.ports import ArticleFilters, ArticleSearchHit, IndexedArticle
from search import whoosh_index as wi
from search.analysis import analyzer, clean, match_spans
from search.highlight import MARK_END, MARK_START, MarkFormatter, match_tokens
from search.knowledge_query import Group, _norm, distinctive_words, parse, tokens

TITLE_BOOST, TAGS_BOOST, BODY_BOOST = 3.0, 2.0, 1.0
SYNONYM_WEIGHT = 0.8  # a set word other than the typed one: equal meaning, but the typed word wins ties
FUZZY_WEIGHT = 0.4    # a word one edit away from the typed one
SNIPPET_CHARS = 3000
SEGMENT_CACHE = 256  # segments whose per-document values are kept (an index has a handful)
K1, B = 1.2, 0.75  # BM25
POSTINGS_CACHE = 4_000_000  # postings kept decoded per process (ids int32 + tf float32: ~32 MB)
FACET_FIELDS = ("language", "visibility", "status", "category")
_FIELDS = (("title", TITLE_BOOST), ("tags", TAGS_BOOST), ("body", BODY_BOOST))
_MARKDOWN = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|^\s{0,3}(?:#{1,6}|>|[-*+]|\d+\.)\s+|[`*_|]+|<[^>]*>",
                       re.MULTILINE)
_SPACE = re.compile(r"\s+")


def schema() -> Schema:
    an = analyzer()
    return Schema(
        id=ID(unique=True, stored=True),
        title=TEXT(analyzer=an), tags=TEXT(analyzer=an), body=TEXT(analyzer=an),
        language=ID(), visibility=ID(), status=ID(), category=ID(), ai=ID(), dept=ID(),
        updated_at=DATETIME(), snippets=STORED())


def plain(markdown: str) -> str:
    """Markdown source as one line of readable text (for snippets)."""
    return _SPACE.sub(" ", _MARKDOWN.sub(lambda m: m.group(1) or " ", markdown or "")).strip()


def _fields(doc: IndexedArticle) -> dict:
    title, body = clean(doc.title), clean(doc.body)
    tags = clean(" \n".join(doc.tags))
    return dict(id=str(doc.id), title=title, tags=tags, body=body, language=doc.language,
                visibility=doc.visibility, status=doc.status,
                category=str(doc.category_id) if doc.category_id else wi.NONE,
                ai="1" if doc.ai_generated else "0",
                dept=str(doc.department_id) if doc.department_id else wi.NONE,
                updated_at=doc.updated_at,
                snippets=(title, plain(body)[:SNIPPET_CHARS], " · ".join(t.strip() for t in doc.tags)))


def filter_query(f: ArticleFilters):
    parts = []
    for field, values in (("status", f.statuses), ("visibility", f.visibilities),
                          ("language", f.languages)):
        if values:
            parts.append(wq.Or([wq.Term(field, v) for v in values]))
    if f.category_ids:
        parts.append(wq.Or([wq.Term("category", str(c)) for c in sorted(set(f.category_ids))]))
    if f.ai_generated is not None:
        parts.append(wq.Term("ai", "1" if f.ai_generated else "0"))
    if f.departments is not None:
        # An index built before the field existed has no "dept" terms: its unpublished
        # articles match none of these, so they are left out, never shown (rebuild it).
        scope = [wq.Term("status", "published")]
        scope += [wq.Term("dept", str(d) if d else wi.NONE) for d in sorted(set(f.departments),
                                                                          key=str)]
        scope += [wq.Term("category", str(c)) for c in sorted(set(f.review_categories))]
        parts.append(wq.Or(scope))
    if not parts:
        return wq.Every()
    return parts[0] if len(parts) == 1 else wq.And(parts)


def highlight(text: str, terms: frozenset[str], whole: bool) -> str:
    """Safe HTML: the text escaped, matches in <mark>; '' when nothing matched."""
    spans = match_spans(text, terms) if text else []
    if not spans:
        return ""
    tokens = match_tokens(spans)
    if whole:
        fragments = [Fragment(text, tokens, 0, len(text))]
    else:
        fragments = PinpointFragmenter(maxchars=200, surround=50).fragment_matches(text, tokens)
        fragments = top_fragments(fragments, 2, BasicFragmentScorer(), lambda f: f.startchar)
    marked = html.escape(MarkFormatter().format(fragments), quote=False)
    out = marked.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    return nh3.clean(out, tags={"mark"}, attributes={})


class KnowledgeIndex(wi.WhooshIndex):
    def __init__(self, index_dir: str):
        super().__init__(str(Path(index_dir) / "kb"))
        self._queries = None  # the ticket query builder: articles parse with search.knowledge_query
        self._segments: OrderedDict = OrderedDict()
        self._posting_arrays: OrderedDict = OrderedDict()
        self._cached_postings = 0

    # -- generations and writes (the locking and swapping are WhooshIndex's) -----------

    def _new_generation(self) -> Path:
        gen = self.root / f"g-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        gen.mkdir(parents=True)
        windex.create_in(gen, schema())
        return gen

    @contextlib.contextmanager
    def _writer(self):
        # Whoosh's own merge policy, not the ticket index's: that one rewrites small
        # segments holding deletions (so erased ticket text leaves the disk at once), which
        # for a knowledge base of a few thousand articles meant rewriting all of them on
        # every edit. Replaced article text leaves with optimize() (nightly).
        with self._locked():
            ix = wi._open(self._current_or_create())
            writer = ix.writer(timeout=5.0)
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=MERGE_SMALL)

    def apply(self, upserts: list[IndexedArticle], deletes: list[int]) -> None:
        if not upserts and not deletes:
            return
        with self._writer() as w:
            known = set(w.schema.names())
            for doc in upserts:
                # An index of an older schema (no "dept") takes what it has fields for
                # until `gongdan search rebuild` builds a current one.
                w.update_document(**{k: v for k, v in _fields(doc).items() if k in known})
            for article_id in deletes:
                w.delete_by_term("id", str(article_id))

    def upsert(self, doc: IndexedArticle) -> None:
        self.apply([doc], [])

    def rebuild(self, docs) -> int:
        with self._locked():
            gen = self._new_generation()
            try:
                ix = wi._open(gen)
                writer, count = ix.writer(limitmb=256), 0
                for doc in docs:
                    writer.add_document(**_fields(doc))
                    count += 1
                writer.commit(merge=False)
            except BaseException:
                shutil.rmtree(gen, ignore_errors=True)
                raise
            self._publish(gen)
        return count

    # -- text helpers (ports.KnowledgeIndex) ------------------------------------------------

    def key_words(self, text: str, n: int) -> list[str]:
        return distinctive_words(text, n)

    def analysed(self, text: str) -> tuple[str, ...]:
        return tokens(text)

    def word_key(self, word: str) -> str:
        return _norm(" ".join(word.split()))

    # -- reads -------------------------------------------------------------------------

    def search(self, query: str, filters: ArticleFilters, limit: int = 20, offset: int = 0,
               facets: bool = False, synonyms: tuple[tuple[str, ...], ...] = ()
               ) -> tuple[list[ArticleSearchHit], int, dict]:
        """Hits for the page, the total and (when asked) facet counts
        {field: {value: count}} over every allowed match."""
        groups = parse(query, synonyms) if (query or "").strip() else []
        if (query or "").strip() and not groups:
            return [], 0, {}
        fq = filter_query(filters)
        with self._lock:
            try:
                return self._search(groups, fq, limit, offset, facets)
            except (OSError, ValueError, KeyError):
                self._close_searcher()  # a rebuild removed the files under our searcher
                return self._search(groups, fq, limit, offset, facets)

    def _search(self, groups, fq, limit, offset, facets):
        searcher = self._fresh_searcher()
        leaves = [_Leaf(sub, off, self._segment(sub), self._allowed(sub, fq))
                  for sub, off in searcher.leaf_searchers()]
        want = offset + limit
        if groups:
            scored = _Scorer(groups, leaves, searcher, self._postings)
            matched = [leaf.scores > 0 for leaf in leaves]
        else:  # no words: the allowed articles, most recently indexed (≈ updated) first
            scored = None
            matched = [leaf.allowed for leaf in leaves]
        total = int(sum(np.count_nonzero(m) for m in matched))
        top = []
        for leaf, m in zip(leaves, matched):
            local = np.flatnonzero(m)
            if scored is not None and len(local) > want:
                local = local[np.argpartition(-leaf.scores[local], want - 1)[:want]]
            elif scored is None:
                local = local[-want:]
            top += [(float(leaf.scores[d]) if scored else 0.0, leaf.offset + int(d), leaf, int(d))
                    for d in local]
        # ties: the most recently indexed (≈ updated) article first
        top.sort(key=lambda item: (item[0], item[1]), reverse=True)
        hits = [self._hit(searcher, *item, scored) for item in top[offset:want]]
        return hits, total, _facet_counts(leaves, matched) if facets else {}

    def _hit(self, searcher, score: float, docnum: int, leaf: "_Leaf", local: int,
             scored: "_Scorer | None") -> ArticleSearchHit:
        stored = searcher.stored_fields(docnum)
        if scored is None:
            return ArticleSearchHit(int(stored["id"]), 0.0)
        labels, terms, groups = [], set(), set()
        for k, (gi, label, toks, _) in enumerate(scored.alts):
            if leaf.alt_hits[k] is not None and leaf.alt_hits[k][local]:
                labels.append(label)
                terms.update(toks)
                groups.add(gi)
        title, body, _tags = (tuple(stored.get("snippets") or ()) + ("", "", ""))[:3]
        terms_f = frozenset(terms)
        marks = {"title": highlight(title, terms_f, True), "body": highlight(body, terms_f, False)}
        weight = sum(scored.weights[gi] for gi in groups)
        coverage = weight / scored.total_weight if scored.total_weight else 0.0
        return ArticleSearchHit(int(stored["id"]), round(score, 4),
                                {k: v for k, v in marks.items() if v},
                                tuple(dict.fromkeys(labels)), round(coverage, 4))

    # -- per-segment caches (segments never change: each is computed once) -----------------

    def _postings(self, leaf: "_Leaf", field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """A term's postings in a segment as arrays, decoded once: reading and unpickling
        the blocks of a common word was most of a search's time. Bounded by
        POSTINGS_CACHE postings in all (≈ 8 bytes each); absent terms are remembered too."""
        key = (leaf.segment["id"], field, term)
        hit = self._posting_arrays.get(key)
        if hit is not None:
            self._posting_arrays.move_to_end(key)
            return hit
        if (field, term) in leaf.reader:
            hit = _ids_weights(leaf.reader, field, term)
        else:
            hit = (_EMPTY_IDS, _EMPTY_TF)
        if leaf.segment["id"] is not None:
            self._posting_arrays[key] = hit
            self._cached_postings += len(hit[0]) + 8
            while self._cached_postings > POSTINGS_CACHE and self._posting_arrays:
                _, old = self._posting_arrays.popitem(last=False)
                self._cached_postings -= len(old[0]) + 8
        return hit

    def _allowed(self, sub, fq) -> np.ndarray:
        """The segment's live documents the filter lets through, as a boolean mask."""
        segment = getattr(sub.reader(), "segment", lambda: None)()
        # Deleting documents keeps the segment's id (this index keeps such segments), so
        # the number of live documents is part of the key.
        key = (segment.segment_id(), sub.doc_count(), fq) if segment is not None else None
        mask = self._filters.get(key) if key else None
        if mask is None:
            mask = np.zeros(max(sub.doc_count_all(), 1), dtype=bool)
            docs = np.fromiter(sub.docs_for_query(fq), dtype=np.int64)
            mask[docs] = True
            if key:
                self._filters[key] = mask
                if len(self._filters) > wi.FILTER_CACHE:
                    self._filters.popitem(last=False)
        elif key:
            self._filters.move_to_end(key)
        return mask

    def _segment(self, sub) -> dict:
        """Facet masks per value, field lengths per document and the Latin words (for
        typo neighbours) of one segment."""
        segment = getattr(sub.reader(), "segment", lambda: None)()
        key = segment.segment_id() if segment is not None else None
        cached = self._segments.get(key) if key else None
        if cached is not None:
            self._segments.move_to_end(key)
            return cached
        reader = sub.reader()
        n = max(reader.doc_count_all(), 1)
        out: dict = {"id": key, "facets": {}, "lengths": {}, "vocab": set()}
        for field in FACET_FIELDS:
            masks = {}
            for value in reader.lexicon(field):
                value = value.decode("utf-8") if isinstance(value, bytes) else value
                mask = np.zeros(n, dtype=bool)
                mask[_ids_weights(reader, field, value)[0]] = True
                masks[value] = mask
            out["facets"][field] = masks
        for field, _ in _FIELDS:
            out["lengths"][field] = np.fromiter(
                (reader.doc_field_length(d, field, 0) or 0 for d in range(n)), dtype=np.float32, count=n)
            if field != "tags":
                for word in reader.lexicon(field):
                    word = word.decode("utf-8") if isinstance(word, bytes) else word
                    if word.isascii() and word.isalpha():
                        out["vocab"].add(word)
        if key:
            self._segments[key] = out
            if len(self._segments) > SEGMENT_CACHE:
                self._segments.popitem(last=False)
        return out


def _facet_counts(leaves, matched) -> dict[str, dict[str, int]]:
    counts = {f: Counter() for f in FACET_FIELDS}
    for leaf, m in zip(leaves, matched):
        if not m.any():
            continue
        for field in FACET_FIELDS:
            for value, mask in leaf.segment["facets"][field].items():
                n = int(np.count_nonzero(m & mask))
                if n:
                    counts[field][value] += n
    counts["category"].pop(wi.NONE, None)
    return {f: dict(c) for f, c in counts.items()}


def _ids_weights(reader, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """A term's postings as arrays (local docnums, term frequencies), read a block at a
    time where the codec allows. Deleted documents are included: the allowed mask,
    which only holds live documents, drops them."""
    m = reader.postings(field, text)
    while isinstance(m, FilterMatcher):  # the deletion filter, applied per posting in Python
        m = m.child
    ids: list = []
    weights: list = []
    if all(hasattr(m, a) for a in ("_read_ids", "_read_weights", "_next_block")):
        while m.is_active():
            m._read_ids()
            m._read_weights()
            ids.extend(m._ids)
            weights.extend(m._weights)
            m._next_block()
    else:
        while m.is_active():
            ids.append(m.id())
            weights.append(m.weight())
            m.next()
    return np.array(ids, dtype=np.int32), np.array(weights, dtype=np.float32)


_EMPTY_IDS, _EMPTY_TF = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)


def neighbours(word: str, vocab: set[str]) -> list[str]:
    """Words of `vocab` one edit (delete, swap, replace, insert) from `word`, same first letter."""
    head, tail = word[:1], word[1:]
    letters = "abcdefghijklmnopqrstuvwxyz"
    cands = set()
    for i in range(len(tail) + 1):
        a, b = tail[:i], tail[i:]
        if b:
            cands.add(a + b[1:])
            cands.update(a + c + b[1:] for c in letters)
        if len(b) > 1:
            cands.add(a + b[1] + b[0] + b[2:])
        cands.update(a + c + b for c in letters)
    return sorted(head + c for c in cands if head + c in vocab and head + c != word)


class _Leaf:
    """One segment's share of a search: its cached values, the allowed mask, and (once
    scored) the score per document and which alternatives each document matched."""

    def __init__(self, sub, offset: int, segment: dict, allowed: np.ndarray):
        self.sub, self.offset, self.segment, self.allowed = sub, offset, segment, allowed
        self.reader = sub.reader()
        self.scores = np.zeros(len(allowed), dtype=np.float32)
        self.alt_hits: list[np.ndarray | None] = []


class _Scorer:
    """BM25 per field (title, tags, body with their boosts) over the allowed documents,
    vectorised over whole posting lists; per query word the best of its alternatives
    (the typed word, its synonyms, its typo neighbours) counts, and the sum is scaled by
    the share of query words the article has (so articles with every word come first
    without a second pass)."""

    def __init__(self, groups: list[Group], leaves: list[_Leaf], searcher, postings):
        # Deleted documents count here as in _df (postings keep them until segments are
        # rewritten): with live documents only, a re-indexed article made df > n, a
        # negative idf and no hit at all (a just-published article vanished from search).
        n = max(searcher.doc_count_all(), 1)
        self.n, self.postings, self.leaves = n, postings, leaves
        self.avg = {f: (searcher.field_length(f) / n) or 1.0 for f, _ in _FIELDS}
        self.alts = self._alternatives(groups, leaves)
        group_docs = [0] * len(groups)
        for leaf in leaves:
            best = [np.zeros(len(leaf.allowed), dtype=np.float32) for _ in groups]
            for gi, _, toks, weight in self.alts:
                alt = self._alt_scores(leaf, toks, weight)
                leaf.alt_hits.append(None if alt is None else (alt > 0) & leaf.allowed)
                if alt is not None:
                    np.maximum(best[gi], alt, out=best[gi])
            total = np.zeros(len(leaf.allowed), dtype=np.float32)
            words = np.zeros(len(leaf.allowed), dtype=np.float32)
            for gi, b in enumerate(best):
                b *= leaf.allowed
                total += b
                hit = b > 0
                words += hit
                group_docs[gi] += int(np.count_nonzero(hit))
            leaf.scores = total * (words / len(groups))
        allowed = max(sum(int(np.count_nonzero(leaf.allowed)) for leaf in leaves), 1)
        # How much each query word says: rare among what the caller may see = much.
        self.weights = [math.log(1 + allowed / (1 + g)) for g in group_docs]
        self.total_weight = sum(self.weights)

    @staticmethod
    def _alternatives(groups, leaves) -> list[tuple[int, str, tuple[str, ...], float]]:
        alts = []
        for gi, g in enumerate(groups):
            for ai, (toks, label) in enumerate(zip(g.alternatives, g.labels)):
                alts.append((gi, label, toks, 1.0 if ai == 0 else SYNONYM_WEIGHT))
            if g.fuzzy:
                word, near = g.alternatives[0][0], set()
                for leaf in leaves:
                    near.update(neighbours(word, leaf.segment["vocab"]))
                alts.extend((gi, w, (w,), FUZZY_WEIGHT) for w in sorted(near))
        return alts

    def _df(self, field: str, term: str) -> int:
        """Documents holding the term in the whole index (deleted ones included, as
        Whoosh's own statistics do until segments are rewritten)."""
        return sum(len(self.postings(leaf, field, term)[0]) for leaf in self.leaves)

    def _alt_scores(self, leaf: _Leaf, toks: tuple[str, ...], weight: float) -> np.ndarray | None:
        out = None
        for field, boost in _FIELDS:
            if any(not len(self.postings(leaf, field, t)[0]) for t in toks):
                continue
            df = min(self._df(field, t) for t in toks)
            idf = math.log(1 + (self.n - df + 0.5) / (df + 0.5))
            if len(toks) == 1:
                ids, tf = self.postings(leaf, field, toks[0])
            else:  # a phrase (a synonym jieba splits): scored as one occurrence
                ids = np.fromiter(wq.Phrase(field, list(toks)).docs(leaf.sub), dtype=np.int64)
                tf = np.ones(len(ids), dtype=np.float32)
            if not len(ids):
                continue
            lens = leaf.segment["lengths"][field][ids]
            part = (boost * weight * idf * (K1 + 1)) * tf / (tf + K1 * (1 - B) + (K1 * B / self.avg[field]) * lens)
            if out is None:
                out = np.zeros(len(leaf.allowed), dtype=np.float32)
            out[ids] += part
        return out
