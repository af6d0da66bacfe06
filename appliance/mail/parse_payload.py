"""Undoing a MIME part's transfer encoding, leniently: quoted-printable, base64 (repaired
when padding or characters are off, read as 8bit when it was never base64), uuencode,
unknown encodings read as 8bit; and writing a part back out close to its original bytes
(for attached messages). Each repair is added to the caller's `problems` list.

Split out of `parse` (which walks the MIME tree and decides what is body and what is an
attachment); raw bytes are worked on here because the public get_payload() would turn
undecodable 8-bit bytes into U+FFFD before charset guessing sees them.
"""
from __future__ import annotations

import binascii
import io
import re
from email import policy as email_policy
from email.generator import BytesGenerator
from email.message import Message

from appliance.mail.parse_headers import raw_to_text


def first_header(part: Message, name: str) -> str | None:
    """The first raw value of header `name` (lower case) in this part, undecoded: the
    modern policy's parsed values can raise on the odd headers this parser must survive."""
    for key, value in part.raw_items():
        if str(key).strip().lower() == name:
            return str(value)
    return None


_KNOWN_CTE = {"", "7bit", "8bit", "binary", "base64", "quoted-printable"}


def payload_bytes(part: Message, problems: list[str]) -> bytes:
    """The part's content with its transfer encoding undone, leniently."""
    # The public get_payload() replaces undecodable 8-bit bytes with U+FFFD, which would
    # destroy the evidence that charset guessing needs; the raw payload keeps them.
    payload = getattr(part, "_payload", None)
    if isinstance(payload, list):
        return b"".join(serialise(sub) for sub in payload if isinstance(sub, Message))
    data = _to_bytes(payload or "")
    declared = first_header(part, "content-transfer-encoding") or ""
    cte = re.sub(r"\s+", "", raw_to_text(declared, [], "cte")).lower()
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        decoded = part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else data
    if cte not in _KNOWN_CTE:
        problems.append(f"unknown Content-Transfer-Encoding {cte[:30]}, read as 8bit")
        return data
    if cte == "quoted-printable":
        return binascii.a2b_qp(data)
    if cte == "base64":
        return _decode_base64(data, problems)
    return data


def _decode_base64(data: bytes, problems: list[str]) -> bytes:
    stripped = re.sub(rb"\s+", b"", data)
    alphabet = re.sub(rb"[^A-Za-z0-9+/=]", b"", stripped)
    if stripped and len(alphabet) < 0.95 * len(stripped):
        # A client declared base64 but sent the text as is (seen from scanners and CRMs).
        problems.append("wrong Content-Transfer-Encoding base64, read as 8bit")
        return data
    core = alphabet.rstrip(b"=").replace(b"=", b"")
    if len(core) % 4 == 1:
        core = core[:-1]
    if len(core) != len(alphabet.rstrip(b"=")) or (len(alphabet) % 4 and alphabet):
        problems.append("invalid base64 repaired")
    try:
        return binascii.a2b_base64(core + b"=" * (-len(core) % 4))
    except binascii.Error:
        problems.append("undecodable base64 kept as is")
        return data


def _to_bytes(payload: str | bytes) -> bytes:
    if isinstance(payload, bytes):
        return payload
    try:
        return payload.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return payload.encode("utf-8", "surrogateescape")


def serialise(msg: Message) -> bytes:
    """Message bytes close to the original: raw headers and payloads written back."""
    buffer = io.BytesIO()
    try:
        policy = email_policy.compat32.clone(linesep="\r\n")
        BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(msg)
    except Exception:  # noqa: BLE001 - a broken inner message still yields what was written  # nosec B110
        pass
    return buffer.getvalue()
