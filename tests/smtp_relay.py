"""A real SMTP server on loopback for tests (aiosmtpd): records what it accepts and can
be told to refuse recipients with any reply ("451 4.3.0 try later", "550 5.1.1 ...")."""
from __future__ import annotations

import contextlib
import email
import email.policy
import socket
import types

import pytest

from aiosmtpd.controller import Controller


class Relay:
    def __init__(self):
        self.messages: list[types.SimpleNamespace] = []
        self.answer: str | None = None
        self.port = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.answer:
            return self.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        self.messages.append(types.SimpleNamespace(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), raw=raw,
            message=email.message_from_bytes(raw, policy=email.policy.default)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_relay(**controller_options):
    """A started relay on 127.0.0.1 and a free port; stopped on exit."""
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            **controller_options)
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def relay():
    """A recording SMTP relay on loopback for one test."""
    with running_relay() as handler:
        yield handler


def relay_settings(settings, relay):
    """The test's settings sending through `relay` (plain SMTP: loopback only), configured."""
    from appliance import runtime
    from tests.conftest import with_settings
    s = with_settings(settings, smtp_url=f"smtp://127.0.0.1:{relay.port}",
                      smtp_security="none", mail_domain="support.example.com")
    runtime.configure(s)
    return s
