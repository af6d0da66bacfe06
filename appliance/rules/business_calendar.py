"""Business time on a calendar (pure; docs/decisions/0025).

A calendar says when the service desk is open: weekly hours in one IANA time zone,
Chinese public holidays and make-up working days (调休, from the `chinese-calendar`
package), admin closures and extra open days. From it:

    add_business_time(cal, start, duration, pauses) -> the due time
    business_time_between(cal, start, end, pauses)  -> business time elapsed
    is_open(cal, at), next_open(cal, at)

Times are aware datetimes; nothing here reads the clock. Internally every instant is an
integer count of microseconds since the epoch (UTC), so sums are exact and DST is only
met once, when a day's local opening hours are turned into UTC spans. Those spans are
computed per day and cached per calendar, so a due time 30 business days away walks
~42 days, not minutes.

Conventions (decision 0025):
- an opening interval belongs to the day it starts on: a 22:00–06:00+1 night shift on
  a working Monday runs into Tuesday even if Tuesday is a holiday, and a shift that would
  start on a holiday or closed date does not start;
- a local time that does not exist (spring-forward gap) is read with the offset before
  the change, so the interval opens when the clocks show the first existing time after;
  an ambiguous one (fall-back) is its first occurrence;
- a start outside working hours counts from the next opening; reaching a due time exactly
  at closing returns the closing instant, not the next opening.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

DAY_MINUTES = 24 * 60
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_CLOSURE_DAYS = 3660      # a closure longer than ten years is a typo
_HORIZON_DAYS = 3660         # give up looking for an opening after ten closed years
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})(\+1)?$")

_CN_HOLIDAYS = chinese_calendar.constants.holidays   # date -> holiday name (days off)
_CN_WORKDAYS = chinese_calendar.constants.workdays   # date -> make-up working day
CN_YEARS = (min(_CN_HOLIDAYS).year, max(_CN_HOLIDAYS).year)


# ---------------------------------------------------------------- the data

@dataclass(frozen=True)
class Hours:
    """One opening interval in local wall-clock minutes from the midnight of its day.

    `end` may be 1440 (24:00) or beyond for an interval that runs into the next day
    (at most 24 hours long); `Hours.parse("22:00", "06:00+1")` writes a night shift.
    """
    start: int
    end: int

    @classmethod
    def parse(cls, start: str, end: str) -> "Hours":
        return cls(_minutes(start, allow_next_day=False), _minutes(end, allow_next_day=True))

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}–{_hhmm(self.end)}"


@dataclass(frozen=True)
class Closure:
    """Closed time set by an admin.

    Two dates: the local days from `start` to `end` inclusive are not working days (like a
    holiday). Two aware datetimes: the half-open range [start, end) is closed.
    """
    start: date | datetime
    end: date | datetime
    reason: str = ""


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str = "Asia/Shanghai"
    week: tuple[tuple[Hours, ...], ...] = ((),) * 7        # Monday first
    chinese_holidays: bool = False
    makeup_day_hours: tuple[Hours, ...] | None = None      # None: see _makeup_hours
    closures: tuple[Closure, ...] = ()
    extra_open_days: tuple[date, ...] = ()


def weekly(time_zone: str, hours: dict[str, list[tuple[str, str]]], **options) -> BusinessCalendar:
    """Build a calendar from {"monday": [("09:00", "12:00"), ...], ...} (missing days closed)."""
    week = tuple(tuple(Hours.parse(s, e) for s, e in hours.get(day, ())) for day in WEEKDAYS)
    return BusinessCalendar(time_zone=time_zone, week=week, **options)


def _minutes(text: str, allow_next_day: bool) -> int:
    m = _HHMM.match(text.strip())
    if not m or int(m.group(2)) > 59 or (m.group(3) and not allow_next_day):
        raise ValueError(f"not a time of day: {text!r} (HH:MM, 24:00, or HH:MM+1 for an end)")
    minutes = int(m.group(1)) * 60 + int(m.group(2))
    if minutes > DAY_MINUTES or (minutes == DAY_MINUTES and not allow_next_day):
        raise ValueError(f"not a time of day: {text!r}")
    return minutes + (DAY_MINUTES if m.group(3) else 0)


def _hhmm(minutes: int) -> str:
    if minutes > DAY_MINUTES:
        return f"{_hhmm(minutes - DAY_MINUTES)}+1"
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# ---------------------------------------------------------------- validation

MESSAGES: dict[str, str] = {
    "bad_time_zone": "unknown time zone %(value)s (use an IANA name such as Asia/Shanghai)",
    "week_not_seven_days": "give opening hours for each of the seven days, Monday first",
    "bad_interval": "%(interval)s is not a time range within one day (start 00:00–23:59, at most 24 hours long)",
    "interval_reversed": "%(interval)s ends before it starts; write the end as HH:MM+1 for hours that end the next day",
    "interval_overlap": "%(first)s overlaps %(second)s",
    "no_hours": "the calendar is never open",
    "no_makeup_hours": "no weekday from Monday to Friday has hours, so make-up working days on "
                       "days without hours stay closed unless make-up day hours are set",
    "closure_mixed": "a closure is either two dates or two date-times",
    "closure_naive": "a closure's date-times need a time zone",
    "closure_reversed": "the closure ends before it starts",
    "closure_too_long": "a closure covers at most %(max)s days",
    "closure_overlap": "closures %(first)s and %(second)s overlap",
    "open_day_closed": "%(day)s is both an extra open day and closed",
    "holiday_years_missing":
        "Chinese holiday data covers %(first)s–%(last)s only; %(years)s use the weekly hours "
        "(add that year's holidays and make-up days as closures and extra open days)",
}


@dataclass(frozen=True)
class Problem:
    """`path` names the field, `code` a key of MESSAGES, `message` the English text."""
    path: str
    code: str
    message: str
    params: dict = field(default_factory=dict, compare=False, hash=False)
    severity: str = "error"          # "error" rejects the calendar; "warning" is shown


def _problem(path: str, code: str, severity: str = "error", **params) -> Problem:
    shown = {k: str(v) for k, v in params.items()}
    return Problem(path, code, MESSAGES[code] % shown, shown, severity)


def problems(cal: BusinessCalendar, years: tuple[int, ...] = ()) -> list[Problem]:
    """Everything wrong with `cal`; `years` are the years it will be used in (warnings)."""
    found: list[Problem] = []
    zone = _zone_or_none(cal.time_zone)
    if zone is None:
        found.append(_problem("time_zone", "bad_time_zone", value=cal.time_zone))
    found += _week_problems(cal)
    found += _closure_problems(cal, zone)
    if cal.chinese_holidays:
        found += year_warnings(cal, years)
    return found


def errors(cal: BusinessCalendar) -> list[Problem]:
    return [p for p in problems(cal) if p.severity == "error"]


def year_warnings(cal: BusinessCalendar, years) -> list[Problem]:
    """A warning when holidays apply but the package has no data for some of `years`."""
    if not cal.chinese_holidays:
        return []
    missing = sorted({y for y in years if not CN_YEARS[0] <= y <= CN_YEARS[1]})
    if not missing:
        return []
    return [_problem("chinese_holidays", "holiday_years_missing", "warning",
                     first=CN_YEARS[0], last=CN_YEARS[1], years=", ".join(map(str, missing)))]


def _zone_or_none(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return None


def _interval_problems(path: str, hours: tuple[Hours, ...]) -> list[Problem]:
    found = []
    for i, h in enumerate(hours):
        if not (isinstance(h.start, int) and isinstance(h.end, int)
                and 0 <= h.start < DAY_MINUTES and h.end <= h.start + DAY_MINUTES):
            found.append(_problem(f"{path}[{i}]", "bad_interval", interval=h))
        elif h.end <= h.start:
            found.append(_problem(f"{path}[{i}]", "interval_reversed", interval=h))
    return found


def _week_problems(cal: BusinessCalendar) -> list[Problem]:
    if len(cal.week) != 7:
        return [_problem("week", "week_not_seven_days")]
    found = []
    for d, day in enumerate(cal.week):
        found += _interval_problems(f"week.{WEEKDAYS[d]}", day)
    if cal.makeup_day_hours is not None:
        found += _interval_problems("makeup_day_hours", cal.makeup_day_hours)
        found += _overlaps("makeup_day_hours",
                           [(h.start, h.end, str(h)) for h in cal.makeup_day_hours], ring=None)
    if found:
        return found
    # Overlaps on the week as a ring, so Sunday's night shift meets Monday morning.
    spans = [(d * DAY_MINUTES + h.start, d * DAY_MINUTES + h.end, f"{WEEKDAYS[d]} {h}")
             for d, day in enumerate(cal.week) for h in day]
    found += _overlaps("week", spans, ring=7 * DAY_MINUTES)
    if not spans and not cal.extra_open_days:
        found.append(_problem("week", "no_hours"))
    elif cal.chinese_holidays and cal.makeup_day_hours is None and not any(cal.week[:5]):
        found.append(_problem("makeup_day_hours", "no_makeup_hours", "warning"))
    return found


def _overlaps(path: str, spans: list[tuple[int, int, str]], ring: int | None) -> list[Problem]:
    spans = sorted(spans)
    if ring is not None and spans:      # the last span may wrap past the end of the week
        spans = spans + [(s + ring, e + ring, name) for s, e, name in spans[:1]]
    found, reach = [], None          # reach: the span that ends last so far
    for s, e, name in spans:
        if reach is not None and s < reach[0]:
            found.append(_problem(path, "interval_overlap", first=reach[1], second=name))
        if reach is None or e > reach[0]:
            reach = (e, name)
    return found


def _closure_problems(cal: BusinessCalendar, zone: ZoneInfo | None) -> list[Problem]:
    found, ranges = [], []
    for i, c in enumerate(cal.closures):
        path = f"closures[{i}]"
        both_dt = isinstance(c.start, datetime) and isinstance(c.end, datetime)
        both_d = not both_dt and all(isinstance(x, date) and not isinstance(x, datetime)
                                     for x in (c.start, c.end))
        if not (both_dt or both_d):
            found.append(_problem(path, "closure_mixed"))
        elif both_dt and (c.start.tzinfo is None or c.end.tzinfo is None):
            found.append(_problem(path, "closure_naive"))
        elif (both_dt and c.end <= c.start) or (both_d and c.end < c.start):
            found.append(_problem(path, "closure_reversed"))
        elif both_d and (c.end - c.start).days >= MAX_CLOSURE_DAYS:
            found.append(_problem(path, "closure_too_long", max=MAX_CLOSURE_DAYS))
        elif zone is not None:
            ranges.append((*_closure_us(c, zone), _closure_name(c)))
    ranges.sort()
    for (s1, e1, n1), (s2, e2, n2) in zip(ranges, ranges[1:]):
        if s2 < e1:
            found.append(_problem("closures", "closure_overlap", first=n1, second=n2))
    closed = {d for c in cal.closures if _is_date_range(c) and isinstance(c.start, date)
              and 0 <= (c.end - c.start).days < MAX_CLOSURE_DAYS for d in _days(c.start, c.end)}
    for i, d in enumerate(cal.extra_open_days):
        if d in closed:
            found.append(_problem(f"extra_open_days[{i}]", "open_day_closed", day=d.isoformat()))
    return found


def _is_date_range(c: Closure) -> bool:
    return not isinstance(c.start, datetime) and not isinstance(c.end, datetime)


def _days(first: date, last: date):
    for n in range((last - first).days + 1):
        yield first + timedelta(days=n)


def _closure_us(c: Closure, zone: ZoneInfo) -> tuple[int, int]:
    if _is_date_range(c):
        return _local_us(c.start, 0, zone), _local_us(c.end, DAY_MINUTES, zone)
    return _us(c.start), _us(c.end)


def _closure_name(c: Closure) -> str:
    return f"{c.start.isoformat()}–{c.end.isoformat()}"


# ---------------------------------------------------------------- compiled calendar

def _us(dt: datetime) -> int:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("business time needs aware datetimes (with a time zone)")
    return (dt - _EPOCH) // _US


def _local_us(day: date, minutes: int, zone: ZoneInfo) -> int:
    wall = datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)
    return (wall.replace(tzinfo=zone) - _EPOCH) // _US


class _Compiled:
    """A valid calendar with its per-day UTC spans cached (the hot path)."""

    def __init__(self, cal: BusinessCalendar):
        bad = errors(cal)
        if bad:
            raise ValueError("invalid calendar: " + "; ".join(f"{p.path}: {p.message}" for p in bad))
        self.cal = cal
        self.zone = ZoneInfo(cal.time_zone)
        self.closed_days = frozenset(d for c in cal.closures if _is_date_range(c)
                                     for d in _days(c.start, c.end))
        self.closed_ranges = _merge(sorted(_closure_us(c, self.zone) for c in cal.closures
                                           if not _is_date_range(c)))
        self.extra_days = frozenset(cal.extra_open_days)
        # An opened day without hours of its own works a normal weekday's hours.
        self.weekday_hours = next((day for day in cal.week[:5] if day), ())
        self._days: dict[date, tuple[tuple[int, int], ...]] = {}

    def hours_on(self, day: date) -> tuple[Hours, ...]:
        """The opening intervals that start on the local `day`."""
        if day in self.closed_days:
            return ()
        own = self.cal.week[day.weekday()]
        if day in self.extra_days:
            return self._opened(own)
        if self.cal.chinese_holidays and CN_YEARS[0] <= day.year <= CN_YEARS[1]:
            if day in _CN_HOLIDAYS:
                return ()
            if day in _CN_WORKDAYS:
                return self._opened(own)
        return own

    def _opened(self, own: tuple[Hours, ...]) -> tuple[Hours, ...]:
        """Hours of a make-up or extra open day: make-up hours, its own, or a weekday's."""
        return self.cal.makeup_day_hours or own or self.weekday_hours

    def spans(self, day: date) -> tuple[tuple[int, int], ...]:
        """UTC microsecond spans [s, e) of the intervals starting on `day`, minus closures."""
        cached = self._days.get(day)
        if cached is None:
            spans = []
            for h in sorted(self.hours_on(day), key=lambda h: h.start):
                s, e = _local_us(day, h.start, self.zone), _local_us(day, h.end, self.zone)
                if s < e:                       # a DST gap can swallow an interval
                    spans.extend(_subtract([(s, e)], self.closed_ranges))
            cached = tuple(spans)
            if len(self._days) >= 20_000:       # bound memory; days are cheap to redo
                self._days.clear()
            self._days[day] = cached
        return cached

    def local_day(self, us: int) -> date:
        return (_EPOCH + timedelta(microseconds=us)).astimezone(self.zone).date()

    def open_spans(self, from_us: int, pauses: list[tuple[int, int]]):
        """Open spans (clipped to start at `from_us` or later), in order, minus pauses."""
        day = self.local_day(from_us) - timedelta(days=1)   # yesterday's night shift
        cursor, idle = from_us, 0
        while idle <= _HORIZON_DAYS:
            found = False
            for s, e in self.spans(day):
                s = max(s, cursor)
                if s >= e:
                    continue
                for piece in _subtract([(s, e)], pauses):
                    found = True
                    yield piece
                cursor = e
            idle = 0 if found else idle + 1
            day += timedelta(days=1)
        raise ValueError(f"the calendar has no open time within {_HORIZON_DAYS} days")


@lru_cache(maxsize=256)
def _compiled(cal: BusinessCalendar) -> _Compiled:
    return _Compiled(cal)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in ranges:
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _subtract(spans, holes: list[tuple[int, int]]):
    """`spans` minus the sorted, merged `holes`."""
    if not holes:
        return spans
    out = []
    for s, e in spans:
        for hs, he in holes:
            if he <= s:
                continue
            if hs >= e:
                break
            if hs > s:
                out.append((s, hs))
            s = max(s, he)
            if s >= e:
                break
        if s < e:
            out.append((s, e))
    return out


def _pause_us(pauses, until: int | None) -> list[tuple[int, int]]:
    """Pauses as merged microsecond ranges; an open pause (end None) lasts until `until`."""
    ranges = []
    for start, end in pauses:
        if end is None:
            if until is None:
                raise ValueError("an open pause has no end: close it at `now` first")
            ranges.append((_us(start), until))
        else:
            ranges.append((_us(start), _us(end)))
    return _merge(sorted(ranges))


# ---------------------------------------------------------------- the functions

def add_business_time(cal: BusinessCalendar, start: datetime, duration: timedelta,
                      pauses=()) -> datetime:
    """The instant when `duration` of business time has passed since `start`.

    `pauses` are (start, end) pairs during which the clock stands still; all must be
    closed (a due time behind a pause of unknown length is unknown: see sla.evaluate).
    The result is in the calendar's time zone.
    """
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    comp = _compiled(cal)
    left = duration // _US
    for s, e in comp.open_spans(_us(start), _pause_us(pauses, None)):
        if left <= e - s:
            return _to_dt(s + left, comp.zone)
        left -= e - s
    raise AssertionError("unreachable: open_spans ends by raising")


def business_time_between(cal: BusinessCalendar, start: datetime, end: datetime,
                          pauses=()) -> timedelta:
    """Business time in [start, end), not counting pauses (an open pause runs to `end`)."""
    comp = _compiled(cal)
    s_us, e_us = _us(start), _us(end)
    if e_us < s_us:
        raise ValueError("end is before start")
    total = 0
    day = comp.local_day(s_us) - timedelta(days=1)
    last = comp.local_day(e_us)
    ranges = []
    while day <= last:
        ranges.extend(comp.spans(day))
        day += timedelta(days=1)
    clipped = [(max(s, s_us), min(e, e_us)) for s, e in ranges]
    for s, e in _subtract(_merge(clipped), _pause_us(pauses, e_us)):
        total += e - s
    return timedelta(microseconds=total)


def is_open(cal: BusinessCalendar, at: datetime) -> bool:
    return next_open(cal, at) == at


def next_open(cal: BusinessCalendar, at: datetime) -> datetime:
    """`at` itself when open, else the next opening (in the calendar's time zone)."""
    comp = _compiled(cal)
    at_us = _us(at)
    s, _ = next(comp.open_spans(at_us, []))
    return at if s == at_us else _to_dt(s, comp.zone)


def _to_dt(us: int, zone: ZoneInfo) -> datetime:
    return (_EPOCH + timedelta(microseconds=us)).astimezone(zone)


__all__ = ["BusinessCalendar", "Closure", "Hours", "Problem", "CN_YEARS", "weekly",
           "problems", "errors", "year_warnings", "add_business_time",
           "business_time_between", "is_open", "next_open"]
