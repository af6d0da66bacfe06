"""Business time on calendars (rules/business_calendar.py): expected instants written out.

Dates checked against chinese-calendar 1.11 data for 2026: days off Jan 1–3, Feb 15–23
(Spring Festival), Apr 4–6, May 1–5, Jun 19–21, Sep 25–27 (Mid-Autumn), Oct 1–7 (National
Day); make-up working days Sun Jan 4, Sat Feb 14, Sat Feb 28, Sat May 9, Sun Sep 20,
Sat Oct 10. 2026-11-23 is a Monday.
"""
import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from appliance.rules.business_calendar import (
    CN_YEARS, WEEKDAYS, BusinessCalendar, Closure, Hours, add_business_time,
    business_time_between, is_open, next_open, problems, weekly,
)

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
H = timedelta(hours=1)
M = timedelta(minutes=1)
OFFICE = {d: [("09:00", "12:00"), ("13:30", "18:00")] for d in WEEKDAYS[:5]}   # 7.5 h a day


def sh(*args):
    return datetime(*args, tzinfo=SH)


def office(**options):
    return weekly("Asia/Shanghai", OFFICE, chinese_holidays=True, **options)


def codes(cal, years=()):
    return sorted(p.code for p in problems(cal, years))


# ---------------------------------------------------------------- the package's data

def test_the_2026_data_is_what_the_literals_below_assume():
    """If chinese-calendar changes its 2026 data, these tests say so here first."""
    makeup_2026 = [d for d in chinese_calendar.get_workdays(date(2026, 1, 1), date(2026, 12, 31))
                   if d.weekday() >= 5]
    assert makeup_2026 == [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
                           date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)]
    assert all(chinese_calendar.is_holiday(date(2026, 10, d)) for d in range(1, 8))
    assert chinese_calendar.is_workday(date(2026, 10, 8))
    assert all(chinese_calendar.is_holiday(date(2026, 2, d)) for d in range(15, 24))
    assert CN_YEARS[0] == 2004 and CN_YEARS[1] >= 2026


# ---------------------------------------------------------------- weekly hours

@pytest.mark.parametrize("start, duration, due", [
    (sh(2026, 11, 23, 9, 0), 0 * H, sh(2026, 11, 23, 9, 0)),          # zero at opening
    (sh(2026, 11, 23, 9, 0), 3 * H, sh(2026, 11, 23, 12, 0)),         # ends at lunch, not 13:30
    (sh(2026, 11, 23, 11, 0), 2 * H, sh(2026, 11, 23, 14, 30)),       # across lunch
    (sh(2026, 11, 23, 12, 0), 0 * H, sh(2026, 11, 23, 13, 30)),       # start at lunch
    (sh(2026, 11, 23, 12, 45), 30 * M, sh(2026, 11, 23, 14, 0)),      # start inside lunch
    (sh(2026, 11, 23, 18, 0), 0 * H, sh(2026, 11, 24, 9, 0)),         # start exactly at close
    (sh(2026, 11, 23, 17, 0), 1 * H, sh(2026, 11, 23, 18, 0)),        # due exactly at close
    (sh(2026, 11, 23, 7, 0), 1 * H, sh(2026, 11, 23, 10, 0)),         # before opening
    (sh(2026, 11, 20, 17, 0), 2 * H, sh(2026, 11, 23, 10, 0)),        # over the weekend
    (sh(2026, 11, 21, 10, 0), 0 * H, sh(2026, 11, 23, 9, 0)),         # Saturday, zero
    (sh(2026, 11, 23, 9, 0), 7 * H + 30 * M, sh(2026, 11, 23, 18, 0)),  # one full day
    (sh(2026, 11, 2, 9, 0), 30 * (7 * H + 30 * M), sh(2026, 12, 11, 18, 0)),  # 30 business days
    (sh(2026, 11, 23, 9, 0, 0, 1), 1 * H, sh(2026, 11, 23, 10, 0, 0, 1)),  # microseconds kept
])
def test_due_times_on_office_hours(start, duration, due):
    cal = office()
    assert add_business_time(cal, start, duration) == due
    assert business_time_between(cal, start, due) == duration


@pytest.mark.parametrize("start, duration, due", [
    (sh(2026, 9, 30, 17, 0), 2 * H, sh(2026, 10, 8, 10, 0)),    # National Day Oct 1–7
    (sh(2026, 10, 9, 17, 0), 2 * H, sh(2026, 10, 10, 10, 0)),   # Sat Oct 10 is a make-up day
    (sh(2026, 10, 10, 17, 0), 2 * H, sh(2026, 10, 12, 10, 0)),  # Sun Oct 11 is off
    (sh(2026, 9, 18, 17, 0), 2 * H, sh(2026, 9, 20, 10, 0)),    # Sun Sep 20 is a make-up day
    (sh(2026, 9, 24, 17, 0), 2 * H, sh(2026, 9, 28, 10, 0)),    # Mid-Autumn Fri Sep 25 off
    (sh(2026, 2, 13, 17, 0), 2 * H, sh(2026, 2, 14, 10, 0)),    # Sat Feb 14 make-up day
    (sh(2026, 2, 14, 17, 0), 2 * H, sh(2026, 2, 24, 10, 0)),    # Spring Festival Feb 15–23
    (sh(2026, 2, 27, 17, 0), 2 * H, sh(2026, 2, 28, 10, 0)),    # Sat Feb 28 make-up day
    (sh(2025, 12, 31, 17, 0), 2 * H, sh(2026, 1, 4, 10, 0)),    # year end: Jan 1–3 off, Sun Jan 4 on
    (sh(2026, 10, 3, 10, 0), 0 * H, sh(2026, 10, 8, 9, 0)),     # zero inside a holiday
    # 30 business days across the Spring Festival and both of its make-up Saturdays
    (sh(2026, 2, 2, 9, 0), 30 * (7 * H + 30 * M), sh(2026, 3, 19, 18, 0)),
])
def test_due_times_with_chinese_holidays(start, duration, due):
    cal = office()
    assert add_business_time(cal, start, duration) == due
    assert business_time_between(cal, start, due) == duration


def test_without_holidays_the_same_days_use_the_weekly_hours():
    cal = weekly("Asia/Shanghai", OFFICE)
    assert add_business_time(cal, sh(2026, 9, 30, 17, 0), 2 * H) == sh(2026, 10, 1, 10, 0)
    assert not is_open(cal, sh(2026, 10, 10, 10, 0))


def test_elapsed_over_the_national_day_week():
    cal = office()
    # Sep 30 and Oct 8 count, Oct 1–7 do not; Oct 9 09:00 is the end.
    assert business_time_between(cal, sh(2026, 9, 30, 9), sh(2026, 10, 9, 9)) == 15 * H
    assert business_time_between(cal, sh(2026, 10, 2, 9), sh(2026, 10, 6, 18)) == timedelta(0)


def test_is_open_and_next_open_at_the_boundaries():
    cal = office()
    assert is_open(cal, sh(2026, 11, 23, 9, 0))
    assert is_open(cal, sh(2026, 11, 23, 17, 59, 59, 999999))
    assert not is_open(cal, sh(2026, 11, 23, 18, 0))
    assert not is_open(cal, sh(2026, 11, 23, 12, 0))
    assert is_open(cal, sh(2026, 10, 10, 9, 0))            # make-up Saturday
    assert not is_open(cal, sh(2026, 10, 5, 10, 0))        # National Day
    assert next_open(cal, sh(2026, 11, 23, 12, 0)) == sh(2026, 11, 23, 13, 30)
    assert next_open(cal, sh(2026, 10, 1, 0, 0)) == sh(2026, 10, 8, 9, 0)
    at = sh(2026, 11, 23, 10, 0)
    assert next_open(cal, at) is at


def test_make_up_days_use_make_up_hours_when_set():
    cal = office(makeup_day_hours=(Hours.parse("10:00", "16:00"),))
    assert not is_open(cal, sh(2026, 10, 10, 9, 30))
    assert add_business_time(cal, sh(2026, 10, 9, 17, 0), 2 * H) == sh(2026, 10, 10, 11, 0)
    assert business_time_between(cal, sh(2026, 10, 10), sh(2026, 10, 11)) == 6 * H


def test_make_up_day_on_a_weekday_without_hours_uses_the_first_weekday_hours():
    # A desk open Monday to Friday only; Sat Oct 10 has no own hours: it works Monday's.
    cal = office()
    assert business_time_between(cal, sh(2026, 10, 10), sh(2026, 10, 11)) == 7 * H + 30 * M


def test_weekend_desk_keeps_its_own_hours_on_make_up_days_and_closes_on_holidays():
    hours = dict(OFFICE, saturday=[("10:00", "14:00")], sunday=[("10:00", "14:00")])
    cal = weekly("Asia/Shanghai", hours, chinese_holidays=True)
    assert business_time_between(cal, sh(2026, 10, 10), sh(2026, 10, 11)) == 4 * H   # make-up Sat
    assert business_time_between(cal, sh(2026, 11, 21), sh(2026, 11, 22)) == 4 * H   # plain Sat
    assert business_time_between(cal, sh(2026, 10, 3), sh(2026, 10, 4)) == timedelta(0)  # holiday Sat


# ---------------------------------------------------------------- overnight

NIGHT = {d: [("22:00", "06:00+1")] for d in WEEKDAYS}


def test_overnight_interval_runs_into_the_next_day():
    cal = weekly("Asia/Shanghai", NIGHT)
    # Tue 05:00 is inside Monday's shift: 1 h until 06:00, then Tuesday 22:00 + 1 h.
    assert add_business_time(cal, sh(2026, 11, 24, 5, 0), 2 * H) == sh(2026, 11, 24, 23, 0)
    assert is_open(cal, sh(2026, 11, 24, 0, 0))
    assert not is_open(cal, sh(2026, 11, 24, 6, 0))
    assert add_business_time(cal, sh(2026, 11, 23, 22, 0), 8 * H) == sh(2026, 11, 24, 6, 0)
    assert business_time_between(cal, sh(2026, 11, 23), sh(2026, 11, 30)) == 7 * 8 * H


def test_overnight_shift_belongs_to_the_day_it_starts_on():
    cal = weekly("Asia/Shanghai", NIGHT, chinese_holidays=True)
    # Sep 30's shift runs to Oct 1 06:00; no shift starts Oct 1–7; Oct 8 22:00 is next.
    assert add_business_time(cal, sh(2026, 10, 1, 5, 0), 2 * H) == sh(2026, 10, 8, 23, 0)
    assert not is_open(cal, sh(2026, 10, 8, 2, 0))          # Oct 7's shift did not start


def test_cross_midnight_equals_two_intervals_on_consecutive_days():
    one = weekly("Asia/Shanghai", {d: [("22:00", "06:00+1")] for d in WEEKDAYS[:5]})
    split = {d: [("22:00", "24:00")] for d in WEEKDAYS[:5]}
    for d in WEEKDAYS[1:6]:
        split[d] = [("00:00", "06:00")] + split.get(d, [])
    two = weekly("Asia/Shanghai", split)
    rng = random.Random(7)
    for _ in range(200):
        start = sh(2026, 11, 2) + timedelta(minutes=rng.randrange(0, 14 * 24 * 60))
        duration = timedelta(minutes=rng.randrange(0, 40 * 60))
        assert add_business_time(one, start, duration) == add_business_time(two, start, duration)


def test_sunday_night_shift_wraps_into_monday():
    cal = weekly("Asia/Shanghai", {"sunday": [("20:00", "02:00+1")],
                                   "monday": [("09:00", "10:00")]})
    assert add_business_time(cal, sh(2026, 11, 22, 23, 0), 4 * H) == sh(2026, 11, 23, 10, 0)


def test_an_interval_may_end_at_midnight():
    cal = weekly("Asia/Shanghai", {"monday": [("18:00", "24:00")]})
    assert add_business_time(cal, sh(2026, 11, 23, 18), 6 * H) == sh(2026, 11, 24, 0, 0)
    assert not is_open(cal, sh(2026, 11, 24, 0, 0))


# ---------------------------------------------------------------- pauses

def test_pause_over_closed_hours_only_removes_business_time():
    cal = office()
    pause = [(sh(2026, 11, 23, 17, 0), sh(2026, 11, 24, 10, 0))]    # 1 h + 1 h of business time
    due = add_business_time(cal, sh(2026, 11, 23, 9, 0), 8 * H, pause)
    assert due == sh(2026, 11, 24, 11, 30)
    assert business_time_between(cal, sh(2026, 11, 23, 9), due, pause) == 8 * H
    assert business_time_between(cal, sh(2026, 11, 23, 9), due) == 10 * H


def test_overlapping_pauses_count_once():
    cal = office()
    pauses = [(sh(2026, 11, 23, 10), sh(2026, 11, 23, 11)),
              (sh(2026, 11, 23, 10, 30), sh(2026, 11, 23, 11, 30))]
    assert business_time_between(cal, sh(2026, 11, 23, 9), sh(2026, 11, 23, 12), pauses) == 90 * M


def test_open_pause_runs_to_the_end_of_the_range():
    cal = office()
    pauses = [(sh(2026, 11, 23, 16, 0), None)]
    elapsed = business_time_between(cal, sh(2026, 11, 23, 9), sh(2026, 11, 23, 17, 30), pauses)
    assert elapsed == 5 * H + 30 * M
    with pytest.raises(ValueError, match="open pause"):
        add_business_time(cal, sh(2026, 11, 23, 9), H, pauses)


def test_a_pause_at_the_start_delays_the_start():
    cal = office()
    pauses = [(sh(2026, 11, 23, 8), sh(2026, 11, 23, 10))]
    assert add_business_time(cal, sh(2026, 11, 23, 9), 0 * H, pauses) == sh(2026, 11, 23, 10)


# ---------------------------------------------------------------- time zones and DST

BERLIN_OFFICE = {d: [("09:00", "17:00")] for d in WEEKDAYS[:5]}


def test_berlin_calendar_with_utc_inputs_across_spring_forward():
    cal = weekly("Europe/Berlin", BERLIN_OFFICE)
    start = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)          # Fri 16:00 CET
    due = add_business_time(cal, start, 2 * H)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)      # Mon 10:00 CEST
    assert due.tzinfo == BERLIN and due.hour == 10
    assert business_time_between(cal, datetime(2026, 3, 27, 8, tzinfo=UTC),
                                 datetime(2026, 3, 30, 7, tzinfo=UTC)) == 8 * H


def test_berlin_days_are_23_and_25_hours_long_on_dst_sundays():
    cal = weekly("Europe/Berlin", {d: [("00:00", "24:00")] for d in WEEKDAYS})
    b = lambda *a: datetime(*a, tzinfo=BERLIN)  # noqa: E731
    assert business_time_between(cal, b(2026, 3, 29), b(2026, 3, 30)) == 23 * H
    assert business_time_between(cal, b(2026, 10, 25), b(2026, 10, 26)) == 25 * H
    assert add_business_time(cal, b(2026, 3, 29), 23 * H) == b(2026, 3, 30)
    assert add_business_time(cal, datetime(2026, 10, 24, 22, tzinfo=UTC), 25 * H) == \
        datetime(2026, 10, 25, 23, tzinfo=UTC)                # Oct 26 00:00 CET


def test_hours_inside_the_spring_forward_gap():
    # Sunday 01:00–04:00 on Mar 29 2026: 01:00 CET (00:00Z) to 04:00 CEST (02:00Z) is 2 h.
    cal = weekly("Europe/Berlin", {"sunday": [("01:00", "04:00")]})
    assert business_time_between(cal, datetime(2026, 3, 28, tzinfo=UTC),
                                 datetime(2026, 3, 30, tzinfo=UTC)) == 2 * H
    gap = weekly("Europe/Berlin", {"sunday": [("02:00", "03:00")], "monday": [("09:00", "10:00")]})
    assert add_business_time(gap, datetime(2026, 3, 28, tzinfo=UTC), 30 * M) == \
        datetime(2026, 3, 30, 7, 30, tzinfo=UTC)           # the gap hour never opens


def test_shanghai_inputs_in_other_zones_mean_the_same_instant():
    cal = office()
    start_utc = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)     # 09:00 in Shanghai
    assert add_business_time(cal, start_utc, 3 * H) == sh(2026, 11, 23, 12, 0)
    assert add_business_time(cal, start_utc, 3 * H).utcoffset() == 8 * H


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        add_business_time(office(), datetime(2026, 11, 23, 9), H)


# ---------------------------------------------------------------- closures and extra days

def test_closures_and_extra_open_days():
    cal = office(closures=(Closure(date(2026, 11, 25), date(2026, 11, 26), "move"),
                           Closure(sh(2026, 11, 23, 14, 0), sh(2026, 11, 23, 15, 0))),
                 extra_open_days=(date(2026, 11, 28),))
    # Mon: 3 h + 4.5 h - 1 h closed = 6.5 h; Tue 7.5 h; Wed/Thu closed; Fri 7.5 h; Sat extra 7.5 h.
    assert business_time_between(cal, sh(2026, 11, 23), sh(2026, 11, 30)) == 29 * H
    assert add_business_time(cal, sh(2026, 11, 24, 17), 2 * H) == sh(2026, 11, 27, 10, 0)
    assert is_open(cal, sh(2026, 11, 28, 9)) and not is_open(cal, sh(2026, 11, 23, 14, 30))


def test_extra_open_day_inside_a_holiday():
    cal = office(extra_open_days=(date(2026, 10, 5),))
    assert add_business_time(cal, sh(2026, 9, 30, 17), 2 * H) == sh(2026, 10, 5, 10, 0)


def test_a_calendar_closed_for_more_than_ten_years_gives_up():
    cal = weekly("Asia/Shanghai", {"monday": [("09:00", "10:00")]},
                 closures=(Closure(date(2026, 1, 1), date(2034, 12, 31)),
                           Closure(date(2035, 1, 1), date(2040, 12, 31))))
    assert problems(cal) == []
    with pytest.raises(ValueError, match="no open time"):
        add_business_time(cal, sh(2026, 1, 1), H)


def test_an_invalid_calendar_is_refused_by_the_functions():
    with pytest.raises(ValueError, match="time_zone"):
        add_business_time(weekly("Mars/Olympus", OFFICE), sh(2026, 11, 23), H)


# ---------------------------------------------------------------- property-style

CALENDARS = [
    office(),
    weekly("Asia/Shanghai", NIGHT, chinese_holidays=True),
    weekly("Europe/Berlin", BERLIN_OFFICE, closures=(Closure(date(2026, 12, 24), date(2026, 12, 26)),)),
    weekly("Europe/Berlin", {d: [("00:00", "24:00")] for d in WEEKDAYS}),
    weekly("America/New_York", {d: [("01:30", "03:00"), ("08:00", "20:00")] for d in WEEKDAYS[:6]}),
]


@pytest.mark.parametrize("cal", CALENDARS, ids=["office", "night", "berlin", "berlin24", "ny"])
def test_add_and_between_are_inverse_and_monotonic(cal):
    rng = random.Random(20261127)
    origin = datetime(2025, 12, 1, tzinfo=UTC)
    for _ in range(300):
        start = origin + timedelta(seconds=rng.randrange(0, 365 * 86400), microseconds=rng.randrange(10**6))
        d1 = timedelta(seconds=rng.randrange(0, 40 * 3600))
        d2 = d1 + timedelta(seconds=rng.randrange(0, 8 * 3600))
        pauses = []
        if rng.random() < 0.5:
            ps = start + timedelta(seconds=rng.randrange(0, 5 * 86400))
            pauses.append((ps, ps + timedelta(seconds=rng.randrange(1, 3 * 86400))))
        due1 = add_business_time(cal, start, d1, pauses)
        due2 = add_business_time(cal, start, d2, pauses)
        assert business_time_between(cal, start, due1, pauses) == d1
        assert business_time_between(cal, start, due2, pauses) == d2
        assert start <= due1 <= due2
        if d1 > timedelta(0):                # the due instant is inside open, unpaused time
            just_before = due1 - timedelta(microseconds=1)
            assert business_time_between(cal, start, just_before, pauses) == d1 - timedelta(microseconds=1)


# ---------------------------------------------------------------- validation

def cal_with(**changes):
    base = dict(time_zone="Asia/Shanghai", week=office().week)
    base.update(changes)
    return BusinessCalendar(**base)


def week_of(**days):
    return tuple(tuple(Hours.parse(s, e) for s, e in days.get(d, ())) for d in WEEKDAYS)


def test_a_good_calendar_has_no_problems():
    assert problems(office(), years=(2026,)) == []


@pytest.mark.parametrize("cal, code", [
    (cal_with(time_zone="Asia/Peking"), "bad_time_zone"),
    (cal_with(time_zone="../etc/passwd"), "bad_time_zone"),
    (cal_with(week=week_of(monday=[("09:00", "12:00"), ("11:00", "13:00")])), "interval_overlap"),
    (cal_with(week=week_of(monday=[("08:00", "20:00"), ("09:00", "10:00"), ("11:00", "12:00")])),
     "interval_overlap"),
    (cal_with(week=week_of(monday=[("18:00", "09:00")])), "interval_reversed"),
    (cal_with(week=week_of(monday=[("09:00", "09:00")])), "interval_reversed"),
    (cal_with(week=(((Hours(600, 2100),),) + ((),) * 6)), "bad_interval"),    # > 24 h
    (cal_with(week=((),) * 6), "week_not_seven_days"),
    (cal_with(week=week_of(monday=[("22:00", "06:00+1")], tuesday=[("05:00", "09:00")])),
     "interval_overlap"),
    (cal_with(week=week_of(sunday=[("22:00", "06:00+1")], monday=[("05:00", "09:00")])),
     "interval_overlap"),
    (cal_with(week=((),) * 7), "no_hours"),
    (cal_with(makeup_day_hours=(Hours.parse("09:00", "12:00"), Hours.parse("10:00", "11:00"))),
     "interval_overlap"),
    (cal_with(closures=(Closure(date(2026, 10, 1), date(2026, 10, 3)),
                        Closure(date(2026, 10, 3), date(2026, 10, 5)))), "closure_overlap"),
    (cal_with(closures=(Closure(date(2026, 10, 1), date(2026, 10, 3)),
                        Closure(sh(2026, 10, 3, 20), sh(2026, 10, 4, 2)))), "closure_overlap"),
    (cal_with(closures=(Closure(date(2026, 10, 5), date(2026, 10, 1)),)), "closure_reversed"),
    (cal_with(closures=(Closure(sh(2026, 10, 5), sh(2026, 10, 5)),)), "closure_reversed"),
    (cal_with(closures=(Closure(date(2026, 10, 1), sh(2026, 10, 5)),)), "closure_mixed"),
    (cal_with(closures=(Closure(datetime(2026, 10, 1), datetime(2026, 10, 2)),)), "closure_naive"),
    (cal_with(closures=(Closure(date(2026, 1, 1), date(2040, 1, 1)),)), "closure_too_long"),
    (cal_with(closures=(Closure(date(2026, 10, 1), date(2026, 10, 3)),),
              extra_open_days=(date(2026, 10, 2),)), "open_day_closed"),
])
def test_contradictory_calendars_are_rejected_with_reasons(cal, code):
    found = problems(cal)
    assert code in [p.code for p in found]
    assert all(p.severity == "error" and p.message and p.path for p in found)


def test_adjacent_intervals_and_closures_are_fine():
    cal = cal_with(week=week_of(monday=[("09:00", "12:00"), ("12:00", "13:00")],
                                sunday=[("22:00", "06:00+1")], tuesday=[("06:00", "07:00")]),
                   closures=(Closure(date(2026, 10, 1), date(2026, 10, 3)),
                             Closure(date(2026, 10, 4), date(2026, 10, 5))))
    assert problems(cal) == []


def test_messages_name_the_offending_intervals():
    found = problems(cal_with(week=week_of(monday=[("09:00", "12:00"), ("11:00", "13:00")])))
    assert found[0].path == "week"
    assert found[0].message == "monday 09:00–12:00 overlaps monday 11:00–13:00"
    found = problems(cal_with(week=week_of(friday=[("18:00", "09:00")])))
    assert found[0].path == "week.friday[0]"
    assert "09:00+1" not in found[0].message and "HH:MM+1" in found[0].message


def test_years_without_holiday_data_are_a_warning_naming_the_supported_years():
    found = problems(office(), years=(2026, CN_YEARS[1] + 1))
    assert [(p.code, p.severity) for p in found] == [("holiday_years_missing", "warning")]
    assert f"covers 2004–{CN_YEARS[1]} only; {CN_YEARS[1] + 1}" in found[0].message
    # ...and the weekly hours apply there: 2027-01-01 is a Friday, open by the week.
    if CN_YEARS[1] == 2026:
        assert add_business_time(office(), sh(2026, 12, 31, 17), 2 * H) == sh(2027, 1, 1, 10, 0)


def test_weekend_only_desk_with_holidays_warns_about_make_up_days():
    cal = weekly("Asia/Shanghai", {"saturday": [("10:00", "14:00")]}, chinese_holidays=True)
    assert [(p.code, p.severity) for p in problems(cal)] == [("no_makeup_hours", "warning")]


@pytest.mark.parametrize("text", ["25:00", "9", "09:60", "24:01", "24:00+1x"])
def test_bad_times_of_day_are_refused(text):
    with pytest.raises(ValueError, match="time of day"):
        Hours.parse("09:00", text)


def test_start_cannot_be_24_00_or_next_day():
    with pytest.raises(ValueError):
        Hours.parse("24:00", "24:00")
    with pytest.raises(ValueError):
        Hours.parse("01:00+1", "02:00+1")
    assert Hours.parse("22:00", "06:00+1") == Hours(22 * 60, 30 * 60)
    assert str(Hours(22 * 60, 30 * 60)) == "22:00–06:00+1"
