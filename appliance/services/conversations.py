"""Chat and call intake: accepting a posted conversation, and the job that analyses it.

`accept` is all a request does: one transaction that stores the conversation, finds or
creates its customer (services.identity) and schedules "analyse_conversation"; the AI
work runs in the background lane. Idempotent by (integration token, external id): the
same payload again answers with the stored row (`replay`), a different payload under the
same id is a Conflict, and concurrent duplicates meet the unique index. Another
integration's ids are its own: they neither collide nor can be read (404).

Identity: what the integration vouches for (a call's line number, the integration's own
customer id, kept in its namespace) may link; what a visitor or caller typed (pre-chat
name, e-mail, phone) only matches. docs/decisions/0016-customer-identity.md.

The job (`analyse_conversation`) is safe to run twice: it does nothing once the row is
analysed, and it writes the outcome (ticket, comment, extraction, status) in one
transaction. A failure is recorded on the row (status "failed", error) and raised, so
the job machinery retries it. What it does with the outcome: services.conversation_tickets.

Logs carry ids only: transcripts and identifiers are personal data.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from peewee import IntegrityError

from appliance import jobs, runtime
from appliance.db import is_postgres
from appliance.errors import Conflict, NotFound
from appliance.jobs import schedule, unit_of_work
from appliance.models import Conversation, utcnow
from appliance.ports import ModelBusy
from appliance.rules.intake_payload import ConversationInput
from appliance.services import conversation_ai, identity
from appliance.services import conversation_personal as personal
from appliance.services.conversation_views import (conversation_for_ticket,  # noqa: F401
                                                   get_conversation, recent_for_customer)
from appliance.services.integrations import Caller

log = logging.getLogger(__name__)
JOB = "analyse_conversation"


@dataclass(frozen=True)
class Accepted:
    id: int
    channel: str
    status: str
    outcome: str
    ticket_number: str | None
    replay: bool = False


def _accepted(c: Conversation, replay: bool = False) -> Accepted:
    number = c.ticket.number if c.ticket_id else None
    return Accepted(c.id, c.channel, c.status, c.outcome, number, replay)


def accept(caller: Caller, data: ConversationInput) -> Accepted:
    """Store a posted conversation (or recognise a repeated delivery of it)."""
    if caller.channel != data.channel:
        raise NotFound("not found")  # the API checks this first (403); never cross channels
    for attempt in (1, 2):
        known = _existing(caller, data)
        if known is not None:
            return known
        try:
            return _insert(caller, data)
        except IntegrityError:
            # A concurrent delivery of the same id won the unique index (or a concurrent
            # new customer with the same contact did): look again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _existing(caller: Caller, data: ConversationInput) -> Accepted | None:
    row = Conversation.get_or_none((Conversation.token == caller.token_id)
                                   & (Conversation.external_id == data.external_id))
    if row is None:
        return None
    if row.payload_sha256 != data.payload_sha256:
        raise Conflict("another conversation was already posted under this id",
                       id=row.id, external_id=data.external_id)
    return _accepted(row, replay=True)


def _insert(caller: Caller, data: ConversationInput) -> Accepted:
    with unit_of_work():
        row = Conversation.create(
            channel=data.channel, external_id=data.external_id, token=caller.token_id,
            payload_sha256=data.payload_sha256, started_at=data.started_at,
            ended_at=data.ended_at,
            participants=personal.public_participants({**data.participants,
                                                       "source": data.source}),
            recording_ref=data.recording_ref, messages=data.messages)
        personal.store(row.id, dict(data.customer), data.participants)
        # After the row, so a note about an unlinked identifier can name the conversation.
        customer_id = _customer(caller, data, row.id)
        Conversation.update(customer=customer_id).where(Conversation.id == row.id).execute()
        schedule(JOB, row.id)
    return Accepted(row.id, row.channel, row.status, row.outcome, None)


def _customer(caller: Caller, data: ConversationInput, conversation_id: int) -> int | None:
    """The integration vouches for its own customer id and, on a call, for the line's
    number (the caller, or the callee of an outbound call) when that is the customer's
    phone; names, e-mail addresses and other numbers were typed by someone."""
    c = data.customer
    vouched = {"external"}
    if data.channel == "call":
        p = data.participants
        line = p.get("callee" if p.get("direction") == "outbound" else "caller", "")
        if identity.normalize("phone", c.get("phone", "")) == identity.normalize("phone", line):
            vouched.add("phone")
    return identity.find_or_create_customer(
        c.get("name", ""), email=c.get("email", ""), phone=c.get("phone", ""),
        external_id=caller.customer_external_id(c.get("external_id", "")),
        vouched=vouched, source=f"{data.channel} conversation #{conversation_id}")


def status_for(caller: Caller, conversation_id: int) -> Accepted:
    """What became of a conversation, for the integration that posted it only: any other
    token gets the same 404 as an id that does not exist, so ids cannot be probed."""
    row = Conversation.get_or_none(Conversation.id == conversation_id)
    if row is None or row.token_id != caller.token_id:
        raise NotFound("conversation not found", id=conversation_id)
    return _accepted(row)


# --- the job ----------------------------------------------------------------------------

def speaker_messages(row: Conversation) -> list[dict]:
    """The conversation as conversation_ai.analyse takes it."""
    return [{"speaker": m.get("speaker", ""), "text": m.get("text", ""), "at": m.get("at", "")}
            for m in row.messages or []]


@jobs.handler(JOB)
def analyse_conversation(conversation_id: int) -> None:
    row = Conversation.get_or_none(Conversation.id == conversation_id)
    if row is None or row.status == "analysed":
        return
    settings = runtime.settings()
    try:
        extraction = conversation_ai.analyse(row.channel, speaker_messages(row), settings)
        from appliance.services import conversation_tickets
        conversation_tickets.apply_outcome(conversation_id, extraction, settings)
    except ModelBusy:
        raise  # not a failure: the lane runs it again when the model is free
    except Exception as exc:
        _record_failure(conversation_id, exc)
        raise
    log.info("conversation %s analysed", conversation_id)


def _record_failure(conversation_id: int, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
    log.warning("conversation %s: analysis failed (%s)", conversation_id, type(exc).__name__)
    with unit_of_work():
        Conversation.update(status="failed", error=error).where(
            (Conversation.id == conversation_id) & (Conversation.status != "analysed")).execute()


def lock_row(conversation_id: int) -> Conversation | None:
    """The row, locked on PostgreSQL so two runs cannot both write an outcome."""
    query = Conversation.select().where(Conversation.id == conversation_id)
    if is_postgres():
        query = query.for_update()
    return query.first()


def mark_analysed(row: Conversation, outcome: str, ticket_id: int | None, extraction: dict
                  ) -> None:
    Conversation.update(status="analysed", outcome=outcome, ticket=ticket_id,
                        extraction=extraction, error="", analysed_at=utcnow()).where(
        Conversation.id == row.id).execute()
