"""How a process hears of new live events: the table is the only source of truth, and a
back-end only shortens the wait for the next read.

- poll: read every `live_poll_ms` (SQLite, one machine).
- postgres: LISTEN on a connection of its own; the writer's NOTIFY is sent by PostgreSQL
  at commit, so a wake-up always finds the event. Read every second anyway, and at
  `live_poll_ms` while the LISTEN connection is down.
- redis: SUBSCRIBE on `queue_url`; the writer publishes the new id before it commits (no
  commit hook), so the hub keeps reading briefly until that id is visible (services.live).

Each back-end has `notify(event_id)` (called by writers, inside their transaction, from
any thread; must never fail the write) and `wait(timeout)` (called by the one listener
thread; returns an event id to expect, 0 for "something committed", None on timeout).
"""
from __future__ import annotations

import logging
import select
import threading
import time
from urllib.parse import unquote, urlparse

from appliance.db import database
from appliance.settings import Settings

log = logging.getLogger(__name__)
CHANNEL = "gongdan_live"
RETRY_SECONDS = 10.0   # how long a broken LISTEN/SUBSCRIBE connection rests before a retry
FALLBACK_SECONDS = 1.0  # reads without a wake-up while LISTEN/SUBSCRIBE works


class PollBackend:
    name = "poll"

    def __init__(self, settings: Settings):
        self.interval = settings.live_poll_ms / 1000
        self.timeout = self.interval

    def notify(self, event_id: int) -> None:
        """Nothing to do: listeners read the table on their own."""

    def wait(self, timeout: float) -> int | None:
        time.sleep(timeout)
        return None

    def close(self) -> None:
        pass


class _Resting:
    """A connection that failed is tried again after RETRY_SECONDS, polling meanwhile."""

    def __init__(self, settings: Settings):
        self.interval = settings.live_poll_ms / 1000
        self.timeout = FALLBACK_SECONDS
        self._failed_at = 0.0

    def _may_try(self) -> bool:
        return time.monotonic() - self._failed_at >= RETRY_SECONDS

    def _failed(self, what: str) -> None:
        self._failed_at = time.monotonic()
        log.warning("live updates: %s failed; polling every %d ms until it is back", what,
                    int(self.interval * 1000), exc_info=True)


class PostgresBackend(_Resting):
    name = "postgres"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.url = settings.database_url
        self._conn = None

    def notify(self, event_id: int) -> None:
        # One notification per transaction: PostgreSQL folds identical ones together.
        database.execute_sql("SELECT pg_notify(%s, '')", (CHANNEL,))

    def _listen(self):
        if self._conn is None and self._may_try():
            import psycopg2
            u = urlparse(self.url)
            try:
                conn = psycopg2.connect(dbname=u.path.lstrip("/"), host=u.hostname,
                                        port=u.port or 5432, user=unquote(u.username or "") or None,
                                        password=unquote(u.password or "") or None,
                                        connect_timeout=5, application_name="gongdan-live")
                conn.autocommit = True
                conn.cursor().execute(f"LISTEN {CHANNEL}")
                self._conn = conn
            except psycopg2.Error:
                self._failed("LISTEN")
        return self._conn

    def wait(self, timeout: float) -> int | None:
        conn = self._listen()
        if conn is None:
            time.sleep(min(timeout, self.interval))
            return None
        try:
            if not select.select([conn], [], [], timeout)[0]:
                return None
            conn.poll()
            woke = bool(conn.notifies)
            conn.notifies.clear()
            return 0 if woke else None
        except Exception:
            self.close()
            self._failed("LISTEN")
            return None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # nosec B110  # closing after use: nothing left to do
                pass
            self._conn = None


class RedisBackend(_Resting):
    name = "redis"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.url = settings.queue_url
        self._client = None
        self._pubsub = None
        self._lock = threading.Lock()
        self._publish_failed_at = 0.0

    def _redis(self):
        with self._lock:
            if self._client is None:
                import redis
                # Short timeouts: a writer waits at most this long for a Redis that is down.
                self._client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5,
                                                    socket_timeout=0.5)
            return self._client

    def notify(self, event_id: int) -> None:
        if time.monotonic() - self._publish_failed_at < RETRY_SECONDS:
            return  # Redis was down a moment ago: listeners poll meanwhile
        try:
            self._redis().publish(CHANNEL, str(event_id))
        except Exception:
            self._publish_failed_at = time.monotonic()
            log.warning("live updates: could not publish to Redis; listeners poll", exc_info=True)

    def _subscribed(self):
        if self._pubsub is None and self._may_try():
            try:
                import redis
                client = redis.Redis.from_url(self.url, socket_connect_timeout=2,
                                              socket_timeout=None)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self._pubsub = pubsub
            except Exception:
                self._failed("SUBSCRIBE")
        return self._pubsub

    def wait(self, timeout: float) -> int | None:
        pubsub = self._subscribed()
        if pubsub is None:
            time.sleep(min(timeout, self.interval))
            return None
        try:
            expect = None
            message = pubsub.get_message(timeout=timeout)
            while message is not None:  # take everything already there in one go
                if message.get("type") == "message":
                    expect = max(expect or 0, _as_id(message.get("data")))
                message = pubsub.get_message(timeout=0)
            return expect
        except Exception:
            self.close()
            self._failed("SUBSCRIBE")
            return None

    def close(self) -> None:
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except Exception:  # nosec B110  # closing after use: nothing left to do
                pass
            self._pubsub = None


def _as_id(data) -> int:
    try:
        return max(0, int(data))
    except (TypeError, ValueError):
        return 0


def backend_name(settings: Settings) -> str:
    """auto: Redis when the queue is there (no NOTIFY lock at commit), else PostgreSQL's
    LISTEN/NOTIFY, else polling."""
    if settings.live_backend != "auto":
        return settings.live_backend
    if settings.queue_url.startswith("redis://"):
        return "redis"
    if settings.database_url.startswith(("postgresql://", "postgres://")):
        return "postgres"
    return "poll"
