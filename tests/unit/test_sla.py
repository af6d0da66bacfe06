"""Where a ticket stands against its SLA (rules/sla.py), on an office calendar in Shanghai:
Monday to Friday 09:00–12:00 and 13:30–18:00, Chinese holidays. 2026-11-23 is a Monday."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from appliance.rules.business_calendar import CN_YEARS, WEEKDAYS, Closure, weekly
from appliance.rules.sla import SlaTargets, TargetState, evaluate

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
M = timedelta(minutes=1)
CAL = weekly("Asia/Shanghai", {d: [("09:00", "12:00"), ("13:30", "18:00")] for d in WEEKDAYS[:5]},
             chinese_holidays=True)
CREATED = datetime(2026, 11, 23, 9, 0, tzinfo=SH)


def sh(*args):
    return datetime(*args, tzinfo=SH)


def first(now, **kw):
    return evaluate(CAL, SlaTargets(first_response=4 * H), CREATED, now=now, **kw).first_response


def test_running_first_response_below_the_threshold():
    assert first(sh(2026, 11, 23, 10, 0)) == TargetState(
        due_at=sh(2026, 11, 23, 14, 30), elapsed=1 * H, remaining=3 * H, breached=False,
        warning=None, paused=False, done=False)


def test_warning_at_75_percent():
    state = first(sh(2026, 11, 23, 13, 30))            # 3 h of 4 h (lunch does not count)
    assert state.warning == 0.75 and not state.breached and state.remaining == 1 * H


def test_the_highest_threshold_crossed_is_reported():
    state = evaluate(CAL, SlaTargets(first_response=4 * H), CREATED, now=sh(2026, 11, 23, 14, 15),
                     warn_at=(0.9, 0.5, 0.75)).first_response
    assert state.warning == 0.9 and state.remaining == 15 * M


def test_due_exactly_now_is_not_yet_breached():
    state = first(sh(2026, 11, 23, 14, 30))
    assert state.remaining == timedelta(0) and not state.breached and state.warning == 0.75


def test_breached_after_the_due_time():
    state = first(sh(2026, 11, 23, 15, 0))
    assert state.breached and state.remaining == -30 * M and state.warning is None
    assert state.due_at == sh(2026, 11, 23, 14, 30)


def test_overdue_at_night_even_though_no_business_time_passes():
    state = evaluate(CAL, SlaTargets(first_response=7 * H + 30 * M), CREATED,
                     now=sh(2026, 11, 23, 20, 0)).first_response
    assert state.due_at == sh(2026, 11, 23, 18, 0)
    assert state.breached and state.remaining == timedelta(0)


def test_not_due_at_night_when_the_time_runs_into_tomorrow():
    state = evaluate(CAL, SlaTargets(first_response=9 * H), CREATED,
                     now=sh(2026, 11, 23, 20, 0)).first_response
    assert state.due_at == sh(2026, 11, 24, 10, 30) and not state.breached
    assert state.elapsed == 7 * H + 30 * M


def test_answered_in_time():
    state = first(sh(2026, 11, 24, 12, 0), first_response_at=sh(2026, 11, 23, 11, 0))
    assert state == TargetState(due_at=sh(2026, 11, 23, 14, 30), elapsed=2 * H, remaining=2 * H,
                                breached=False, warning=None, paused=False, done=True)


def test_answered_late_stays_breached_with_the_overrun():
    state = first(sh(2026, 11, 25, 12, 0), first_response_at=sh(2026, 11, 24, 9, 30))
    assert state.done and state.breached
    assert state.elapsed == 8 * H and state.remaining == -4 * H


def test_created_on_a_holiday_counts_from_the_next_working_day():
    state = evaluate(CAL, SlaTargets(first_response=4 * H), sh(2026, 10, 2, 15, 0),
                     now=sh(2026, 10, 8, 10, 0)).first_response
    assert state.due_at == sh(2026, 10, 8, 14, 30) and state.elapsed == 1 * H


def test_open_pause_freezes_the_clock_and_hides_the_due_time():
    targets = SlaTargets(resolution=4 * H)
    state = evaluate(CAL, targets, CREATED, pauses=[(sh(2026, 11, 23, 11, 0), None)],
                     now=sh(2026, 11, 23, 16, 0)).resolution
    assert state == TargetState(due_at=None, elapsed=2 * H, remaining=2 * H, breached=False,
                                warning=None, paused=True, done=False)


def test_a_pause_does_not_hide_a_breach_that_came_before_it():
    state = evaluate(CAL, SlaTargets(resolution=1 * H), CREATED,
                     pauses=[(sh(2026, 11, 23, 11, 0), None)], now=sh(2026, 11, 23, 16, 0)).resolution
    assert state.paused and state.breached and state.due_at == sh(2026, 11, 23, 10, 0)
    assert state.elapsed == 2 * H


def test_ended_pause_over_the_night_moves_the_due_time():
    pauses = [(sh(2026, 11, 23, 17, 0), sh(2026, 11, 24, 10, 0))]
    state = evaluate(CAL, SlaTargets(resolution=8 * H), CREATED, pauses=pauses,
                     now=sh(2026, 11, 24, 11, 0)).resolution
    assert state.due_at == sh(2026, 11, 24, 11, 30) and not state.paused
    assert state.elapsed == 7 * H + 30 * M and state.warning == 0.75


def test_a_pause_that_has_not_started_yet_is_ignored():
    state = evaluate(CAL, SlaTargets(resolution=4 * H), CREATED,
                     pauses=[(sh(2026, 11, 23, 15, 0), None)], now=sh(2026, 11, 23, 10, 0)).resolution
    assert not state.paused and state.due_at == sh(2026, 11, 23, 14, 30)


def test_next_response_waits_for_the_agent():
    state = evaluate(CAL, SlaTargets(next_response=2 * H), CREATED,
                     first_response_at=sh(2026, 11, 23, 9, 30),
                     last_customer_message_at=sh(2026, 11, 23, 17, 0),
                     last_agent_reply_at=sh(2026, 11, 23, 9, 30),
                     now=sh(2026, 11, 24, 9, 30)).next_response
    assert state == TargetState(due_at=sh(2026, 11, 24, 10, 0), elapsed=90 * M, remaining=30 * M,
                                breached=False, warning=0.75, paused=False, done=False)


def test_next_response_answered():
    state = evaluate(CAL, SlaTargets(next_response=2 * H), CREATED,
                     first_response_at=sh(2026, 11, 23, 9, 30),
                     last_customer_message_at=sh(2026, 11, 23, 17, 0),
                     last_agent_reply_at=sh(2026, 11, 24, 9, 45),
                     now=sh(2026, 11, 24, 15, 0)).next_response
    assert state.done and not state.breached and state.elapsed == 105 * M


def test_next_response_does_not_run_before_the_first_response_or_without_a_new_message():
    targets = SlaTargets(first_response=4 * H, next_response=2 * H)
    before = evaluate(CAL, targets, CREATED, last_customer_message_at=sh(2026, 11, 23, 9, 10),
                      now=sh(2026, 11, 23, 10))
    assert before.next_response is None and before.first_response is not None
    answered = evaluate(CAL, targets, CREATED, first_response_at=sh(2026, 11, 23, 9, 30),
                        last_customer_message_at=sh(2026, 11, 23, 9, 10), now=sh(2026, 11, 23, 10))
    assert answered.next_response is None


def test_resolution_done_and_first_response_stops_at_resolution():
    state = evaluate(CAL, SlaTargets(first_response=4 * H, resolution=16 * H), CREATED,
                     resolved_at=sh(2026, 11, 24, 10, 0), now=sh(2026, 11, 26, 10, 0))
    assert state.resolution.done and state.resolution.elapsed == 8 * H + 30 * M
    assert state.resolution.due_at == sh(2026, 11, 25, 10, 0) and not state.resolution.breached
    assert state.first_response.done and state.first_response.breached


def test_targets_not_set_give_no_state():
    state = evaluate(CAL, SlaTargets(), CREATED, now=sh(2026, 11, 23, 10))
    assert (state.first_response, state.next_response, state.resolution) == (None, None, None)


def test_a_stamp_before_creation_counts_as_zero():
    state = first(sh(2026, 11, 23, 10), first_response_at=sh(2026, 11, 23, 8))
    assert state.done and state.elapsed == timedelta(0) and not state.breached


def test_national_day_and_its_make_up_saturday():
    # Created Wed Sep 30 16:00, 16 h to resolve: Sep 30 2 h, Oct 8 7.5 h, Oct 9 7.5 h (17 h);
    # 16 h is reached on Fri Oct 9 17:00 — with the make-up Saturday after it unused.
    state = evaluate(CAL, SlaTargets(resolution=16 * H), sh(2026, 9, 30, 16, 0),
                     now=sh(2026, 10, 5, 12, 0)).resolution
    assert state.due_at == sh(2026, 10, 9, 17, 0) and state.elapsed == 2 * H


def test_closures_apply_to_slas():
    cal = weekly("Asia/Shanghai", {d: [("09:00", "18:00")] for d in WEEKDAYS[:5]},
                 closures=(Closure(date(2026, 11, 24), date(2026, 11, 24)),))
    state = evaluate(cal, SlaTargets(resolution=10 * H), CREATED, now=CREATED).resolution
    assert state.due_at == sh(2026, 11, 25, 10, 0)


def test_years_without_holiday_data_are_reported():
    state = evaluate(CAL, SlaTargets(resolution=16 * H), sh(2026, 12, 30, 9, 0),
                     now=sh(2026, 12, 30, 10, 0))
    if CN_YEARS[1] == 2026:
        assert [w.code for w in state.warnings] == ["holiday_years_missing"]
        assert state.resolution.due_at == sh(2027, 1, 1, 10, 0)   # weekly hours in 2027
    near = evaluate(CAL, SlaTargets(resolution=H), sh(2026, 11, 23, 9), now=sh(2026, 11, 23, 10))
    assert near.warnings == ()


def test_bad_arguments():
    with pytest.raises(ValueError, match="now"):
        evaluate(CAL, SlaTargets(resolution=H), CREATED)
    with pytest.raises(ValueError, match="fractions"):
        evaluate(CAL, SlaTargets(resolution=H), CREATED, now=CREATED, warn_at=(75,))
    with pytest.raises(ValueError, match="positive"):
        evaluate(CAL, SlaTargets(resolution=timedelta(0)), CREATED, now=CREATED)
