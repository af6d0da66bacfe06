"""The web side of the audit log: the start-up key check, and the client address of each
request handed to the domain (appliance.request_context) for the records it writes; also
the read-only scope of GET requests, in which a ticket is loaded once (services.common)."""
from __future__ import annotations

from flask import Flask, g, request

from appliance import audit_keys, request_context
from webapp.client import client_address


def init_app(app: Flask) -> None:
    try:
        audit_keys.check(app.config["GONGDAN"])
    except audit_keys.AuditKeyProblem as exc:
        raise RuntimeError(f"cannot start: {exc}") from None

    @app.before_request
    def _client():
        g.audit_ip_token = request_context.set_client_ip(client_address())
        if request.method in ("GET", "HEAD"):   # changes nothing: ticket loads are shared
            g.ticket_reads_token = request_context.start_reads()

    @app.teardown_request
    def _forget(exc):
        token = g.pop("audit_ip_token", None)
        if token is not None:
            request_context.reset(token)
        reads = g.pop("ticket_reads_token", None)
        if reads is not None:
            request_context.end_reads(reads)
