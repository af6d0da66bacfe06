"""The review side of the knowledge base: life-cycle actions, the review queue,
versions with diffs and rollback, AI proposals (merge into the article they update,
or reject with a reason kept), links to tickets, uses, and deletion.

Every change takes the article's version for optimistic locking (409 on a stale
edit) and runs in one transaction; content changes write an ArticleVersion row.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from appliance import dto, runtime
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.models import (Article, ArticleFile, ArticleTicket, ArticleUse, ArticleVersion,
                              Comment, Ticket, TicketLink, utcnow)
from appliance.rules import knowledge as rules
from appliance.rules.access import Actor, TicketFacts, can_view_ticket
from appliance.services import attachments, common, knowledge
from appliance.services.process_grants import step_holders

USE_KINDS = ("link", "snippet", "deflection", "cited")
LINK_KINDS = ("source", "related", "used")
MAX_REASON = 2000


# --- life cycle ------------------------------------------------------------------------------

def transition(actor: Actor, article_id: int, action: str, *, reason: str = "",
               expected_version=None) -> knowledge.ArticleView:
    """Apply a life-cycle action (rules.ACTIONS). `reject` needs a reason, which is kept."""
    if action not in rules.ACTIONS:
        raise ValidationError({"action": "must be one of: " + ", ".join(rules.ACTIONS)})
    reason = common.clean_text(reason, "reason", max_len=MAX_REASON,
                               required=action == "reject")
    with unit_of_work():
        a = knowledge.load_for_change(actor, article_id, expected_version)
        target = rules.next_status(action, a.status)
        if action == "approve" and a.update_of_id is not None:
            raise Conflict("a proposal to update an article is merged into it, not published",
                           update_of=a.update_of_id)
        if target is None:
            raise Conflict(f"action {action} does not apply to an article in status {a.status}",
                           status=a.status, action=action)
        if action in rules.REVIEW_ACTIONS and not knowledge.can_review_article(actor, a):
            raise PermissionDenied("the category's reviewers only")
        changes = {"status": target}
        if action in rules.REVIEW_ACTIONS:
            changes["reviewed_by"] = actor.user_id or None
        if action == "approve":
            changes["published_at"] = utcnow()
        if action == "reject":
            changes["reject_reason"] = reason
        a = knowledge.save(a, changes)
        if action == "reject":
            # The article keeps the latest reason; its history keeps every one.
            knowledge.snapshot(a, actor.user_id, f"rejected: {reason}")
    return knowledge.view(a)


@dataclass(frozen=True)
class QueueItem:
    article: knowledge.ArticleView
    target: knowledge.ArticleView | None  # the article an AI proposal would update
    sources: list[dto.Ref]  # the tickets it was drafted from
    can_review: bool


def review_queue(actor: Actor, *, limit: int = 100) -> list[QueueItem]:
    """Articles waiting for review (oldest first), AI drafts among them, that the actor
    may see; `can_review` says whether they may also decide on each. A page costs the
    same few queries however long it is: targets, users, categories and source tickets
    are loaded for all rows at once, review facts once per distinct category."""
    if not actor.is_staff:
        raise PermissionDenied("staff only")
    q = Article.select().where(Article.status == "in_review")
    if (scope := knowledge.scope_where(actor)) is not None:
        q = q.where(scope)  # other departments' drafts, unless the actor reviews their category
    rows = list(q.order_by(Article.updated_at, Article.id).limit(max(1, min(limit, 500))))
    target_ids = list({a.update_of_id for a in rows if a.update_of_id})
    targets = {t.id: t for t in Article.select().where(Article.id.in_(target_ids))} \
        if target_ids else {}
    shown = knowledge.views(rows + list(targets.values()))
    sources = _source_refs(actor, [a.id for a in rows])
    facts: dict[int | None, rules.ReviewFacts] = {}
    out = []
    for a in rows:
        if a.category_id not in facts:
            facts[a.category_id] = knowledge.review_facts(a.category_id)
        target = shown.get(a.update_of_id) if a.update_of_id in targets else None
        out.append(QueueItem(shown[a.id], target, sources.get(a.id, []),
                             rules.can_review(actor, facts[a.category_id])))
    return out


def _source_refs(actor: Actor, article_ids: list[int]) -> dict[int, list[dto.Ref]]:
    """source_tickets() for many articles: links and tickets in one query, the tickets'
    parents in one more, then who may see each ticket."""
    if not article_ids:
        return {}
    rows = list(Ticket.select(Ticket, ArticleTicket.article.alias("article_id"))
                .join(ArticleTicket, on=(ArticleTicket.ticket == Ticket.id))
                .where(ArticleTicket.article.in_(article_ids) & (ArticleTicket.kind == "source"))
                .order_by(Ticket.id.desc()).objects())
    visible = _visible_ticket_ids(actor, {t.id: t for t in rows})
    out: dict[int, list[dto.Ref]] = {}
    for t in rows:
        refs = out.setdefault(t.article_id, [])
        if t.id in visible and len(refs) < 50:  # one source link per (article, ticket)
            refs.append(dto.Ref(t.id, t.number))
    return out


def _visible_ticket_ids(actor: Actor, tickets: dict[int, Ticket]) -> set[int]:
    """common.facts() + can_view_ticket for many tickets. Like common.ticket_for, the
    process steps' grant is looked up only for a ticket not visible without it (rare:
    reviewers are administrators or work in the ticket's department)."""
    if actor.is_admin or not tickets:
        return set(tickets)  # administrators see every ticket: no facts to load
    parents: dict[int, list[TicketFacts]] = {}
    links = (TicketLink.select(TicketLink.target, Ticket.department, Ticket.assignee,
                               Ticket.customer, Ticket.requester)
             .join(Ticket, on=(TicketLink.source == Ticket.id))
             .where(TicketLink.target.in_(list(tickets)) & (TicketLink.kind == "parent")).tuples())
    for target, *who in links:
        parents.setdefault(target, []).append(TicketFacts(*who))
    visible = set()
    for t in tickets.values():
        seen = TicketFacts(t.department_id, t.assignee_id, t.customer_id, t.requester_id,
                           tuple(parents.get(t.id, ())))
        if can_view_ticket(actor, seen) or can_view_ticket(
                actor, replace(seen, step_holders=step_holders(t.id))):
            visible.add(t.id)
    return visible


def merge_proposal(actor: Actor, proposal_id: int, *, title: str | None = None,
                   body: str | None = None, expected_version=None) -> knowledge.ArticleView:
    """Accept an AI proposal that updates an existing article: the (possibly edited)
    text becomes a new version of the target; the proposal ends as `merged` and its
    source tickets are linked to the target."""
    with unit_of_work():
        p = knowledge.load_for_change(actor, proposal_id, expected_version)
        if p.update_of_id is None or p.status not in ("in_review", "draft"):
            raise Conflict("only an open proposal to update an article can be merged",
                           status=p.status)
        target = knowledge.load_visible(actor, p.update_of_id)
        if not knowledge.can_review_article(actor, target) or not knowledge.can_review_article(actor, p):
            raise PermissionDenied("the category's reviewers only")
        new_title = common.clean_text(p.title if title is None else title, "title",
                                      required=True, max_len=255, single_line=True)
        new_body = common.clean_text(p.body if body is None else body, "body", required=True,
                                     max_len=knowledge.MAX_BODY)
        target = knowledge.save(target, {"title": new_title, "body": new_body})
        knowledge.snapshot(target, actor.user_id, f"merged proposal #{p.id}")
        for link in ArticleTicket.select().where((ArticleTicket.article == p.id)
                                                 & (ArticleTicket.kind == "source")):
            link_ticket_row(target.id, link.ticket_id, "source", link.created_by_id)
        knowledge.save(p, {"status": "merged", "reviewed_by": actor.user_id or None})
    return knowledge.view(Article.get_by_id(target.id))


# --- versions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class VersionView:
    version: int
    title: str
    body: str
    tags: list[str]
    category_id: int | None
    visibility: str
    editor: dto.Ref | None
    note: str
    created_at: object


def _version_view(v: ArticleVersion) -> VersionView:
    return VersionView(v.version, v.title, v.body, list(v.tags or []), v.category_id,
                       v.visibility, knowledge._user_ref(v.editor_id), v.note, v.created_at)


def _staff_article(actor: Actor, article_id) -> Article:
    if not actor.is_staff:
        raise NotFound("article not found", id=article_id)
    return knowledge.load_visible(actor, article_id)


def versions(actor: Actor, article_id: int) -> list[VersionView]:
    """Newest first."""
    a = _staff_article(actor, article_id)
    return [_version_view(v) for v in ArticleVersion.select().where(ArticleVersion.article == a.id)
            .order_by(ArticleVersion.version.desc())]


def _version(a: Article, number) -> ArticleVersion:
    v = (ArticleVersion.get_or_none((ArticleVersion.article == a.id)
                                    & (ArticleVersion.version == int(number)))
         if str(number).isdigit() else None)
    if v is None:
        raise NotFound("version not found", version=number)
    return v


@dataclass(frozen=True)
class VersionDiff:
    old: VersionView
    new: VersionView
    title_lines: list[rules.DiffLine]
    body_lines: list[rules.DiffLine]
    fields: list[tuple[str, object, object]]


def diff(actor: Actor, article_id: int, old: int, new: int | None = None) -> VersionDiff:
    """What changed from version `old` to `new` (default: the latest)."""
    a = _staff_article(actor, article_id)
    older = _version(a, old)
    newer = _version(a, new) if new is not None else (
        ArticleVersion.select().where(ArticleVersion.article == a.id)
        .order_by(ArticleVersion.version.desc()).first())
    o, n = _version_view(older), _version_view(newer)
    meta = lambda v: {"title": v.title, "tags": v.tags, "category_id": v.category_id,  # noqa: E731
                      "visibility": v.visibility}
    return VersionDiff(o, n, rules.text_diff(o.title, n.title), rules.text_diff(o.body, n.body),
                       rules.field_changes(meta(o), meta(n)))


def rollback(actor: Actor, article_id: int, to_version: int, *,
             expected_version=None) -> knowledge.ArticleView:
    """Write version `to_version`'s content as a new version (history only grows)."""
    with unit_of_work():
        a = knowledge.load_for_change(actor, article_id, expected_version)
        if not rules.can_edit(actor, a.status, knowledge.review_facts(a.category_id)):
            raise PermissionDenied("published articles are changed by their reviewers")
        v = _version(a, to_version)
        a = knowledge.save(a, {"title": v.title, "body": v.body, "tags": list(v.tags or []),
                               "category": v.category_id, "visibility": v.visibility})
        knowledge.snapshot(a, actor.user_id, f"rolled back to version {v.version}")
    return knowledge.view(a)


# --- tickets and uses ------------------------------------------------------------------------

def link_ticket_row(article_id: int, ticket_id: int, kind: str, user_id) -> None:
    """Idempotent: the unique index keeps one link per (article, ticket, kind)."""
    exists = ArticleTicket.select().where((ArticleTicket.article == article_id)
                                          & (ArticleTicket.ticket == ticket_id)
                                          & (ArticleTicket.kind == kind)).exists()
    if not exists:
        ArticleTicket.create(article=article_id, ticket=ticket_id, kind=kind,
                             created_by=user_id or None)


def link_ticket(actor: Actor, article_id: int, ticket_id: int, kind: str = "related") -> None:
    if kind not in LINK_KINDS:
        raise ValidationError({"kind": "must be one of: " + ", ".join(LINK_KINDS)})
    with unit_of_work():
        a = _staff_article(actor, article_id)
        t = common.ticket_for(actor, ticket_id)
        link_ticket_row(a.id, t.id, kind, actor.user_id)


def unlink_ticket(actor: Actor, article_id: int, ticket_id: int) -> None:
    with unit_of_work():
        a = _staff_article(actor, article_id)
        t = common.ticket_for(actor, ticket_id)
        ArticleTicket.delete().where((ArticleTicket.article == a.id) & (ArticleTicket.ticket == t.id)
                                     & (ArticleTicket.kind == "related")).execute()


def _ticket_refs(actor: Actor, article_id: int, kinds) -> list[dto.Ref]:
    rows = (Ticket.select(Ticket).join(ArticleTicket, on=(ArticleTicket.ticket == Ticket.id))
            .where((ArticleTicket.article == article_id) & (ArticleTicket.kind.in_(kinds)))
            .order_by(Ticket.id.desc()).distinct().limit(50))
    return [dto.Ref(t.id, t.number) for t in rows if can_view_ticket(actor, common.facts(t))]


def source_tickets(actor: Actor, article_id: int) -> list[dto.Ref]:
    return _ticket_refs(actor, article_id, ("source",))


def related_tickets(actor: Actor, article_id: int) -> list[dto.Ref]:
    """Tickets linked to the article (by hand, as a source, or through a reply) that the
    actor may see."""
    return _ticket_refs(actor, article_id, LINK_KINDS)


def record_use(actor: Actor, article_id: int, kind: str, *, ticket_id: int | None = None,
               comment_id: int | None = None) -> None:
    """An article was inserted in a reply, cited by a draft, or solved a customer's
    problem (deflection). The article must be readable by the actor."""
    if kind not in USE_KINDS:
        raise ValidationError({"kind": "must be one of: " + ", ".join(USE_KINDS)})
    a = Article.get_or_none(Article.id == article_id) if str(article_id).isdigit() else None
    if a is None or not knowledge.can_see(actor, a):
        raise NotFound("article not found", id=article_id)
    with unit_of_work():
        if ticket_id is not None:
            ticket_id = common.ticket_for(actor, ticket_id).id
        ArticleUse.create(article=a.id, kind=kind, ticket=ticket_id, comment=comment_id,
                          user=actor.user_id or None)
        if ticket_id is not None and kind in ("link", "snippet"):
            link_ticket_row(a.id, ticket_id, "used", actor.user_id)


def used_in_replies(article_id: int) -> int:
    """Posted replies (not internal notes) that inserted the article."""
    return (ArticleUse.select().join(Comment, on=(ArticleUse.comment == Comment.id))
            .where((ArticleUse.article == article_id) & (Comment.internal == False))  # noqa: E712
            .count())


def uses(article_id: int) -> int:
    """Every recorded use (insertions in replies or notes, draft citations, deflections):
    what hard deletion would erase from replies and from past metrics."""
    return ArticleUse.select().where(ArticleUse.article == article_id).count()


def delete_article(actor: Actor, article_id: int, *, expected_version=None,
                   settings=None) -> None:
    """Hard delete, for reviewers, of an article nobody relies on; one that is published
    or was ever used can only be archived (409). Its files leave the store too."""
    with unit_of_work():
        a = knowledge.load_for_change(actor, article_id, expected_version)
        if not knowledge.can_review_article(actor, a):
            raise PermissionDenied("the category's reviewers only")
        used = uses(a.id)
        if not rules.can_hard_delete(a.status, used):
            raise Conflict("this article is published or used in replies: archive it instead",
                           status=a.status, uses=used)
        files = [f.storage_name for f in ArticleFile.select(ArticleFile.storage_name)
                 .where(ArticleFile.article == a.id)]
        Article.update(update_of=None).where(Article.update_of == a.id).execute()
        Article.delete().where(Article.id == a.id).execute()
        schedule("index_article", a.id)
    # After commit: a rolled-back delete must not lose the bytes.
    attachments.remove_files(files, settings or runtime.settings())
