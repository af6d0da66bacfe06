"""Interfaces the domain needs from the outside world; back-ends implement them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class IndexedTicket:
    """What the search index receives for one ticket: text and filter fields, no PII."""
    id: int
    number: str
    subject: str
    description: str
    public_text: str
    internal_text: str
    status: str
    department_id: int | None
    assignee_id: int | None
    customer_id: int | None
    requester_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class SearchHit:
    id: int
    score: float
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchFilters:
    statuses: tuple[str, ...] = ()
    department_ids: tuple[int, ...] = ()
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    # Permission pre-filter, applied in the index so ranking and paging stay right;
    # the domain re-checks every returned row.
    visible_department_ids: tuple[int, ...] | None = None
    include_unassigned_department: bool = True
    visible_assignee_id: int | None = None
    customer_id: int | None = None
    requester_id: int | None = None
    include_internal: bool = False


class SearchIndex(Protocol):
    def upsert(self, doc: IndexedTicket) -> None: ...
    def apply(self, upserts: list[IndexedTicket], deletes: list[int]) -> None: ...
    def delete(self, ticket_id: int) -> None: ...
    def search(self, query: str, filters: SearchFilters, limit: int = 20, offset: int = 0
               ) -> tuple[list[SearchHit], int]: ...
    def rebuild(self, docs) -> int: ...
    def health(self) -> bool: ...
