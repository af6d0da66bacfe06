"""The ticket state machine and the reopen window."""
from __future__ import annotations

import datetime as dt

STATUSES = ("new", "open", "pending_customer", "pending_internal", "resolved", "closed")
OPEN_STATUSES = frozenset({"new", "open", "pending_customer", "pending_internal"})
CHANNELS = ("web", "email", "phone", "chat", "api")
PRIORITIES = (1, 2, 3, 4)
URGENCIES = ("low", "medium", "high")

_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("open", "pending_customer", "pending_internal", "resolved", "closed"),
    "open": ("pending_customer", "pending_internal", "resolved", "closed"),
    "pending_customer": ("open", "pending_internal", "resolved", "closed"),
    "pending_internal": ("open", "pending_customer", "resolved", "closed"),
    "resolved": ("open", "closed"),
    "closed": ("open",),
}
# What a customer may do to their own ticket: close it, or reopen it within the window.
_CUSTOMER_TARGETS = frozenset({"closed", "open"})


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


def reopen_allowed(ended_at: dt.datetime | None, now: dt.datetime, window_days: int) -> bool:
    """A resolved/closed ticket may be reopened only within `window_days` of ending."""
    return ended_at is not None and now - ended_at <= dt.timedelta(days=window_days)


def allowed_transitions(status: str, *, ended_at: dt.datetime | None, now: dt.datetime,
                        window_days: int, by_customer: bool = False) -> list[str]:
    """Statuses reachable from `status` for this actor at this time, in display order."""
    targets = list(_TRANSITIONS.get(status, ()))
    if status in ("resolved", "closed") and not reopen_allowed(ended_at, now, window_days):
        targets = [t for t in targets if t != "open"]
    if by_customer:
        targets = [t for t in targets if t in _CUSTOMER_TARGETS
                   and (t == "closed" or status in ("resolved", "closed"))]
    return targets


def status_after_reply(status: str, *, by_customer: bool, internal: bool,
                       reopen_ok: bool) -> str | None:
    """The automatic transition a new comment causes, or None to leave the status alone."""
    if internal:
        return None
    if by_customer:
        if status == "pending_customer":
            return "open"
        if status in ("resolved", "closed") and reopen_ok:
            return "open"
        return None
    if status == "new":
        return "open"
    return None
