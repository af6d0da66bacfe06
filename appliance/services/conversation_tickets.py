"""What an analysed conversation turns into: a new ticket, a reply on the customer's open
ticket about the same issue (rules.intake_match), or nothing but the record ("resolved").

New tickets go through services.tickets.create_ticket, so triage and dispatch run as for
any ticket; the transcript is attached as an internal .txt file. Everything one outcome
writes (ticket or comment, attachment, the conversation's status and extraction) is one
transaction; the transcript file is written before it and removed if it does not commit.
"""
from __future__ import annotations

import logging

from appliance.errors import DomainError
from appliance.jobs import unit_of_work
from appliance.models import Attachment, Conversation, Ticket, utcnow
from appliance.rules import states
from appliance.rules.access import SYSTEM
from appliance.rules.intake_match import OpenTicket, same_issue
from appliance.services import common
from appliance.services import conversation_personal as personal
from appliance.services.attachments import Upload, remove_files, write_files
from appliance.services.comments import add_inbound_comment
from appliance.services.conversation_ai import Extraction
from appliance.services.conversations import lock_row, mark_analysed
from appliance.services.tickets import TicketInput, create_ticket
from appliance.settings import Settings

log = logging.getLogger(__name__)

TICKET_CHANNEL = {"chat": "chat", "call": "phone"}
CANDIDATES = 20   # open tickets of one customer looked at (newest activity first)


def apply_outcome(conversation_id: int, ext: Extraction, settings: Settings) -> str:
    """Write the outcome of one analysis; returns it ("" when already done)."""
    row = Conversation.get_by_id(conversation_id)
    written = _transcript_file(row, settings) if ext.needs_ticket else []
    done = ""
    try:
        with unit_of_work():
            row = lock_row(conversation_id)
            if row is None or row.status == "analysed":
                return ""  # a concurrent run wrote it (finally removes our file)
            outcome = _decide(row, ext, written, settings)
        # Only once the commit went through: a failing commit leaves `done` empty, so the
        # file no row points to is removed.
        done = outcome
    finally:
        if done in ("", "resolved"):
            remove_files([w["storage_name"] for w in written], settings)
    return done


def _decide(row: Conversation, ext: Extraction, written: list[dict], settings: Settings) -> str:
    extraction = ext.to_json()
    if not ext.needs_ticket:
        mark_analysed(row, "resolved", None, extraction)
        return "resolved"
    match = _open_ticket_on_same_issue(row, ext)
    if match is not None:
        ticket_id, reason = match
        extraction["matched_by"] = reason
        add_inbound_comment(ticket_id, _body(row, ext), written, settings,
                            channel=TICKET_CHANNEL[row.channel])
        mark_analysed(row, "appended", ticket_id, extraction)
        return "appended"
    mark_analysed(row, "ticket", _new_ticket(row, ext, written, settings), extraction)
    return "ticket"


def _new_ticket(row: Conversation, ext: Extraction, written: list[dict],
                settings: Settings) -> int:
    # Priority is left to triage (its rules read urgency); urgency is what the customer said.
    urgency = ext.urgency if ext.urgency in states.URGENCIES else None
    data = TicketInput(subject=_subject(row, ext), description=_body(row, ext),
                       channel=TICKET_CHANNEL[row.channel], urgency=urgency,
                       customer_id=row.customer_id)
    ticket_id = create_ticket(SYSTEM, data, settings).summary.id
    now = utcnow()
    for w in written:
        Attachment.create(ticket=ticket_id, created_at=now, **w)
        common.record(ticket_id, SYSTEM, "attachment_added", after={"filename": w["filename"]},
                      internal=True)
    return ticket_id


def _subject(row: Conversation, ext: Extraction) -> str:
    subject = " ".join((ext.subject or "").split())[:200]
    return subject or f"{TICKET_CHANNEL[row.channel]} {row.external_id}"[:200]


def _body(row: Conversation, ext: Extraction) -> str:
    text = (ext.description or "").strip()
    if not text:
        text = "\n".join(m.get("text", "") for m in row.messages or []
                         if m.get("speaker") == "customer").strip()
    return text[:100_000] or _subject(row, ext)


MERGE_DEPTH = 5   # merges of merges followed this far


def _merged_into_each(ids: list[int]) -> dict[int, int]:
    """Each of `ids` and every ticket merged into it (through chains of merges) -> the
    survivor among `ids`: a call about an order first seen on a merged ticket still finds
    the ticket it lives on now."""
    owner = {i: i for i in ids}
    frontier = list(ids)
    for _ in range(MERGE_DEPTH):
        rows = list(Ticket.select(Ticket.id, Ticket.merged_into)
                    .where(Ticket.merged_into.in_(frontier))) if frontier else []
        frontier = [r.id for r in rows if r.id not in owner]
        owner.update({r.id: owner[r.merged_into_id] for r in rows if r.id not in owner})
    return owner


def _open_ticket_on_same_issue(row: Conversation, ext: Extraction) -> tuple[int, str] | None:
    if not row.customer_id:
        return None
    tickets = list(Ticket.select(Ticket.id, Ticket.channel, Ticket.created_at, Ticket.subject,
                                 Ticket.description)
                   .where((Ticket.customer == row.customer_id)
                          & (Ticket.is_open == True)  # noqa: E712
                          & Ticket.merged_into.is_null())
                   .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(CANDIDATES))
    if not tickets:
        return None
    owner = _merged_into_each([t.id for t in tickets])
    earlier: dict[int, list[dict]] = {}
    for c in Conversation.select(Conversation.ticket, Conversation.extraction).where(
            Conversation.ticket.in_(list(owner)) & (Conversation.id != row.id)):
        earlier.setdefault(owner[c.ticket_id], []).append(c.extraction or {})
    candidates = [OpenTicket(
        t.id, t.channel, t.created_at, f"{t.subject}\n{t.description}",
        frozenset(o for e in earlier.get(t.id, []) for o in e.get("order_numbers", [])),
        frozenset(e.get("product", "") for e in earlier.get(t.id, []) if e.get("product")))
        for t in tickets]
    return same_issue(candidates, order_numbers=ext.order_numbers, product=ext.product,
                      channel=TICKET_CHANNEL[row.channel], now=utcnow())


def transcript_text(row: Conversation) -> str:
    """The transcript as a plain text file: a header, then "[time] speaker: text" lines."""
    parts = personal.read(row)[1]
    head = [f"{row.channel} {row.external_id}", f"source: {parts.get('source', '')}"]
    if row.channel == "call":
        head.append(f"caller: {parts.get('caller', '')}  callee: {parts.get('callee', '')}")
    if parts.get("agent"):
        head.append(f"agent: {parts['agent']}")
    if row.started_at or row.ended_at:
        head.append(f"time: {row.started_at or ''} - {row.ended_at or ''}")
    if row.recording_ref:
        head.append(f"recording: {row.recording_ref}")
    lines = [f"[{m.get('at') or ''}] {m.get('speaker')} ({m.get('label')}): {m.get('text')}"
             for m in row.messages or []]
    return "\n".join(head) + "\n\n" + "\n".join(lines) + "\n"


def _transcript_file(row: Conversation, settings: Settings) -> list[dict]:
    name = f"{row.channel}-transcript-{row.id}.txt"
    try:
        written = write_files([Upload(name, transcript_text(row).encode("utf-8"))], settings)
    except DomainError:
        # Too large for the attachment limit, or .txt not allowed here: the transcript is
        # still on the conversation and shown in the ticket's review panel.
        log.warning("conversation %s: transcript not attached", row.id)
        return []
    for w in written:
        w["internal"] = True  # staff only, like a raw e-mail
    return written
