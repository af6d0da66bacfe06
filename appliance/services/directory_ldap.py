"""The LDAP conversation of directory login (ldap3): connect over TLS, bind, find a user
and their groups, check a password by binding as the user. It decides nothing about
accounts; appliance.services.directory does (decision 0028).

Every connection is verified TLS (ldaps://, or ldap:// upgraded with StartTLS) unless the
settings allow plain LDAP (loopback, or ldap_allow_insecure). Errors that mean "the
directory cannot be asked" raise DirectoryUnavailable with a message naming the server
and the cause, never a password.
"""
from __future__ import annotations

import contextlib
import ssl
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from ldap3 import ANONYMOUS, NONE, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from appliance.settings import Settings

# Result codes that mean "the answer is: no such entry / not this password", not an outage.
_SUCCESS, _SIZE_LIMIT, _NO_SUCH_OBJECT, _INVALID_CREDENTIALS = 0, 4, 32, 49


class DirectoryUnavailable(Exception):
    """The directory could not be asked (down, TLS refused, service account refused)."""


@dataclass(frozen=True)
class Entry:
    dn: str
    username: str
    external_id: str
    display_name: str
    email: str
    department: str          # value of ldap_department_attribute, "" if none
    groups: tuple[str, ...]  # group DNs as the directory spells them


def _where(settings: Settings) -> str:
    url = urlsplit(settings.ldap_url)
    return f"{url.hostname}:{url.port or (636 if url.scheme == 'ldaps' else 389)}"


def _server(settings: Settings) -> Server:
    url = urlsplit(settings.ldap_url)
    implicit = url.scheme == "ldaps"
    tls = None
    if implicit or settings.ldap_starttls:
        # ldap3 checks the host name itself after the handshake (match_hostname).
        tls = Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT,
                  ca_certs_file=settings.ldap_ca_file or None, sni=url.hostname)
    return Server(url.hostname, port=url.port or (636 if implicit else 389), use_ssl=implicit,
                  tls=tls, get_info=NONE, connect_timeout=settings.ldap_timeout_seconds)


def _bind(settings: Settings, dn: str, password: str) -> tuple[Connection, bool]:
    """An open connection (TLS as configured) and whether the simple bind succeeded."""
    conn = Connection(_server(settings), user=dn or None, password=password or None,
                      authentication=SIMPLE if dn else ANONYMOUS, read_only=True,
                      receive_timeout=settings.ldap_timeout_seconds, auto_referrals=False,
                      raise_exceptions=False)
    try:
        conn.open()
        if settings.ldap_starttls and not settings.ldap_url.startswith("ldaps://"):
            if not conn.start_tls():
                raise DirectoryUnavailable(f"StartTLS refused by {_where(settings)}: "
                                           f"{conn.result.get('description', '')}")
        return conn, bool(conn.bind())
    except LDAPException as exc:
        _close(conn)
        raise DirectoryUnavailable(f"cannot reach the directory at {_where(settings)}: "
                                   f"{_cause(exc)}") from None
    except DirectoryUnavailable:
        _close(conn)
        raise


def _cause(exc: LDAPException) -> str:
    """What went wrong, in words an administrator can act on (ldap3's messages on TLS
    failures carry the whole certificate)."""
    text = str(exc)
    if "doesn't match any name" in text:
        return "the server's certificate is not issued for this host name (ldap_url)"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        reason = text.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip()
        return (f"the server's certificate is not trusted (ldap_ca_file): "
                f"CERTIFICATE_VERIFY_FAILED, {reason}")
    return f"{type(exc).__name__}: {text[:300]}"


def _close(conn: Connection) -> None:
    """Unbind and close; a connection that broke mid-handshake has nothing left to say."""
    with contextlib.suppress(LDAPException, OSError):
        conn.unbind()


@contextlib.contextmanager
def service_connection(settings: Settings):
    """A connection bound as the service account (anonymous when ldap_bind_dn is empty)."""
    conn, ok = _bind(settings, settings.ldap_bind_dn, settings.ldap_bind_password)
    try:
        if not ok:
            raise DirectoryUnavailable(
                f"the directory at {_where(settings)} refused the service account "
                f"(ldap_bind_dn): {conn.result.get('description', '')}")
        yield conn
    finally:
        _close(conn)


def check_password(settings: Settings, dn: str, password: str) -> bool:
    """Whether `password` is this entry's: a simple bind as the entry. An empty password
    is refused here (an empty simple bind is an *unauthenticated* bind, which many
    servers accept as success: RFC 4513 5.1.2)."""
    if not password or not dn:
        return False
    conn, ok = _bind(settings, dn, password)
    result = conn.result.get("result")
    _close(conn)
    if not ok and result not in (_INVALID_CREDENTIALS, None):
        raise DirectoryUnavailable(f"the directory at {_where(settings)} did not check the "
                                   f"password: {conn.result.get('description', '')}")
    return ok


def user_filter(settings: Settings, username: str) -> str:
    """The configured filter with the typed name escaped (RFC 4515): `*`, `(`, `)`, `\\`
    and NUL cannot change the filter."""
    return settings.ldap_user_filter.replace("{username}", escape_filter_chars(username))


def find_user(conn: Connection, settings: Settings, username: str) -> Entry | None:
    """The one entry the user filter finds for this name; None if none or several."""
    entries = _search(conn, settings, settings.ldap_user_base, user_filter(settings, username),
                      _attributes(settings), size_limit=2)
    if len(entries) != 1:
        return None
    return _entry(conn, settings, entries[0])


def all_users(conn: Connection, settings: Settings) -> list[Entry]:
    """Every entry the user filter finds for any name (paged: AD returns 1000 at most)."""
    flt = settings.ldap_user_filter.replace("{username}", "*")
    out = []
    for item in conn.extend.standard.paged_search(
            settings.ldap_user_base, flt, SUBTREE, attributes=_attributes(settings),
            paged_size=500, generator=True):
        if item.get("type") == "searchResEntry":
            out.append(_entry(conn, settings, item))
    _check(conn, settings)
    return out


def _attributes(settings: Settings) -> list[str]:
    names = [settings.ldap_username_attribute, settings.ldap_id_attribute,
             settings.ldap_display_name_attribute, settings.ldap_email_attribute,
             settings.ldap_department_attribute]
    if not settings.ldap_group_base:
        names.append(settings.ldap_group_attribute)
    return [n for n in names if n]


def _search(conn: Connection, settings: Settings, base: str, flt: str, attributes,
            size_limit: int = 0) -> list[dict]:
    try:
        conn.search(base, flt, SUBTREE, attributes=attributes, size_limit=size_limit)
    except LDAPException as exc:
        raise DirectoryUnavailable(f"search failed at {_where(settings)}: "
                                   f"{type(exc).__name__}: {str(exc)[:300]}") from None
    _check(conn, settings)
    return [r for r in conn.response or [] if r.get("type") == "searchResEntry"]


def _check(conn: Connection, settings: Settings) -> None:
    code = conn.result.get("result") if conn.result else _SUCCESS
    if code == _NO_SUCH_OBJECT:
        raise DirectoryUnavailable(f"the search base does not exist at {_where(settings)} "
                                   "(ldap_user_base or ldap_group_base)")
    if code not in (_SUCCESS, _SIZE_LIMIT):
        raise DirectoryUnavailable(f"search failed at {_where(settings)}: "
                                   f"{conn.result.get('description', '')}")


def _entry(conn: Connection, settings: Settings, item: dict) -> Entry:
    raw = item.get("raw_attributes", {})
    dn = item["dn"]
    if settings.ldap_group_base:
        flt = settings.ldap_group_filter.replace("{dn}", escape_filter_chars(dn))
        groups = tuple(g["dn"] for g in _search(conn, settings, settings.ldap_group_base, flt,
                                                 ["1.1"]))
    else:
        groups = tuple(_texts(raw, settings.ldap_group_attribute))
    return Entry(dn=dn, username=_first(raw, settings.ldap_username_attribute),
                 external_id=_identifier(raw, settings.ldap_id_attribute),
                 display_name=_first(raw, settings.ldap_display_name_attribute),
                 email=_first(raw, settings.ldap_email_attribute),
                 department=_first(raw, settings.ldap_department_attribute),
                 groups=groups)


def _texts(raw: dict, name: str) -> list[str]:
    if not name:
        return []
    values = next((v for k, v in raw.items() if k.lower() == name.lower()), [])
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]


def _first(raw: dict, name: str) -> str:
    values = _texts(raw, name)
    return values[0].strip() if values else ""


def _identifier(raw: dict, name: str) -> str:
    """entryUUID is text; AD's objectGUID is 16 bytes, little-endian UUID layout."""
    values = next((v for k, v in raw.items() if k.lower() == name.lower()), [])
    if not values:
        return ""
    value = values[0]
    if isinstance(value, bytes) and len(value) == 16:
        try:
            text = value.decode("ascii")
            if text.isprintable():
                return text
        except UnicodeDecodeError:
            pass
        return str(uuid.UUID(bytes_le=value))
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))[:64]
