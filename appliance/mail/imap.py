"""A small IMAP client over imaplib: list the new UIDs of one folder, fetch, flag.

Owns the wire: TLS (implicit or STARTTLS, certificates verified by default), login,
SELECT, UIDVALIDITY, UID SEARCH/FETCH/STORE, and turning every failure into a
`MailFetchError` that says whether trying again later may help. Bodies are fetched with
BODY.PEEK[] so fetching never sets \\Seen; sizes (RFC822.SIZE) come first, so an
oversized message is reported by UID and size and never downloaded.

Error texts carry the server's reply or the exception type, never the user name or
password (the user name is often an e-mail address).
"""
from __future__ import annotations

import base64
import imaplib
import itertools
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

TIMEOUT_S = 30
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SECURITY = ("tls", "starttls", "none")
_UID = re.compile(rb"\bUID (\d+)")
_EXISTS = re.compile(rb"^\* \d+ EXISTS")
_IDLE_TAGS = itertools.count(1)
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
# Replies after which trying again cannot help until someone changes the configuration.
HEADER_BYTES = 256 * 1024   # at most this much of a header is fetched (fetch_header)
_PERMANENT = (b"AUTHENTICATIONFAILED", b"AUTHORIZATIONFAILED", b"NONEXISTENT",
              b"Authentication failed", b"Invalid credentials", b"LOGIN failed")


class MailFetchError(Exception):
    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


class MessageUnreadable(MailFetchError):
    """One message is still there but the server gives no body for it (a problem of that
    message, not of the connection)."""

    def __init__(self, message: str):
        super().__init__(message, transient=True)


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    security: str          # tls | starttls | none (loopback only)
    username: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    ssl_context: ssl.SSLContext | None = None   # None: system CAs, hostname checked
    timeout: float = TIMEOUT_S
    # Shown the new socket before the first byte is read (before any TLS handshake): a
    # caller's watchdog (appliance.mail.probe) can then cut a connection that stalls.
    on_socket: Callable[[socket.socket], None] | None = field(default=None, compare=False,
                                                              repr=False)


@dataclass(frozen=True)
class NewMail:
    uidvalidity: int
    sizes: list[tuple[int, int]]   # (uid, size), oldest first, at most `limit`
    more: bool                     # further new UIDs wait for the next run


@dataclass(frozen=True)
class FetchBatch:
    uidvalidity: int
    messages: list[tuple[int, bytes | None, int]]   # (uid, raw or None if oversized, size)
    more: bool


class ImapSession:
    """One logged-in connection with the folder selected; use as a context manager."""

    def __init__(self, cfg: ImapConfig):
        self.cfg = cfg
        self.conn: imaplib.IMAP4 | None = None
        self.uidvalidity = 0
        self.exists = 0        # messages in the folder when it was selected

    def __enter__(self) -> "ImapSession":
        with _errors("connect"):
            self.conn = _connect(self.cfg)
        with _errors("login"):
            _ok(self.conn.login(self.cfg.username, self.cfg.password), "login")
        with _errors("select"):
            selected = _ok(self.conn.select(quote_folder(self.cfg.folder)), "select",
                           permanent=True)
            self.exists = int(selected[0]) if selected and selected[0] else 0
            value = (self.conn.response("UIDVALIDITY")[1] or [None])[-1]
            if not value:
                raise MailFetchError("the server sent no UIDVALIDITY", transient=False)
            self.uidvalidity = int(value)
        return self

    def __exit__(self, *exc) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.logout()
        except Exception:  # closing a broken connection: nothing left to do  # nosec B110
            pass

    def new_mail(self, last_uid: int, limit: int) -> NewMail:
        """UIDs above `last_uid` (all of them when UIDVALIDITY is new) with their sizes."""
        with _errors("search"):
            data = _ok(self.conn.uid("SEARCH", None, f"UID {last_uid + 1}:*"), "search")
            # "n:*" always matches the highest UID, even one below n: filter.
            uids = sorted(u for u in (int(x) for x in b" ".join(
                d for d in data if d).split()) if u > last_uid)
        chosen = uids[:limit]
        if not chosen:
            return NewMail(self.uidvalidity, [], False)
        with _errors("fetch sizes"):
            data = _ok(self.conn.uid("FETCH", _uid_set(chosen), "(RFC822.SIZE)"), "fetch")
        sizes = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            uid, size = _UID.search(line or b""), _SIZE.search(line or b"")
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
        return NewMail(self.uidvalidity, [(u, sizes[u]) for u in chosen if u in sizes],
                       len(uids) > limit)

    def fetch(self, uid: int) -> bytes | None:
        """The raw message, or None when it vanished (expunged) meanwhile.

        The UID may come before or after the literal ("* 1 FETCH (BODY[] {n}...UID 5)");
        as only one UID was asked for, the only literal returned is taken unless it
        names another UID. No literal: UID SEARCH tells whether the message was expunged
        (None) or is there but unreadable (MessageUnreadable).
        """
        with _errors("fetch"):
            data = _ok(self.conn.uid("FETCH", str(uid), "(BODY.PEEK[])"), "fetch")
        return self._literal(uid, data)

    def fetch_header(self, uid: int) -> bytes | None:
        """Only the message's header (at most HEADER_BYTES), never setting \\Seen: enough
        to tell who sent an oversized message and whether it was automatic."""
        with _errors("fetch"):
            data = _ok(self.conn.uid("FETCH", str(uid), f"(BODY.PEEK[HEADER]<0.{HEADER_BYTES}>)"),
                       "fetch")
        return self._literal(uid, data)

    def _literal(self, uid: int, data: list) -> bytes | None:
        literals = []
        for i, item in enumerate(data):
            if not isinstance(item, tuple):
                continue
            after = data[i + 1] if i + 1 < len(data) and isinstance(data[i + 1], bytes) else b""
            found = _UID.search(item[0] or b"") or _UID.search(after)
            named = int(found.group(1)) if found else None
            if named == uid:
                return item[1]
            literals.append((named, item[1]))
        if len(literals) == 1 and literals[0][0] is None:
            return literals[0][1]
        with _errors("search"):
            hits = _ok(self.conn.uid("SEARCH", None, f"UID {uid}"), "search")
        if str(uid).encode() in b" ".join(h for h in hits if h).split():
            raise MessageUnreadable(f"fetch: the server sent no body for UID {uid}")
        return None

    def can_idle(self) -> bool:
        return "IDLE" in getattr(self.conn, "capabilities", ())

    def idle(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """RFC 2177 IDLE: True as soon as the server reports a changed message count
        (EXISTS), False after `seconds` or when `stop` is set. imaplib (before 3.14) has no
        IDLE, so the command is written and its replies read by hand."""
        tag = b"GDI%d" % next(_IDLE_TAGS)
        with _errors("idle"):
            self.conn.send(tag + b" IDLE\r\n")
            first = self.conn.readline()
            if not first.startswith(b"+"):
                raise MailFetchError(f"idle: {_short(first.decode('ascii', 'replace'))}",
                                     transient=False)
            arrived = self._wait_for_exists(seconds, stop)
            self.conn.send(b"DONE\r\n")
            while True:
                line = self._line()
                arrived = arrived or bool(_EXISTS.match(line))
                if line.startswith(tag + b" "):
                    if not line[len(tag) + 1:].upper().startswith(b"OK"):
                        raise MailFetchError(f"idle: {_short(line.decode('ascii', 'replace'))}",
                                             transient=True)
                    return arrived

    def _wait_for_exists(self, seconds: float, stop: threading.Event | None) -> bool:
        # select() sees only the socket: a line already read into imaplib's buffer waits
        # for the next packet or the timeout (the periodic fetch covers that rare case).
        sock = self.conn.sock
        deadline = time.monotonic() + seconds
        while not (stop is not None and stop.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            pending = isinstance(sock, ssl.SSLSocket) and sock.pending()
            if pending or select.select([sock], [], [], min(1.0, left))[0]:
                if _EXISTS.match(self._line()):
                    return True
        return False

    def _line(self) -> bytes:
        line = self.conn.readline()
        if not line:
            raise imaplib.IMAP4.abort("the server closed the connection")
        return line

    def flag(self, uid: int, flag: str) -> None:
        """Add a system flag (\\Seen, \\Flagged) to one message."""
        if not re.fullmatch(r"\\[A-Za-z]+", flag):
            raise ValueError("not a system flag")
        with _errors("store"):
            _ok(self.conn.uid("STORE", str(uid), "+FLAGS.SILENT", f"({flag})"), "store")


def fetch_new(cfg: ImapConfig, last_uidvalidity: int | None, last_uid: int, limit: int,
              max_bytes: int) -> FetchBatch:
    """Everything new in one go (small batches, scripts); services stream with ImapSession."""
    with ImapSession(cfg) as session:
        start = last_uid if session.uidvalidity == last_uidvalidity else 0
        new = session.new_mail(start, limit)
        messages = [(uid, None if size > max_bytes else session.fetch(uid), size)
                    for uid, size in new.sizes]
    return FetchBatch(new.uidvalidity, messages, new.more)


def check_security(host: str, security: str) -> str | None:
    """Why this host/security pair is refused, or None."""
    if security not in SECURITY:
        return "must be tls, starttls or none"
    if security == "none" and host.strip().lower() not in LOOPBACK:
        return "plain IMAP only to 127.0.0.1 or localhost"
    return None


def quote_folder(name: str) -> str:
    """A quoted IMAP mailbox name in modified UTF-7 (RFC 3501 5.1.3), e.g. 收件箱."""
    out, wide = [], []

    def flush():
        if wide:
            b64 = base64.b64encode("".join(wide).encode("utf-16-be")).decode("ascii")
            out.append("&" + b64.rstrip("=").replace("/", ",") + "-")
            wide.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            wide.append(ch)
    flush()
    text = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _connect(cfg: ImapConfig) -> imaplib.IMAP4:
    refused = check_security(cfg.host, cfg.security)
    if refused:
        raise MailFetchError(f"imap_security: {refused}", transient=False)
    context = cfg.ssl_context or ssl.create_default_context()
    if cfg.security == "tls":
        return _IMAP4_SSL(cfg.host, cfg.port, context, cfg.timeout, cfg.on_socket)
    conn = _IMAP4(cfg.host, cfg.port, cfg.timeout, cfg.on_socket)
    if cfg.security == "starttls":
        try:
            _ok(conn.starttls(ssl_context=context), "starttls", permanent=True)
        except BaseException:
            try:
                conn.shutdown()
            except OSError:  # the half-done handshake may have closed it already
                pass
            raise
    return conn


class _IMAP4(imaplib.IMAP4):
    """imaplib.IMAP4 showing its socket to `on_socket` (ImapConfig) before the greeting."""

    def __init__(self, host, port, timeout, on_socket=None):
        self._on_socket = on_socket
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout):
        sock = super()._create_socket(timeout)
        if self._on_socket is not None:
            self._on_socket(sock)
        return sock


class _IMAP4_SSL(imaplib.IMAP4_SSL):
    """imaplib.IMAP4_SSL showing its plain socket to `on_socket` before the handshake."""

    def __init__(self, host, port, ssl_context, timeout, on_socket=None):
        self._on_socket = on_socket
        super().__init__(host, port, ssl_context=ssl_context, timeout=timeout)

    def _create_socket(self, timeout):
        # IMAP4_SSL._create_socket, with the hook between connecting and wrapping.
        sock = imaplib.IMAP4._create_socket(self, timeout)
        if self._on_socket is not None:
            self._on_socket(sock)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def _uid_set(uids: list[int]) -> str:
    # Consecutive runs as ranges keep the command short for a large backlog.
    parts, start, prev = [], uids[0], uids[0]
    for u in uids[1:] + [None]:
        if u is not None and u == prev + 1:
            prev = u
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        if u is not None:
            start = prev = u
    return ",".join(parts)


def _ok(reply, what: str, *, permanent: bool = False):
    typ, data = reply
    if typ != "OK":
        text = b" ".join(d for d in data if isinstance(d, bytes))[:200]
        transient = not permanent and not any(p in text for p in _PERMANENT)
        raise MailFetchError(f"{what}: {typ} {text.decode('ascii', 'replace')}",
                             transient=transient)
    return data


class _errors:
    """Map imaplib, ssl and socket failures to MailFetchError."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or isinstance(exc, MailFetchError):
            return False
        if isinstance(exc, UnicodeEncodeError):   # imaplib sends commands as ASCII only
            raise MailFetchError(f"{self.what}: non-ASCII characters cannot be sent",
                                 transient=False) from None
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise MailFetchError(f"{self.what}: certificate not trusted ({exc.verify_message})",
                                 transient=False) from None
        if isinstance(exc, imaplib.IMAP4.abort) or isinstance(exc, (OSError, socket.timeout)):
            raise MailFetchError(f"{self.what}: {type(exc).__name__}: {_short(exc)}",
                                 transient=True) from None
        if isinstance(exc, imaplib.IMAP4.error):
            text = _short(exc).encode("ascii", "replace")
            raise MailFetchError(f"{self.what}: {_short(exc)}",
                                 transient=not any(p in text for p in _PERMANENT)) from None
        return False


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
