"""Human ticket numbers: PREFIX-YEAR-NNNNNN."""
from __future__ import annotations

import re

_NUMBER = re.compile(r"^(?P<prefix>[A-Z]{1,8})-(?P<year>\d{4})-(?P<seq>\d{6,})$")


def format_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}-{year}-{seq:06d}"


def parse_number(text: str) -> tuple[str, int, int] | None:
    m = _NUMBER.match(text.strip().upper())
    if not m:
        return None
    return m["prefix"], int(m["year"]), int(m["seq"])
