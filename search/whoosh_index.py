"""The Whoosh implementation of `appliance.ports.SearchIndex`.

Owns the on-disk index under `index_dir`:

    CURRENT      name of the live generation; `rebuild()` builds a new one beside it
                 and swaps this file atomically (os.replace)
    write.lock   fcntl lock: one writer at a time across web, worker and CLI processes
    g-<stamp>/   a Whoosh index (one generation)

Texts are PII-masked (search.analysis.clean) before they are indexed or stored;
only the id and the first SNIPPET_CHARS of each text field are stored, for
highlighting the returned page. `rebuild()` writes chronological segments of
REBUILD_SEGMENT documents (search.ranking visits the newest first). A deleted
or replaced document's text stays in its segment until the segment is
rewritten: small segments are rewritten on commit, the others by `optimize()`
(nightly, and after an erasure).
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path

from whoosh import index as windex
from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import MERGE_SMALL

from appliance.ports import IndexedTicket, SearchFilters, SearchHit
from search.analysis import SUBJECT_END, analyzer, clean
from search.highlight import TEXT_FIELDS, highlights
from search.querying import NONE, QueryBuilder, filter_query
from search.ranking import Allowed, segment_part, top_and_total

log = logging.getLogger(__name__)

PUBLIC_FIELDS = TEXT_FIELDS[:3]
SNIPPET_CHARS = 2000
LOCK_TIMEOUT = 60.0  # seconds a writer waits for another (a rebuild may hold it longer)
READER_WAIT = 2.0    # seconds a search waits for the lock when there is no index at all
EXPUNGE_DOCS = 10_000  # segments up to this size are rewritten when they hold deletions
FILTER_CACHE = 1024  # (segment, filter) bit sets: a 100k-document segment's costs 12.5 kB
REBUILD_SEGMENT = 100_000  # documents per segment written by rebuild() (chronological tiers)


class IndexBusy(RuntimeError):
    """Another writer held the index lock for longer than LOCK_TIMEOUT."""


def schema() -> Schema:
    an = analyzer()
    return Schema(
        id=ID(unique=True, stored=True), number=ID(),
        # subject (weighted ×3 by the analyzer), description and public replies in one
        # field: one posting list per query word (four fields made queries ~6× slower).
        text=TEXT(analyzer=an),
        internal=TEXT(analyzer=an, phrase=False),
        status=ID(), department_id=ID(), assignee_id=ID(), customer_id=ID(), requester_id=ID(),
        created_at=DATETIME(), snippets=STORED())


def _open(path: Path):
    # No mmap: whoosh3 3.54 copies each mmapped file into a BytesIO when a reader opens,
    # which made every searcher or writer open cost ~0.3 s and a copy of the term file
    # at 200k tickets. Plain reads are as fast here; searches are serialised per process.
    return FileStorage(str(path), supports_mmap=False).open_index()


def _key(value) -> str:
    return NONE if value is None else str(value)


def _fields(doc: IndexedTicket) -> dict:
    subject, description, public, internal = (clean(getattr(doc, f) or "") for f in TEXT_FIELDS)
    return dict(id=str(doc.id), number=doc.number, status=doc.status,
                text=subject + SUBJECT_END + description + "\n" + public, internal=internal,
                department_id=_key(doc.department_id), assignee_id=_key(doc.assignee_id),
                customer_id=_key(doc.customer_id), requester_id=_key(doc.requester_id),
                created_at=doc.created_at,
                snippets=tuple(t[:SNIPPET_CHARS] for t in (subject, description, public, internal)))


def _copy_live(writer, segment) -> None:
    """Copy a segment's live documents into the writer's new segment (dropping the old)."""
    from whoosh.reading import SegmentReader
    reader = SegmentReader(writer.storage, writer.schema, segment)
    writer.add_reader(reader)
    reader.close()


def merge_policy(writer, segments):
    """Whoosh's MERGE_SMALL, plus rewriting small segments that hold deleted documents."""
    kept = []
    for seg in MERGE_SMALL(writer, segments):
        if seg.has_deletions() and seg.doc_count_all() <= EXPUNGE_DOCS:
            _copy_live(writer, seg)
        else:
            kept.append(seg)
    return kept


def _rewrite(segment_id: str):
    """A merge policy that rewrites one segment without its deleted documents."""
    def policy(writer, segments):
        kept = []
        for seg in segments:
            if seg.segment_id() == segment_id:
                _copy_live(writer, seg)
            else:
                kept.append(seg)
        return kept
    return policy


def _bulk_load(ix, docs) -> int:
    """Add `docs` in segments of REBUILD_SEGMENT documents, in the order given."""
    count, writer = 0, None
    for doc in docs:
        if writer is None:
            writer = ix.writer(limitmb=256)
        writer.add_document(**_fields(doc))
        count += 1
        if count % REBUILD_SEGMENT == 0:
            writer.commit(merge=False)
            writer = None
    if writer is not None:
        writer.commit(merge=False)
    return count


@contextlib.contextmanager
def file_lock(path: Path, timeout: float = LOCK_TIMEOUT):
    """Exclusive fcntl lock on `path`; released when the descriptor closes (or the process dies)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexBusy(f"search index {path.parent} is locked by another writer") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


class WhooshIndex:
    def __init__(self, index_dir: str):
        self.root = Path(index_dir)
        self._lock = threading.Lock()  # one search at a time per process: the GIL allows no more
        self._searcher = None
        self._searcher_dir: Path | None = None
        self._filters: OrderedDict = OrderedDict()
        self._queries = QueryBuilder(schema())

    # -- generations -------------------------------------------------------------

    def _current(self) -> Path | None:
        try:
            name = (self.root / "CURRENT").read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        path = self.root / name
        return path if name and windex.exists_in(path) else None

    def _publish(self, gen: Path) -> None:
        tmp = self.root / f"CURRENT.{uuid.uuid4().hex}"
        tmp.write_text(gen.name, encoding="ascii")
        os.replace(tmp, self.root / "CURRENT")  # atomic: readers see the old or the new name
        for old in self.root.glob("g-*"):
            if old != gen:
                shutil.rmtree(old, ignore_errors=True)

    def _new_generation(self) -> Path:
        gen = self.root / f"g-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        gen.mkdir(parents=True)
        windex.create_in(gen, schema())
        return gen

    def _locked(self, timeout: float = LOCK_TIMEOUT):
        self.root.mkdir(parents=True, exist_ok=True)
        return file_lock(self.root / "write.lock", timeout)

    def _ensure(self) -> Path:
        """The live generation's directory, created (under the write lock) if missing. A
        reader does not wait out a first rebuild that holds the lock (half an hour at 1M):
        IndexBusy after READER_WAIT, and the page says search is unavailable."""
        current = self._current()
        if current is None:
            with self._locked(READER_WAIT):
                current = self._current_or_create()
        return current

    def _current_or_create(self) -> Path:
        """As _ensure(), for callers that hold the write lock already."""
        current = self._current()
        if current is None:
            current = self._new_generation()
            self._publish(current)
        return current

    # -- writes ------------------------------------------------------------------

    @contextlib.contextmanager
    def _writer(self):
        with self._locked():
            ix = _open(self._current_or_create())
            writer = ix.writer(timeout=5.0)
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=merge_policy)

    def upsert(self, doc: IndexedTicket) -> None:
        self.apply([doc], [])

    def delete(self, ticket_id: int) -> None:
        self.apply([], [ticket_id])

    def apply(self, upserts: list[IndexedTicket], deletes: list[int]) -> None:
        """Many changes in one writer and one commit: the indexing jobs come in batches."""
        if not upserts and not deletes:
            return
        with self._writer() as w:
            for doc in upserts:
                w.update_document(**_fields(doc))
            for ticket_id in deletes:
                w.delete_by_term("id", str(ticket_id))

    def optimize(self) -> None:
        """Rewrite every segment that holds deleted documents, so their text leaves the disk.

        One segment per commit, oldest first: merging them all into one would undo
        the chronological segments that search.ranking visits newest first.
        """
        with self._locked():
            ix = _open(self._current_or_create())
            with ix.reader() as reader:
                holding = [sub.segment().segment_id() for sub, _ in reader.leaf_readers()
                           if sub.has_deletions()]
            for segment_id in holding:
                writer = ix.writer(timeout=5.0)
                writer.commit(mergetype=_rewrite(segment_id))

    def rebuild(self, docs) -> int:
        """Index `docs` (oldest first) into a fresh generation and swap it in; returns the count."""
        with self._locked():
            gen = self._new_generation()
            try:
                count = _bulk_load(_open(gen), docs)
            except BaseException:
                shutil.rmtree(gen, ignore_errors=True)
                raise
            self._publish(gen)
        return count

    def health(self) -> bool:
        try:
            with self._lock:
                self._fresh_searcher()
            return True
        except Exception:  # health reports; the log says why
            log.warning("search index at %s is not usable", self.root, exc_info=True)
            return False

    # -- reads -------------------------------------------------------------------

    def _fresh_searcher(self):
        """The cached searcher, reopened after a rebuild and refreshed after commits."""
        current = self._ensure()
        if (self._searcher is None or current != self._searcher_dir
                or not self._searcher.up_to_date()):
            # A new searcher, not Searcher.refresh(): whoosh3 3.54's reader reuse keeps
            # the old segments' documents alongside the new ones.
            self._close_searcher()
            self._searcher = _open(current).searcher()
            self._searcher_dir = current
        return self._searcher

    def _close_searcher(self) -> None:
        if self._searcher is not None:
            with contextlib.suppress(Exception):
                self._searcher.close()
        self._searcher, self._searcher_dir = None, None
        # Filter bit sets are keyed by segment id and stay valid across searchers.

    def search(self, query: str, filters: SearchFilters, limit: int = 20, offset: int = 0, *,
               budget_s: float | None = None) -> tuple[list[SearchHit], int]:
        fields = TEXT_FIELDS if filters.include_internal else PUBLIC_FIELDS
        q = self._queries.build(query, ("text", "internal") if filters.include_internal else ("text",))
        if q is None:
            return [], 0
        with self._lock:
            try:
                return self._search(q, fields, filters, limit, offset, budget_s)
            except (OSError, ValueError, KeyError):
                # A rebuild removed the files under our searcher: reopen once.
                self._close_searcher()
                return self._search(q, fields, filters, limit, offset, budget_s)

    def _search(self, q, fields, filters, limit, offset, budget_s=None):
        searcher = self._fresh_searcher()
        allow = self._allowed(searcher, filters)
        if allow is not None and not allow:
            return [], 0
        top, total = top_and_total(searcher, q, allow, offset + limit, budget=budget_s)
        terms = frozenset(text for _, text in q.any.iter_all_terms())
        hits = []
        for score, docnum in top[offset:offset + limit]:
            stored = searcher.stored_fields(docnum)
            hits.append(SearchHit(int(stored["id"]), float(score),
                                  highlights(stored.get("snippets") or (), terms, fields)))
        return hits, total

    def _allowed(self, searcher, filters: SearchFilters) -> Allowed | None:
        """The documents `filters` let through (None: all), from per-segment caches."""
        fq = filter_query(filters)
        if fq is None:
            return None
        parts = []
        for sub, offset in searcher.leaf_searchers():
            segment = getattr(sub.reader(), "segment", lambda: None)()  # None: empty index
            key = (segment.segment_id(), fq) if segment is not None else None
            part = self._filters.get(key) if key else None
            if part is None:
                part = segment_part(sub, fq)
                if key:
                    self._filters[key] = part
                    if len(self._filters) > FILTER_CACHE:
                        self._filters.popitem(last=False)
            elif key:
                self._filters.move_to_end(key)
            parts.append((offset, offset + sub.doc_count_all(), *part))
        return Allowed(parts)
