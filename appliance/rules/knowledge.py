"""Knowledge-base rules: the article life cycle, who may do what, and a readable diff.

Pure functions over `Actor`, status strings and texts (services load the facts).

Life cycle::

    draft ──submit──▶ in_review ──approve──▶ published ──archive──▶ archived
      ▲                  │  └──reject (AI proposal)──▶ rejected
      └──return──────────┘  └──merge (AI proposal of an update)──▶ merged
    archived ──restore──▶ draft          published ──unpublish──▶ draft

Reviewers: a category's reviewers (on the category or an ancestor) approve its
articles; where no reviewer is configured, supervisors and admins do. Admins always
may. Writers are staff; customers only ever read published public articles.

Department scope (docs/decisions/0033-kb-department-scope.md): an article that is not
published belongs to a department (its source ticket's, else its author's at creation;
None = organisation-wide). Staff outside it do not see it, except holders of
ticket.view_all or kb.admin and the named reviewers of its category. Published articles
are organisation-wide.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from appliance.rules.access import Actor

STATUSES = ("draft", "in_review", "published", "archived", "rejected", "merged")
EDITABLE = frozenset({"draft", "in_review", "published"})
# action -> (from statuses, to status)
ACTIONS = {
    "submit": (("draft",), "in_review"),
    "return": (("in_review",), "draft"),
    "approve": (("in_review", "draft"), "published"),
    "unpublish": (("published",), "draft"),
    "archive": (("published", "draft", "in_review"), "archived"),
    "restore": (("archived", "rejected"), "draft"),
    "reject": (("in_review", "draft"), "rejected"),
}
REVIEW_ACTIONS = frozenset({"approve", "unpublish", "archive", "restore", "reject"})


def next_status(action: str, status: str) -> str | None:
    """The status `action` leads to from `status`, or None when it does not apply."""
    sources, target = ACTIONS.get(action, ((), None))
    return target if status in sources else None


def allowed_actions(status: str, *, can_review: bool, can_write: bool,
                    proposal: bool = False) -> list[str]:
    """The actions open to someone on an article; an AI proposal to update another
    article is merged into it (or rejected), never published beside it."""
    out = []
    for action, (sources, _) in ACTIONS.items():
        if status not in sources or (proposal and action == "approve"):
            continue
        if action in REVIEW_ACTIONS and not can_review:
            continue
        if not can_write:
            continue
        out.append(action)
    return out


@dataclass(frozen=True)
class ReviewFacts:
    """Who reviews the article's category: user ids configured on it or an ancestor."""
    reviewer_ids: frozenset[int] = frozenset()


def can_write(actor: Actor) -> bool:
    return actor.is_staff and actor.can("kb.edit")


def can_review(actor: Actor, facts: ReviewFacts) -> bool:
    """Knowledge administrators always; else a category's named reviewers, or holders of
    kb.review (supervisors) where it names none."""
    if actor.is_staff and actor.can("kb.admin"):
        return True
    if facts.reviewer_ids:
        return actor.is_staff and actor.user_id in facts.reviewer_ids
    return actor.is_staff and actor.can("kb.review")


def can_edit(actor: Actor, status: str, facts: ReviewFacts) -> bool:
    """Drafts and articles in review: any staff member. A published article's text
    reaches customers at once, so only its reviewers change it."""
    if not can_write(actor) or status not in EDITABLE:
        return False
    return status != "published" or can_review(actor, facts)


def can_read(actor: Actor, status: str, visibility: str) -> bool:
    if actor.is_staff and actor.can("kb.view"):
        return True
    return actor.is_customer and status == "published" and visibility == "public"


# Every status but published: drafts, proposals in review, rejected and merged proposals
# carry a ticket's content; an archived article may never have been published.
SCOPED_STATUSES = frozenset(STATUSES) - {"published"}


def sees_every_department(actor: Actor) -> bool:
    return actor.is_staff and (actor.can("ticket.view_all") or actor.can("kb.admin"))


def in_department_scope(actor: Actor, status: str, department_id: int | None,
                        facts: ReviewFacts = ReviewFacts()) -> bool:
    """Whether the article's department scope lets `actor` see it (can_read decides the
    rest): published or organisation-wide articles, everyone; else its department's
    staff, its category's named reviewers, and those who see every department."""
    if status not in SCOPED_STATUSES or department_id is None:
        return True
    if not actor.is_staff:
        return False
    return (sees_every_department(actor) or department_id == actor.department_id
            or actor.user_id in facts.reviewer_ids)


def article_department(source_ticket_department: int | None, has_source_ticket: bool,
                       author_department: int | None) -> int | None:
    """An article's department at creation: its source ticket's (even None: a ticket
    still in the triage pool), else its author's (None for e.g. an administrator)."""
    return source_ticket_department if has_source_ticket else author_department


def can_hard_delete(status: str, uses: int) -> bool:
    """An article anyone used (inserted in a reply, cited by a draft, a deflection) stays,
    archived: the link in a customer's mail keeps working and past metrics stay true."""
    return uses == 0 and status in ("draft", "rejected", "archived", "merged")


# --- diff --------------------------------------------------------------------------------

@dataclass(frozen=True)
class DiffLine:
    op: str  # " " same, "-" removed, "+" added, "@" a hunk header
    text: str


def text_diff(old: str, new: str, *, context: int = 2) -> list[DiffLine]:
    """A unified, line-based diff (what a reviewer reads), without file headers."""
    lines = difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(),
                                 lineterm="", n=context)
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        op = "@" if line.startswith("@@") else line[:1] or " "
        out.append(DiffLine(op, line if op == "@" else line[1:]))
    return out


def field_changes(old: dict, new: dict) -> list[tuple[str, object, object]]:
    """(field, before, after) for the metadata fields that differ (not the body)."""
    return [(k, old.get(k), new.get(k)) for k in ("title", "tags", "category_id", "visibility")
            if old.get(k) != new.get(k)]
