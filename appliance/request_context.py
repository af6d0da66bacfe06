"""Who is on the other end of the current request, for the audit log.

The web app sets the client address once per request (webapp/audit_context.py); services
read it when they record an audit event, so no service signature carries an `ip`
argument through every layer. A contextvar: each thread (and each task) sees its own.
Outside a request (CLI, worker) it is "".
"""
from __future__ import annotations

from contextvars import ContextVar, Token

_client_ip: ContextVar[str] = ContextVar("gongdan_client_ip", default="")


def set_client_ip(ip: str) -> Token:
    return _client_ip.set((ip or "")[:64])


def reset(token: Token) -> None:
    _client_ip.reset(token)


def client_ip() -> str:
    return _client_ip.get()


# Tickets a read-only request has loaded and found visible, by (actor, ticket id): a
# ticket page's panels each check the same ticket (services.common.ticket_for), ten times
# two queries otherwise. None outside a read-only request (writes always read afresh).
_reads: ContextVar[dict | None] = ContextVar("gongdan_ticket_reads", default=None)


def start_reads() -> Token:
    """For a request that changes nothing (GET, HEAD): its ticket loads may be shared."""
    return _reads.set({})


def end_reads(token: Token) -> None:
    _reads.reset(token)


def reads() -> dict | None:
    return _reads.get()
