"""A per-key sliding-window counter, in this process.

For limits that only have to stop a runaway script or a flood, not be exact across
processes (each web worker counts on its own): portal suggestions as a customer types,
the knowledge search log per user.
"""
from __future__ import annotations

import threading
import time
from collections import deque

IDLE_KEYS = 10_000  # above this many keys, forget the idle ones rather than grow forever
_windows: list["SlidingWindow"] = []


class SlidingWindow:
    """At most `limit` events per key in any `seconds`; `allow(key)` counts one."""

    def __init__(self, limit: int, seconds: float):
        self.limit, self.seconds = limit, seconds
        self._lock = threading.Lock()
        self._seen: dict[object, deque] = {}
        _windows.append(self)

    def allow(self, key) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > IDLE_KEYS:
                self._seen = {k: q for k, q in self._seen.items() if q and q[-1] > now - self.seconds}
            q = self._seen.setdefault(key, deque())
            while q and q[0] <= now - self.seconds:
                q.popleft()
            if len(q) >= self.limit:
                return False
            q.append(now)
            return True

    def retry_after(self, key) -> int:
        """Whole seconds until `key` may count another event (0: now)."""
        now = time.monotonic()
        with self._lock:
            q = self._seen.get(key)
            if not q or len(q) < self.limit:
                return 0
            return max(1, int(q[-self.limit] + self.seconds - now + 0.999))


def clear_all() -> None:
    """Forget every count (tests: user ids repeat from one test database to the next)."""
    for window in _windows:
        with window._lock:
            window._seen = {}
