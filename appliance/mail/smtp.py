"""The outgoing relay: implements ports.Mailer with smtplib.

One connection per message (replies are few; a pooled connection would need keep-alive
and reconnect logic for little gain). Errors are sorted into transient (4xx replies,
refused connections, timeouts, dropped connections: try again later) and permanent
(5xx replies: retrying will not help) for the outbox's retry policy.

Security: `starttls` requires the relay to offer STARTTLS and fails otherwise (never a
silent downgrade to plain text); `tls` is implicit TLS (SMTP_SSL, usually port 465);
`none` sends in clear and is meant for a relay on the loopback interface only.
Certificates are verified against the system store (`ssl.create_default_context`).
"""
from __future__ import annotations

import smtplib
import socket
import ssl
from urllib.parse import urlsplit

from appliance.ports import MailSendError

TIMEOUT_SECONDS = 30
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class SmtpMailer:
    def __init__(self, settings, *, ssl_context: ssl.SSLContext | None = None):
        url = urlsplit(settings.smtp_url)
        if url.scheme != "smtp" or not url.hostname:
            raise ValueError("smtp_url must be smtp://host:port")
        self.security = settings.smtp_security
        if self.security not in DEFAULT_PORTS:
            raise ValueError("smtp_security must be starttls, tls or none")
        self.host = url.hostname
        self.port = url.port or DEFAULT_PORTS[self.security]
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.local_hostname = settings.mail_domain or None
        # Tests pass a context that trusts their self-signed certificate.
        self.ssl_context = ssl_context or ssl.create_default_context()

    def send(self, message) -> None:
        """Hand one EmailMessage to the relay, or raise MailSendError."""
        try:
            with self._connect() as smtp:
                self._secure(smtp)
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(message)
        except MailSendError:
            raise
        except Exception as exc:
            raise classify(exc) from exc
        if refused:  # some recipients refused, others accepted: the worst code decides
            codes = [code for code, _ in refused.values()]
            raise MailSendError(f"recipient refused ({max(codes)})",
                                transient=all(400 <= c < 500 for c in codes))

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, local_hostname=self.local_hostname,
                                    timeout=TIMEOUT_SECONDS, context=self.ssl_context)
        return smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname,
                            timeout=TIMEOUT_SECONDS)

    def _secure(self, smtp: smtplib.SMTP) -> None:
        if self.security != "starttls":
            return
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            # Permanent: retrying against the same relay will not make it offer TLS.
            raise MailSendError("the relay does not offer STARTTLS", transient=False)
        smtp.starttls(context=self.ssl_context)
        smtp.ehlo()


def _code_error(code: int, what: str) -> MailSendError:
    return MailSendError(f"{what} ({code})", transient=not 500 <= code < 600)


def classify(exc: Exception) -> MailSendError:
    """The MailSendError for an smtplib/socket error. Messages carry SMTP codes and error
    classes only, never addresses (they end up in logs and on the ticket page)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()] or [550]
        return MailSendError(f"recipient refused ({max(codes)})",
                             transient=all(400 <= c < 500 for c in codes))
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _code_error(exc.smtp_code, "sender refused")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _code_error(exc.smtp_code, "authentication failed")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return MailSendError(f"relay does not support a required feature: {exc}",
                             transient=False)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return MailSendError("the relay closed the connection", transient=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _code_error(exc.smtp_code, "relay answered")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailSendError(f"TLS certificate not trusted: {exc.verify_message}",
                             transient=False)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return MailSendError("timed out talking to the relay", transient=True)
    if isinstance(exc, (ConnectionError, OSError, smtplib.SMTPException)):
        return MailSendError(f"cannot reach the relay: {type(exc).__name__}", transient=True)
    return MailSendError(f"{type(exc).__name__}", transient=False)
