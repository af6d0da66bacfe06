"""A person's notifications: list them, count the unread ones, mark them read.

Notifications are written by the services that notice something (dispatch: routing
misconfigured, a ticket escalated); this module only reads them for their owner. Every
query is scoped to the actor's own rows, so another person's ids are simply not found.
Kinds so far: "routing_no_agents" and "routing_nobody_qualified" (data.department),
"queue_escalated" (data.waited_minutes).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from peewee import JOIN

from appliance.errors import ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Notification, Ticket, utcnow
from appliance.rules.access import Actor

MAX_LIMIT = 200
MAX_IDS = 500  # ids one mark-read request may name
MAX_ID = 2_147_483_647  # larger ids overflow PostgreSQL's integer: no row has them
UNREAD_CAP = 99  # the navigation shows "99+" beyond this; counting further is wasted work


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    ticket_id: int | None
    ticket_number: str
    data: dict = field(default_factory=dict)
    created_at: dt.datetime | None = None
    read: bool = False


def list_notifications(actor: Actor, unread_only: bool = False,
                       limit: int = 50) -> list[NotificationView]:
    """The actor's notifications, newest first."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    cond = Notification.user == actor.user_id
    if unread_only:
        cond &= Notification.read_at.is_null()
    rows = (Notification.select(Notification, Ticket.number)
            .join(Ticket, join_type=JOIN.LEFT_OUTER, on=(Notification.ticket == Ticket.id))
            .where(cond).order_by(Notification.id.desc()).limit(limit).objects())
    return [NotificationView(n.id, n.kind, n.ticket_id, n.number or "", dict(n.data or {}),
                             n.created_at, n.read_at is not None) for n in rows]


def unread_count(actor: Actor, cap: int | None = None) -> int:
    """How many of the actor's notifications are unread (at most `cap`+1 when capped, so
    the caller can tell "more than cap" without counting every row)."""
    q = Notification.select(Notification.id).where(
        (Notification.user == actor.user_id) & Notification.read_at.is_null())
    if cap is not None:
        q = q.limit(cap + 1)
    return q.count()


def mark_read(actor: Actor, ids: list[int] | None = None) -> int:
    """Mark the given notifications (None: all) of the actor read; returns how many
    changed. Ids of other people's or already-read notifications are ignored."""
    cond = (Notification.user == actor.user_id) & Notification.read_at.is_null()
    if ids is not None:
        ids = _clean_ids(ids)
        if not ids:
            return 0
        cond &= Notification.id.in_(ids)
    with unit_of_work():
        return Notification.update(read_at=utcnow()).where(cond).execute()


def _clean_ids(ids) -> list[int]:
    if not isinstance(ids, (list, tuple)) or len(ids) > MAX_IDS or not all(
            isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID for i in ids):
        raise ValidationError({"ids": f"must be a list of at most {MAX_IDS} ids"})
    return sorted(set(ids))
