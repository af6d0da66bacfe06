"""Which ticket an inbound e-mail belongs to, and what a reply to an ended ticket does.

Owns the threading order (headers first, then the bracketed ticket number in the
subject, else a new ticket), the reply-to-a-closed-ticket decision and the display-only
subject clean-up. Lookups are passed in as callables so the rule stays pure.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable

from appliance.rules.numbering import format_number, parse_number
from appliance.rules.states import is_open, reopen_allowed

Lookup = Callable[[list[str]], int | None]


@dataclass(frozen=True)
class InboundRef:
    """The threading-relevant parts of an inbound message."""
    message_id: str
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # as in the header: oldest first
    subject: str = ""


@dataclass(frozen=True)
class ThreadDecision:
    kind: str                # "reply" | "new"
    ticket_id: int | None
    matched_by: str          # "in_reply_to" | "references" | "subject_number" | ""
    detail: str


def normalise_message_id(raw: str) -> str:
    """`<id@host>` with surrounding blanks removed; the form `known` is asked about."""
    text = raw.strip()
    if not text:
        return ""
    return text if text.startswith("<") and text.endswith(">") else f"<{text.strip('<>')}>"


# Only so many ids are looked up: a hostile References header may hold hundreds of
# thousands, and threading runs inside intake's write transaction. In-Reply-To names the
# parent first; References ends with the newest ancestors, which are the ones that count.
MAX_IN_REPLY_TO = 10
MAX_REFERENCES = 50


def _ids(raws: list[str], skip: set[str], limit: int) -> list[str]:
    """Up to `limit` distinct normalised ids, in the given order, none of them in `skip`."""
    out: list[str] = []
    seen = set(skip)
    for raw in raws:
        mid = normalise_message_id(raw)
        if mid and mid not in seen:
            seen.add(mid)
            out.append(mid)
            if len(out) >= limit:
                break
    return out


# Bracket pairs a mail client may leave around the tag; NFKC already turns the
# full-width ［］ into [] but leaves the CJK lenticular 【】 and tortoise-shell 〔〕 alone.
_OPEN, _CLOSE = "[【〔", "]】〕"


def subject_numbers(subject: str, prefix: str) -> list[str]:
    """Canonical ticket numbers found as bracketed tags (`[GD-2026-000123]`), in order.

    A bare number in running text ("see GD-2026-000123") is deliberately not a tag: people
    quote other tickets' numbers, and our own outgoing subjects always carry the brackets.
    """
    text = unicodedata.normalize("NFKC", subject)
    number = rf"{re.escape(prefix)}-\d{{4}}-\d{{6,}}"
    pattern = re.compile(rf"[{re.escape(_OPEN)}]\s*({number})\s*[{re.escape(_CLOSE)}]", re.I)
    found: list[str] = []
    for m in pattern.finditer(text):
        parsed = parse_number(m.group(1))
        if parsed and parsed[0] == prefix.upper():
            canonical = format_number(*parsed)
            if canonical not in found:
                found.append(canonical)
    return found


def thread_target(msg: InboundRef, known: Lookup, by_number: Callable[[str], int | None],
                  *, prefix: str) -> ThreadDecision:
    """Decide reply-or-new. Never threads on subject text alone, only on its ticket tag.

    `known` gets Message-IDs in priority order and returns the ticket of the first one
    Gongdan sent or received (one call per step, so a store can answer with one query).
    It is asked about at most MAX_IN_REPLY_TO in-reply-to ids (the first ones) and
    MAX_REFERENCES references (the newest ones); older ancestors are not looked up.
    """
    own = {normalise_message_id(msg.message_id)}
    # Only the first MAX_IN_REPLY_TO in-reply-to ids and the newest MAX_REFERENCES
    # references are considered (see above).
    in_reply_to = _ids(msg.in_reply_to, own, MAX_IN_REPLY_TO)
    # Newest reference first: it is the closest ancestor still known to us.
    references = _ids(reversed(msg.references), own | set(in_reply_to), MAX_REFERENCES)
    for how, ids in (("in_reply_to", in_reply_to), ("references", references)):
        ticket = known(ids) if ids else None
        if ticket is not None:
            return ThreadDecision("reply", ticket, how, f"{how} names a message of ticket {ticket}")
    for number in subject_numbers(msg.subject, prefix):
        ticket = by_number(number)
        if ticket is not None:
            return ThreadDecision("reply", ticket, "subject_number", f"subject tag [{number}]")
    return ThreadDecision("new", None, "", _why_new(in_reply_to or references, msg.subject, prefix))


def _why_new(had_ids: list[str], subject: str, prefix: str) -> str:
    numbers = subject_numbers(subject, prefix)
    if numbers:
        return f"subject tag {', '.join(numbers)} names no ticket"
    return "no known message id" if had_ids else "no thread headers and no subject tag"


def after_reply_to_closed(status: str, ended_at: dt.datetime | None, now: dt.datetime,
                          reopen_window_days: int) -> str:
    """"append" to an open ticket, "reopen" an ended one within the window, else "follow_up".

    A follow-up is a new ticket linked to the old one, so that late replies are not lost
    and the closed ticket's history (and its SLA figures) stay as they were.
    """
    if is_open(status):
        return "append"
    if status not in ("resolved", "closed"):
        raise ValueError(f"unknown ticket status {status!r}")
    return "reopen" if reopen_allowed(ended_at, now, reopen_window_days) else "follow_up"


# One reply/forward marker: Re:, RE[2]:, Fwd:, FW:, AW:, WG:, SV:, VS:, 回复：, 答复:, 转发:,
# 回覆:, 轉寄:, or a bracketed 【回复】. Colons may be full-width.
_MARKER = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|回复|回覆|答复|答覆|转发|轉發|轉寄)\s*(?:\[\d+\])?\s*[:：]"
    r"|【\s*(?:回复|回覆|答复|转发|轉發)\s*】)\s*",
    re.IGNORECASE)


def normalise_subject(subject: str) -> str:
    """The subject without leading reply/forward markers, for display only."""
    text = subject.strip()
    while True:
        stripped = _MARKER.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped
