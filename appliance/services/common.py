"""Helpers shared by services: loading with permission checks, timeline, DTO mapping."""
from __future__ import annotations

import re
from dataclasses import replace

from appliance import dto, request_context
from appliance.db import is_postgres
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.models import (Attachment, Category, Comment, Customer, Department,
                              TimelineEvent, Ticket, User)
from appliance.rules.access import Actor, TicketFacts, can_edit_ticket, can_view_ticket
from appliance.services import live
from appliance.services.process_grants import step_holders

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def facts(t: Ticket, *, steps: bool = True) -> TicketFacts:
    """What rules.access decides on: the ticket, its parents and (unless `steps` is
    False) the holders of its open process steps. Worked out once per ticket in a
    read-only request (request_context.reads)."""
    shared = request_context.reads()
    if shared is None:
        return _facts(t, steps)
    key = ("facts", t.id, steps)
    if key not in shared:
        shared[key] = _facts(t, steps)
    return shared[key]


def _facts(t: Ticket, steps: bool) -> TicketFacts:
    from appliance.models import TicketLink
    parents = (Ticket.select(Ticket.department, Ticket.assignee, Ticket.customer, Ticket.requester)
               .join(TicketLink, on=(TicketLink.source == Ticket.id))
               .where((TicketLink.target == t.id) & (TicketLink.kind == "parent")))
    return TicketFacts(t.department_id, t.assignee_id, t.customer_id, t.requester_id,
                       tuple(TicketFacts(p.department_id, p.assignee_id, p.customer_id,
                                         p.requester_id) for p in parents),
                       step_holders(t.id) if steps else ())


def ticket_for(actor: Actor, ticket_id: int, *, edit: bool = False, lock: bool = False) -> Ticket:
    """Load a ticket the actor may see (404 otherwise, so ids cannot be probed). In a
    read-only request a ticket found visible is loaded once (request_context.reads); a
    panel that asks whether it may edit it (to offer its form) is checked against that
    same load."""
    shared = None if lock else request_context.reads()
    if shared is not None and (actor, ticket_id) in shared:
        t, seen = shared[(actor, ticket_id)]
    else:
        t, seen = _load_visible(actor, ticket_id, lock=lock)
        if shared is not None:
            shared[(actor, ticket_id)] = (t, seen)
    if edit:
        if not can_edit_ticket(actor, seen):
            raise PermissionDenied("you may not change this ticket")
        ensure_live(t)
    return t


def _load_visible(actor: Actor, ticket_id: int, *, lock: bool) -> tuple[Ticket, TicketFacts]:
    query = Ticket.select().where(Ticket.id == ticket_id)
    if lock and is_postgres():
        # Row lock first: otherwise two writers that both inserted rows referencing the
        # ticket (timeline) deadlock when they then update it.
        query = query.for_update()
    t = query.first()
    seen = facts(t, steps=False) if t is not None else None
    if seen is not None and actor.is_staff and not can_view_ticket(actor, seen):
        # Only then the process steps' grant (rules.access.StepHolder): it lets read, not work.
        seen = replace(seen, step_holders=step_holders(t.id))
    if seen is None or not can_view_ticket(actor, seen):
        raise NotFound("ticket not found", id=ticket_id)
    return t, seen


def ensure_live(t: Ticket) -> None:
    """A merged ticket is terminal: its conversation lives on in the survivor."""
    if t.merged_into_id:
        survivor = Ticket.get_or_none(Ticket.id == t.merged_into_id)
        raise Conflict("this ticket was merged into another ticket",
                       merged_into=survivor.number if survivor else None)


def check_all(checks: dict) -> dict:
    """Run every field check (name -> callable) and return name -> value; raise one
    ValidationError naming every bad field, so a form shows all its errors at once."""
    errors: dict = {}
    values: dict = {}
    for name, check in checks.items():
        try:
            values[name] = check()
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return values


def clean_text(value, field: str, *, required: bool = False, max_len: int = 100_000,
               single_line: bool = False) -> str:
    """Strip, drop control characters, enforce length; raise ValidationError naming the field."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({field: "must be text"})
    text = _CONTROL.sub("", value.replace("\r\n", "\n")).strip()
    if single_line:
        text = " ".join(text.split())
    if required and not text:
        raise ValidationError({field: "required"})
    if len(text) > max_len:
        raise ValidationError({field: f"at most {max_len} characters"})
    return text


def record(ticket_id: int, actor: Actor | None, kind: str, field: str = "", before=None,
           after=None, internal: bool = False) -> TimelineEvent:
    """Append one timeline event (never updated or deleted afterwards); returns its row.
    Open pages hear of it through a live event in the same transaction (services.live)."""
    row = TimelineEvent.create(ticket=ticket_id, actor=(actor.user_id or None) if actor else None,
                               kind=kind, field=field, before=before, after=after,
                               internal=internal)
    live.on_timeline(ticket_id, row.actor_id, kind, field, before, after, internal)
    from appliance.services import sla_timers  # lazily: sla_timers imports this module
    sla_timers.on_timeline(ticket_id, kind, field)
    return row


def ref(obj, name_attr: str = "name") -> dto.Ref | None:
    if obj is None:
        return None
    if isinstance(obj, User) and name_attr == "display_name":
        from appliance.services import customer_names  # it imports this module's peers
        return dto.Ref(obj.id, customer_names.login_name(obj))
    return dto.Ref(obj.id, getattr(obj, name_attr))


def cached_ref(model, pk, cache: dict, name_attr: str = "name") -> dto.Ref | None:
    """The reference to one related row, read once per `cache` (as summaries do)."""
    return _cached(model, pk, cache, name_attr)


def _cached(model, pk, cache, name_attr="name"):
    if pk is None:
        return None
    key = (model, pk)
    if key not in cache:
        cache[key] = None
        for ref in refs(model, [pk], name_attr):
            cache[key] = ref
    return cache[key]


def refs(model, ids, name_attr: str = "name") -> list[dto.Ref]:
    """References to these rows (missing ones left out). A customer's name is encrypted:
    it is read through services.customer_names, also for a customer's portal login."""
    ids = list(ids)
    if model is Customer:
        from appliance.services import customer_names  # it imports this module's peers
        return [dto.Ref(i, n) for i, n in customer_names.names(ids).items()]
    if model is User and name_attr == "display_name":
        from appliance.services import customer_names
        rows = User.select(User.id, User.display_name, User.role, User.customer).where(
            User.id.in_(ids))
        return [dto.Ref(i, n) for i, n in customer_names.login_names(rows).items()]
    return [dto.Ref(row.id, getattr(row, name_attr)) for row in
            model.select(model.id, getattr(model, name_attr)).where(model.id.in_(ids))]


def summaries(tickets: list[Ticket]) -> list[dto.TicketSummary]:
    """Map tickets to summaries, loading each related name once per call."""
    cache: dict = {}
    _prefetch_refs(tickets, cache)
    return [summary(t, cache) for t in tickets]


def _prefetch_refs(tickets, cache) -> None:
    for model, attr, name in ((Department, "department_id", "name"),
                              (User, "assignee_id", "display_name"),
                              (Customer, "customer_id", "name"),
                              (Category, "category_id", "path")):
        ids = {getattr(t, attr) for t in tickets} - {None}
        if ids:
            for ref in refs(model, ids, name):
                cache[(model, ref.id)] = ref


def summary(t: Ticket, cache: dict | None = None) -> dto.TicketSummary:
    cache = {} if cache is None else cache
    return dto.TicketSummary(
        id=t.id, number=t.number, subject=t.subject, status=t.status, priority=t.priority,
        urgency=t.urgency, channel=t.channel,
        department=_cached(Department, t.department_id, cache),
        assignee=_cached(User, t.assignee_id, cache, "display_name"),
        customer=_cached(Customer, t.customer_id, cache),
        category=_cached(Category, t.category_id, cache, "path"),
        created_at=t.created_at, updated_at=t.updated_at, due_at=t.due_at, version=t.version)


def attachment_view(a: Attachment) -> dto.AttachmentView:
    return dto.AttachmentView(a.id, a.filename, a.content_type, a.size, a.internal,
                              a.comment_id, a.created_at)


def comment_view(c: Comment, attachments: list[dto.AttachmentView], cache: dict) -> dto.CommentView:
    return dto.CommentView(c.id, _cached(User, c.author_id, cache, "display_name"), c.author_kind,
                           c.internal, c.body, c.channel, c.created_at, attachments)


def event_view(e: TimelineEvent, cache: dict) -> dto.EventView:
    return dto.EventView(e.id, _cached(User, e.actor_id, cache, "display_name"), e.kind, e.field,
                         e.before, e.after, e.internal, e.created_at)


def exists(model, pk, field: str) -> int | None:
    """Validate an optional foreign key given by a client; None/'' means unset."""
    pk = _id(pk, field)
    if pk is not None and not model.select(model.id).where(model.id == pk).exists():
        raise ValidationError({field: "does not exist"})
    return pk


def existing(model, pk, field: str, *columns):
    """As `exists`, but returns the row with `columns` (and its id) read in the same query."""
    pk = _id(pk, field)
    if pk is None:
        return None
    row = model.select(model.id, *columns).where(model.id == pk).first()
    if row is None:
        raise ValidationError({field: "does not exist"})
    return row


def _id(pk, field: str) -> int | None:
    if pk in (None, ""):
        return None
    try:
        return int(pk)
    except (TypeError, ValueError):
        raise ValidationError({field: "must be an id"}) from None
