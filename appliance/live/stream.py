"""One open page's stream, apart from HTTP: first what happened since the page's cursor
(from the hub's buffer, else one read), then what the hub delivers, with heartbeats, a
check of the login every CHECK_SECONDS and an end after about MAX_SECONDS (the browser
reconnects with Last-Event-ID; a worker restart or a revoked session so takes effect).

The replay runs in the request that opens the stream (`prepare`, on its connection);
while it follows, the stream holds no database connection: a recheck of a ticket the
reader may have lost and the login check each open and close their own.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from appliance.db import database
from appliance.live.hub import CLOSED, OVERFLOW, Hub
from appliance.rules import live as rules
from appliance.rules.access import Actor

HEARTBEAT_SECONDS = 15.0
MAX_SECONDS = 600.0
CHECK_SECONDS = 60.0
REPLAY_MAX = 500


@dataclass(frozen=True)
class Message:
    """kind: event (data is a payload, id its event id), hello, reset, gone, bye, heartbeat."""
    kind: str
    data: dict | None = None
    id: int | None = None


def deliveries(actor: Actor, topics: tuple[str, ...], facts) -> list[tuple]:
    return [(e, t, d) for e in facts for t in topics
            if (d := rules.deliver(actor, t, e)) is not None]


def replay(actor: Actor, topics: tuple[str, ...], since: int, hub: Hub | None = None
           ) -> tuple[list[tuple], bool]:
    """(deliveries after `since`, reset): reset when some may be missing (pruned, or more
    than REPLAY_MAX), so the page reloads what it shows instead. Reads the table (on the
    caller's connection) only when the hub's buffer does not reach back far enough."""
    from appliance.services import live
    facts = hub.recent(since) if hub is not None else None
    if facts is None:
        oldest = live.oldest_id()
        facts = live.read_after(since, limit=REPLAY_MAX + 1)
        if len(facts) > REPLAY_MAX or (oldest is not None and since < oldest - 1):
            return [], True
    return deliveries(actor, topics, facts), False


def resolve(actor: Actor, delivery) -> dict | None:
    """The payload to send, asking the database (the caller's connection) when the
    in-memory facts said no."""
    if isinstance(delivery, tuple) and delivery[0] == rules.RECHECK:
        from appliance.services import live
        payload = delivery[1]
        return payload if live.can_follow_ticket(actor, payload["ticket_id"]) else None
    return delivery


class Stream:
    def __init__(self, hub: Hub, actor: Actor, topics: tuple[str, ...], since: int | None,
                 check: Callable[[], bool] | None = None, max_seconds: float = MAX_SECONDS):
        self.hub, self.actor, self.topics, self.since = hub, actor, topics, since
        self.check = check
        # Spread the reconnects (and the login checks) of pages opened together.
        self.max_seconds = max_seconds * random.uniform(0.9, 1.1)  # nosec B311  # reconnect jitter, not a secret
        self.check_seconds = CHECK_SECONDS * random.uniform(0.5, 1.5)  # nosec B311  # reconnect jitter, not a secret
        self.sub = hub.subscribe(actor, topics)  # raises hub.Full
        self._first: list[Message] = []
        self._sent: set[tuple[int, str]] = set()
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.hub.unsubscribe(self.sub)

    def prepare(self) -> None:
        """The replay, inside the request that opens the stream (its database connection,
        its place among the requests at work): a crowd of pages reconnecting at once after
        a restart must not queue for connections once they stream."""
        if self.since is None:
            return
        items, reset = replay(self.actor, self.topics, self.since, self.hub)
        if reset:
            self._first.append(Message("reset", {}))
        for e, topic, delivery in items:
            self._sent.add((e.id, topic))
            payload = resolve(self.actor, delivery)
            if payload is None:
                self._first.append(Message("gone", {"topic": topic}))
                return
            self._first.append(Message("event", payload, e.id))

    def messages(self) -> Iterator[Message]:
        try:
            yield Message("hello", {"cursor": self.hub.cursor})
            for m in self._first:
                yield m
                if m.kind == "gone":
                    return
            yield from self._follow()
        except _Gone as gone:
            yield Message("gone", {"topic": gone.topic})
        finally:
            self.close()

    def _follow(self) -> Iterator[Message]:
        start = last_check = time.monotonic()
        while (left := self.max_seconds - (time.monotonic() - start)) > 0:
            item = self.sub.get(timeout=min(HEARTBEAT_SECONDS, left))
            if item is CLOSED:
                break
            if item is OVERFLOW:
                yield Message("reset", {})
                return
            if item is None:
                yield Message("heartbeat")
            elif (item[0].id, item[1]) not in self._sent:
                yield self._one(item)
            if self.check and time.monotonic() - last_check >= self.check_seconds:
                last_check = time.monotonic()
                with database.connection_context():
                    if not self.check():
                        break
        yield Message("bye", {})

    def _one(self, item) -> Message:
        e, topic, delivery = item
        if isinstance(delivery, tuple):  # a recheck: the only database use while following
            with database.connection_context():
                payload = resolve(self.actor, delivery)
        else:
            payload = delivery
        if payload is None:
            raise _Gone(topic)
        return Message("event", payload, e.id)


class _Gone(Exception):
    """The reader lost the ticket: the page is told, then the stream ends."""

    def __init__(self, topic: str):
        super().__init__(topic)
        self.topic = topic
