"""Which live events a subscriber receives, and what it learns from them (pure; see
docs/decisions/0019-live-updates.md).

Topics a page may follow (at most MAX_TOPICS per stream):
  ticket:<id>     every change of one ticket the reader may see: the event's id, kind, the
                  ticket's version and who acted (ids only; the page fetches the rest)
  queue:<view>    "something changed in this view" for mine, unassigned, open and all
                  (staff); the ticket id only when the reader may see the ticket now
  board           "the dispatch board changed" (supervisors and administrators)
  <name>:<key>    topics other modules register (services.live.register_topic)

A payload never carries text, names or values: only ids, kinds and versions.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from appliance.rules.access import Actor, TicketFacts, can_view_ticket

MAX_TOPICS = 20
QUEUE_VIEWS = ("mine", "unassigned", "open", "all")
BOARD_ROLES = ("supervisor", "admin")
# Timeline kinds that change what the dispatch board shows (queues, loads, decisions).
BOARD_KINDS = frozenset({"created", "assigned", "routed", "queued", "escalated",
                         "redistributed", "status_changed", "reopened", "merged",
                         "field_changed", "ai_triage", "triage_finished"})
# Kinds that change no queue row (who looks at a ticket is not a change of the ticket).
NOT_ROW_CHANGES = frozenset({"presence"})
_TOPIC = re.compile(r"^([a-z][a-z_]{1,19})(?::([A-Za-z0-9_-]{1,64}))?$")
RECHECK = "recheck"  # the reader may have lost the ticket: ask the database (parents count)


@dataclass(frozen=True)
class LiveFacts:
    """One event as the hub sees it: the row plus the ticket as it is after the change."""
    id: int
    kind: str
    topic: str = ""
    ticket_id: int | None = None
    internal: bool = False
    actor_id: int | None = None
    version: int | None = None
    ticket: TicketFacts | None = None        # None: not a ticket event, or the ticket is gone
    data: dict = field(default_factory=dict)  # e.g. {"department_id": [before, after]}

    def before(self) -> TicketFacts | None:
        """The ticket as it was, for moves: a ticket that left a view changes the view too."""
        if self.ticket is None:
            return None
        changes = {name: pair[0] for name, pair in self.data.items()
                   if name in ("department_id", "assignee_id") and isinstance(pair, list)
                   and len(pair) == 2}
        return dataclasses.replace(self.ticket, **changes) if changes else self.ticket


def parse_topics(raw: str) -> tuple[str, ...]:
    """Comma-separated topics, de-duplicated in order; ValueError names what is wrong."""
    topics = []
    for part in (raw or "").split(","):
        part = part.strip()
        if part and part not in topics:
            topics.append(part)
    if not topics:
        raise ValueError("at least one topic is required")
    if len(topics) > MAX_TOPICS:
        raise ValueError(f"at most {MAX_TOPICS} topics")
    bad = [t for t in topics if not valid_topic(t)]
    if bad:
        raise ValueError("unknown topic: " + ", ".join(bad[:3]))
    return tuple(topics)


def valid_topic(topic: str) -> bool:
    m = _TOPIC.match(topic)
    if not m:
        return False
    name, key = m.groups()
    if name == "ticket":
        return key is not None and key.isdigit() and 0 < int(key) < 2**31
    if name == "queue":
        return key in QUEUE_VIEWS
    if name == "board":
        return key is None
    return key is not None


def split(topic: str) -> tuple[str, str | None]:
    name, _, key = topic.partition(":")
    return name, key or None


def deliver(actor: Actor, topic: str, e: LiveFacts):
    """What `actor`, following `topic`, is told of `e`: a payload dict, None (nothing) or
    (RECHECK, payload): the in-memory facts say no, the database decides (sub-tickets
    are visible through their parents; the stream ends when the answer is no)."""
    name, key = split(topic)
    if e.internal and not actor.is_staff:
        return None
    if name == "ticket":
        return _ticket(actor, topic, int(key), e)
    if e.topic:
        return _payload(topic, e, data=e.data) if e.topic == topic else None
    if name == "queue":
        return _queue(actor, topic, key, e)
    if name == "board":
        return _board(actor, topic, e)
    return None


def _payload(topic: str, e: LiveFacts, **extra) -> dict:
    return {"topic": topic, "id": e.id, "kind": e.kind, **extra}


def _ticket(actor: Actor, topic: str, ticket_id: int, e: LiveFacts):
    if e.topic or e.ticket_id != ticket_id:
        return None
    payload = _payload(topic, e, ticket_id=ticket_id, version=e.version, actor_id=e.actor_id)
    if e.ticket is not None and not can_view_ticket(actor, e.ticket):
        return (RECHECK, payload)
    return payload


def _queue(actor: Actor, topic: str, view: str, e: LiveFacts):
    if not actor.is_staff or e.ticket is None or e.kind in NOT_ROW_CHANGES:
        return None
    states = (e.ticket, e.before())
    if view == "mine":
        hit = any(f.assignee_id == actor.user_id for f in states)
    elif view == "unassigned":
        hit = any(f.assignee_id is None and f.department_id == actor.department_id
                  for f in states)
    else:
        hit = any(can_view_ticket(actor, f) for f in states)
    if not hit:
        return None
    visible = can_view_ticket(actor, e.ticket)
    return {"topic": topic, "id": e.id, "kind": "changed",
            "ticket_id": e.ticket_id if visible else None}


def _board(actor: Actor, topic: str, e: LiveFacts):
    if actor.role not in BOARD_ROLES or e.ticket is None or e.kind not in BOARD_KINDS:
        return None
    if not actor.is_admin and not any(
            f.department_id in (actor.department_id, None) for f in (e.ticket, e.before())):
        return None
    return {"topic": topic, "id": e.id, "kind": "changed"}
