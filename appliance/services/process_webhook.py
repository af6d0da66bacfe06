"""The webhook action: one POST of JSON to a host on the administrator's allow-list
(setting `process_webhook_hosts`), with a timeout and never following a redirect.

The call carries `Idempotency-Key: gongdan-process-<instance>-<step>`, the same on every
attempt of the step, so a receiver can drop a repeat (a worker killed after the call and
before recording it makes the engine call again); `X-Gongdan-Attempt` says which attempt.
The body names the ticket by id and number with its routing fields and custom fields;
no subject, description or customer data is sent.
"""
from __future__ import annotations

import http.client
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


def post(url: str, body: dict, *, key: str, attempt: int, allowed: tuple[str, ...],
         timeout: float) -> Reply:
    """POST once; raises WebhookRefused or WebhookFailed, returns the reply on 2xx."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password:
        raise WebhookRefused("the webhook address must be http(s) without credentials")
    if not host_allowed(url, allowed):
        raise WebhookRefused(f"{parts.hostname} is not on the webhook allow-list")
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=timeout)
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
