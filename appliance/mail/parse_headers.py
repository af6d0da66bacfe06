"""Header values of inbound mail: decoding, addresses, message ids, dates, MIME parameters.

Owns the reading of raw header text (possibly 8-bit, folded, encoded-word laden) into
clean values, and the safe attachment file name. Pure functions; none raises.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from email.utils import getaddresses, parsedate_to_datetime
from urllib.parse import unquote_to_bytes

from appliance.mail.parse_charsets import decode_bytes, decode_encoded_words

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def raw_to_text(raw: str, problems: list[str], name: str) -> str:
    """Unfold a raw header and decode any 8-bit bytes in it (kept as surrogates by `email`)."""
    data = raw.encode("ascii", "surrogateescape")
    text, problem = decode_bytes(data, "unknown-8bit")
    if problem:
        problems.append(f"raw 8-bit header {name}, {problem.split(', ')[-1]}")
    return re.sub(r"\r?\n[ \t]*", " ", text).strip()


def decode_text(raw: str, problems: list[str], name: str) -> str:
    """A free-text header (Subject, display names) as one clean line."""
    text, word_problems = decode_encoded_words(raw_to_text(raw, problems, name))
    problems.extend(f"{name}: {p}" for p in word_problems)
    if _CONTROL.search(text.replace("\t", " ")):
        problems.append(f"control characters removed from {name}")
    cleaned = _CONTROL.sub(" ", text)
    cleaned = "".join(ch for ch in cleaned if unicodedata.category(ch) not in ("Cf", "Zl", "Zp"))
    return re.sub(r"\s+", " ", cleaned).strip()


# No controls anywhere (\x00-\x1f, \x7f): a NUL cannot even be stored on PostgreSQL.
_ADDR_SPEC = re.compile(r"^[^\s@<>()\[\],;:\"\\\x00-\x1f\x7f]{1,64}@[^\s@<>()\[\],;:\"\\\x00-\x1f\x7f]+"
                        r"\.[^\s@<>()\[\],;:\"\\.\x00-\x1f\x7f]{2,}$")


def valid_address(address: str) -> str:
    """A lower-cased addr-spec, or "" when the value is not a plausible address."""
    address = address.strip().lower()
    if len(address) > 254 or not _ADDR_SPEC.match(address) or ".." in address:
        return ""
    return address


def parse_addresses(raw: str, problems: list[str], name: str) -> list[tuple[str, str]]:
    """(display name, addr-spec) pairs; invalid addresses come back with an empty addr-spec."""
    text = raw_to_text(raw, problems, name)
    try:
        pairs = getaddresses([text])
    except Exception:  # getaddresses has raised on hostile input in past Python releases
        pairs = []
    result = []
    for display, address in pairs:
        if not display and not address:
            continue
        decoded, _ = decode_encoded_words(display)
        decoded = re.sub(r"\s+", " ", _CONTROL.sub(" ", decoded)).strip()
        result.append((decoded, valid_address(address)))
    return result


_MSG_ID = re.compile(r"<([^<>\s\x00-\x1f\x7f]+)>")
_ID_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def message_ids(raw: str) -> list[str]:
    """Message ids in order, de-duplicated, each as "<...>"; bare ids are tolerated.

    An id holding a control character (\\x00-\\x1f, \\x7f) is dropped: no real id has
    one, and a NUL cannot even be stored on PostgreSQL.
    """
    text = re.sub(r"\s+", " ", raw.encode("ascii", "surrogateescape").decode("ascii", "replace"))
    found = [f"<{m}>" for m in _MSG_ID.findall(text)]
    if not found:
        found = [f"<{token.strip('<>,')}>" for token in text.split()
                 if "@" in token and not _ID_CONTROL.search(token)]
    seen: set[str] = set()
    return [i for i in found if not (i in seen or seen.add(i))]


def parse_date(raw: str) -> dt.datetime | None:
    """The Date header as a naive UTC datetime; None when unparseable."""
    try:
        value = parsedate_to_datetime(re.sub(r"\s+", " ", raw).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _split_params(text: str) -> list[str]:
    """Split "a; b=\"x;y\"" at semicolons outside quotes."""
    parts, current, quoted, escaped = [], [], False, False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            current.append(ch)
            escaped = True
        elif ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_parameterised(raw: str, problems: list[str], name: str) -> tuple[str, dict[str, str]]:
    """(lower-cased main value, params) with RFC 2231 continuations and charsets decoded."""
    parts = _split_params(raw_to_text(raw, problems, name))
    simple: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[bool, str]]] = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            continue
        match = re.fullmatch(r"([^*]+)(?:\*(\d+))?(\*)?", key)
        if match is None:
            continue
        base, index, star = match.groups()
        if index is None and star is None:
            simple.setdefault(base, _unquote(value))
        else:
            extended.setdefault(base, {})[int(index or 0)] = (bool(star), _unquote(value))
    for base, segments in extended.items():
        simple[base] = _join_rfc2231(segments)
    return parts[0].strip().lower(), simple


def _join_rfc2231(segments: dict[int, tuple[bool, str]]) -> str:
    charset = ""
    data = bytearray()
    for index in sorted(segments):
        encoded, value = segments[index]
        if encoded and index == min(segments) and value.count("'") >= 2:
            charset, _, value = value.split("'", 2)
        data += unquote_to_bytes(value) if encoded else value.encode("utf-8", "surrogateescape")
    text, _ = decode_bytes(bytes(data), charset or "utf-8")
    return text


_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


def safe_filename(name: str, fallback: str) -> str:
    """A basename safe on any file system: no path, controls, reserved names or bidi tricks."""
    decoded, _ = decode_encoded_words(name or "")
    text = unicodedata.normalize("NFC", decoded)
    text = re.split(r"[\\/]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    text = re.sub(r'[<>:"|?*]', "_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if _RESERVED.match(text):
        text = "_" + text
    stem, dot, ext = text.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext = text, ""
    while len(text.encode("utf-8")) > 200 and stem:
        stem = stem[:-1]
        text = f"{stem}.{ext}" if ext else stem
    return text or fallback
