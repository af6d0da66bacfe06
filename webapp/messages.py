"""Translation of the domain's messages for display.

Services speak plain English (they must not import Flask-Babel); this table maps
each of their messages, fixed or with parameters, to a translatable msgid. Keep it
in step with appliance/services and appliance/rules (a test checks the samples).
"""
from __future__ import annotations

import re

from flask_babel import gettext, lazy_gettext as _l

FIXED = {m: _l(m) for m in (
    "required", "must be text", "must be an id", "does not exist", "already taken", "already used",
    "already exists", "already exists at this level", "already used in this department",
    "must not contain /", "a category cannot be inside itself", "incorrect",
    "must differ from the current password", "must be a whole number",
    "must be between 0 and 500", "must be zh_CN or en", "must be 1 to 5",
    "must be an active agent", "agent is outside the ticket's department", "cannot be changed",
    "unknown or read-only field", "must be a list of words", "at most 20 tags",
    "must be an ISO 8601 date-time", "must be an integer", "must be an object",
    "must be 1, 2, 3 or 4 (P1 is most urgent)", "must be 1, 2, 3 or 4",
    "must be low, medium or high", "invalid paging cursor", "2-64 letters, digits or . _ @ -",
    "not a valid email address", "a valid phone number or email address",
    "lower-case letters, digits and _, starting with a letter", "list at least one option",
    "unknown field", "must be a number", "must be a finite number", "must be a date YYYY-MM-DD",
    "too common or contains the user name", "a ticket cannot be linked to itself",
    "this would make a parent/child cycle", "cannot merge a ticket into itself",
    "you cannot disable your own account", "you cannot change your own role",
    "you already have a filter with this name", "enter a ticket number (GD-2026-000123) or id",
    "a merged ticket cannot be merged again",
    "the customer was changed by someone else; reload and try again",
    "the ticket was changed by someone else; reload and try again",
    "these tickets are already linked", "this ticket is closed; please open a new ticket",
    "attachment not found", "category not found", "comment not found", "custom field not found",
    "customer not found", "department not found", "link not found", "saved filter not found",
    "ticket not found", "token not found", "user not found", "administrators only",
    "customers cannot write internal notes", "staff only", "the portal is for customers",
    "you may not change this ticket", "at most 2000 characters", "at most 256 characters",
    "invalid input",
)}

def N_(msgid: str) -> str:
    """Marks a msgid for extraction (`pybabel extract -k N_`) without translating it yet."""
    return msgid


# (pattern, msgid with named placeholders filled from the pattern's named groups).
PATTERNS = [
    (r"at most (?P<n>\d+) characters", N_("at most %(n)s characters")),
    (r"at least (?P<n>\d+) characters", N_("at least %(n)s characters")),
    (r"at most (?P<n>\d+) files", N_("at most %(n)s files")),
    (r"at most (?P<n>\d+) saved filters", N_("at most %(n)s saved filters")),
    (r"must be one of:? (?P<values>.+)", N_("must be one of: %(values)s")),
    (r"must be chosen from: (?P<values>.+)", N_("must be chosen from: %(values)s")),
    (r"unknown status: (?P<values>.+)", N_("unknown status: %(values)s")),
    (r"(?P<name>.+): larger than (?P<n>\d+) bytes", N_("%(name)s: larger than %(n)s bytes")),
    (r"(?P<name>.+): file type \.(?P<ext>.*) is not allowed",
     N_("%(name)s: file type .%(ext)s is not allowed")),
    (r"(?P<name>.+): content does not match \.(?P<ext>.+)",
     N_("%(name)s: content does not match .%(ext)s")),
    (r"(?P<name>.+): not a text file", N_("%(name)s: not a text file")),
    (r"(?P<name>.+): the file is empty", N_("%(name)s: the file is empty")),
    (r"cannot move a ticket from (?P<a>\S+) to (?P<b>\S+)",
     N_("cannot move a ticket from %(a)s to %(b)s")),
]
_COMPILED = [(re.compile(f"^{p}$", re.S), msgid) for p, msgid in PATTERNS]


def translate(message) -> str:
    """The message in the user's language; unknown messages are shown as they are."""
    if message is None:
        return ""
    text = str(message)
    if text in FIXED:
        return str(FIXED[text])
    for pattern, msgid in _COMPILED:
        m = pattern.match(text)
        if m:
            return gettext(msgid, **m.groupdict())
    return text
