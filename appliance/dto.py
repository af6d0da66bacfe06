"""Data transfer objects returned by services (views and the API never see models)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field


def as_dict(obj) -> dict:
    """JSON-ready dict of a DTO: datetimes become ISO 8601 UTC strings."""
    def conv(v):
        if isinstance(v, dt.datetime):
            return v.replace(microsecond=v.microsecond).isoformat() + "Z"
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v
    return {k: conv(v) for k, v in dataclasses.asdict(obj).items()}


@dataclass(frozen=True)
class Ref:
    """A small reference to a related object: id plus what to show."""
    id: int
    name: str


@dataclass(frozen=True)
class StaffChoice:
    """A staff member as an option in a form (assignee, reviewer, lead): no contact
    details, so a page that lists every agent decrypts nothing."""
    id: int
    display_name: str
    role: str
    department: Ref | None


@dataclass(frozen=True)
class TicketSummary:
    id: int
    number: str
    subject: str
    status: str
    priority: int
    urgency: str
    channel: str
    department: Ref | None
    assignee: Ref | None
    customer: Ref | None
    category: Ref | None
    created_at: dt.datetime
    updated_at: dt.datetime
    due_at: dt.datetime | None
    version: int


@dataclass(frozen=True)
class CommentView:
    id: int
    author: Ref | None
    author_kind: str
    internal: bool
    body: str
    channel: str
    created_at: dt.datetime
    attachments: list["AttachmentView"] = field(default_factory=list)


@dataclass(frozen=True)
class AttachmentView:
    id: int
    filename: str
    content_type: str
    size: int
    internal: bool
    comment_id: int | None
    created_at: dt.datetime


@dataclass(frozen=True)
class EventView:
    id: int
    actor: Ref | None
    kind: str
    field: str
    before: object
    after: object
    internal: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class LinkView:
    kind: str          # parent | child | related | duplicate | duplicate_of | merged_into
    ticket_id: int
    number: str
    subject: str
    status: str
    visible: bool      # False: the viewer may not open it; show only number and status


@dataclass(frozen=True)
class TicketDetail:
    summary: TicketSummary
    description: str
    tags: list[str]
    custom_fields: dict
    requester: Ref | None
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    merged_into: Ref | None
    comments: list[CommentView]
    events: list[EventView]
    attachments: list[AttachmentView]
    links: list[LinkView]
    allowed_transitions: list[str]
    children_progress: tuple[int, int] = (0, 0)   # (done, total)
    can_reply: bool = True                        # may this viewer add to the conversation now
    sla: object | None = None                     # services.sla_views.TicketSlaView (staff)


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None
    count_hint: str | None = None


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    email: str
    role: str
    department: Ref | None
    customer_id: int | None
    active: bool
    locale: str
    capacity: int
    skills: list[tuple[str, int]] = field(default_factory=list)
    created_at: dt.datetime | None = None
    last_login_at: dt.datetime | None = None


@dataclass(frozen=True)
class ContactView:
    id: int
    kind: str
    value: str
    label: str


@dataclass(frozen=True)
class CustomerView:
    id: int
    name: str
    company: str
    tags: list[str]
    notes: str
    contacts: list[ContactView]
    created_at: dt.datetime
    version: int
    # Identity (docs/decisions/0016): contacts masked for this reader; the survivor this
    # customer was merged into.
    contacts_masked: bool = False
    merged_into: int | None = None
    merged_at: dt.datetime | None = None
    # Encrypted at rest (docs/decisions/0030); masked like the contacts.
    id_number: str = ""
    address: str = ""
    erased_at: dt.datetime | None = None  # PIPL erasure (services/erasure.py)


@dataclass(frozen=True)
class DepartmentView:
    id: int
    code: str
    name: str
    name_en: str
    active: bool
    teams: list[Ref] = field(default_factory=list)


@dataclass(frozen=True)
class CategoryView:
    id: int
    name: str
    path: str
    parent_id: int | None
    department_id: int | None
    active: bool


@dataclass(frozen=True)
class CustomFieldView:
    id: int
    key: str
    label: str
    kind: str
    options: list[str]
    required: bool
    active: bool
    position: int


@dataclass(frozen=True)
class SearchResult:
    ticket: TicketSummary
    score: float
    highlights: dict[str, str]
