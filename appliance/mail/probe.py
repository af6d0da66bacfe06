"""Bounded connection probes for the admin's "test connection": log in to a mailbox's IMAP
server and to the SMTP relay, log out again, and say how it went, each within a budget.

Why a thread and a watchdog rather than socket timeouts alone: a socket timeout bounds
one read, not the exchange. A server that drips a byte now and then, or a name lookup
that hangs, would hold the web request (a gunicorn thread) far beyond any per-read
timeout. Each attempt runs in a daemon thread; the caller waits at most the budget, then
reports "timed_out" and shuts down the connection the attempt opened, which ends the
attempt's blocked read at once, in any stage (TLS handshake, greeting, login).
Only a hanging name lookup is beyond it; the page still answers in time.

Results carry a code for the page (OUTCOMES) and a detail for the server log only: the
failing step and the error class, SMTP code or IMAP refusal, with the user name and
password masked. SMTP reply texts (greeting banners, "535 ... for user@...") never appear.
"""
from __future__ import annotations

import contextlib
import dataclasses
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from appliance.mail.imap import ImapConfig, ImapSession, MailFetchError
from appliance.mail.smtp import SmtpMailer

# "ok", or what went wrong; "not_configured": no relay set (nothing was tried).
PROBLEMS = ("cannot_connect", "tls_failed", "login_refused", "folder_missing", "timed_out")
OUTCOMES = ("ok", "not_configured") + PROBLEMS
_BROKEN_LINK = re.compile(r"^\w+: (abort|\w*Error|gaierror|herror|timeout)\b")


@dataclass(frozen=True)
class ProbeResult:
    outcome: str            # one of OUTCOMES
    detail: str = ""        # for the server log, never for the page
    messages: int = 0       # IMAP: messages in the folder
    logged_in: bool = False
    seconds: float = 0.0


Attempt = Callable[["Watch"], ProbeResult]


class Watch:
    """The connections an attempt has open, for the watchdog to cut when time is up.

    It keeps a duplicate of each socket (same connection, its own descriptor): that stays
    valid while the attempt wraps the original in TLS or closes it, and shutting it down
    ends a read blocked on the original, whatever stage the exchange is in."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._state = "running"     # running | expired | closed

    def add_socket(self, sock: socket.socket) -> None:
        with self._lock:
            if self._state == "closed":
                return
            dup = sock.dup()
            self._socks.append(dup)
            if self._state == "expired":   # connected after the deadline: cut at once
                _shutdown(dup)

    def expire(self) -> None:
        with self._lock:
            if self._state == "running":
                self._state = "expired"
                for dup in self._socks:
                    _shutdown(dup)

    def close(self) -> None:
        with self._lock:
            self._state = "closed"
            for dup in self._socks:
                dup.close()
            self._socks.clear()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):   # the peer or the attempt closed it already
        sock.shutdown(socket.SHUT_RDWR)


class _Run:
    def __init__(self, attempt: Attempt):
        self.watch = Watch()
        self.result: ProbeResult | None = None
        self.thread = threading.Thread(target=self._main, args=(attempt,), daemon=True,
                                       name="gongdan-connection-probe")

    def _main(self, attempt: Attempt) -> None:
        try:
            self.result = attempt(self.watch)
        except Exception as exc:  # noqa: BLE001 - a bug here must not read as "timed out"
            self.result = ProbeResult("cannot_connect", f"unexpected: {type(exc).__name__}")
        finally:
            self.watch.close()


def run_probes(attempts: dict[str, Attempt], budget_s: float) -> dict[str, ProbeResult]:
    """Run the attempts side by side; every result is in within budget_s of the start."""
    start = time.monotonic()
    runs = {name: _Run(attempt) for name, attempt in attempts.items()}
    for run in runs.values():
        run.thread.start()
    results = {}
    for name, run in runs.items():
        run.thread.join(max(0.0, start + budget_s - time.monotonic()))
        elapsed = round(time.monotonic() - start, 3)
        if run.result is None:
            run.watch.expire()
            results[name] = ProbeResult("timed_out", f"no answer within {budget_s:g} s",
                                        seconds=elapsed)
        else:
            results[name] = dataclasses.replace(run.result, seconds=elapsed)
    return results


def _masked(text: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


# -- IMAP ---------------------------------------------------------------------------------

def imap_attempt(cfg: ImapConfig) -> Attempt:
    """Connect, log in, select the folder (counting its messages) and log out."""
    def attempt(watch: Watch) -> ProbeResult:
        session = ImapSession(dataclasses.replace(cfg, on_socket=watch.add_socket))
        try:
            with session:
                return ProbeResult("ok", messages=session.exists, logged_in=True)
        except MailFetchError as exc:
            detail = _masked(str(exc), cfg.username, cfg.password)
            return ProbeResult(imap_problem(detail), detail)
        finally:
            _drop(session)
    return attempt


def _drop(session: ImapSession) -> None:
    """Close what a failed attempt left open without LOGOUT, which could wait again for a
    server that stopped answering (after a success the session has logged out already)."""
    conn, session.conn = session.conn, None
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.shutdown()


def imap_problem(detail: str) -> str:
    """Which of PROBLEMS an appliance.mail.imap failure is, from its text
    ("<step>: <server reply>" or "<step>: <exception type>: <text>")."""
    step = detail.partition(": ")[0]
    lowered = detail.lower()
    if "timed out" in lowered or "timeout" in lowered:
        return "timed_out"
    if step in ("imap_security", "starttls") or (step == "connect" and any(
            word in lowered for word in ("ssl", "tls", "certificate"))):
        return "tls_failed"
    if step == "connect" or _BROKEN_LINK.match(detail):
        return "cannot_connect"
    if step == "login":
        return "login_refused"
    if step == "select" or "uidvalidity" in lowered:
        return "folder_missing"
    return "cannot_connect"


# -- SMTP ---------------------------------------------------------------------------------

def smtp_attempt(mailer: SmtpMailer, timeout_s: float) -> Attempt:
    """Connect (TLS as configured), EHLO, STARTTLS when configured, log in when a user
    name is set, QUIT."""
    def attempt(watch: Watch) -> ProbeResult:
        smtp, step = None, "connect"
        try:
            smtp = _smtp_client(mailer, timeout_s, watch)
            step = "ehlo"
            smtp.ehlo_or_helo_if_needed()
            if mailer.security == "starttls":
                step = "starttls"
                _starttls(smtp, mailer.ssl_context)
            if mailer.username:
                step = "login"
                smtp.login(mailer.username, mailer.password)
            step = "quit"
            _quit(smtp)
        except (OSError, smtplib.SMTPException) as exc:
            if smtp is not None:
                smtp.close()
            detail = _masked(f"{step}: {_smtp_detail(exc)}", mailer.username, mailer.password)
            return ProbeResult(smtp_problem(step, exc), detail)
        return ProbeResult("ok", logged_in=bool(mailer.username))
    return attempt


class _WatchedSMTP(smtplib.SMTP):
    """smtplib.SMTP showing its socket to the watch before the greeting is read."""

    def __init__(self, watch: Watch, **kwargs):
        self.watch = watch   # before connecting, which the constructor does
        super().__init__(**kwargs)

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)
        self.watch.add_socket(sock)
        return sock


class _WatchedSMTP_SSL(smtplib.SMTP_SSL, _WatchedSMTP):
    """SMTP_SSL wraps what _WatchedSMTP._get_socket returns (its super()), so the watch
    sees the plain socket before the TLS handshake."""

    def __init__(self, watch: Watch, **kwargs):
        self.watch = watch
        smtplib.SMTP_SSL.__init__(self, **kwargs)


def _smtp_client(mailer: SmtpMailer, timeout_s: float, watch: Watch) -> smtplib.SMTP:
    """Connected, greeting read. (Connecting in the constructor keeps smtplib's own idea
    of the host name, which STARTTLS and implicit TLS check the certificate against.)"""
    common = {"host": mailer.host, "port": mailer.port, "timeout": timeout_s,
              "local_hostname": mailer.local_hostname}
    if mailer.security == "tls":
        return _WatchedSMTP_SSL(watch, context=mailer.ssl_context, **common)
    return _WatchedSMTP(watch, **common)


def _starttls(smtp: smtplib.SMTP, context: ssl.SSLContext) -> None:
    if not smtp.has_extn("starttls"):
        raise smtplib.SMTPNotSupportedError("the relay does not offer STARTTLS")
    smtp.starttls(context=context)
    smtp.ehlo()


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except smtplib.SMTPServerDisconnected:
        smtp.close()  # hung up instead of answering QUIT: the login already counted


def smtp_problem(step: str, exc: BaseException) -> str:
    """Which of PROBLEMS an smtplib/ssl/socket failure at `step` is."""
    # socket.timeout is TimeoutError (3.10+). smtplib turns a timeout while reading a reply
    # (a server that never greets) into SMTPServerDisconnected, raised from the timeout.
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return "timed_out"
    if isinstance(exc, ssl.SSLError) or step == "starttls":
        return "tls_failed"
    # Refused, or no AUTH offered: either way no login. (SMTPException is an OSError, so
    # a dropped connection is told apart by its own class.)
    if step == "login" and isinstance(exc, smtplib.SMTPException) and not isinstance(
            exc, smtplib.SMTPServerDisconnected):
        return "login_refused"
    return "cannot_connect"


def _smtp_detail(exc: BaseException) -> str:
    # Reply texts can carry the greeting banner or the login name: codes only.
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
