"""Live events: publishing them in the writer's transaction, reading them back for the
hubs, deciding who may follow which topic (docs/decisions/0019-live-updates.md).

Every timeline record publishes one event (common.record calls `on_timeline`), so replies,
notes, status, assignment, merges and whatever later modules record reach open pages
without code of their own. Other modules publish on topics they register
(`register_topic`, then `publish`). Payloads are ids and kinds: pages fetch the rest
through their usual, permission-checked requests.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Callable

import peewee as pw

from appliance import registry, runtime
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import LiveEvent, Ticket, User, utcnow
from appliance.rules import live as rules
from appliance.rules.access import Actor, TicketFacts
from appliance.settings import Settings

log = logging.getLogger(__name__)
BATCH = 500
MOVES = ("department_id", "assignee_id")  # changes that move a ticket between queue views
MAX_DATA_CHARS = 500
BUILT_IN = ("ticket", "queue", "board")
_topics: dict[str, Callable[[Actor, str], bool]] = {}


# --- publishing (inside the caller's transaction) ----------------------------------------------

def register_topic(name: str, can_follow: Callable[[Actor, str], bool]) -> None:
    """Let pages follow "<name>:<key>"; can_follow(actor, key) decides when a stream opens
    (it may read the database). Events on it reach every follower, internal ones staff only."""
    if name in BUILT_IN or not rules.valid_topic(name + ":x"):
        raise ValueError(f"cannot register live topic {name!r}")
    _topics[name] = can_follow


def on_timeline(ticket_id: int, actor_id: int | None, kind: str, field: str, before, after,
                internal: bool) -> int:
    """The hook in common.record: one event per timeline record, the moves as ids."""
    data = None
    if field in MOVES and all(v is None or type(v) is int for v in (before, after)):
        data = {field: [before, after]}
    return publish_ticket(ticket_id, kind, actor_id=actor_id, internal=internal, data=data)


def publish_ticket(ticket_id: int, kind: str, *, actor_id: int | None = None,
                   internal: bool = False, data: dict | None = None) -> int:
    """A change of one ticket (followers of ticket:<id>, queue views, the board)."""
    return _insert(topic="", ticket_id=ticket_id, kind=kind[:32], actor_id=actor_id or None,
                   internal=internal, data=data)


def publish(topic: str, kind: str, *, data: dict | None = None, internal: bool = False,
            actor_id: int | None = None, ticket_id: int | None = None) -> int:
    """An event on a registered topic; `data` holds ids and codes only (it is sent as is)."""
    name, _ = rules.split(topic)
    if name not in _topics or not rules.valid_topic(topic):
        raise ValueError(f"unregistered live topic {topic!r}")
    if data is not None and len(json.dumps(data)) > MAX_DATA_CHARS:
        raise ValueError(f"live event data over {MAX_DATA_CHARS} characters")
    return _insert(topic=topic, ticket_id=ticket_id, kind=kind[:32], actor_id=actor_id or None,
                   internal=internal, data=data)


def _insert(**row) -> int:
    event_id = LiveEvent.create(**row).id   # the cached INSERT text (decision 0056)
    try:
        settings = runtime.settings()
    except RuntimeError:
        return event_id  # a bare script: listeners find the row when they next read
    registry.live_backend(settings).notify(event_id)
    return event_id


# --- reading (the hubs, replays) ---------------------------------------------------------------

def last_id() -> int:
    return LiveEvent.select(pw.fn.MAX(LiveEvent.id)).scalar() or 0


def oldest_id() -> int | None:
    return LiveEvent.select(pw.fn.MIN(LiveEvent.id)).scalar()


def read_after(cursor: int, also: list[int] | tuple = (), limit: int = BATCH
               ) -> list[rules.LiveFacts]:
    """Events after `cursor` (and the ids in `also`), oldest first, each with its ticket
    as it is now. One indexed range read (primary key) plus a join per event row."""
    cond = LiveEvent.id > cursor
    if also:
        cond |= LiveEvent.id.in_(list(also))
    rows = (LiveEvent.select(LiveEvent, Ticket.id.alias("t_id"),
                             Ticket.department.alias("t_department"),
                             Ticket.assignee.alias("t_assignee"),
                             Ticket.customer.alias("t_customer"),
                             Ticket.requester.alias("t_requester"),
                             Ticket.version.alias("t_version"))
            .join(Ticket, pw.JOIN.LEFT_OUTER, on=(Ticket.id == LiveEvent.ticket_id))
            .where(cond).order_by(LiveEvent.id).limit(limit).dicts())
    return [_facts(r) for r in rows]


def _facts(r: dict) -> rules.LiveFacts:
    ticket = None
    if r["t_id"] is not None:
        ticket = TicketFacts(r["t_department"], r["t_assignee"], r["t_customer"],
                             r["t_requester"])
    data = r["data"] if isinstance(r["data"], dict) else {}
    return rules.LiveFacts(id=r["id"], kind=r["kind"], topic=r["topic"],
                           ticket_id=r["ticket_id"], internal=bool(r["internal"]),
                           actor_id=r["actor_id"], version=r["t_version"], ticket=ticket,
                           data=data)


def prune(keep_hours: int, now: dt.datetime | None = None) -> int:
    """Delete events older than keep_hours; the newest row always stays, so that SQLite
    (which numbers rows from the highest id left) never hands out an id twice."""
    cutoff = (now or utcnow()) - dt.timedelta(hours=keep_hours)
    newest = last_id()
    return LiveEvent.delete().where((LiveEvent.created_at < cutoff)
                                    & (LiveEvent.id < newest)).execute()


# --- who may follow what -----------------------------------------------------------------------

def authorize(actor: Actor, topics: tuple[str, ...]) -> None:
    """Raise unless the actor may follow every topic: NotFound for a ticket (or registered
    object) they may not see, so ids cannot be probed; PermissionDenied for views of
    their role; ValidationError for a topic nobody registered."""
    from appliance.services import common
    for topic in topics:
        name, key = rules.split(topic)
        if name == "ticket":
            common.ticket_for(actor, int(key))
        elif name == "queue":
            if not actor.is_staff:
                raise PermissionDenied("queue views are for staff")
        elif name == "board":
            if actor.role not in rules.BOARD_ROLES:
                raise PermissionDenied("the dispatch board is for supervisors")
        elif name not in _topics:
            raise ValidationError({"topics": f"unknown topic: {topic}"})
        elif not _topics[name](actor, key):
            raise NotFound("not found", topic=topic)


def can_follow_ticket(actor: Actor, ticket_id: int) -> bool:
    """The database's answer when the in-memory facts said no (parents, merges)."""
    from appliance.services import common
    try:
        common.ticket_for(actor, ticket_id)
        return True
    except NotFound:
        return False


def session_user(token: str, settings: Settings) -> User | None:
    """The user of a live session without touching it (users.resume_session, touch=False)."""
    from appliance.services import users
    return users.resume_session(token, settings, touch=False)
