"""Relations between tickets: parent/child, related, duplicate; merge and split."""
from __future__ import annotations

from appliance import dto
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.models import Attachment, Comment, TicketLink, TicketTag, utcnow
from appliance.rules.access import Actor
from appliance.services import common
from appliance.services.tickets import TicketInput, _save, create_ticket, get_ticket
from appliance.settings import Settings

LINK_KINDS = ("parent", "related", "duplicate")


def attach_child(actor: Actor, parent_id: int, child_id: int) -> None:
    """Inside a transaction: make child a sub-ticket of parent, recorded on both."""
    _insert_link(actor, parent_id, child_id, "parent")


def _insert_link(actor: Actor, source_id: int, target_id: int, kind: str) -> None:
    if source_id == target_id:
        raise ValidationError({"target_id": "a ticket cannot be linked to itself"})
    if kind == "parent" and _is_ancestor(target_id, source_id):
        raise ValidationError({"target_id": "this would make a parent/child cycle"})
    exists = TicketLink.select().where(
        (TicketLink.source == source_id) & (TicketLink.target == target_id)
        & (TicketLink.kind == kind)).exists()
    if exists:
        raise Conflict("these tickets are already linked")
    TicketLink.create(source=source_id, target=target_id, kind=kind,
                      created_by=actor.user_id or None)
    common.record(source_id, actor, "linked", kind, None, {"ticket_id": target_id})
    common.record(target_id, actor, "linked", kind, None, {"ticket_id": source_id, "reverse": True})


def _is_ancestor(candidate: int, ticket_id: int, depth: int = 0) -> bool:
    """Is `candidate` the parent (or grand-parent…) of `ticket_id`?"""
    if depth > 50:
        return True
    parents = [r.source_id for r in TicketLink.select(TicketLink.source).where(
        (TicketLink.target == ticket_id) & (TicketLink.kind == "parent"))]
    return candidate in parents or any(_is_ancestor(candidate, p, depth + 1) for p in parents)


def link_tickets(actor: Actor, source_id: int, target_id: int, kind: str, settings: Settings
                 ) -> dto.TicketDetail:
    if kind not in LINK_KINDS:
        raise ValidationError({"kind": "must be one of " + ", ".join(LINK_KINDS)})
    with unit_of_work():
        common.ticket_for(actor, source_id, edit=True)
        common.ticket_for(actor, target_id, edit=True)
        _insert_link(actor, source_id, target_id, kind)
    return get_ticket(actor, source_id, settings)


def unlink_tickets(actor: Actor, source_id: int, target_id: int, kind: str, settings: Settings
                   ) -> dto.TicketDetail:
    with unit_of_work():
        common.ticket_for(actor, source_id, edit=True)
        common.ticket_for(actor, target_id, edit=True)
        n = TicketLink.delete().where((TicketLink.source == source_id)
                                      & (TicketLink.target == target_id)
                                      & (TicketLink.kind == kind)).execute()
        if not n:
            raise NotFound("link not found")
        common.record(source_id, actor, "unlinked", kind, {"ticket_id": target_id}, None)
        common.record(target_id, actor, "unlinked", kind, {"ticket_id": source_id}, None)
    return get_ticket(actor, source_id, settings)


def create_subticket(actor: Actor, parent_id: int, data: TicketInput, settings: Settings
                     ) -> dto.TicketDetail:
    """A child ticket, usually for another department; the parent shows its progress.

    A sub-ticket is an internal work order: it carries no customer, so it never
    appears in the customer's portal (the customer follows the parent).
    """
    parent = common.ticket_for(actor, parent_id, edit=True)
    if parent.department_id is None and parent.assignee_id is None:
        # Sub-tickets are visible through the parent's department or assignee; a parent in
        # the triage pool has neither, so its children would be visible to nobody.
        raise ValidationError({"parent": "give the ticket a department or an assignee first"})
    data.customer_id = None
    return create_ticket(actor, data, settings, parent_id=parent_id)


def merge_tickets(actor: Actor, source_id: int, target_id: int, settings: Settings
                  ) -> dto.TicketDetail:
    """Move source's conversation into target; source is closed and points to target."""
    if source_id == target_id:
        raise ValidationError({"target_id": "cannot merge a ticket into itself"})
    with unit_of_work():
        src = common.ticket_for(actor, source_id, edit=True, lock=True)
        dst = common.ticket_for(actor, target_id, edit=True, lock=True)
        if src.customer_id and dst.customer_id and src.customer_id != dst.customer_id:
            # Moving one customer's conversation into another's ticket would disclose it.
            raise Conflict("tickets of different customers cannot be merged")
        moved = Comment.update(ticket=dst.id).where(Comment.ticket == src.id).execute()
        Attachment.update(ticket=dst.id).where(Attachment.ticket == src.id).execute()
        have = {r.tag for r in TicketTag.select().where(TicketTag.ticket == dst.id)}
        for row in TicketTag.select().where(TicketTag.ticket == src.id):
            if row.tag not in have:
                TicketTag.create(ticket=dst.id, tag=row.tag)
        common.record(src.id, actor, "merged", "merged_into", None,
                      {"ticket_id": dst.id, "number": dst.number, "comments": moved})
        common.record(dst.id, actor, "merged", "merged_from", None,
                      {"ticket_id": src.id, "number": src.number, "comments": moved})
        now = utcnow()
        before = {"assignee_id": src.assignee_id, "status": src.status,
                  "department_id": src.department_id}
        _save(src, {"merged_into": dst.id, "status": "closed", "is_open": False,
                    "closed_at": now, "resolved_at": src.resolved_at or now}, now)
        from appliance.services import dispatch
        dispatch.after_change(src, before)  # out of the queue; its agent has room again
        _save(dst, {}, now)
        schedule("index_ticket", src.id)
        schedule("index_ticket", dst.id)
    return get_ticket(actor, target_id, settings)


def split_comment(actor: Actor, ticket_id: int, comment_id: int, settings: Settings,
                  subject: str | None = None) -> dto.TicketDetail:
    """Turn one reply into a new ticket (same customer and department), linked as related."""
    with unit_of_work():
        t = common.ticket_for(actor, ticket_id, edit=True)
        c = Comment.get_or_none((Comment.id == comment_id) & (Comment.ticket == t.id))
        if c is None:
            raise NotFound("comment not found", id=comment_id)
        if c.internal:
            # The reply becomes the new ticket's description, which its customer reads.
            raise ValidationError({"comment_id": "internal notes cannot be split"})
        title = subject or (c.body.splitlines()[0][:120] if c.body.strip() else t.subject)
        new = create_ticket(actor, TicketInput(
            subject=title, description=c.body, channel=t.channel, priority=t.priority,
            urgency=t.urgency, category_id=t.category_id, department_id=t.department_id,
            customer_id=t.customer_id), settings)
        Comment.update(ticket=new.summary.id).where(Comment.id == c.id).execute()
        Attachment.update(ticket=new.summary.id).where(Attachment.comment == c.id).execute()
        _insert_link(actor, t.id, new.summary.id, "related")
        common.record(t.id, actor, "split", "comment", {"comment_id": c.id},
                      {"ticket_id": new.summary.id, "number": new.summary.number})
        _save(t, {}, utcnow())  # the conversation changed: stale forms must conflict
        schedule("index_ticket", t.id)
        schedule("index_ticket", new.summary.id)
    return get_ticket(actor, new.summary.id, settings)
