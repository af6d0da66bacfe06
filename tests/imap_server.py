"""A real Dovecot IMAP server on loopback for tests (like tests/smtp_relay.py for SMTP).

`running_dovecot(tmp)` writes a minimal dovecot.conf into `tmp` (its own base_dir,
state_dir, log and maildir; one passwd-file user with a {PLAIN} password; the mail
processes run as the current user), starts `dovecot -F -c ...`, waits for the port and
stops it on exit. `tls=True` adds a self-signed certificate made with the openssl CLI,
STARTTLS on the plain port and implicit TLS on `tls_port`; `server.ssl_context()`
trusts it. Messages are delivered with IMAP APPEND (`server.append`).
"""
from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import types
from pathlib import Path

import pytest

from tests.smtp_relay import free_port

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "helpdesk", "imap-test-password"


def require_dovecot() -> None:
    if not os.access(DOVECOT, os.X_OK) or not shutil.which("openssl"):
        pytest.skip(f"Dovecot is not installed ({DOVECOT} missing): run `make test-deps`")


def _system_users() -> tuple[str, str, str]:
    """(internal user, login user, extra settings): root hands work to Dovecot's own users;
    anyone else runs everything as themselves, without chroot. As root, auth runs as root
    too, so it can read the passwd-file inside pytest's private (0700) tmp dirs."""
    me = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() != 0:
        return me, me, "service imap-login {\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n"
    for internal, login in (("dovecot", "dovenull"),):
        try:
            pwd.getpwnam(internal), pwd.getpwnam(login)
            return internal, login, ("service auth {\n  user = root\n}\n"
                                     "service auth-worker {\n  user = root\n}\n")
        except KeyError:
            pass
    pytest.skip("the dovecot/dovenull system users are missing: run `make test-deps`")


def _make_cert(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def _mail_owner() -> tuple[int, int]:
    """Dovecot never runs a mail process as uid 0: as root the mail belongs to `dovecot`."""
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    entry = pwd.getpwnam("dovecot")
    return entry.pw_uid, entry.pw_gid


def _config(tmp: Path, maildir: Path, port: int, tls_port: int,
            cert: tuple[Path, Path] | None) -> str:
    internal, login, extra = _system_users()
    uid, gid = _mail_owner()
    group = grp.getgrgid(os.getgid()).gr_name
    ssl_lines = ("ssl = no\n" if cert is None else
                 f"ssl = yes\nssl_cert = <{cert[0]}\nssl_key = <{cert[1]}\n"
                 "ssl_min_protocol = TLSv1.2\n")
    return f"""# written by tests/imap_server.py
protocols = imap
listen = 127.0.0.1
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
default_internal_user = {internal}
default_internal_group = {group if os.getuid() else internal}
default_login_user = {login}
first_valid_uid = {uid}
first_valid_gid = {gid}
{ssl_lines}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{maildir}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {tmp}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={maildir}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
{extra}"""


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("dovecot exited: " + (log.read_text() if log.exists() else ""))
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on {port}")


class Server(types.SimpleNamespace):
    host = "127.0.0.1"
    user, password = USER, PASSWORD

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    @contextlib.contextmanager
    def client(self):
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            conn.login(USER, PASSWORD)
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.logout()

    def create(self, folder: str) -> None:
        with self.client() as c:
            typ, data = c.create(folder)
            assert typ == "OK", data

    def delete(self, folder: str) -> None:
        with self.client() as c:
            typ, data = c.delete(folder)
            assert typ == "OK", data

    def append(self, folder: str, *raws: bytes) -> None:
        with self.client() as c:
            for raw in raws:
                typ, data = c.append(folder, None, None, raw)
                assert typ == "OK", data

    def flags(self, folder: str) -> dict[int, str]:
        """uid -> the FETCH FLAGS reply, to check what was marked."""
        with self.client() as c:
            c.select(folder, readonly=True)
            typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
            out = {}
            for line in data or []:
                if not line:
                    continue
                text = line.decode()
                uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                out[uid] = text.split("FLAGS (")[1].split(")")[0]
            return out


@contextlib.contextmanager
def running_dovecot(tmp: Path, *, tls: bool = False):
    require_dovecot()
    tmp = Path(tmp)
    for sub in ("run", "state"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    # The mail processes run as the mail owner, who cannot enter pytest's 0700 tmp dirs
    # when we are root: their maildir lives in its own folder, removed at the end.
    maildir = Path(tempfile.mkdtemp(prefix="gongdan-dovecot-"))
    os.chown(maildir, *_mail_owner())
    (tmp / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    cert = _make_cert(tmp) if tls else None
    port, tls_port = free_port(), free_port()
    conf = tmp / "dovecot.conf"
    conf.write_text(_config(tmp, maildir, port, tls_port, cert))
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        _wait_for_port(port, proc, tmp / "dovecot.log")
        if tls:
            _wait_for_port(tls_port, proc, tmp / "dovecot.log")
        yield Server(port=port, tls_port=tls_port, cert=cert[0] if cert else None,
                     log=tmp / "dovecot.log", conf=conf)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(maildir, ignore_errors=True)
