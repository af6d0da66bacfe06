"""Follow-up visits (回访, docs/decisions/0038): which rule a resolved ticket matches, when
its visit falls due, when an unreachable customer is tried again, and which rules would
overlap or contradict each other. Pure functions over small dataclasses.

A rule restricts up to three things, each "any" when empty: the ticket's category (a rule
on a category covers its sub-categories), the customer's tags (a tier is a tag: vip,
vip-gold, ...) and specific customers. A ticket matches when every restricted dimension
holds. Two rules overlap when some ticket could match both; overlapping rules are refused
on save, so a resolution is never in doubt about its script, delay or owner.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Mapping

OUTCOMES = ("satisfied", "not_solved", "unreachable")
ASSIGN_TO = ("resolver", "department", "team")
STATUSES = ("scheduled", "closed", "cancelled")
DIMENSIONS = ("category_ids", "customer_tags", "customer_ids")
MAX_DELAY_MINUTES = 60 * 24 * 90        # a visit three months after the resolution at most
MAX_RETRY_MINUTES = 60 * 24 * 14
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class RuleFacts:
    id: int
    name: str
    category_ids: frozenset = frozenset()
    customer_tags: frozenset = frozenset()     # casefolded
    customer_ids: frozenset = frozenset()
    active: bool = True


@dataclass(frozen=True)
class TicketFacts:
    category_id: int | None
    customer_id: int | None
    customer_tags: frozenset = field(default_factory=frozenset)   # casefolded


def ancestors(category_id: int | None, parents: Mapping[int, int | None]) -> set[int]:
    """The category and every parent above it (a cycle in bad data stops the walk)."""
    out: set[int] = set()
    node = category_id
    while node is not None and node not in out:
        out.add(node)
        node = parents.get(node)
    return out


def matches(rule: RuleFacts, t: TicketFacts, parents: Mapping[int, int | None]) -> bool:
    if not rule.active or t.customer_id is None:
        return False          # nobody to call
    if rule.category_ids and not (rule.category_ids & ancestors(t.category_id, parents)):
        return False
    if rule.customer_tags and not (rule.customer_tags & t.customer_tags):
        return False
    return not rule.customer_ids or t.customer_id in rule.customer_ids


def matching_rule(rules: list[RuleFacts], t: TicketFacts,
                  parents: Mapping[int, int | None]) -> RuleFacts | None:
    """The rule a resolution triggers; rules never overlap, so at most one matches (the
    lowest id wins should stored data say otherwise)."""
    found = [r for r in rules if matches(r, t, parents)]
    return min(found, key=lambda r: r.id) if found else None


def _categories_meet(a: frozenset, b: frozenset, parents: Mapping[int, int | None]) -> bool:
    """Whether some category lies under one of `a` and one of `b` (one is an ancestor of
    the other, or they are the same)."""
    if not a or not b:
        return True
    return any(x in ancestors(y, parents) or y in ancestors(x, parents) for x in a for y in b)


def overlap(new: RuleFacts, other: RuleFacts, parents: Mapping[int, int | None]) -> str | None:
    """The field to name when `new` and `other` could both match one ticket, else None.
    The named field is the first one `new` restricts (where a change would separate them)."""
    if not (new.active and other.active) or new.id == other.id:
        return None
    if not _categories_meet(new.category_ids, other.category_ids, parents):
        return None
    if new.customer_tags and other.customer_tags and not new.customer_tags & other.customer_tags:
        return None
    if new.customer_ids and other.customer_ids and not new.customer_ids & other.customer_ids:
        return None
    restricted = [d for d in DIMENSIONS if getattr(new, d)]
    return restricted[0] if restricted else "category_ids"


def due_at(resolved_at: dt.datetime, delay: dt.timedelta, add_business=None) -> dt.datetime:
    """When the visit falls due: `delay` after the resolution, in business time when
    `add_business` (start, delay -> naive UTC) is given, else in plain hours."""
    if add_business is not None:
        return add_business(resolved_at, delay)
    return resolved_at + delay


def next_attempt(now: dt.datetime, retry_minutes: int, attempts_made: int,
                 max_attempts: int) -> dt.datetime | None:
    """After an unreachable call: when to try again, or None when that was the last try.
    Each retry waits a little longer (1x, 2x, 3x the interval) so the calls land at
    different times of day."""
    if attempts_made >= max_attempts:
        return None
    return now + dt.timedelta(minutes=retry_minutes * attempts_made)
