"""Queue views and ticket lists with filters and keyset paging.

Keyset (seek) paging keeps every page as cheap as the first at a million
tickets; each named view has a matching index on Ticket (see the model).
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field

import peewee as pw

from appliance import dto
from appliance.errors import ValidationError
from appliance.models import Ticket, TicketTag
from appliance.rules import states
from appliance.rules.access import Actor
from appliance.services import common

VIEWS = ("mine", "unassigned", "open", "all", "requested")
SORTS = ("newest", "oldest", "priority", "sla_due")


@dataclass
class TicketQuery:
    view: str = "open"
    status: list[str] = field(default_factory=list)
    department_id: int | None = None
    assignee_id: int | str | None = None    # an id, "me" or "none"
    customer_id: int | None = None
    priority: list[int] = field(default_factory=list)
    category_id: int | None = None
    channel: str | None = None
    tag: str | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    sort: str = "newest"
    cursor: str | None = None
    limit: int = 50


def encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        # Bounded ints only: a forged cursor must not overflow a database integer.
        if not isinstance(values, list) or not all(type(v) is int and 0 <= v < 2**31
                                                   for v in values):
            raise ValueError
        return values
    except ValueError:
        raise ValidationError({"cursor": "invalid paging cursor"}) from None


def _scope(actor: Actor, q):
    """Restrict to what the actor may see (mirrors rules.access.can_view_ticket)."""
    if actor.is_admin:
        return q
    if actor.is_customer:
        cond = Ticket.requester == actor.user_id
        if actor.customer_id:
            cond |= Ticket.customer == actor.customer_id
        return q.where(cond)
    cond = (Ticket.assignee == actor.user_id) | Ticket.department.is_null()
    if actor.department_id:
        cond |= Ticket.department == actor.department_id
    return q.where(cond)


def _view(actor: Actor, query: TicketQuery, q):
    if query.view not in VIEWS:
        raise ValidationError({"view": "must be one of " + ", ".join(VIEWS)})
    if query.view == "mine":
        return q.where((Ticket.assignee == actor.user_id) & (Ticket.is_open == True))  # noqa: E712
    if query.view == "unassigned":
        dept = Ticket.department.is_null() if actor.department_id is None else (
            Ticket.department == actor.department_id)
        return q.where(dept & Ticket.assignee.is_null() & (Ticket.is_open == True))  # noqa: E712
    if query.view == "open":
        return q.where(Ticket.is_open == True)  # noqa: E712
    if query.view == "requested":
        return q.where(Ticket.requester == actor.user_id)
    return q


def _filters(actor: Actor, query: TicketQuery, q):
    bad = [s for s in query.status if s not in states.STATUSES]
    if bad:
        raise ValidationError({"status": "unknown status: " + ", ".join(bad)})
    if query.status:
        q = q.where(Ticket.status.in_(query.status))
    if query.department_id:
        q = q.where(Ticket.department == query.department_id)
    if query.assignee_id == "none":
        q = q.where(Ticket.assignee.is_null())
    elif query.assignee_id == "me":
        q = q.where(Ticket.assignee == actor.user_id)
    elif query.assignee_id not in (None, ""):
        q = q.where(Ticket.assignee == int(query.assignee_id))
    if query.customer_id:
        q = q.where(Ticket.customer == query.customer_id)
    if query.priority:
        q = q.where(Ticket.priority.in_(query.priority))
    if query.category_id:
        q = q.where(Ticket.category == query.category_id)
    if query.channel:
        q = q.where(Ticket.channel == query.channel)
    if query.tag:
        q = q.where(Ticket.id.in_(TicketTag.select(TicketTag.ticket).where(TicketTag.tag == query.tag)))
    if query.created_from:
        q = q.where(Ticket.created_at >= query.created_from)
    if query.created_to:
        q = q.where(Ticket.created_at < query.created_to)
    return q


def _order(query: TicketQuery, q):
    if query.sort not in SORTS:
        raise ValidationError({"sort": "must be one of " + ", ".join(SORTS)})
    after = decode_cursor(query.cursor) if query.cursor else None
    if query.sort == "newest":
        if after:
            q = q.where(Ticket.id < after[0])
        return q.order_by(Ticket.id.desc())
    if query.sort == "oldest":
        if after:
            q = q.where(Ticket.id > after[0])
        return q.order_by(Ticket.id.asc())
    if query.sort == "sla_due":
        return _order_by_due(q, after)
    # priority: P1 first, oldest first within a priority (a work queue is FIFO)
    if after:
        if len(after) != 2:
            raise ValidationError({"cursor": "invalid paging cursor"})
        q = q.where((Ticket.priority > after[0])
                    | ((Ticket.priority == after[0]) & (Ticket.id > after[1])))
    return q.order_by(Ticket.priority.asc(), Ticket.id.asc())


_EPOCH = dt.datetime(1970, 1, 1)


def _order_by_due(q, after):
    """Earliest SLA due time first (services.sla_timers stores it to the second; tickets
    without a running clock last), then id; the cursor is [no due, days, seconds, id]."""
    from appliance.models import TicketSla
    due = TicketSla.next_due_at
    q = q.select_extend(due.alias("sla_due")).join(
        TicketSla, pw.JOIN.LEFT_OUTER, on=((TicketSla.ticket == Ticket.id) & TicketSla.is_open))
    if after:
        if len(after) != 4 or after[0] not in (0, 1):
            raise ValidationError({"cursor": "invalid paging cursor"})
        if after[0]:
            q = q.where(due.is_null() & (Ticket.id > after[3]))
        else:
            at = _EPOCH + dt.timedelta(days=after[1], seconds=after[2])
            q = q.where((due > at) | ((due == at) & (Ticket.id > after[3])) | due.is_null())
    # objects(): the aliased column lands on the Ticket row (for the cursor), not on a
    # joined TicketSla instance
    return q.order_by(due.is_null(), due, Ticket.id).objects()


def _cursor_of(query: TicketQuery, t: Ticket) -> str:
    if query.sort == "sla_due":
        due = getattr(t, "sla_due", None)
        if due is None:
            return encode_cursor([1, 0, 0, t.id])
        if isinstance(due, str):   # SQLite hands back an aliased column as text
            due = dt.datetime.fromisoformat(due)
        span = due - _EPOCH
        return encode_cursor([0, span.days, span.seconds, t.id])
    return encode_cursor([t.priority, t.id] if query.sort == "priority" else [t.id])


def list_tickets(actor: Actor, query: TicketQuery) -> dto.Page:
    limit = max(1, min(int(query.limit or 50), 200))
    q = _order(query, _filters(actor, query, _view(actor, query, _scope(actor, Ticket.select()))))
    rows = list(q.limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = _cursor_of(query, rows[-1]) if more and rows else None
    return dto.Page(common.summaries(rows), nxt)


def count_capped(actor: Actor, query: TicketQuery, cap: int = 1000) -> str:
    """How many tickets a view holds, counted up to `cap` ("1000+") to stay cheap."""
    q = _filters(actor, query, _view(actor, query, _scope(actor, Ticket.select(Ticket.id))))
    n = pw.Select([q.limit(cap + 1).alias("x")], [pw.fn.COUNT(pw.SQL("*"))]).bind(
        Ticket._meta.database).scalar()
    return f"{cap}+" if n > cap else str(n)


def triage_queue(actor: Actor, cursor: str | None = None, limit: int = 50) -> dto.Page:
    """Tickets waiting for a person to check AI triage (triage_state "review"), oldest
    first, that the actor may see; keyset paging on id (index triage_state, id)."""
    if not actor.is_staff:
        return dto.Page([], None)
    limit = max(1, min(int(limit or 50), 200))
    # A merged ticket cannot be triaged any more (its work moved to the target).
    q = _scope(actor, Ticket.select()).where((Ticket.triage_state == "review")
                                             & Ticket.merged_into.is_null())
    if cursor:
        after = decode_cursor(cursor)
        if len(after) != 1:
            raise ValidationError({"cursor": "invalid paging cursor"})
        q = q.where(Ticket.id > after[0])
    rows = list(q.order_by(Ticket.id.asc()).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return dto.Page(common.summaries(rows), encode_cursor([rows[-1].id]) if more and rows else None)


def triage_count(actor: Actor, cap: int = 1000) -> str:
    """How many tickets wait in the actor's triage queue, counted up to `cap`."""
    if not actor.is_staff:
        return "0"
    q = _scope(actor, Ticket.select(Ticket.id)).where((Ticket.triage_state == "review")
                                                      & Ticket.merged_into.is_null())
    n = pw.Select([q.limit(cap + 1).alias("x")], [pw.fn.COUNT(pw.SQL("*"))]).bind(
        Ticket._meta.database).scalar()
    return f"{cap}+" if n > cap else str(n)
