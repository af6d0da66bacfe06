"""Parsing one inbound e-mail (raw RFC 5322 bytes) into a `ParsedMessage`.

Owns the walk over the MIME tree: which part is the body, which are attachments, and
the list of repairs made on the way. Charset rules live in `parse_charsets`, header
values in `parse_headers`, transfer encodings in `parse_payload`, HTML in `parse_html`
and reply folding in `parse_quotes`; `fold_quoted` and `html_to_text` are re-exported
here.

The parser is total: any byte string gives a ParsedMessage (with `problems` saying
what was repaired) except one over the size limit, which raises `MessageTooLarge`.
"""
from __future__ import annotations

import datetime as dt
import email
import re
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import Message

from appliance.errors import DomainError
from appliance.mail import tnef
from appliance.mail.parse_charsets import decode_bytes, guess_decode
from appliance.mail.parse_headers import (
    decode_text, message_ids, parse_addresses, parse_date, parse_parameterised,
    raw_to_text, safe_filename,
)
from appliance.mail.parse_html import html_to_text, sanitise_html
from appliance.mail.parse_payload import first_header, payload_bytes, serialise
from appliance.mail.parse_quotes import fold_quoted

__all__ = ["Attachment", "MessageTooLarge", "ParsedMessage", "fold_quoted", "html_to_text",
           "parse_message"]

LOOP_HEADERS = ("auto-submitted", "precedence", "x-autoreply", "x-auto-response-suppress",
                "list-id", "list-unsubscribe", "return-path", "content-type",
                "x-failed-recipients")
_SINGLETONS = ("from", "subject", "message-id", "date", "to", "cc", "reply-to",
               "in-reply-to", "references")


class MessageTooLarge(DomainError):
    code = "message_too_large"
    http_status = 413


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes
    size: int
    content_id: str = ""
    inline: bool = False


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    reply_to: list[str] = field(default_factory=list)
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    date: dt.datetime | None = None
    text: str = ""
    html_sanitised: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    headers_of_interest: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def parse_message(raw: bytes, *, max_bytes: int = 50 * 1024 * 1024) -> ParsedMessage:
    """Parse raw message bytes; never raises except `MessageTooLarge`."""
    raw = bytes(raw)
    if len(raw) > max_bytes:
        raise MessageTooLarge(f"message is {len(raw)} bytes, limit {max_bytes}",
                              size=len(raw), limit=max_bytes)
    # The modern policy can raise while interpreting odd headers; compat32 is the
    # fallback, and a last-resort result keeps the promise never to raise.
    try:
        return _parse_with(raw, email_policy.default, [])
    except Exception as exc:  # noqa: BLE001 - any parser failure becomes a problem entry
        problems = [f"modern parser failed ({type(exc).__name__}), used compat32"]
    try:
        return _parse_with(raw, email_policy.compat32, problems)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"unparseable message ({type(exc).__name__})")
        text, _ = guess_decode(raw)
        return ParsedMessage(text=text, problems=_unique(problems))


def _parse_with(raw: bytes, policy, problems: list[str]) -> ParsedMessage:
    msg = email.message_from_bytes(raw, policy=policy)
    if _has_defect(msg, "StartBoundaryNotFoundDefect"):
        repaired = _repair_boundary(raw)
        if repaired is not None:
            msg = email.message_from_bytes(repaired, policy=policy)
            problems.append("broken MIME boundary, repaired from the body")
    headers = _headers(msg, problems)
    body = _Body()
    _collect(msg, body)
    problems.extend(body.problems)
    problems.extend(_defect_problems(msg))
    return _assemble(headers, body, problems)


@dataclass
class _Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _headers(msg: Message, problems: list[str]) -> dict[str, list[str]]:
    """Raw header values by lower-cased name, in order of appearance."""
    found: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        found.setdefault(str(name).strip().lower(), []).append(str(value))
    for name in _SINGLETONS:
        if len(found.get(name, [])) > 1:
            problems.append(f"duplicate {name} header, first one used")
    return found


def _assemble(headers: dict[str, list[str]], body: _Body, problems: list[str]) -> ParsedMessage:
    first = {name: values[0] for name, values in headers.items()}
    message_id = (message_ids(first.get("message-id", "")) or [""])[0]
    if not message_id:
        problems.append("missing Message-ID")
    date = parse_date(first["date"]) if "date" in first else None
    if "date" not in first:
        problems.append("missing Date")
    elif date is None:
        problems.append("unparseable Date")
    from_name, from_address = _sender(first.get("from"), problems)
    return ParsedMessage(
        message_id=message_id,
        in_reply_to=message_ids(first.get("in-reply-to", "")),
        references=message_ids(" ".join(headers.get("references", []))),
        subject=decode_text(first.get("subject", ""), problems, "subject"),
        from_address=from_address, from_name=from_name,
        reply_to=_addresses(first.get("reply-to"), problems, "reply-to"),
        to=_addresses(first.get("to"), problems, "to"),
        cc=_addresses(first.get("cc"), problems, "cc"),
        date=date,
        text=_best_text(body),
        html_sanitised=sanitise_html("\n".join(body.html)) if body.html else "",
        attachments=body.attachments,
        headers_of_interest={name: raw_to_text(first[name], [], name)
                             for name in LOOP_HEADERS if name in first},
        problems=_unique(problems),
    )


def _sender(raw: str | None, problems: list[str]) -> tuple[str, str]:
    if raw is None:
        problems.append("missing From")
        return "", ""
    pairs = parse_addresses(raw, problems, "from")
    if not pairs or not pairs[0][1]:
        problems.append("invalid From address")
        return (pairs[0][0] if pairs else ""), ""
    return pairs[0]


def _addresses(raw: str | None, problems: list[str], name: str) -> list[str]:
    if raw is None:
        return []
    return [address for _, address in parse_addresses(raw, problems, name) if address]


def _best_text(body: _Body) -> str:
    parts = [p for p in body.plain if p.strip()]
    if parts:
        return "\n\n".join(parts)
    return "\n\n".join(html_to_text(h) for h in body.html).strip()


def _collect(part: Message, body: _Body) -> None:
    """Walk one MIME part: body text goes to plain/html, everything else is an attachment."""
    ctype, params = _content_type(part, body.problems)
    if ctype in ("message/rfc822", "message/global"):
        body.attachments.append(_attached_message(part, body))
    elif part.is_multipart() and ctype.startswith("multipart/"):
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _collect(sub, body)
    elif _is_body_text(part, ctype, params):
        text = _decode_text_part(part, ctype, params, body.problems)
        (body.html if ctype == "text/html" else body.plain).append(text)
    else:
        attachment = _attachment(part, ctype, params, body)
        if ctype == "application/ms-tnef" or attachment.filename.lower() == "winmail.dat":
            body.attachments.extend(_unpack_tnef(attachment, body.problems))
        else:
            body.attachments.append(attachment)


def _unpack_tnef(attachment: Attachment, problems: list[str]) -> list[Attachment]:
    """The files inside winmail.dat; winmail.dat itself when there are none to take out."""
    try:
        inner = tnef.files(attachment.content)
    except tnef.TnefError as exc:
        problems.append(f"TNEF attachment kept as is ({exc})")
        return [attachment]
    if not inner:
        return [attachment]
    return [Attachment(filename=safe_filename(f.filename, f"attachment-{n}.bin"),
                       content_type=f.content_type, content=f.data, size=len(f.data))
            for n, f in enumerate(inner, 1)]


def _content_type(part: Message, problems: list[str]) -> tuple[str, dict[str, str]]:
    raw = first_header(part, "content-type")
    if raw is None:
        return "text/plain", {}
    ctype, params = parse_parameterised(raw, problems, "content-type")
    if ctype.startswith("multipart/") and not part.is_multipart():
        problems.append(f"{ctype} without usable boundary, read as text")
        return "text/plain", params
    if not re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", ctype):
        problems.append(f"invalid content type {ctype[:40]!r}, read as text/plain")
        return "text/plain", params
    return ctype, params


def _disposition(part: Message) -> tuple[str, dict[str, str]]:
    raw = first_header(part, "content-disposition")
    return parse_parameterised(raw, [], "content-disposition") if raw else ("", {})


def _is_body_text(part: Message, ctype: str, params: dict[str, str]) -> bool:
    if ctype not in ("text/plain", "text/html"):
        return False
    disposition, dparams = _disposition(part)
    return disposition != "attachment" and not (dparams.get("filename") or params.get("name"))


def _decode_text_part(part: Message, ctype: str, params: dict[str, str],
                      problems: list[str]) -> str:
    data = payload_bytes(part, problems)
    charset = params.get("charset")
    if not charset and ctype == "text/html":
        meta = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_-]+)", data[:4096], re.IGNORECASE)
        charset = meta.group(1).decode("ascii") if meta else None
    text, problem = decode_bytes(data, charset)
    if problem:
        problems.append(problem)
    text = re.sub(r"\r\n?", "\n", text).lstrip("\ufeff")
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    if params.get("format", "").lower() == "flowed" and ctype == "text/plain":
        text = _unflow(text, params.get("delsp", "").lower() == "yes")
    return text


def _unflow(text: str, delsp: bool) -> str:
    """Undo RFC 3676 format=flowed soft line breaks (Apple Mail, Thunderbird)."""
    out: list[str] = []
    pending = ""
    for line in text.split("\n"):
        line = pending + line
        if line.endswith(" ") and line != "-- " and not line.startswith(">"):
            pending = line[:-1] if delsp else line
        else:
            out.append(line)
            pending = ""
    if pending:
        out.append(pending)
    return "\n".join(out)


def _attached_message(part: Message, body: _Body) -> Attachment:
    """A message/rfc822 part kept whole as an .eml file named after its subject."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        inner = payload[0]
        content = serialise(inner)
    else:
        content = payload_bytes(part, body.problems)
        inner = email.message_from_bytes(content, policy=email_policy.compat32)
    subject = decode_text(first_header(inner, "subject") or "", [], "subject")
    name = re.sub(r"[\\/]", "_", subject)
    return Attachment(filename=safe_filename(f"{name}.eml" if name else "", "forwarded-message.eml"),
                      content_type="message/rfc822", content=content, size=len(content),
                      inline=False)


_EXTENSIONS = {
    "text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics", "image/png": ".png",
    "image/jpeg": ".jpg", "image/gif": ".gif", "application/pdf": ".pdf",
    "application/ms-tnef": ".dat", "message/delivery-status": ".txt",
    "text/rfc822-headers": ".txt", "application/zip": ".zip",
}
_DEFAULT_NAMES = {"text/calendar": "invite", "message/delivery-status": "delivery-status",
                  "text/rfc822-headers": "original-headers", "application/ms-tnef": "winmail"}


def _attachment(part: Message, ctype: str, params: dict[str, str], body: _Body) -> Attachment:
    disposition, dparams = _disposition(part)
    content = payload_bytes(part, body.problems)
    stem = _DEFAULT_NAMES.get(ctype, f"attachment-{len(body.attachments) + 1}")
    fallback = stem + _EXTENSIONS.get(ctype, ".bin")
    raw_id = first_header(part, "content-id") or ""
    content_id = re.sub(r"[<>\s]", "", raw_to_text(raw_id, [], "content-id"))
    return Attachment(
        filename=safe_filename(dparams.get("filename") or params.get("name") or "", fallback),
        content_type=ctype, content=content, size=len(content), content_id=content_id,
        inline=disposition == "inline" or (bool(content_id) and disposition != "attachment"),
    )


def _has_defect(msg: Message, name: str) -> bool:
    return any(type(d).__name__ == name for d in getattr(msg, "defects", []))


_DEFECT_PROBLEMS = {
    "CloseBoundaryNotFoundDefect": "truncated MIME (closing boundary missing)",
    "StartBoundaryNotFoundDefect": "broken MIME boundary (start boundary not found)",
    "NoBoundaryInMultipartDefect": "multipart without boundary",
    "MissingHeaderBodySeparatorDefect": "missing blank line after headers",
    "FirstHeaderLineIsContinuationDefect": "first header line is a continuation",
    "MisplacedEnvelopeHeaderDefect": "misplaced envelope header",
}
# Follow-on defects of ones already reported, or repaired silently by our own decoding.
_QUIET_DEFECTS = {"MultipartInvariantViolationDefect", "InvalidBase64PaddingDefect",
                  "InvalidBase64CharactersDefect", "InvalidBase64LengthDefect"}


def _defect_problems(msg: Message) -> list[str]:
    problems = []
    for part in msg.walk():
        for defect in getattr(part, "defects", []):
            name = type(defect).__name__
            if name not in _QUIET_DEFECTS:
                problems.append(_DEFECT_PROBLEMS.get(name, f"MIME defect: {name}"))
    return problems


def _repair_boundary(raw: bytes) -> bytes | None:
    """Re-declare the boundary a sender actually used when it differs from the declared one."""
    header_end = re.search(rb"\r?\n\r?\n", raw)
    if header_end is None:
        return None
    head, rest = raw[:header_end.start()], raw[header_end.start():]
    counts: dict[bytes, int] = {}
    for match in re.finditer(rb"^--([^\r\n]{1,70}?)(--)?\r?$", rest, re.MULTILINE):
        counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    candidates = [b for b, n in counts.items() if n >= 2 and b.strip()]
    if not candidates:
        return None
    boundary = max(candidates, key=lambda b: counts[b])
    fixed, replaced = re.subn(rb'boundary\s*=\s*("[^"]*"|[^;\s]+)',
                              b'boundary="' + boundary.replace(b"\\", b"\\\\") + b'"',
                              head, count=1, flags=re.IGNORECASE)
    return fixed + rest if replaced else None


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [i for i in items if not (i in seen or seen.add(i))]
