"""Mail-loop protection: what kind of inbound mail this is and whether we may answer it.

Owns the classification of bounces, auto-replies, list mail and our own mail from
headers alone, the "may we send an automatic answer" rule, and the per-sender
sliding-window rate limit that catches whatever slips past the headers.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Mapping

KINDS = ("normal", "bounce", "auto_reply", "list", "own")

_BOUNCE_LOCALS = frozenset({"mailer-daemon", "postmaster"})
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply"})
# X-Auto-Response-Suppress values meaning "do not send me automatic replies"; DR, NDR,
# RN and NRN only concern delivery/read reports, which we never send.
_SUPPRESS_ANSWERS = frozenset({"all", "oof", "autoreply"})
_AUTO_SUBJECT = re.compile(
    r"out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|vacation"
    r"|abwesenheit|automatische antwort|自动回复|自動回覆|自動回復|自动答复|休假",
    re.IGNORECASE)


@dataclass(frozen=True)
class MailKind:
    kind: str     # one of KINDS
    reason: str   # which header or sender decided it, for the timeline and logs


def classify(headers: Mapping[str, str], from_address: str, content_type: str,
             own_addresses: set[str]) -> MailKind:
    """Classify by the strongest signal first (the order and its reasons are noted below)."""
    h = {k.lower(): str(v).strip() for k, v in headers.items()}
    for check in (_own, _strong_bounce, _explicit_auto, _list, _weak_auto, _null_sender):
        found = check(h, from_address, content_type, own_addresses)
        if found:
            return found
    return MailKind("normal", "")


# Order: our own mail is the most certain loop; then unambiguous bounces; then explicit
# auto-reply headers, which beat list headers (an auto-responder on a list is still an
# auto-responder); then list headers, which beat "Precedence: bulk" (lists send bulk too);
# then weak hints. A null Return-Path comes last: RFC 3834 asks auto-responders to use it
# as well, so it only means "bounce" when nothing says "auto-reply".

def _own(h, from_address, content_type, own_addresses) -> MailKind | None:
    address = canonical_address(from_address)
    if address and address in {canonical_address(a) for a in own_addresses}:
        return MailKind("own", f"sent from our own address {address}")
    return None


def _strong_bounce(h, from_address, content_type, own_addresses) -> MailKind | None:
    main, params = _content_type(content_type)
    if main == "multipart/report":
        report = params.get("report-type", "")
        if report in ("", "delivery-status"):
            return MailKind("bounce", f"multipart/report; report-type={report or '(none)'}")
        # A read receipt (disposition-notification) is machine-made, not a delivery failure.
        return MailKind("auto_reply", f"multipart/report; report-type={report}")
    if "x-failed-recipients" in h:
        return MailKind("bounce", "X-Failed-Recipients present")
    local = canonical_address(from_address).partition("@")[0]
    if local in _BOUNCE_LOCALS:
        return MailKind("bounce", f"sender {local}")
    return None


def _explicit_auto(h, from_address, content_type, own_addresses) -> MailKind | None:
    auto = _token(h.get("auto-submitted", ""))
    if auto and auto != "no":
        return MailKind("auto_reply", f"Auto-Submitted: {auto}")
    for name in ("x-autoreply", "x-autorespond", "x-ms-exchange-inbox-rules-loop"):
        if name in h:
            return MailKind("auto_reply", f"{name} present")
    if _token(h.get("precedence", "")) == "auto_reply":
        return MailKind("auto_reply", "Precedence: auto_reply")
    return None


def _list(h, from_address, content_type, own_addresses) -> MailKind | None:
    precedence = _token(h.get("precedence", ""))
    if "list-id" in h:
        return MailKind("list", f"List-Id: {h['list-id']}")
    if "list-unsubscribe" in h and precedence in ("list", "bulk"):
        return MailKind("list", f"List-Unsubscribe with Precedence: {precedence}")
    if precedence == "list":
        return MailKind("list", "Precedence: list")
    return None


def _weak_auto(h, from_address, content_type, own_addresses) -> MailKind | None:
    precedence = _token(h.get("precedence", ""))
    if precedence in _AUTO_PRECEDENCE:
        return MailKind("auto_reply", f"Precedence: {precedence}")
    # An out-of-office subject alone is not enough (a customer may write "自动回复 is
    # broken"); it counts only next to another hint of machine origin.
    if _AUTO_SUBJECT.search(h.get("subject", "")):
        if "x-auto-response-suppress" in h:
            return MailKind("auto_reply", "auto-reply subject with X-Auto-Response-Suppress")
        if _null_return_path(h):
            return MailKind("auto_reply", "auto-reply subject with empty Return-Path")
    return None


def _null_sender(h, from_address, content_type, own_addresses) -> MailKind | None:
    if _null_return_path(h):
        return MailKind("bounce", "empty Return-Path <>")
    return None


def _null_return_path(h: Mapping[str, str]) -> bool:
    return "return-path" in h and h["return-path"].replace(" ", "") in ("<>", "")


def _token(value: str) -> str:
    """The first `;`-separated token, lower-cased ("auto-replied; owner=x" → "auto-replied")."""
    return value.split(";", 1)[0].strip().lower()


def _content_type(value: str) -> tuple[str, dict[str, str]]:
    main, *rest = value.split(";")
    params = {}
    for part in rest:
        key, _, val = part.partition("=")
        params[key.strip().lower()] = val.strip().strip('"').lower()
    return main.strip().lower(), params


def canonical_address(raw: str) -> str:
    """Lower-cased addr-spec with any +tag removed: "Support+123@X.cn" → "support@x.cn"."""
    address = parseaddr(raw)[1] or raw.strip()
    local, at, domain = address.lower().rpartition("@")
    if not at:
        return domain  # no "@": a bare local part such as "MAILER-DAEMON"
    return f"{local.split('+', 1)[0]}@{domain}"


def may_auto_answer(kind: MailKind | str, headers: Mapping[str, str]) -> bool:
    """Only normal mail from a sender who did not ask to be spared automatic replies."""
    name = kind.kind if isinstance(kind, MailKind) else kind
    if name != "normal":
        return False
    h = {k.lower(): str(v) for k, v in headers.items()}
    tokens = {t.strip().lower() for t in h.get("x-auto-response-suppress", "").split(",")}
    return not tokens & _SUPPRESS_ANSWERS


# Addresses that never read what they receive: answering them only feeds a loop.
_UNANSWERED_LOCALS = frozenset({"mailer-daemon", "postmaster", "noreply", "no-reply",
                                "no_reply", "donotreply", "do-not-reply", "do_not_reply"})


def unanswerable(address: str, own_addresses: set[str]) -> str:
    """Why an automatic notice must not go to `address` ("" when it may): one of our own
    addresses (plus-tags folded), a daemon or no-reply address, or no address at all."""
    canonical = canonical_address(address or "")
    local, at, _domain = canonical.rpartition("@")
    if not at or not local:
        return "no address"
    if canonical in {canonical_address(a) for a in own_addresses}:
        return "our own address"
    if local in _UNANSWERED_LOCALS or local.startswith(("bounce", "mailer-daemon")):
        return f"automatic address {local}"
    return ""


def over_limit(timestamps: list[dt.datetime], now: dt.datetime, limit: int,
               window: dt.timedelta) -> bool:
    """True when `limit` answers were already sent in the window ending at `now`.

    Timestamps after `now` (clock skew between workers) count as inside the window, so a
    skewed clock can only make us answer less, never more.
    """
    start = now - window
    return sum(1 for t in timestamps if t > start) >= limit


@dataclass(frozen=True)
class RateLimiter:
    """A per-sender limit, e.g. RateLimiter(5, timedelta(hours=1)) from settings."""
    limit: int
    window: dt.timedelta

    def over_limit(self, timestamps: list[dt.datetime], now: dt.datetime) -> bool:
        return over_limit(timestamps, now, self.limit, self.window)
