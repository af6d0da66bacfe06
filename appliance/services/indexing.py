"""Keeps the full-text index in step with the database (only the queue writes it).

What is indexed: subject, description, public replies, and internal notes in a
separate field that only staff queries search. Customer names, phones and
emails are never indexed (PII stays out of the index).
"""
from __future__ import annotations

from appliance import jobs, registry, runtime
from appliance.models import Comment, Ticket
from appliance.ports import IndexedTicket


def document(t: Ticket) -> IndexedTicket:
    public, internal = [], []
    for c in Comment.select(Comment.body, Comment.internal).where(Comment.ticket == t.id) \
            .order_by(Comment.id):
        (internal if c.internal else public).append(c.body)
    return IndexedTicket(
        id=t.id, number=t.number, subject=t.subject, description=t.description,
        public_text="\n".join(public), internal_text="\n".join(internal), status=t.status,
        department_id=t.department_id, assignee_id=t.assignee_id, customer_id=t.customer_id,
        requester_id=t.requester_id, created_at=t.created_at, updated_at=t.updated_at)


@jobs.batch_handler("index_ticket")
def index_tickets(ticket_ids: list[int]) -> None:
    """Idempotent: writes the tickets' current state (or removes gone and merged ones),
    all in one index commit."""
    rows = {t.id: t for t in Ticket.select().where(Ticket.id.in_(ticket_ids))}
    live = [rows[i] for i in ticket_ids if i in rows and not rows[i].merged_into_id]
    gone = [i for i in ticket_ids if i not in rows or rows[i].merged_into_id]
    registry.search_index(runtime.settings()).apply([document(t) for t in live], gone)


def index_ticket(ticket_id: int) -> None:
    """One ticket (CLI maintenance and tests); the queue goes through index_tickets."""
    index_tickets([ticket_id])


def rebuild(batch: int = 2000) -> int:
    """Recreate the index from the database; returns the number of tickets indexed."""
    index = registry.search_index(runtime.settings())

    def docs():
        last = 0
        while True:
            rows = list(Ticket.select().where((Ticket.id > last) & Ticket.merged_into.is_null())
                        .order_by(Ticket.id).limit(batch))
            if not rows:
                return
            for t in rows:
                yield document(t)
            last = rows[-1].id
    return index.rebuild(docs())
