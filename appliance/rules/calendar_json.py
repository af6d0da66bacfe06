"""Business calendars as JSON (what the database stores and the admin API takes) and
back (pure; docs/decisions/0036): weekly hours as [["09:00", "18:00"], ...] per day
(Monday first, or a {"monday": ...} mapping), make-up day hours, closures as
{"start", "end", "reason"} with ISO dates or date-times with offsets, extra open days as
ISO dates. Parsing collects every unreadable part as {path: reason} and still returns
the readable rest, so rules.business_calendar.problems can check it in the same answer.
"""
from __future__ import annotations

import datetime as dt

from appliance.rules import business_calendar as bc


def parse(data: dict) -> tuple[bc.BusinessCalendar | None, dict]:
    """The calendar from stored/given JSON shapes, and the fields that could not be read."""
    errors: dict[str, str] = {}
    week = data.get("week") or {}
    if isinstance(week, dict):
        bad = sorted(set(week) - set(bc.WEEKDAYS))
        for k in bad:
            errors[f"week.{k}"] = "not a day of the week (monday … sunday)"
        week = [week.get(day) or [] for day in bc.WEEKDAYS]
    if not isinstance(week, list) or len(week) != 7:
        errors["week"] = "give opening hours for each of the seven days, Monday first"
        week = [[]] * 7
    days = tuple(_hours(day, f"week.{bc.WEEKDAYS[i]}", errors) for i, day in enumerate(week))
    makeup = data.get("makeup_day_hours")
    makeup = None if makeup in (None, "", []) else _hours(makeup, "makeup_day_hours", errors)
    closures = tuple(c for c in (_closure(c, f"closures[{i}]", errors) for i, c in
                                 enumerate(_list(data.get("closures"), "closures", errors)))
                     if c is not None)
    extra = []
    for i, d in enumerate(_list(data.get("extra_open_days"), "extra_open_days", errors)):
        try:
            extra.append(dt.date.fromisoformat(str(d)))
        except ValueError:
            errors[f"extra_open_days[{i}]"] = "not a date (YYYY-MM-DD)"
    zone = str(data.get("time_zone") or "").strip()
    if not zone:
        errors["time_zone"] = "required (an IANA name such as Asia/Shanghai)"
        return None, errors
    return bc.BusinessCalendar(time_zone=zone, week=days,
                               chinese_holidays=bool(data.get("chinese_holidays")),
                               makeup_day_hours=makeup, closures=closures,
                               extra_open_days=tuple(extra)), errors


def _list(value, path: str, errors: dict) -> list:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        errors[path] = "must be a list"
        return []
    return value


def _hours(value, path: str, errors: dict) -> tuple[bc.Hours, ...]:
    out = []
    for i, pair in enumerate(_list(value, path, errors)):
        try:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError("an interval is [start, end], e.g. [\"09:00\", \"18:00\"]")
            out.append(bc.Hours.parse(str(pair[0]), str(pair[1])))
        except ValueError as exc:
            errors[f"{path}[{i}]"] = str(exc)
    return tuple(out)


def _closure(value, path: str, errors: dict) -> bc.Closure | None:
    if not isinstance(value, dict):
        errors[path] = "a closure is {start, end, reason}"
        return None
    ends = []
    for key in ("start", "end"):
        text = str(value.get(key) or "").strip()
        try:
            ends.append(dt.date.fromisoformat(text) if len(text) == 10
                        else dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            errors[f"{path}.{key}"] = "a date (YYYY-MM-DD) or a date-time with its offset"
    if len(ends) != 2:
        return None
    return bc.Closure(ends[0], ends[1], str(value.get("reason") or "")[:200])


def stored(cal: bc.BusinessCalendar) -> dict:
    def pairs(hours):
        return [list(str(h).split("–")) for h in hours]
    return {"time_zone": cal.time_zone, "week": [pairs(day) for day in cal.week],
            "chinese_holidays": cal.chinese_holidays,
            "makeup_day_hours": None if cal.makeup_day_hours is None
            else pairs(cal.makeup_day_hours),
            "closures": [{"start": c.start.isoformat(), "end": c.end.isoformat(),
                          "reason": c.reason} for c in cal.closures],
            "extra_open_days": [d.isoformat() for d in cal.extra_open_days]}
