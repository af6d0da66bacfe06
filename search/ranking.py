"""Runs a parsed query under a filter within a time budget: top documents and a total.

Whoosh matches in pure Python (some microseconds per posting), so a common
word in a million tickets cannot be ranked exhaustively in 300 ms. Hence:

* small allowed sets (a customer's own tickets, a narrow filter) are walked
  document by document with `skip_to`, so the cost follows the filter, not the
  index, and everything is exact;
* otherwise documents with every word are ranked first and partial matches
  fill the rest of the page; both passes share RANK_BUDGET seconds and visit
  segments newest first (rebuilds write chronological segments, new changes
  land in new ones), so a query too broad to finish ranks the most recent
  tickets rather than the oldest;
* the total is exact up to COUNT_CAP matches (or COUNT_BUDGET seconds), then
  extrapolated over the documents not yet counted. Only documents the filter
  allows are ever counted, so a total never reveals tickets the actor cannot see.
"""
from __future__ import annotations

import heapq
import time
from bisect import bisect_right

from whoosh.collectors import TopCollector, WrappingCollector
from whoosh.idsets import BitSet, DocIdSet

SMALL_FILTER = 5_000
COUNT_CAP = 1_000
RANK_BUDGET = 0.15  # seconds; with counting, filters and highlights a query stays under 0.3 s
COUNT_BUDGET = 0.04


class Allowed(DocIdSet):
    """The documents a filter lets through, as one bit set per segment.

    Per segment, because segments never change (deletions only hide documents):
    after a commit only the new, small segments need computing, not the filter
    over the whole index. Whoosh tests `bool(allow)` per match, so that is O(1).
    """

    def __init__(self, parts: list[tuple[int, int, BitSet, int]]):
        self.parts = parts  # (offset, end, local bit set, count) in docnum order
        self._offsets = [offset for offset, _, _, _ in parts]
        self.count = sum(count for _, _, _, count in parts)
        self.docs = list(self) if self.count <= SMALL_FILTER else None  # for walking

    def __contains__(self, docnum: int) -> bool:
        i = bisect_right(self._offsets, docnum) - 1
        if i < 0:
            return False
        offset, end, bits, _ = self.parts[i]
        return docnum < end and (docnum - offset) in bits

    def __iter__(self):
        for offset, _, bits, _ in self.parts:
            for local in bits:
                yield offset + local

    def __bool__(self) -> bool:
        return self.count > 0

    __nonzero__ = __bool__

    def __len__(self) -> int:
        return self.count


def segment_part(sub, fq) -> tuple[BitSet, int]:
    """One segment's share of a filter: (local bit set, count)."""
    docs = list(sub.docs_for_query(fq))
    return BitSet(docs, size=max(sub.doc_count_all(), 1)), len(docs)


def top_and_total(searcher, parsed, allow: Allowed | None, want: int, *,
                  budget: float | None = None) -> tuple[list[tuple[float, int]], int]:
    """[(score, docnum)] best first (at most `want`), and the number of matches.

    `budget` (seconds) replaces RANK_BUDGET for callers that want a few good matches
    fast rather than the best of all (suggestions); they get no count either: the
    total is then the number of matches returned."""
    if allow is not None and allow.docs is not None:
        return _walk(searcher, parsed, allow.docs, want)
    deadline = time.monotonic() + (RANK_BUDGET if budget is None else budget)
    top = _ranked(searcher, parsed.all, allow, want, deadline) if parsed.all is not None else []
    if len(top) < want:
        seen = {docnum for _, docnum in top}
        more = _ranked(searcher, parsed.any, allow, want, deadline)
        top += [item for item in more if item[1] not in seen][:want - len(top)]
    if budget is not None:
        return top, len(top)
    return top, max(len(top), _count(searcher, parsed.any, allow))


class _OutOfTime(Exception):
    pass


class _Budget(WrappingCollector):
    """Filters matches, visits segments newest first, and stops at the deadline.

    The deadline is checked per match found, before filtering: with a narrow
    filter most matches are dropped and would otherwise never reach a check.
    """

    def __init__(self, child, allow, deadline: float):
        super().__init__(child)
        self.allow = allow
        self.deadline = deadline

    def run(self) -> None:
        try:
            for sub, offset in reversed(list(self.top_searcher.leaf_searchers())):
                self.set_subsearcher(sub, offset)
                self.collect_matches()
        finally:
            self.finish()

    def matches(self):
        allow, offset = self.allow, self.offset
        for n, sub_docnum in enumerate(self.child.matches(), 1):
            if not n & 63 and time.monotonic() > self.deadline:
                raise _OutOfTime
            if allow is None or offset + sub_docnum in allow:
                yield sub_docnum

    def collect_matches(self) -> None:
        collect = self.child.collect
        for sub_docnum in self.matches():
            collect(sub_docnum)


def _ranked(searcher, q, allow, want: int, deadline: float) -> list[tuple[float, int]]:
    if time.monotonic() > deadline:
        return []
    budget = _Budget(TopCollector(limit=want), allow, deadline)
    try:
        searcher.search_with_collector(q, budget)
    except _OutOfTime:
        pass  # keep what the newest segments gave
    # Whoosh keeps the first of equal scores it meets, and segments are met newest first:
    # order ties newest first too, so that a longer page starts with the shorter one.
    return sorted(budget.results().top_n, key=lambda item: (-item[0], -item[1]))


def _walk(searcher, parsed, docs: list[int], want: int):
    """Score only the allowed documents; those matching every word come first."""
    context = searcher.context()
    heap: list[tuple[int, float, int]] = []
    total = 0
    i = 0
    for sub, offset in searcher.leaf_searchers():
        end = offset + sub.doc_count_all()
        m_any = parsed.any.matcher(sub, context)
        m_all = parsed.all.matcher(sub, context) if parsed.all is not None else None
        while i < len(docs) and docs[i] < end:
            local = docs[i] - offset
            i += 1
            if not _at(m_any, local):
                continue
            total += 1
            every = 1 if m_all is None or _at(m_all, local) else 0
            item = (every, m_any.score(), local + offset)  # ties: newest (highest docnum) first
            if len(heap) < want:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
    return [(score, docnum) for _, score, docnum in sorted(heap, reverse=True)], total


def _at(m, docnum: int) -> bool:
    """Advance matcher `m` to `docnum`; True if it matches there."""
    if not m.is_active():
        return False
    if m.id() < docnum:
        m.skip_to(docnum)
    return m.is_active() and m.id() == docnum


def _count(searcher, q, allow) -> int:
    """Exact up to COUNT_CAP allowed matches or COUNT_BUDGET seconds, then extrapolated."""
    seen = 0
    size = max(searcher.doc_count_all(), 1)
    deadline = time.monotonic() + COUNT_BUDGET
    for n, docnum in enumerate(searcher.docs_for_query(q), 1):
        if allow is None or docnum in allow:
            seen += 1
            if seen >= COUNT_CAP:
                return max(seen, round(seen * size / (docnum + 1)))
        if not n & 255 and time.monotonic() > deadline:
            return max(seen, round(seen * size / (docnum + 1)))
    return seen
