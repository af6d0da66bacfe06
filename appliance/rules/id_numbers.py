"""Identity document numbers on customer profiles (pure): normalising, checking a
mainland resident ID's check digit (GB 11643-1999), masking for readers who do not see
personal data in full."""
from __future__ import annotations

import re

_RESIDENT = re.compile(r"^[1-9][0-9]{16}[0-9X]$")
_OTHER = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,31}$")  # passports, HK/Macau/Taiwan permits
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def normalise(value: str) -> str | None:
    """Upper-case, spaces dropped; "" for nothing; None when it is not a usable number
    (an 18-character mainland resident ID must carry the right check digit)."""
    value = "".join((value or "").split()).upper().translate(
        {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})
    if not value:
        return ""
    if len(value) == 18 and value[:17].isdigit():
        return value if _RESIDENT.match(value) and check_digit(value[:17]) == value[17] else None
    return value if _OTHER.match(value) else None


def mask(value: str) -> str:
    """110105**********2X: region and the last two, not the birth date."""
    if not value:
        return ""
    keep = 6 if len(value) >= 15 else 1
    return value[:keep] + "*" * max(len(value) - keep - 2, 1) + value[-2:]


def mask_address(value: str) -> str:
    """The first few characters (province and city, usually), the rest hidden."""
    return f"{value[:6]}***" if value else ""
