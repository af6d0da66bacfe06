"""Log redaction and log-injection encoding for every process (web, worker, CLI).

Owns what may reach a log line: passwords, tokens and keys (key=value, key: value and
JSON forms, Authorization headers, `gd_` tokens) are masked; mainland ID numbers and
mobile phone numbers are masked; CR, LF and other control characters are encoded so a
user-supplied value cannot start a forged log line.

Installed as a LogRecord factory (`install()`), not only as a handler filter: a filter on
the root handler misses handlers added later (gunicorn's, pytest's caplog) and a filter on
a logger misses records propagated from its children. The factory runs for every record
any logger creates, before any handler sees it.
"""
from __future__ import annotations

import logging
import re

MASK = "***"
_SECRET_KEYS = (r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|"
                r"private[_-]?key|master[_-]?key|secret[_-]?key|client[_-]?secret|"
                r"credentials?|session(?:[_-]?id)?|cookie|otp|totp|mfa[_-]?code|key")
# "password": "x" / 'token': 'x' (JSON, Python reprs)
_QUOTED = re.compile(
    rf"""(?P<k>["']?[\w-]*(?:{_SECRET_KEYS})["']?\s*[:=]\s*)(?P<q>["'])(?P<v>(?:\\.|(?!(?P=q)).)*)(?P=q)""",
    re.IGNORECASE)
# password=x / token: x (query strings, form dumps, free text); up to a separator
_PLAIN = re.compile(rf"""(?P<k>\b[\w-]*(?:{_SECRET_KEYS})\s*[:=]\s*)(?P<v>[^\s&,;"'\]}})]+)""",
                    re.IGNORECASE)
_AUTH_HEADER = re.compile(r"(?P<k>\b(?:authorization|proxy-authorization)\b[\"']?\s*[:=]\s*[\"']?"
                          r"(?:(?:bearer|basic|token|digest)\s+)?)(?P<v>[^\s\"',;]+)",
                          re.IGNORECASE)
_SCHEME = re.compile(r"(?P<k>\b(?:bearer|basic)\s+)(?P<v>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
_GD_TOKEN = re.compile(r"\b(?:gd|gdi|gdw)_[A-Za-z0-9_-]{16,}")
# 18-digit resident ID (last character may be X) and the old 15-digit form.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
# Mainland mobile numbers, with or without +86 / 0086 and separators inside.
_PHONE = re.compile(r"(?<!\d)(?:(?:\+|00)86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def _encode_control(m: re.Match) -> str:
    ch = m.group(0)
    return {"\n": "\\n", "\r": "\\r"}.get(ch, f"\\x{ord(ch):02x}" if ord(ch) < 256
                                          else f"\\u{ord(ch):04x}")


def redact(text: str) -> str:
    """`text` with secrets and PII masked and control characters encoded."""
    if not text:
        return text
    text = _QUOTED.sub(lambda m: f"{m['k']}{m['q']}{MASK}{m['q']}", text)
    text = _AUTH_HEADER.sub(lambda m: m["k"] + MASK, text)
    text = _SCHEME.sub(lambda m: m["k"] + MASK, text)
    text = _PLAIN.sub(lambda m: m["k"] + MASK, text)
    text = _GD_TOKEN.sub("gd_" + MASK, text)
    text = _ID_NUMBER.sub(lambda m: m.group(0)[:4] + "*" * (len(m.group(0)) - 4), text)
    text = _PHONE.sub(lambda m: f"{m[1]}****{m[3]}", text)
    return _CONTROL.sub(_encode_control, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (arguments merged in first) through `redact`; never
    drops a record. Usable on a handler too (gunicorn's logconfig)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_gd_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw parts, still masked
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(str(message)), ()
        if record.exc_info and not record.exc_text:
            # A traceback keeps its lines (they are ours); each is masked like a message.
            text = _FORMATTER.formatException(record.exc_info)
            record.exc_text = "\n".join(redact(line) for line in text.splitlines())
        record._gd_redacted = True
        return True


_FORMATTER = logging.Formatter()


_installed: list = []


def install() -> None:
    """Redact every record created in this process from now on (idempotent)."""
    if _installed:
        return
    base = logging.getLogRecordFactory()
    redacting = RedactingFilter()

    def factory(*args, **kwargs):
        record = base(*args, **kwargs)
        redacting.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed.append(factory)
