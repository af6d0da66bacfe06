"""Reading chat and call conversations: the staff page, the review panel of a ticket and
the recent conversations of a customer.

Who may see one: staff who may view customers; a conversation that made a ticket (or
was added to one) follows that ticket's visibility, so an agent never reads the
transcript of a ticket outside their reach. When that ticket was merged into another,
the conversation stays on its own ticket (which still shows it) and appears on the
survivor's panel too, for whoever may see either: the merge moved the conversation's
replies to the survivor, and its transcript belongs with them. Conversations on no
ticket (waiting for analysis, failed, resolved in the conversation) are listed for all
staff: someone has to review failed analyses and "resolved" judgements, and that is
agents' work too.

What a reader sees of the customer's contacts follows the customer page
(rules.pii.sees_full_contacts via customers.full_contact_ids): supervisors and admins in
full, an agent only while working on the customer. Otherwise every contact-bearing
field is masked: the posted identifiers, caller and callee, the extracted phone numbers,
e-mail addresses and addresses, and (with rules.pii.mask_pii) the free text they were
extracted from: transcript, subject and description.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance.errors import NotFound
from appliance.models import Conversation, Ticket
from appliance.rules.access import Actor, can_view_customers, can_view_ticket, sees_pii
from appliance.rules.pii import mask_contact, mask_pii
from appliance.services import common
from appliance.services import conversation_personal as personal
from appliance.services.customers import full_contact_ids

# Which contact kind (rules.pii.mask_contact) each contact-bearing key holds.
IDENTIFIER_KINDS = {"phone": "phone", "email": "email", "external_id": "external"}
PARTICIPANT_KINDS = {"caller": "phone", "callee": "phone"}
EXTRACTED_KINDS = {"phones": "phone", "emails": "email", "addresses": "address"}
EXTRACTED_TEXT = ("subject", "description", "reason")
MAX_MERGE_HOPS = 10   # each merge adds one; this only bounds a bad row (a cycle)


@dataclass(frozen=True)
class ConversationSummary:
    id: int
    channel: str            # chat | call
    source: str             # wechat, web-chat, phone, ...
    status: str             # received | analysed | failed
    outcome: str            # ticket | appended | resolved | ""
    ticket_id: int | None
    ticket_number: str | None
    subject: str            # from the extraction, "" before analysis
    started_at: dt.datetime | None
    created_at: dt.datetime


@dataclass(frozen=True)
class ConversationDetail:
    summary: ConversationSummary
    external_id: str
    customer_id: int | None
    identifiers: dict
    participants: dict
    recording_ref: str
    ended_at: dt.datetime | None
    messages: list          # [{speaker, label, text, at}]
    extraction: dict        # conversation_ai.Extraction.to_json() (+ matched_by)
    error: str
    contacts_masked: bool = False  # the contact-bearing fields above are masked


def _summary(c: Conversation, numbers: dict[int, str], full: bool) -> ConversationSummary:
    subject = (c.extraction or {}).get("subject", "")
    return ConversationSummary(
        c.id, c.channel, (c.participants or {}).get("source", ""), c.status, c.outcome,
        c.ticket_id, numbers.get(c.ticket_id), subject if full else mask_pii(subject),
        c.started_at, c.created_at)


def _detail(c: Conversation, numbers: dict[int, str], full: bool) -> ConversationDetail:
    identifiers, participants = personal.read(c)
    messages, extraction = list(c.messages or []), dict(c.extraction or {})
    if not full:
        identifiers = _masked(identifiers, IDENTIFIER_KINDS)
        participants = _masked(participants, PARTICIPANT_KINDS)
        messages = [{**m, "text": mask_pii(m.get("text") or "")} if isinstance(m, dict) else m
                    for m in messages]
        extraction = _masked_extraction(extraction)
    return ConversationDetail(_summary(c, numbers, full), c.external_id, c.customer_id,
                              identifiers, participants, c.recording_ref, c.ended_at,
                              messages, extraction, c.error, not full)


def _masked(values: dict, kinds: dict[str, str]) -> dict:
    return {k: mask_contact(kinds[k], v) if k in kinds and isinstance(v, str) and v else v
            for k, v in values.items()}


def _masked_extraction(extraction: dict) -> dict:
    out = dict(extraction)
    for key, kind in EXTRACTED_KINDS.items():
        if isinstance(out.get(key), list):
            out[key] = [mask_contact(kind, str(v)) for v in out[key]]
    for key in EXTRACTED_TEXT:
        if isinstance(out.get(key), str):
            out[key] = mask_pii(out[key])
    return out


def _full_for(actor: Actor, rows: list[Conversation]) -> set[int]:
    """Ids of the conversations whose contacts the actor sees in full (one query for a
    page). A conversation without a customer: only readers who see every customer's
    contacts in full (supervisors, admins), as there is no customer to work on."""
    customer_ids = sorted({c.customer_id for c in rows if c.customer_id})
    full = full_contact_ids(actor, customer_ids)
    anyone = sees_pii(actor, works_on_customer=False)
    return {c.id for c in rows if (c.customer_id in full if c.customer_id else anyone)}


def _visible_tickets(actor: Actor, ticket_ids: set[int]) -> dict[int, str]:
    """Ticket id → number of those the actor may see, directly or through a ticket they
    were merged into (merging moved their conversation there: links.merge_tickets)."""
    if not ticket_ids:
        return {}
    return {t.id: t.number for t in Ticket.select().where(Ticket.id.in_(list(ticket_ids)))
            if can_view_ticket(actor, common.facts(t))
            or any(can_view_ticket(actor, common.facts(s)) for s in _survivors(t))}


def _survivors(t: Ticket) -> list[Ticket]:
    """The tickets `t` was merged into, nearest first (a later merge of the survivor
    makes a chain)."""
    found: list[Ticket] = []
    seen = {t.id}
    while t.merged_into_id and t.merged_into_id not in seen and len(found) < MAX_MERGE_HOPS:
        t = Ticket.get_or_none(Ticket.id == t.merged_into_id)
        if t is None:
            break
        seen.add(t.id)
        found.append(t)
    return found


def _merged_family(t: Ticket) -> dict[int, str]:
    """Id → number of `t` and of every ticket merged into it, directly or through a chain
    of merges: the conversations of all of them belong on t's review panel."""
    family = {t.id: t.number}
    frontier = [t.id]
    for _ in range(MAX_MERGE_HOPS):
        rows = [r for r in Ticket.select(Ticket.id, Ticket.number).where(
            Ticket.merged_into.in_(frontier)) if r.id not in family]
        if not rows:
            break
        family.update((r.id, r.number) for r in rows)
        frontier = [r.id for r in rows]
    return family


def get_conversation(actor: Actor, conversation_id: int) -> ConversationDetail:
    c = Conversation.get_or_none(Conversation.id == conversation_id)
    if c is None or not can_view_customers(actor):
        raise NotFound("conversation not found", id=conversation_id)
    numbers = _visible_tickets(actor, {c.ticket_id} if c.ticket_id else set())
    if c.ticket_id and c.ticket_id not in numbers:
        raise NotFound("conversation not found", id=conversation_id)
    return _detail(c, numbers, c.id in _full_for(actor, [c]))


def conversation_for_ticket(actor: Actor, ticket_id: int, limit: int = 5
                            ) -> list[ConversationDetail]:
    """The conversations that made this ticket or were added to it, or to a ticket merged
    into it, newest first. Each names its own ticket (summary.ticket_id/_number), so the
    panel can say which merged ticket one came from."""
    if not can_view_customers(actor):
        return []
    t = common.ticket_for(actor, ticket_id)  # 404 unless visible
    family = _merged_family(t)
    rows = list(Conversation.select().where(Conversation.ticket.in_(list(family)))
                .order_by(Conversation.id.desc()).limit(limit))
    full = _full_for(actor, rows)
    return [_detail(c, family, c.id in full) for c in rows]


def recent_for_customer(actor: Actor, customer_id: int, limit: int = 5
                        ) -> list[ConversationSummary]:
    """The customer's latest conversations (resolved ones too), newest first; those on a
    ticket the actor may not see are left out."""
    if not can_view_customers(actor):
        return []
    limit = max(1, min(int(limit), 50))
    rows = list(Conversation.select().where(Conversation.customer == customer_id)
                .order_by(Conversation.id.desc()).limit(limit * 3))
    return _visible_summaries(actor, rows)[:limit]


def list_recent(actor: Actor, *, status: str = "", limit: int = 50) -> list[ConversationSummary]:
    """The latest conversations the actor may see (staff), optionally of one status: those
    on a ticket the actor may view, and those on no ticket (see the module docstring)."""
    if not can_view_customers(actor):
        return []
    query = Conversation.select().order_by(Conversation.id.desc()).limit(limit * 3)
    if status:
        query = query.where(Conversation.status == status)
    return _visible_summaries(actor, list(query))[:limit]


def _visible_summaries(actor: Actor, rows: list[Conversation]) -> list[ConversationSummary]:
    """Summaries of the rows on no ticket or on one the actor may see, masked as needed."""
    numbers = _visible_tickets(actor, {c.ticket_id for c in rows if c.ticket_id})
    shown = [c for c in rows if not c.ticket_id or c.ticket_id in numbers]
    full = _full_for(actor, shown)
    return [_summary(c, numbers, c.id in full) for c in shown]
