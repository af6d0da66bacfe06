"""The full view of one ticket for one actor: what they may see, nothing more."""
from __future__ import annotations

from appliance import dto
from appliance.errors import NotFound
from appliance.models import (Attachment, Comment, Ticket, TicketLink, TicketTag, TimelineEvent,
                              User, utcnow)
from appliance.rules import states
from appliance.rules.access import Actor, TicketFacts, can_see_internal, can_view_ticket
from appliance.services import common, sla_views
from appliance.settings import Settings


def ticket_detail(actor: Actor, t: Ticket, settings: Settings) -> dto.TicketDetail:
    internal = can_see_internal(actor)
    cache: dict = {}
    atts = _attachments(t.id, internal)
    by_comment: dict[int, list] = {}
    for a in atts:
        if a.comment_id:
            by_comment.setdefault(a.comment_id, []).append(a)
    comments_q = Comment.select().where(Comment.ticket == t.id).order_by(Comment.id)
    events_q = TimelineEvent.select().where(TimelineEvent.ticket == t.id).order_by(TimelineEvent.id)
    if not internal:
        comments_q = comments_q.where(Comment.internal == False)  # noqa: E712
        events_q = events_q.where((TimelineEvent.internal == False)  # noqa: E712
                                  & TimelineEvent.kind.in_(CUSTOMER_EVENT_KINDS))
    links = _links(actor, t)
    children = [lk for lk in links if lk.kind == "child"]
    merged = Ticket.get_or_none(Ticket.id == t.merged_into_id) if t.merged_into_id else None
    requester = User.get_or_none(User.id == t.requester_id) if t.requester_id else None
    return dto.TicketDetail(
        summary=common.summary(t, cache), description=t.description,
        tags=sorted(r.tag for r in TicketTag.select().where(TicketTag.ticket == t.id))
        if internal else [],
        custom_fields=dict(t.custom_fields or {}),
        requester=common.ref(requester, "display_name"),
        first_response_at=t.first_response_at, resolved_at=t.resolved_at, closed_at=t.closed_at,
        merged_into=dto.Ref(merged.id, merged.number) if merged else None,
        comments=[common.comment_view(c, by_comment.get(c.id, []), cache) for c in comments_q],
        events=[common.event_view(e, cache) for e in events_q],
        attachments=atts, links=links,
        allowed_transitions=_allowed(actor, t, settings),
        children_progress=(sum(1 for c in children if not states.is_open(c.status)), len(children)),
        can_reply=_can_reply(actor, t, settings), sla=sla_views.for_ticket(actor, t.id))


def new_ticket_detail(actor: Actor, t: Ticket, tags: list[str], events: list[TimelineEvent],
                      attachments: list[Attachment], cache: dict, settings: Settings
                      ) -> dto.TicketDetail:
    """What `ticket_detail` reads back for a ticket this request has just created without a
    parent, built from the rows it wrote instead: such a ticket has no comments, links or
    merge yet, and its tags, events and attachments are the ones in hand. Reading them
    back was most of a creation's CPU (docs/benchmarks.md (a)); tests/domain/
    test_ticket_create_detail.py holds the two equal. `cache` holds the related names
    validation read (common.summary's cache); the rest are read here."""
    facts = TicketFacts(t.department_id, t.assignee_id, t.customer_id, t.requester_id)
    if not can_view_ticket(actor, facts):
        raise NotFound("ticket not found", id=t.id)  # as reading it back would answer
    internal = can_see_internal(actor)
    if not internal:
        events = [e for e in events if not e.internal and e.kind in CUSTOMER_EVENT_KINDS]
        attachments = [a for a in attachments if not a.internal]
    return dto.TicketDetail(
        summary=common.summary(t, cache), description=t.description,
        tags=sorted(tags) if internal else [], custom_fields=dict(t.custom_fields or {}),
        requester=common.cached_ref(User, t.requester_id, cache, "display_name"),
        first_response_at=t.first_response_at, resolved_at=t.resolved_at, closed_at=t.closed_at,
        merged_into=None, comments=[], events=[common.event_view(e, cache) for e in events],
        attachments=[common.attachment_view(a) for a in attachments], links=[],
        allowed_transitions=_allowed(actor, t, settings), children_progress=(0, 0),
        can_reply=_can_reply(actor, t, settings))


def _allowed(actor: Actor, t: Ticket, settings: Settings) -> list[str]:
    from appliance.services.tickets import allowed_for
    return allowed_for(actor, t, settings) if (actor.is_staff or actor.is_customer) else []


def _can_reply(actor: Actor, t: Ticket, settings: Settings) -> bool:
    from appliance.services.comments import customer_can_reply
    if t.merged_into_id:
        return False
    if not actor.is_customer:
        return True
    ended = t.closed_at or t.resolved_at
    return customer_can_reply(t.status, states.reopen_allowed(ended, utcnow(),
                                                              settings.reopen_window_days))


# What a customer's timeline shows: their ticket's life, not its internal handling
# (field changes, assignment, links, merges and splits stay with staff).
CUSTOMER_EVENT_KINDS = ("created", "status_changed", "reopened", "reply_added", "attachment_added")


def _attachments(ticket_id: int, internal: bool) -> list[dto.AttachmentView]:
    q = Attachment.select().where(Attachment.ticket == ticket_id).order_by(Attachment.id)
    if not internal:
        q = q.where(Attachment.internal == False)  # noqa: E712
    return [common.attachment_view(a) for a in q]


_OUT = {"parent": "child", "related": "related", "duplicate": "duplicate_of"}
_IN = {"parent": "parent", "related": "related", "duplicate": "duplicate"}


def _links(actor: Actor, t: Ticket) -> list[dto.LinkView]:
    """Links in both directions, named from this ticket's point of view."""
    if actor.is_customer:
        return []  # links are internal structure
    rows = []
    for link in TicketLink.select().where(TicketLink.source == t.id):
        rows.append((_OUT[link.kind], link.target_id))
    for link in TicketLink.select().where(TicketLink.target == t.id):
        rows.append((_IN[link.kind], link.source_id))
    others = {o.id: o for o in Ticket.select().where(Ticket.id.in_([r[1] for r in rows]))} if rows else {}
    out = []
    for kind, other_id in rows:
        o = others.get(other_id)
        if o is not None:
            visible = can_view_ticket(actor, common.facts(o))
            out.append(dto.LinkView(kind, o.id, o.number, o.subject if visible else "", o.status,
                                    visible))
    return out
