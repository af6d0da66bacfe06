"""Delivery status notifications (bounces): which message of ours failed, and why (pure).

Owns reading an RFC 3464 report (multipart/report with message/delivery-status, and the
returned message as message/rfc822 or text/rfc822-headers) into a `Bounce`: the original
Message-ID, whether delivery failed for good, the Status code and the Diagnostic-Code.
Bounces that are not RFC 3464 (plain-text ones from older MTAs) still quote the returned
headers: a "Message-ID:" line in the text is taken as a fallback. The caller only acts on
a Message-ID that names mail Gongdan sent, so a wrong guess changes nothing. Never raises.
"""
from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message

from appliance.rules.mail_threading import normalise_message_id

MAX_DIAGNOSTIC = 300
_MSG_ID_LINE = re.compile(rb"^\s*Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


@dataclass(frozen=True)
class Bounce:
    original_message_ids: tuple[str, ...]   # from the report's parts, else quoted in the text
    failed: bool                # a permanent failure (Action: failed / Status 5.x.x)
    status: str = ""            # "5.1.1"
    diagnostic: str = ""        # "smtp; 550 5.1.1 user unknown", one line, shortened

    def summary(self) -> str:
        text = " ".join(x for x in (self.status, self.diagnostic) if x)
        return f"bounced: {text}" if text else "bounced"


def read_bounce(raw: bytes) -> Bounce | None:
    """The bounce report in `raw`, or None when it names no original message."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        original, fields = "", {}
        for part in msg.walk():
            ctype = part.get_content_type()
            if ctype == "message/delivery-status" and not fields:
                fields = _status_fields(part)
            elif ctype in ("message/rfc822", "text/rfc822-headers") and not original:
                original = _original_id(part)
        ids = (original,) if original else _quoted_ids(raw)
    except Exception:  # noqa: BLE001 - a malformed report is simply not understood
        return None
    if not ids:
        return None
    status = fields.get("status", "").split()[0] if fields.get("status") else ""
    status = status if _STATUS.match(status) else ""
    action = fields.get("action", "").strip().lower()
    failed = action == "failed" or status.startswith("5") or (not action and not status)
    diagnostic = " ".join(fields.get("diagnostic-code", "").split())[:MAX_DIAGNOSTIC]
    return Bounce(ids, failed, status, diagnostic)


def _quoted_ids(raw: bytes) -> tuple[str, ...]:
    """Message-ID lines in the body (the returned message quoted as text), at most 5;
    the bounce's own Message-ID is in its header, which is skipped."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    body = raw[min(ends):] if ends else b""
    found = [normalise_message_id(m.decode("ascii", "replace"))
             for m in _MSG_ID_LINE.findall(body[:1024 * 1024])]
    return tuple(dict.fromkeys(found))[:5]


def _status_fields(part: Message) -> dict[str, str]:
    """Per-message and first per-recipient fields of message/delivery-status."""
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else [
        email.message_from_string(block) for block in str(payload).split("\n\n")]
    fields: dict[str, str] = {}
    for block in blocks:
        for name, value in block.items():
            fields.setdefault(name.lower(), str(value))
        if "action" in fields:
            break   # the first recipient's block decides
    return fields


def _original_id(part: Message) -> str:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        value = inner.get("Message-ID", "") if isinstance(inner, Message) else ""
    else:
        body = part.get_payload(decode=True) or b""
        value = email.message_from_bytes(body, policy=email.policy.compat32).get("Message-ID", "")
    return normalise_message_id(str(value)) if value else ""
