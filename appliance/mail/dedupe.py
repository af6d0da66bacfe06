"""Which inbound messages are the same message (pure): the intake's de-duplication key.

The Message-ID alone is not enough: broken mailers reuse one for different messages
(a fixed id per device, a counter reset), and dropping those as duplicates loses mail. The
raw bytes are too much: the same message delivered twice differs in its Received and
other trace headers, and a relay may re-encode the body (8bit to quoted-printable). So
the key is the Message-ID (per mailbox: a copy to two of our addresses is two intakes)
plus a fingerprint of what a relay does not change: the sender's address, the Date, the
subject, the decoded text and the attachments' names and contents.

Rows stored before this rule carry the older key (Message-ID per mailbox, or the raw
SHA-256); `legacy_keys` lists it so a message received before an upgrade is still
recognised (intake compares sender and subject to tell a reused Message-ID apart).
"""
from __future__ import annotations

import hashlib

from appliance.mail.parse import ParsedMessage
from appliance.rules.mail_loops import canonical_address


def fingerprint(msg: ParsedMessage) -> str:
    """SHA-256 of sender, date, subject, text (whitespace-folded) and attachments."""
    h = hashlib.sha256()
    text = " ".join((msg.text or msg.html_sanitised or "").split())
    for part in (canonical_address(msg.from_address), msg.date.isoformat() if msg.date else "",
                 " ".join(msg.subject.split()), text):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for name, digest in sorted((a.filename, hashlib.sha256(a.content).hexdigest())
                               for a in msg.attachments):
        h.update(f"{name}\0{digest}\0".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def dedupe_key(mailbox_id: int | None, message_id: str, content: str) -> str:
    """"mid:<mailbox>:<Message-ID hash>:<fingerprint>", or "fp:<mailbox>:<fingerprint>"
    for a message without a Message-ID; at most 128 characters."""
    box = mailbox_id or 0
    if not message_id:
        return f"fp:{box}:{content}"[:128]
    mid = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"mid:{box}:{mid}:{content[:48]}"[:128]


def legacy_keys(mailbox_id: int | None, message_id: str, raw_sha256: str) -> list[str]:
    """The keys rows got before the fingerprint: the raw SHA-256, and Message-ID per mailbox."""
    keys = [f"sha256:{raw_sha256}"]
    if message_id:
        key = f"{mailbox_id or 0}:{message_id}"
        keys.append(key if len(key) <= 128 else f"{mailbox_id or 0}:sha256-id:"
                    f"{hashlib.sha256(message_id.encode('utf-8', 'surrogatepass')).hexdigest()}")
    return keys
