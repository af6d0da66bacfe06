"""The hub of one process: ONE listener thread reads new live events (one indexed query per
read, whatever the number of open pages) and hands each open stream what its reader may
learn of them (rules.live.deliver, in memory), through the stream's own queue.

Streams never touch the database while they wait. The hub keeps the last BUFFER events
so that a page reconnecting with Last-Event-ID is usually answered from memory.

PostgreSQL can commit a later id before an earlier one (two transactions, two sequence
values): an id skipped by a read is asked for again for GAP_SECONDS. SQLite allocates
ids under its single write lock, so there ids appear in order.
"""
from __future__ import annotations

import collections
import logging
import os
import queue
import secrets
import threading
import time
from typing import Callable

from appliance import registry
from appliance.db import database
from appliance.rules import live as rules
from appliance.rules.access import Actor
from appliance.settings import Settings

log = logging.getLogger(__name__)
BUFFER = 5000
READ_BATCH = 500
GAP_SECONDS = 10.0
MAX_GAPS = 1000
MAX_PENDING = 1000       # a stream this far behind is told to reset instead
EXPECT_SECONDS = 2.0     # how long a Redis-announced id is waited for (then: rolled back)
CLOSED, OVERFLOW = "closed", "overflow"
_alive: Callable[[], bool] = lambda: True


class Full(Exception):
    """This process holds live_streams_per_worker streams already."""


class Subscription:
    """One open stream: its reader, its topics and the queue the listener fills."""

    def __init__(self, actor: Actor, topics: tuple[str, ...]):
        self.actor, self.topics = actor, topics
        self.tickets = {int(k) for n, k in map(rules.split, topics) if n == "ticket"}
        self.wide = any(rules.split(t)[0] != "ticket" for t in topics)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.overflowed = False

    def put(self, item) -> None:
        if self.overflowed:
            return
        if self._queue.qsize() >= MAX_PENDING:
            self.overflowed = True
            item = OVERFLOW
        self._queue.put(item)

    def get(self, timeout: float):
        """(facts, topic, delivery), CLOSED, OVERFLOW, or None after `timeout` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


class Hub:
    def __init__(self, settings: Settings, backend=None, read=None, last=None):
        from appliance.services import live
        self.settings = settings
        self.capacity = settings.live_streams_per_worker
        self.backend = backend or registry.live_backend(settings)
        self._read = read or live.read_after
        self._last = last or live.last_id
        self.pid = os.getpid()
        self.node = secrets.token_hex(4)  # tells the workers apart in tests and logs
        self.cursor = 0
        self._floor: int | None = None  # events after it are all in the buffer
        self._buffer: collections.deque = collections.deque(maxlen=BUFFER)
        self._gaps: dict[int, float] = {}
        self._expect, self._expect_until = 0, 0.0
        self._by_ticket: dict[int, set[Subscription]] = collections.defaultdict(set)
        self._wide: set[Subscription] = set()
        self._count = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread: threading.Thread | None = None

    # -- streams ------------------------------------------------------------------------------

    def subscribe(self, actor: Actor, topics: tuple[str, ...]) -> Subscription:
        sub = Subscription(actor, topics)
        with self._lock:
            if self._count >= self.capacity:
                raise Full()
            self._count += 1
            for t in sub.tickets:
                self._by_ticket[t].add(sub)
            if sub.wide:
                self._wide.add(sub)
        self._ensure_started()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            removed = False
            for t in sub.tickets:
                subs = self._by_ticket.get(t)
                if subs and sub in subs:
                    subs.discard(sub)
                    removed = True
                    if not subs:
                        del self._by_ticket[t]
            if sub in self._wide:
                self._wide.discard(sub)
                removed = True
            if removed:
                self._count -= 1

    @property
    def streams(self) -> int:
        return self._count

    def recent(self, after: int) -> list[rules.LiveFacts] | None:
        """Buffered events after `after`, or None when the buffer may lack some."""
        with self._lock:
            if self._floor is None or after < self._floor:
                return None
            return [e for e in self._buffer if e.id > after]

    # -- the listener ---------------------------------------------------------------------------

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="gongdan-live-hub",
                                                daemon=True)
                self._thread.start()
        self._started.wait(10)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            subs = set(self._wide).union(*self._by_ticket.values())
        for sub in subs:
            sub.put(CLOSED)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            self._start_cursor()
            while not self._stop.is_set():
                if not _alive():  # the gunicorn worker is shutting down
                    self.stop()
                    break
                expecting = self._expect > self.cursor and time.monotonic() < self._expect_until
                woke = self.backend.wait(0.02 if expecting else self.backend.timeout)
                if woke:
                    self._expect = max(self._expect, woke)
                    self._expect_until = time.monotonic() + EXPECT_SECONDS
                self._read_all()
        finally:
            self._started.set()
            _close_connection()

    def _start_cursor(self) -> None:
        while not self._stop.is_set():
            try:
                self.cursor = self._last()
                with self._lock:
                    self._floor = self.cursor
                return
            except Exception:
                log.warning("live updates: cannot read the event table; retrying", exc_info=True)
                _close_connection()
                self._stop.wait(1.0)
            finally:
                self._started.set()

    def _read_all(self) -> None:
        try:
            while True:
                now = time.monotonic()
                self._gaps = {i: t for i, t in self._gaps.items() if now - t < GAP_SECONDS}
                events = self._read(self.cursor, sorted(self._gaps), READ_BATCH)
                self._take(events, now)
                if len(events) < READ_BATCH:
                    return
        except Exception:
            log.warning("live updates: reading events failed; retrying", exc_info=True)
            _close_connection()
            self._stop.wait(1.0)

    def _take(self, events: list[rules.LiveFacts], now: float) -> None:
        fresh = []
        for e in events:
            if e.id in self._gaps:
                del self._gaps[e.id]  # committed late: deliver it now
            elif e.id > self.cursor:
                for missing in range(self.cursor + 1, min(e.id, self.cursor + 1 + MAX_GAPS)):
                    if len(self._gaps) < MAX_GAPS:
                        self._gaps[missing] = now
                self.cursor = e.id
            else:
                continue
            fresh.append(e)
        if fresh:
            with self._lock:
                self._buffer.extend(fresh)
                if len(self._buffer) == self._buffer.maxlen:
                    self._floor = max(self._floor or 0, self._buffer[0].id - 1)
            for e in fresh:
                self._dispatch(e)

    def _dispatch(self, e: rules.LiveFacts) -> None:
        with self._lock:
            targets = set(self._wide)
            if e.ticket_id is not None:
                targets |= self._by_ticket.get(e.ticket_id, set())
        for sub in targets:
            for topic in sub.topics:
                delivery = rules.deliver(sub.actor, topic, e)
                if delivery is not None:
                    sub.put((e, topic, delivery))


def _close_connection() -> None:
    try:
        database.close()
    except Exception:  # nosec B110  # closing after use: nothing left to do
        pass


# --- one hub per process -----------------------------------------------------------------------

_hub: Hub | None = None
_hub_lock = threading.Lock()


def hub_for(settings: Settings) -> Hub:
    """This process's hub (a new one after a fork or when the settings changed)."""
    global _hub
    with _hub_lock:
        if _hub is None or _hub.pid != os.getpid() or _hub.settings != settings:
            if _hub is not None and _hub.pid == os.getpid():
                _hub.stop()
            _hub = Hub(settings)
        return _hub


def stop_hub() -> None:
    global _hub
    with _hub_lock:
        if _hub is not None and _hub.pid == os.getpid():
            _hub.stop()
        _hub = None


def set_alive_check(check: Callable[[], bool]) -> None:
    """The web server says when the process stops (webapp/gunicorn_conf.py): the hub then
    ends every stream at once, instead of holding the worker's shutdown for them."""
    global _alive
    _alive = check
