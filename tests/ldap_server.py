"""A real OpenLDAP server (Debian `slapd`) on loopback for tests (like tests/imap_server.py).

`running_slapd(tmp)` writes a throwaway slapd.conf and an mdb database under `tmp`,
starts `slapd -d 0` (foreground) on free loopback ports (plain ldap:// with StartTLS,
and ldaps://), loads the base entries with `ldapadd` as the root DN, and stops it on exit.
The memberof overlay keeps `memberOf` on user entries (it acts on LDAP writes only, hence
ldapadd rather than slapadd). The TLS certificate comes from a throwaway CA made with
`cryptography`; `server.ca_file` trusts it. Changes go through the ldap-utils CLI, so the
harness does not depend on ldap3, the library under test.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import time
import types
from pathlib import Path

import pytest

SLAPD = "/usr/sbin/slapd"
BASE = "dc=example,dc=com"
ROOT_DN, ROOT_PASSWORD = f"cn=admin,{BASE}", "root-test-password"
SERVICE_DN, SERVICE_PASSWORD = f"cn=gongdan,ou=services,{BASE}", "service-test-password"
PEOPLE, GROUPS = f"ou=people,{BASE}", f"ou=groups,{BASE}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_slapd() -> None:
    for tool in (SLAPD, "/usr/sbin/slappasswd", "/usr/bin/ldapmodify"):
        if not os.access(tool, os.X_OK):
            pytest.skip(f"OpenLDAP is not installed ({tool} missing): run `make test-deps`")


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS}"


def user_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def _make_ca_and_cert(tmp: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for 127.0.0.1/localhost signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress
    now = dt.datetime.now(dt.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gongdan test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def _ssha(password: str) -> str:
    return subprocess.run(["/usr/sbin/slappasswd", "-h", "{SSHA}", "-s", password], check=True,
                          capture_output=True, text=True).stdout.strip()


def _config(tmp: Path, ca: Path, cert: Path, key: Path) -> str:
    return f"""# written by tests/ldap_server.py
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {tmp}/slapd.pid
argsfile {tmp}/slapd.args
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
database mdb
maxsize 16777216
suffix "{BASE}"
rootdn "{ROOT_DN}"
rootpw {_ssha(ROOT_PASSWORD)}
directory {tmp}/db
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by dn.exact="{SERVICE_DN}" read
  by self read
  by * none
"""


_BASE_LDIF = f"""dn: {BASE}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,{BASE}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE}
objectClass: organizationalUnit
ou: groups

dn: ou=services,{BASE}
objectClass: organizationalUnit
ou: services

dn: {SERVICE_DN}
objectClass: person
cn: gongdan
sn: service
userPassword: {{pw}}

dn: cn=nobody,{GROUPS}
objectClass: groupOfNames
cn: nobody
member: cn=nobody,{BASE}
"""


class Server(types.SimpleNamespace):
    host = "127.0.0.1"
    base, people, groups = BASE, PEOPLE, GROUPS
    service_dn, service_password = SERVICE_DN, SERVICE_PASSWORD

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def modify(self, ldif: str, add: bool = False) -> None:
        args = ["ldapmodify", "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD]
        res = subprocess.run(args + (["-a"] if add else []), input=ldif, text=True,
                             capture_output=True)
        if res.returncode != 0:
            raise RuntimeError(f"ldapmodify failed: {res.stderr}")

    def add_group(self, name: str) -> str:
        # groupOfNames needs a member; a placeholder keeps empty groups valid.
        self.modify(f"dn: {group_dn(name)}\nobjectClass: groupOfNames\ncn: {name}\n"
                    f"member: cn=nobody,{BASE}\n", add=True)
        return group_dn(name)

    def add_user(self, uid: str, password: str, *, cn: str, mail: str = "",
                 groups: tuple[str, ...] = (), department: str = "") -> str:
        lines = [f"dn: {user_dn(uid)}", "objectClass: inetOrgPerson", f"uid: {uid}",
                 f"cn: {cn}", f"sn: {cn}", f"displayName: {cn}",
                 f"userPassword: {_ssha(password)}"]
        lines += [f"mail: {mail}"] * bool(mail) + [f"departmentNumber: {department}"] * bool(department)
        self.modify("\n".join(lines) + "\n", add=True)
        for g in groups:
            self.join(uid, g)
        return user_dn(uid)

    def join(self, uid: str, group: str) -> None:
        self.modify(f"dn: {group_dn(group)}\nchangetype: modify\nadd: member\n"
                    f"member: {user_dn(uid)}\n")

    def leave(self, uid: str, group: str) -> None:
        self.modify(f"dn: {group_dn(group)}\nchangetype: modify\ndelete: member\n"
                    f"member: {user_dn(uid)}\n")

    def delete_user(self, uid: str) -> None:
        self.modify(f"dn: {user_dn(uid)}\nchangetype: delete\n")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("slapd exited: " + proc.stderr.read().decode(errors="replace"))
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"slapd did not listen on {port}")


@contextlib.contextmanager
def running_slapd(tmp: Path, groups: tuple[str, ...] = ()):
    """A started slapd with the base entries, the service account and `groups`."""
    require_slapd()
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "db").mkdir()
    ca, cert, key = _make_ca_and_cert(tmp)
    conf = tmp / "slapd.conf"
    conf.write_text(_config(tmp, ca, cert, key), encoding="utf-8")
    port, tls_port = free_port(), free_port()
    urls = f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"
    proc = subprocess.Popen([SLAPD, "-d", "0", "-f", str(conf), "-h", urls],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Server(proc=proc, port=port, tls_port=tls_port, ca_file=str(ca), tmp=tmp)
    try:
        _wait_for_port(port, proc)
        server.modify(_BASE_LDIF.replace("{pw}", _ssha(SERVICE_PASSWORD)), add=True)
        for g in groups:
            server.add_group(g)
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp / "db", ignore_errors=True)
