"""What an administrator may configure for dispatch: weekly shifts, language codes, VIP
tiers and the escalation delay. Pure functions that clean values or say what is wrong,
as {field: message} in plain English (the views translate them).

Field names follow the payload: a bad start time of the third shift is "shifts[2].start",
an overlap is reported on the later shift ("shifts[2]": "overlaps shifts[0]").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DAY = 24 * 60
WEEK = 7 * DAY
MAX_SHIFTS = 50
MAX_ESCALATE_MINUTES = 7 * DAY  # one week
MAX_LIST = 50                   # languages, VIP tiers
ABSENCE_KINDS = ("break", "leave", "training")
MAX_ABSENCE_DAYS = 60
_LANGUAGE = re.compile(r"^[a-z][a-z-]{1,7}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_TIER_MAX = 32
MAX_ID = 2**63 - 1  # a larger number overflows SQLite's INTEGER (and PostgreSQL's BIGINT)


@dataclass(frozen=True)
class Shift:
    weekday: int       # 0 = Monday
    start_minute: int  # after local midnight
    end_minute: int    # exclusive; <= start means the shift runs past midnight


def as_int(value):
    """An int from ASCII digits (a form's text), else the value as it was. Not str.isdigit()
    alone: "²".isdigit() is True, yet int("²") fails."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return value


def as_id(value) -> int | None:
    """A positive id a database column can hold (an int or ASCII digits), else None."""
    value = as_int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        return None
    return value


def minute_of(text) -> int | None:
    """"HH:MM" as minutes after midnight; "24:00" is the end of the day."""
    if text == "24:00":
        return DAY
    m = _TIME.match(text) if isinstance(text, str) else None
    return int(m.group(1)) * 60 + int(m.group(2)) if m else None


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_shifts(rows) -> tuple[list[Shift], dict[str, str]]:
    """Shifts from [{weekday, start, end}] and the problems with them."""
    if not isinstance(rows, list):
        return [], {"shifts": "must be a list of {weekday, start, end}"}
    if len(rows) > MAX_SHIFTS:
        return [], {"shifts": f"at most {MAX_SHIFTS} shifts"}
    shifts, errors = [], {}
    for i, row in enumerate(rows):
        shift, problems = _parse_shift(row, f"shifts[{i}]")
        errors.update(problems)
        shifts.append(shift)
    if not errors:
        errors.update(overlap_errors(shifts))
    return shifts, errors


def _parse_shift(row, name: str) -> tuple[Shift | None, dict[str, str]]:
    if not isinstance(row, dict) or set(row) - {"weekday", "start", "end"}:
        return None, {name: "must be an object with weekday, start and end"}
    errors = {}
    weekday = as_int(row.get("weekday"))
    if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
        errors[f"{name}.weekday"] = "must be 0 (Monday) to 6 (Sunday)"
    start, end = minute_of(row.get("start")), minute_of(row.get("end"))
    if start == DAY:  # 24:00 ends a day; it starts none
        start = None
    if start is None:
        errors[f"{name}.start"] = "must be a time HH:MM"
    if end is None:
        errors[f"{name}.end"] = "must be a time HH:MM"
    elif start is not None and start == end:  # 00:00-24:00 is a whole day
        errors[f"{name}.end"] = "must differ from the start"
    if errors:
        return None, errors
    return Shift(weekday, start, end), {}


def week_ranges(s: Shift) -> list[tuple[int, int]]:
    """The minutes of the week a shift covers; an overnight shift on Sunday wraps."""
    start = s.weekday * DAY + s.start_minute
    end = s.weekday * DAY + (s.end_minute if s.end_minute > s.start_minute
                             else DAY + s.end_minute)
    if end <= WEEK:
        return [(start, end)]
    return [(start, WEEK), (0, end - WEEK)]


def overlap_errors(shifts: list[Shift]) -> dict[str, str]:
    """Each shift that overlaps an earlier one, naming the first it overlaps."""
    errors = {}
    ranges = [week_ranges(s) for s in shifts]
    for j in range(len(shifts)):
        for i in range(j):
            if any(a < d and c < b for a, b in ranges[i] for c, d in ranges[j]):
                errors[f"shifts[{j}]"] = f"overlaps shifts[{i}]"
                break
    return errors


def clean_languages(values) -> tuple[list[str], str | None]:
    """Lower-case language codes ("zh", "en", "pt-br") without repeats, or the problem."""
    if not isinstance(values, list) or len(values) > MAX_LIST:
        return [], f"must be a list of at most {MAX_LIST} language codes"
    out = []
    for v in values:
        code = v.strip().lower() if isinstance(v, str) else ""
        if not _LANGUAGE.match(code):
            return [], "language codes are 2-8 letters a-z or - (zh, en, ja)"
        out.append(code)
    return list(dict.fromkeys(out)), None


def clean_tiers(values) -> tuple[list[str], str | None]:
    """VIP tiers as routing compares them (case-folded, "*" = every tier), or the problem."""
    if not isinstance(values, list) or len(values) > MAX_LIST:
        return [], f"must be a list of at most {MAX_LIST} tiers"
    out = []
    for v in values:
        tier = v.strip().casefold() if isinstance(v, str) else ""
        if not tier or len(tier) > _TIER_MAX or any(c.isspace() or c == "," for c in tier):
            return [], "tiers are 1-32 characters without spaces or commas (vip, vip-gold, *)"
        out.append(tier)
    return list(dict.fromkeys(out)), None


def escalation_error(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number"
    if not 0 <= value <= MAX_ESCALATE_MINUTES:
        return f"must be between 0 and {MAX_ESCALATE_MINUTES}"
    return None
