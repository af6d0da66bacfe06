"""Notices Gongdan mails about a ticket that are not an agent's reply: the "we received
your request GD-…" confirmation for tickets from e-mail and web forms (issue 5; being
built). They go through the outbox like replies (retried, visible on the ticket)."""
from __future__ import annotations

from appliance.settings import Settings


def queue_ticket_notice(ticket_id: int, kind: str, settings: Settings, *,
                        to: str | None = None) -> int | None:
    """Queue notice `kind` ("received") for the ticket's customer (or `to`); returns the
    outbox row id, or None when nothing is to be sent (no address, loop-prone sender,
    notices off). Call inside the transaction that created the ticket."""
    return None
