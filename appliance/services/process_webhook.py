"""The webhook action: one POST of JSON to a host on the administrator's allow-list
(setting `process_webhook_hosts`), with a timeout and never following a redirect.

The call carries `Idempotency-Key: gongdan-process-<instance>-<step>`, the same on every
attempt of the step, so a receiver can drop a repeat (a worker killed after the call and
before recording it makes the engine call again); `X-Gongdan-Attempt` says which attempt.

SSRF: the host is resolved once, every address it resolves to must be public (or inside
an administrator's `webhook_private_networks`, or be an address the allow-list names
itself), and the connection goes to that checked address, so a DNS answer that changes
between the check and the call (rebinding) cannot reach loopback or the metadata service.

The body names the ticket by id and number with its routing fields and custom fields;
no subject, description or customer data is sent.
"""
from __future__ import annotations

import http.client
import ipaddress
import json
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from appliance import __version__
from appliance.rules.process_nodes import host_allowed as rules_host_allowed

MAX_RESPONSE = 64 * 1024


class WebhookRefused(Exception):
    """Not sent, or refused by the receiver in a way a retry cannot fix."""


class WebhookFailed(Exception):
    """Failed in a way that may pass (timeout, connection refused, 5xx, 429)."""


@dataclass(frozen=True)
class Reply:
    status: int


def host_allowed(url: str, allowed: tuple[str, ...]) -> bool:
    """Whether the URL's host (and port, where the entry names one) is on the list; the
    same reading as publishing's check (rules/process_nodes.host_allowed)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return False
    return bool(host) and rules_host_allowed(host, port or (443 if parts.scheme == "https"
                                                            else 80), allowed)


def idempotency_key(instance_id: int, step_id: int) -> str:
    return f"gongdan-process-{instance_id}-{step_id}"


def _address_allowed(address: str, port: int, allowed: tuple[str, ...],
                     networks: tuple[str, ...]) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    if ip.is_global and not ip.is_multicast:
        return True
    if rules_host_allowed(str(ip), port, allowed):
        return True  # the administrator listed this very address
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


def resolve_checked(host: str, port: int, allowed: tuple[str, ...],
                    networks: tuple[str, ...] = ()) -> str:
    """The address to connect to; WebhookRefused if any address `host` resolves to is
    loopback, private, link-local or reserved without the administrator's say-so."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookFailed(f"cannot resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    refused = [a for a in addresses if not _address_allowed(a, port, allowed, networks)]
    if refused or not addresses:
        shown = refused[0] if refused else "nothing"
        raise WebhookRefused(f"{host} resolves to {shown}, not a public address (SSRF guard)")
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address already checked, whatever DNS says now."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to the checked address; the certificate is verified for the host name."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: dict, *, key: str, attempt: int, allowed: tuple[str, ...],
         timeout: float, private_networks: tuple[str, ...] = ()) -> Reply:
    """POST once; raises WebhookRefused or WebhookFailed, returns the reply on 2xx."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password:
        raise WebhookRefused("the webhook address must be http(s) without credentials")
    if not host_allowed(url, allowed):
        raise WebhookRefused(f"{parts.hostname} is not on the webhook allow-list")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_checked(parts.hostname, port, allowed, private_networks)
    cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    conn = cls(parts.hostname, port, address, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    payload = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key,
               "X-Gongdan-Attempt": str(attempt), "User-Agent": f"gongdan/{__version__}"}
    try:
        conn.request("POST", path, body=payload, headers=headers)
        response = conn.getresponse()
        response.read(MAX_RESPONSE)
        status = response.status
    except (OSError, socket.timeout, http.client.HTTPException) as exc:
        raise WebhookFailed(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    finally:
        conn.close()
    return _judge(status)


def _judge(status: int) -> Reply:
    if 200 <= status < 300:
        return Reply(status)
    if 300 <= status < 400:
        raise WebhookRefused(f"HTTP {status}: redirects are not followed")
    if status in (408, 425, 429) or status >= 500:
        raise WebhookFailed(f"HTTP {status}")
    raise WebhookRefused(f"HTTP {status}")
