"""Conversation: public replies and internal notes, with attachments."""
from __future__ import annotations

from appliance import dto
from appliance.errors import Conflict, PermissionDenied, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.models import Attachment, Comment, utcnow
from appliance.rules import states
from appliance.rules.access import SYSTEM, Actor, can_edit_ticket
from appliance.services import common, mail_outbound
from appliance.services.attachments import Upload, remove_files, write_files
from appliance.services.tickets import _save
from appliance.settings import Settings

MAX_FILES = 10


def add_comment(actor: Actor, ticket_id: int, body: str, settings: Settings, *,
                internal: bool = False, uploads: list[Upload] | None = None,
                channel: str = "web") -> dto.CommentView:
    """Add a reply or note; a customer reply reopens/returns the ticket as the rules say."""
    uploads = uploads or []
    text = common.clean_text(body, "body", max_len=100_000)
    if not text and not uploads:
        raise ValidationError({"body": "required"})
    if len(uploads) > MAX_FILES:
        raise ValidationError({"attachments": f"at most {MAX_FILES} files"})
    if actor.is_customer and internal:
        raise PermissionDenied("customers cannot write internal notes")
    common.ensure_live(common.ticket_for(actor, ticket_id))  # 404/409 before touching files
    written = write_files(uploads, settings)
    try:
        with unit_of_work():
            comment = _store(actor, ticket_id, text, internal, written, channel, settings)
            if actor.is_staff and not internal:  # answered by mail on e-mail tickets only
                mail_outbound.queue_reply(ticket_id, comment.id, settings)
                schedule("quality_score", comment.id)   # quality inspection (decision 0039)
            schedule("index_ticket", ticket_id)
    except BaseException:
        remove_files([w["storage_name"] for w in written], settings)
        raise
    cache: dict = {}
    atts = [common.attachment_view(a) for a in Attachment.select().where(
        Attachment.comment == comment.id)]
    return common.comment_view(comment, atts, cache)


def _store(actor: Actor, ticket_id: int, text: str, internal: bool, written: list[dict],
           channel: str, settings: Settings) -> Comment:
    t = common.ticket_for(actor, ticket_id, lock=True)
    common.ensure_live(t)
    if actor.is_staff and not can_edit_ticket(actor, common.facts(t)):
        raise PermissionDenied("you may not change this ticket")
    now = utcnow()
    comment = Comment.create(ticket=t.id, author=actor.user_id or None,
                             author_kind="customer" if actor.is_customer else "agent",
                             internal=internal, body=text or "", channel=channel, created_at=now)
    for w in written:
        Attachment.create(ticket=t.id, comment=comment.id, internal=internal,
                          uploaded_by=actor.user_id or None, created_at=now, **w)
        common.record(t.id, actor, "attachment_added", after={"filename": w["filename"]},
                      internal=internal)
    common.record(t.id, actor, "note_added" if internal else "reply_added",
                  after={"comment_id": comment.id}, internal=internal)
    _after_reply(actor, t, internal, now, settings)
    return comment


def add_inbound_comment(ticket_id: int, text: str, written: list[dict], settings: Settings, *,
                        channel: str = "email", now=None) -> Comment:
    """Inside the caller's transaction: a reply that came in without a login (e-mail).

    The caller threaded it to this ticket and wrote its files (`written`, each may say
    "internal"). It counts as the ticket's customer's reply, so the usual status rules
    apply (reopen within the window); there is no User behind it, hence no author.
    """
    t = common.ticket_for(SYSTEM, ticket_id, lock=True)
    common.ensure_live(t)
    actor = Actor(user_id=0, role="customer", customer_id=t.customer_id)
    now = now or utcnow()
    comment = Comment.create(ticket=t.id, author=None, author_kind="customer", internal=False,
                             body=common.clean_text(text, "body", max_len=100_000),
                             channel=channel, created_at=now)
    for w in written:
        Attachment.create(ticket=t.id, comment=comment.id, created_at=now, **w)
        common.record(t.id, actor, "attachment_added", after={"filename": w["filename"]},
                      internal=bool(w.get("internal")))
    common.record(t.id, actor, "reply_added", after={"comment_id": comment.id})
    _after_reply(actor, t, False, now, settings)
    schedule("index_ticket", t.id)
    return comment


def customer_can_reply(status: str, reopen_ok: bool) -> bool:
    """Customers reply to open tickets, and to finished ones only while they may reopen them."""
    return states.is_open(status) or reopen_ok


def _after_reply(actor: Actor, t, internal: bool, now, settings: Settings) -> None:
    """Status and first-response bookkeeping a new comment implies."""
    changes: dict = {}
    if actor.is_staff and not internal and t.first_response_at is None:
        changes["first_response_at"] = now
    ended = t.closed_at or t.resolved_at
    reopen_ok = states.reopen_allowed(ended, now, settings.reopen_window_days)
    if actor.is_customer and not customer_can_reply(t.status, reopen_ok):
        raise Conflict("this ticket is closed; please open a new ticket", status=t.status)
    target = states.status_after_reply(t.status, by_customer=actor.is_customer,
                                       internal=internal, reopen_ok=reopen_ok)
    if target and target != t.status and t.assignee_id is None and target == "open":
        from appliance.services import dispatch
        dispatch.requeue(t.id)  # reopened without an agent: route it again
    if target and target != t.status:
        kind = "reopened" if t.status in ("resolved", "closed") else "status_changed"
        common.record(t.id, actor, kind, "status", t.status, target)
        changes.update(status=target, is_open=states.is_open(target))
        if kind == "reopened":
            changes.update(resolved_at=None, closed_at=None)
    _save(t, changes, now)
