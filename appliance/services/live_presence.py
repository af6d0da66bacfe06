"""Who has a ticket open, and who is writing a reply in it, to avoid two agents answering
the same customer at once (docs/decisions/0019-live-updates.md).

The ticket page beats every ~25 s while someone works at it ("viewing") and every few
seconds while they type in the reply box ("replying"); without beats the state lapses
(VIEWING_SECONDS, REPLYING_SECONDS), so a closed laptop leaves no ghost. A change of
someone's state (arrived, started or stopped replying, left; every beat says which) publishes one "presence"
event on the ticket, without names: pages then ask `viewers` (permission-checked). A
lapse publishes nothing: pages drop entries when their `expires_in` runs out.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance.errors import PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import LivePresence, User, utcnow
from appliance.rules.access import Actor
from appliance.services import common, live

VIEWING_SECONDS = 60
REPLYING_SECONDS = 15
STATES = ("viewing", "replying", "left")


@dataclass(frozen=True)
class Viewer:
    user_id: int
    name: str
    state: str        # viewing | replying
    expires_in: int   # seconds until this entry lapses without another beat
    me: bool


def _state(row: LivePresence | None, now: dt.datetime) -> str:
    if row is None or row.viewing_until <= now:
        return "gone"
    if row.replying_until is not None and row.replying_until > now:
        return "replying"
    return "viewing"


def heartbeat(actor: Actor, ticket_id: int, state: str, now: dt.datetime | None = None
              ) -> list[Viewer]:
    """Note the actor's state on the ticket; returns who is there now (the actor too)."""
    if state not in STATES:
        raise ValidationError({"state": "must be one of " + ", ".join(STATES)})
    if not actor.is_staff:
        raise PermissionDenied("presence is shown to staff only")
    common.ticket_for(actor, ticket_id)  # 404 for a ticket the actor may not see
    now = now or utcnow()
    with unit_of_work():
        row = LivePresence.get_or_none((LivePresence.ticket_id == ticket_id)
                                       & (LivePresence.user == actor.user_id))
        before = _state(row, now)
        if state == "left":
            if row is not None:
                row.delete_instance()
        else:
            _save(actor, ticket_id, state, now)
        after = "gone" if state == "left" else state
        if after != before:
            live.publish_ticket(ticket_id, "presence", actor_id=actor.user_id, internal=True)
    return viewers(actor, ticket_id, now, checked=True)


def _save(actor: Actor, ticket_id: int, state: str, now: dt.datetime) -> None:
    """The page says what the agent does: "viewing" also ends a reply window (the reply
    was sent or the box emptied)."""
    viewing = now + dt.timedelta(seconds=VIEWING_SECONDS)
    replying = now + dt.timedelta(seconds=REPLYING_SECONDS) if state == "replying" else None
    LivePresence.insert(ticket_id=ticket_id, user=actor.user_id, viewing_until=viewing,
                        replying_until=replying).on_conflict(
        conflict_target=[LivePresence.ticket_id, LivePresence.user],
        update={LivePresence.viewing_until: viewing,
                LivePresence.replying_until: replying}).execute()


def viewers(actor: Actor, ticket_id: int, now: dt.datetime | None = None, *,
            checked: bool = False) -> list[Viewer]:
    """Staff with the ticket open now, replying ones first, then by name."""
    if not actor.is_staff:
        raise PermissionDenied("presence is shown to staff only")
    if not checked:
        common.ticket_for(actor, ticket_id)
    now = now or utcnow()
    rows = list(LivePresence.select(LivePresence, User.id, User.display_name)
                .join(User, on=(User.id == LivePresence.user))
                .where((LivePresence.ticket_id == ticket_id)
                       & (LivePresence.viewing_until > now)))
    out = []
    for r in rows:
        state = _state(r, now)
        until = r.replying_until if state == "replying" else r.viewing_until
        out.append(Viewer(r.user_id, r.user.display_name, state,
                          max(1, int((until - now).total_seconds())), r.user_id == actor.user_id))
    return sorted(out, key=lambda v: (v.state != "replying", v.name))


def prune(now: dt.datetime | None = None) -> int:
    """Rows that lapsed (pages that closed without saying so)."""
    return LivePresence.delete().where(LivePresence.viewing_until <= (now or utcnow())).execute()
