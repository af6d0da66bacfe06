"""The admin's "test connection" probes (appliance.mail.probe) against real loopback
servers: a black hole that accepts and never answers, one that drips its greeting a byte
at a time (per-read timeouts never fire), and a real aiosmtpd relay with and without TLS
and login. Every answer must come within the budget, and the probe must hang up."""
from __future__ import annotations

import dataclasses
import socket
import ssl
import threading
import time

import pytest
from aiosmtpd.smtp import AuthResult

from appliance.mail import probe
from appliance.mail.imap import ImapConfig
from appliance.mail.smtp import SmtpMailer
from appliance.settings import Settings
from tests.imap_server import _make_cert
from tests.silent_server import serving
from tests.smtp_relay import free_port, running_relay

BUDGET = 1.0
SLACK = 0.4           # thread start, scheduling: the answer may come this much later
USER, PASSWORD = "relay-user@example.com", "relay-secret-pw"
BANNER = "banner-of zhang.san@example.com"


def imap_cfg(port: int, security: str = "none") -> ImapConfig:
    return ImapConfig("127.0.0.1", port, security, USER, PASSWORD, timeout=BUDGET)


def mailer(port: int, security: str = "none", username: str = "", context=None) -> SmtpMailer:
    settings = dataclasses.replace(Settings(), smtp_url=f"smtp://127.0.0.1:{port}",
                                   smtp_security=security, smtp_username=username,
                                   smtp_password=PASSWORD if username else "")
    return SmtpMailer(settings, ssl_context=context)


def attempt_for(kind: str, port: int) -> probe.Attempt:
    protocol, security = kind.split("/")
    if protocol == "imap":
        return probe.imap_attempt(imap_cfg(port, security))
    return probe.smtp_attempt(mailer(port, security, USER), BUDGET)


def run_one(attempt: probe.Attempt, budget: float = BUDGET) -> probe.ProbeResult:
    return probe.run_probes({"one": attempt}, budget)["one"]


def no_probe_threads_left(wait: float = 1.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not any(t.name == "gongdan-connection-probe" for t in threading.enumerate()):
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("kind", ["imap/none", "imap/tls", "smtp/none", "smtp/tls"])
def test_a_server_that_accepts_and_never_answers_is_timed_out_within_the_budget(kind):
    with serving() as hole:
        started = time.monotonic()
        result = run_one(attempt_for(kind, hole.port))
        took = time.monotonic() - started
        assert result.outcome == "timed_out", result
        assert took <= BUDGET + SLACK and result.seconds <= BUDGET + SLACK
        assert no_probe_threads_left()
        assert hole.hung_up_by(started + BUDGET + SLACK)


@pytest.mark.parametrize("kind,greeting", [("imap/none", b"* OK"), ("smtp/none", b"220 ")])
def test_a_greeting_dripped_a_byte_at_a_time_is_cut_off_at_the_budget(kind, greeting):
    # A byte every 50 ms: no single read waits as long as the 1 s socket timeout, so only
    # the watchdog can end this exchange.
    with serving(greeting=greeting, drip=b".") as drip:
        started = time.monotonic()
        result = run_one(attempt_for(kind, drip.port))
        assert result.outcome == "timed_out"
        assert time.monotonic() - started <= BUDGET + SLACK
        assert no_probe_threads_left(), "the probe still reads from the dripping server"
        assert drip.hung_up_by(started + BUDGET + SLACK)


def test_two_probes_run_side_by_side_so_both_fit_in_one_budget():
    with serving() as a, serving() as b:
        started = time.monotonic()
        results = probe.run_probes({"imap": attempt_for("imap/none", a.port),
                                    "smtp": attempt_for("smtp/none", b.port)}, BUDGET)
        assert time.monotonic() - started <= BUDGET + SLACK
    assert {r.outcome for r in results.values()} == {"timed_out"}


def test_a_relay_that_never_greets_times_out_even_when_its_own_timeout_fires_first():
    # The socket timeout (0.3 s) ends the attempt well inside the budget (3 s), so the
    # outcome is the attempt's own: smtplib reports the timeout as a disconnection.
    with serving() as silent:
        result = run_one(probe.smtp_attempt(mailer(silent.port), 0.3), budget=3)
    assert result.outcome == "timed_out" and result.seconds < 2, result


def test_a_closed_port_cannot_be_reached_at_once():
    port = free_port()
    for attempt in (attempt_for("imap/none", port), attempt_for("smtp/none", port)):
        result = run_one(attempt, budget=5)
        assert result.outcome == "cannot_connect" and result.seconds < 1, result
        assert "ConnectionRefusedError" in result.detail


def _authenticator(server, session, envelope, mechanism, auth_data):
    # handled=False: aiosmtpd itself answers 535 on a refusal.
    return AuthResult(success=(auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode()), handled=False)


def test_the_relay_accepts_the_login_or_refuses_it_without_echoing_user_or_banner():
    with running_relay(ident=BANNER, authenticator=_authenticator,
                       auth_require_tls=False) as relay:
        anonymous = run_one(probe.smtp_attempt(mailer(relay.port), BUDGET))
        assert (anonymous.outcome, anonymous.logged_in) == ("ok", False)
        good = run_one(probe.smtp_attempt(mailer(relay.port, username=USER), BUDGET))
        assert (good.outcome, good.logged_in) == ("ok", True)
        bad = mailer(relay.port, username=USER)
        bad.password = "wrong-" + PASSWORD
        refused = run_one(probe.smtp_attempt(bad, BUDGET))
    assert refused.outcome == "login_refused"
    assert refused.detail == "login: SMTPAuthenticationError 535"
    for secret in (USER, PASSWORD, "zhang.san", BANNER):
        assert secret not in repr(refused)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    cert, key = _make_cert(tmp_path_factory.mktemp("relay-tls"))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))


def test_starttls_and_implicit_tls_are_verified_and_refusals_named_tls_failed(certificate):
    server_ctx, client_ctx = certificate
    with running_relay(tls_context=server_ctx, authenticator=_authenticator) as relay:
        ok = run_one(probe.smtp_attempt(
            mailer(relay.port, "starttls", USER, client_ctx), BUDGET))
        assert (ok.outcome, ok.logged_in) == ("ok", True), ok
        # The system store does not trust the test certificate.
        untrusted = run_one(probe.smtp_attempt(mailer(relay.port, "starttls", USER), BUDGET))
        assert untrusted.outcome == "tls_failed" and "CERTIFICATE_VERIFY_FAILED" in \
            untrusted.detail
    with running_relay(ssl_context=server_ctx) as implicit:
        ok = run_one(probe.smtp_attempt(mailer(implicit.port, "tls", context=client_ctx),
                                        BUDGET))
        assert ok.outcome == "ok", ok
    with running_relay() as plain:
        for security in ("starttls", "tls"):   # no STARTTLS offered; no TLS spoken
            result = run_one(probe.smtp_attempt(
                mailer(plain.port, security, context=client_ctx), BUDGET))
            assert result.outcome == "tls_failed", (security, result)


def test_each_smtp_failure_maps_to_one_problem():
    import smtplib
    cases = [
        ("connect", ConnectionRefusedError(111, "Connection refused"), "cannot_connect"),
        ("connect", socket.gaierror(-2, "Name or service not known"), "cannot_connect"),
        ("connect", TimeoutError("timed out"), "timed_out"),
        ("connect", ssl.SSLError(1, "WRONG_VERSION_NUMBER"), "tls_failed"),
        ("connect", smtplib.SMTPConnectError(554, b"no service for you"), "cannot_connect"),
        ("starttls", smtplib.SMTPNotSupportedError("no STARTTLS"), "tls_failed"),
        ("starttls", TimeoutError("timed out"), "timed_out"),
        ("login", smtplib.SMTPAuthenticationError(535, b"bad"), "login_refused"),
        ("login", smtplib.SMTPNotSupportedError("no AUTH"), "login_refused"),
        ("login", smtplib.SMTPServerDisconnected("gone"), "cannot_connect"),
        ("ehlo", smtplib.SMTPHeloError(501, b"who?"), "cannot_connect"),
    ]
    assert [probe.smtp_problem(step, exc) for step, exc, _ in cases] == [
        expected for *_, expected in cases]
    assert {expected for *_, expected in cases} <= set(probe.PROBLEMS)
