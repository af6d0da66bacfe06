"""Routing rules (appliance.rules.routing): eligibility, score, strategies, weights,
overflow cycles, shifts and the presence shown on the board. Pure functions only."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from appliance.rules.routing import (COMPONENTS, DEFAULT_WEIGHTS, REASONS, SHRINK_TICKETS,
                                     AgentState, Efficiency, TicketNeeds, effective_presence,
                                     efficiency_score, exclusion, normalise_weights, on_shift,
                                     overflow_cycle, permission_problem, rank, score_parts,
                                     ticket_weight, unit_weight_errors, weight_errors,
                                     SHARE_GUARD, over_share)

T = TicketNeeds(ticket_id=1)
MON = dt.datetime(2024, 6, 3)  # a Monday
SUN = dt.datetime(2024, 6, 9)  # a Sunday


def agent(user_id=1, **kw) -> AgentState:
    return AgentState(user_id=user_id, name=f"a{user_id}", **kw)


def needs(**kw) -> TicketNeeds:
    return TicketNeeds(ticket_id=1, **kw)


def order(ranking):
    return [c.user_id for c in ranking.candidates]


# --- exclusion ----------------------------------------------------------------------------------

@pytest.mark.parametrize("presence", ["offline", "away", "busy"])
def test_an_agent_who_is_not_online_is_excluded_with_their_presence_as_reason(presence):
    assert exclusion(T, agent(presence=presence)) == presence


def test_an_online_agent_with_room_and_no_restrictions_may_take_a_ticket():
    assert exclusion(T, agent()) is None


def test_an_agent_off_shift_or_on_a_break_is_excluded():
    assert exclusion(T, agent(on_shift=False)) == "off_shift"
    assert exclusion(T, agent(on_break=True)) == "on_break"


def test_the_first_applicable_reason_is_reported_in_the_documented_order():
    a = agent(presence="away", on_shift=False, on_break=True, load=10, capacity=1,
              allowed_category_ids=frozenset({9}))
    assert exclusion(needs(category_id=1), a) == "away"
    assert exclusion(needs(category_id=1), agent(on_shift=False, on_break=True)) == "off_shift"
    assert exclusion(needs(category_id=1), agent(on_break=True, load=5, capacity=5)) == "on_break"
    assert exclusion(needs(category_id=1), agent(load=5, capacity=5,
                                                 allowed_category_ids=frozenset({9}))) \
        == "at_capacity"
    assert REASONS[:6] == ("offline", "away", "busy", "off_shift", "on_break", "at_capacity")


def test_capacity_counts_the_load_units_of_the_ticket_itself():
    assert exclusion(needs(weight=1), agent(load=2, capacity=3)) is None
    assert exclusion(needs(weight=1), agent(load=3, capacity=3)) == "at_capacity"
    assert exclusion(needs(weight=2), agent(load=2, capacity=3)) == "at_capacity"
    assert exclusion(needs(weight=1.5), agent(load=1.5, capacity=3)) is None
    assert exclusion(needs(weight=1), agent(load=0, capacity=0)) == "at_capacity"


def test_float_load_units_that_exactly_fill_the_capacity_are_allowed():
    # 0.1 + 0.2 != 0.3 in binary floating point; the rule must not call that over capacity.
    assert exclusion(needs(weight=0.2), agent(load=0.1, capacity=0.3)) is None


def test_category_restriction_allows_only_the_listed_categories():
    a = agent(allowed_category_ids=frozenset({1, 2}))
    assert exclusion(needs(category_id=2), a) is None
    assert exclusion(needs(category_id=3), a) == "category_not_allowed"
    assert exclusion(needs(category_id=None), a) == "category_not_allowed"
    assert exclusion(needs(category_id=3), agent()) is None  # empty list: any


def test_customer_restriction_allows_only_the_listed_customers():
    a = agent(allowed_customer_ids=frozenset({7}))
    assert exclusion(needs(customer_id=7), a) is None
    assert exclusion(needs(customer_id=8), a) == "customer_not_allowed"
    assert exclusion(needs(customer_id=None), a) == "customer_not_allowed"


def test_vip_tickets_need_an_agent_allowed_for_that_tier_or_for_all_tiers():
    gold = needs(vip_tier="vip-gold")
    assert exclusion(gold, agent()) is None  # default: "*"
    assert exclusion(gold, agent(vip_tiers=frozenset({"vip-gold"}))) is None
    assert exclusion(gold, agent(vip_tiers=frozenset({"vip"}))) == "vip_not_allowed"
    assert exclusion(gold, agent(vip_tiers=frozenset())) == "vip_not_allowed"
    assert exclusion(needs(vip_tier=""), agent(vip_tiers=frozenset())) is None  # not VIP


def test_every_required_skill_must_be_held_at_its_minimum_level():
    t = needs(required_skills={"repair": 3, "zh": 1})
    assert exclusion(t, agent(skills={"repair": 3, "zh": 1})) is None
    assert exclusion(t, agent(skills={"repair": 5, "zh": 2})) is None
    assert exclusion(t, agent(skills={"repair": 2, "zh": 1})) == "missing_skill"
    assert exclusion(t, agent(skills={"repair": 4})) == "missing_skill"
    assert exclusion(needs(), agent(skills={})) is None


def test_permission_problems_ignore_presence_and_load():
    t = needs(required_skills={"repair": 1})
    assert permission_problem(t, agent(presence="offline", load=99, capacity=1,
                                       skills={"repair": 1})) is None
    assert permission_problem(t, agent(presence="offline")) == "missing_skill"
    assert permission_problem(needs(category_id=1, vip_tier="vip"),
                              agent(allowed_category_ids=frozenset({2}),
                                    vip_tiers=frozenset())) == "category_not_allowed"


def test_rank_counts_the_excluded_agents_by_reason():
    r = rank(needs(required_skills={"x": 1}),
             [agent(1, presence="offline"), agent(2, presence="offline"), agent(3),
              agent(4, skills={"x": 1})])
    assert order(r) == [4]
    assert r.excluded == {"offline": 2, "missing_skill": 1}
    assert r.best.user_id == 4


def test_with_nobody_eligible_the_ranking_has_no_best():
    r = rank(T, [agent(1, on_break=True)])
    assert r.best is None and r.candidates == () and r.excluded == {"on_break": 1}


# --- score components --------------------------------------------------------------------------

def parts(t=T, a=None, reference=None, most_recent=0):
    return score_parts(t, a or agent(), reference, most_recent)


def test_the_score_has_exactly_the_documented_components():
    assert set(parts()) == set(COMPONENTS)
    assert all(0.0 <= v <= 1.0 for v in parts().values())


def test_skill_is_the_mean_level_over_five_of_the_required_skills():
    t = needs(required_skills={"a": 1, "b": 1})
    assert parts(t, agent(skills={"a": 5, "b": 3}))["skill"] == pytest.approx(0.8)
    assert parts(t, agent(skills={"a": 9, "b": 5}))["skill"] == pytest.approx(1.0)  # capped
    assert parts(needs(), agent())["skill"] == 1.0


def test_load_is_the_headroom_left_after_taking_the_ticket():
    assert parts(needs(weight=1), agent(load=3, capacity=8))["load"] == pytest.approx(0.5)
    assert parts(needs(weight=2), agent(load=0, capacity=4))["load"] == pytest.approx(0.5)
    assert parts(needs(weight=1), agent(load=9, capacity=8))["load"] == 0.0
    assert parts(needs(weight=1), agent(capacity=0))["load"] == 0.0


def test_language_matches_when_spoken_or_unknown():
    assert parts(needs(language="en"), agent(languages=frozenset({"zh", "en"})))["language"] == 1
    assert parts(needs(language="en"), agent(languages=frozenset({"zh"})))["language"] == 0
    assert parts(needs(language=""), agent())["language"] == 1


def test_continuity_prefers_the_customers_last_agent_then_earlier_ones():
    t = needs(previous_agents=(5, 6))
    assert parts(t, agent(5))["continuity"] == 1.0
    assert parts(t, agent(6))["continuity"] == 0.5
    assert parts(t, agent(7))["continuity"] == 0.0
    assert parts(needs(), agent(5))["continuity"] == 0.0


def test_fairness_favours_agents_with_fewer_recent_assignments():
    assert parts(a=agent(recent_assignments=2), most_recent=4)["fairness"] == 0.5
    assert parts(a=agent(recent_assignments=4), most_recent=4)["fairness"] == 0.0
    assert parts(a=agent(recent_assignments=0), most_recent=0)["fairness"] == 1.0


def test_efficiency_component_uses_the_median_of_the_candidates_handling_times():
    fast = agent(1, efficiency=Efficiency(100, median_handle_minutes=10))
    slow = agent(2, efficiency=Efficiency(100, median_handle_minutes=40))
    mid = agent(3, efficiency=Efficiency(100, median_handle_minutes=20))
    r = rank(T, [fast, slow, mid], weights={"efficiency": 1})
    by_id = {c.user_id: c.parts["efficiency"] for c in r.candidates}
    assert by_id[1] > by_id[3] > by_id[2]
    assert order(r) == [1, 3, 2]
    assert by_id[3] == pytest.approx(0.5 + 100 / 105 * 0.0)  # at the median: typical


def test_the_skills_score_is_the_weighted_mean_of_the_parts():
    a = agent(skills={"x": 5}, load=0, capacity=4, languages=frozenset({"zh"}))
    t = needs(required_skills={"x": 1}, language="en", weight=1)
    r = rank(t, [a])
    p = r.best.parts
    expected = sum(DEFAULT_WEIGHTS[c] * p[c] for c in COMPONENTS) / sum(DEFAULT_WEIGHTS.values())
    assert r.best.score == pytest.approx(expected, abs=1e-6)
    assert p == {"skill": 1.0, "load": 0.75, "efficiency": 0.5, "language": 0.0,
                 "continuity": 0.0, "fairness": 1.0}


# --- efficiency shrinkage ----------------------------------------------------------------------

def test_efficiency_without_history_is_typical():
    assert efficiency_score(None, 20) == 0.5
    assert efficiency_score(Efficiency(0, 5, 1.0, 0.0, 5.0), 20) == 0.5
    assert efficiency_score(Efficiency(10), 20) == 0.5  # closed some, but no signal


def test_efficiency_is_shrunk_towards_typical_for_few_closed_tickets():
    perfect = dict(fcr_rate=1.0, reopen_rate=0.0, csat=5.0)
    one = efficiency_score(Efficiency(1, **perfect), None)
    half = efficiency_score(Efficiency(SHRINK_TICKETS, **perfect), None)
    many = efficiency_score(Efficiency(1000, **perfect), None)
    assert one == pytest.approx(0.5 + 0.5 * 1 / (1 + SHRINK_TICKETS), abs=1e-6)
    assert half == pytest.approx(0.75)  # counts half at SHRINK_TICKETS closed
    assert 0.5 < one < half < many < 1.0
    bad = efficiency_score(Efficiency(SHRINK_TICKETS, fcr_rate=0.0, reopen_rate=1.0, csat=0.0),
                           None)
    assert bad == pytest.approx(0.25)


def test_efficiency_speed_signal_is_capped_at_twice_as_fast_as_the_reference():
    assert efficiency_score(Efficiency(10 ** 9, median_handle_minutes=1), 100) == \
        pytest.approx(1.0, abs=1e-6)
    assert efficiency_score(Efficiency(10 ** 9, median_handle_minutes=40), 20) == \
        pytest.approx(0.25, abs=1e-6)
    # Without a reference (nobody else has a time) speed is not a signal.
    assert efficiency_score(Efficiency(10 ** 9, median_handle_minutes=40), None) == 0.5


def test_csat_outside_its_scale_is_clamped():
    assert efficiency_score(Efficiency(10 ** 9, csat=9.0), None) == pytest.approx(1.0, abs=1e-6)
    assert efficiency_score(Efficiency(10 ** 9, csat=-3.0), None) == pytest.approx(0.0, abs=1e-6)


# --- strategies ----------------------------------------------------------------------------------

EARLY = dt.datetime(2024, 1, 1, 9)
LATE = dt.datetime(2024, 1, 1, 10)


def test_skills_strategy_prefers_the_better_skilled_agent():
    t = needs(required_skills={"x": 1})
    r = rank(t, [agent(1, skills={"x": 2}), agent(2, skills={"x": 5})], "skills")
    assert order(r) == [2, 1]
    assert r.candidates[0].score > r.candidates[1].score


def test_least_loaded_strategy_ranks_by_load_ratio_not_by_skill():
    t = needs(required_skills={"x": 1})
    a = agent(1, skills={"x": 5}, load=3, capacity=4)
    b = agent(2, skills={"x": 1}, load=1, capacity=4)
    c = agent(3, skills={"x": 1}, load=2, capacity=10)
    r = rank(t, [a, b, c], "least_loaded")
    assert order(r) == [3, 2, 1]
    assert [c.score for c in r.candidates] == pytest.approx([0.8, 0.75, 0.25])


def test_round_robin_strategy_takes_the_least_recently_assigned_agent():
    a = agent(1, last_assigned_at=LATE, skills={"x": 5})
    b = agent(2, last_assigned_at=EARLY)
    c = agent(3, last_assigned_at=None)  # never assigned: first
    assert order(rank(T, [a, b, c], "round_robin")) == [3, 2, 1]


def test_ties_are_broken_by_last_assignment_then_user_id_in_every_strategy():
    same = dict(skills={}, load=1, capacity=4)
    for strategy in ("skills", "least_loaded", "round_robin"):
        r = rank(T, [agent(3, last_assigned_at=LATE, **same),
                     agent(2, last_assigned_at=LATE, **same),
                     agent(1, last_assigned_at=EARLY, **same)], strategy)
        assert order(r) == [1, 2, 3], strategy
        r = rank(T, [agent(9, **same), agent(4, **same)], strategy)
        assert order(r) == [4, 9], strategy


def test_every_strategy_applies_the_same_hard_filters():
    t = needs(required_skills={"x": 1})
    agents = [agent(1, presence="offline", skills={"x": 1}), agent(2, skills={}),
              agent(3, skills={"x": 1}, load=4, capacity=4), agent(4, skills={"x": 1})]
    for strategy in ("skills", "least_loaded", "round_robin"):
        r = rank(t, agents, strategy)
        assert order(r) == [4]
        assert r.excluded == {"offline": 1, "missing_skill": 1, "at_capacity": 1}


def test_custom_weights_change_the_order():
    fluent = agent(1, languages=frozenset({"en"}), skills={"x": 1})
    expert = agent(2, skills={"x": 5})
    t = needs(required_skills={"x": 1}, language="en")
    assert order(rank(t, [fluent, expert], weights={"skill": 1})) == [2, 1]
    assert order(rank(t, [fluent, expert], weights={"language": 1})) == [1, 2]


def test_scores_are_well_defined_with_invalid_stored_weights():
    # Weights stored before validation existed (or edited by hand) must not make the
    # order depend on NaN comparisons or invert the score with negative weights.
    t = needs(required_skills={"x": 1})
    a, b = agent(1, skills={"x": 1}), agent(2, skills={"x": 5})
    for weights in ({"skill": math.nan}, {"skill": 1, "load": -5}, {"skill": "1"},
                    {"skill": True, "load": math.inf}):
        r = rank(t, [a, b], weights=weights)
        assert all(math.isfinite(c.score) for c in r.candidates), weights
        assert order(r) == [2, 1], weights


# --- weights: normalise and validate --------------------------------------------------------------

def test_normalised_weights_sum_to_one_and_missing_components_weigh_nothing():
    w = normalise_weights({"skill": 3, "load": 1})
    assert sum(w.values()) == pytest.approx(1.0)
    assert w["skill"] == pytest.approx(0.75) and w["load"] == pytest.approx(0.25)
    assert w["efficiency"] == w["language"] == w["continuity"] == w["fairness"] == 0
    assert set(w) == set(COMPONENTS)


def test_all_zero_or_empty_weights_fall_back_to_the_defaults():
    assert normalise_weights({c: 0 for c in COMPONENTS}) == pytest.approx(dict(DEFAULT_WEIGHTS))
    assert normalise_weights({}) == pytest.approx(dict(DEFAULT_WEIGHTS))
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)


def test_normalising_ignores_unknown_components_and_invalid_values():
    assert normalise_weights({"skill": 1, "mood": 5}) == pytest.approx(
        {"skill": 1.0, **{c: 0.0 for c in COMPONENTS if c != "skill"}})
    assert normalise_weights([1, 2]) == pytest.approx(dict(DEFAULT_WEIGHTS))
    for bad in (-1, math.nan, math.inf, True, "x", None):
        w = normalise_weights({"skill": 1, "load": bad})
        assert w["skill"] == pytest.approx(1.0) and w["load"] == 0.0, bad
    assert normalise_weights({"skill": -1}) == pytest.approx(dict(DEFAULT_WEIGHTS))


def test_valid_weights_have_no_errors():
    assert weight_errors({"skill": 1, "load": 0.5, "fairness": 0}) == {}
    assert weight_errors(dict(DEFAULT_WEIGHTS)) == {}
    assert weight_errors({"skill": 100}) == {}


@pytest.mark.parametrize("weights, key", [
    ({"skill": -0.1}, "weights.skill"),
    ({"skill": math.nan}, "weights.skill"),
    ({"skill": math.inf}, "weights.skill"),
    ({"skill": 101}, "weights.skill"),
    ({"skill": True}, "weights.skill"),
    ({"skill": "1"}, "weights.skill"),
    ({"skill": None}, "weights.skill"),
    ({"mood": 1}, "weights.mood"),
])
def test_invalid_weights_are_reported_by_component(weights, key):
    assert key in weight_errors(weights)


def test_all_zero_weights_are_an_error():
    assert weight_errors({"skill": 0, "load": 0}) == {
        "weights": "at least one weight must be greater than 0"}
    assert "weights" in weight_errors({})


def test_weights_that_are_not_a_mapping_are_an_error():
    assert set(weight_errors([1, 2])) == {"weights"}
    assert set(weight_errors(None)) == {"weights"}


def test_unit_weights_accept_positive_numbers_up_to_ten_for_known_keys():
    assert unit_weight_errors({"email": 2, "phone": 0.5}, "channel_weights",
                              ("email", "phone", "web")) == {}
    assert unit_weight_errors({1: 2, "4": 0.5}, "priority_weights", ("1", "2", "3", "4")) == {}
    errors = unit_weight_errors({"fax": 1, "web": 0, "phone": 11, "email": True},
                                "channel_weights", ("email", "phone", "web"))
    assert set(errors) == {"channel_weights.fax", "channel_weights.web",
                           "channel_weights.phone", "channel_weights.email"}
    assert "priority_weights.1" in unit_weight_errors({"1": math.nan}, "priority_weights", ("1",))
    assert unit_weight_errors("2", "channel_weights", ()) == {
        "channel_weights": "must be an object"}


# --- ticket weight -----------------------------------------------------------------------------

def test_a_ticket_weighs_its_channel_weight_times_its_priority_weight():
    assert ticket_weight("phone", 1, {"phone": 2}, {"1": 1.5}) == 3.0
    assert ticket_weight("web", 3, {"phone": 2}, {"1": 1.5}) == 1.0  # defaults 1
    assert ticket_weight("phone", 3, {"phone": 2}, {}) == 2.0
    assert ticket_weight("email", 1, {}, {"1": 2}) == 2.0


# --- overflow cycles ---------------------------------------------------------------------------

def test_a_chain_of_overflow_departments_without_a_loop_has_no_cycle():
    assert overflow_cycle({}, 1) is None
    assert overflow_cycle({1: None}, 1) is None
    assert overflow_cycle({1: 2, 2: 3, 3: None}, 1) is None


def test_overflow_cycles_are_found_and_named():
    assert overflow_cycle({1: 1}, 1) == [1, 1]
    assert overflow_cycle({1: 2, 2: 1}, 1) == [1, 2, 1]
    assert overflow_cycle({1: 2, 2: 3, 3: 4, 4: 2}, 1) == [2, 3, 4, 2]
    assert overflow_cycle({1: 2, 2: 3, 3: 1}, 2) == [2, 3, 1, 2]


# --- shifts ------------------------------------------------------------------------------------

def at(day: dt.datetime, hh: int, mm: int = 0) -> dt.datetime:
    return day.replace(hour=hh, minute=mm)


def test_without_shifts_an_agent_is_always_on_shift():
    assert on_shift([], at(SUN, 3))


def test_a_day_shift_covers_its_weekday_from_start_up_to_end():
    shifts = [(0, 9 * 60, 18 * 60)]  # Monday 09:00-18:00
    assert on_shift(shifts, at(MON, 9))
    assert on_shift(shifts, at(MON, 17, 59))
    assert not on_shift(shifts, at(MON, 8, 59))
    assert not on_shift(shifts, at(MON, 18))  # end is exclusive
    assert not on_shift(shifts, at(MON + dt.timedelta(days=1), 10))  # Tuesday


def test_an_overnight_shift_runs_past_midnight_into_the_next_day():
    shifts = [(2, 22 * 60, 6 * 60)]  # Wednesday 22:00 - Thursday 06:00
    wed, thu = MON + dt.timedelta(days=2), MON + dt.timedelta(days=3)
    assert on_shift(shifts, at(wed, 22))
    assert on_shift(shifts, at(wed, 23, 59))
    assert on_shift(shifts, at(thu, 0))
    assert on_shift(shifts, at(thu, 5, 59))
    assert not on_shift(shifts, at(thu, 6))
    assert not on_shift(shifts, at(wed, 5))  # Wednesday morning belongs to Tuesday's shift
    assert not on_shift(shifts, at(thu, 22, 30))


def test_a_sunday_night_shift_ends_on_monday_morning():
    shifts = [(6, 20 * 60, 4 * 60)]
    assert on_shift(shifts, at(SUN, 21))
    assert on_shift(shifts, at(MON + dt.timedelta(days=7), 3))  # the following Monday
    assert not on_shift(shifts, at(MON, 5))
    assert not on_shift(shifts, at(SUN, 3))  # Sunday early morning: Saturday's night


def test_several_shifts_on_one_day_leave_the_gap_between_them_off_shift():
    shifts = [(0, 8 * 60, 12 * 60), (0, 13 * 60, 17 * 60)]
    assert on_shift(shifts, at(MON, 11))
    assert not on_shift(shifts, at(MON, 12, 30))
    assert on_shift(shifts, at(MON, 13))


# --- effective presence ------------------------------------------------------------------------

def test_effective_presence_shows_what_the_board_should_show():
    assert effective_presence("online", 2, 5, True, False) == "online"
    assert effective_presence("online", 5, 5, True, False) == "busy"
    assert effective_presence("online", 6, 5, True, False) == "busy"
    assert effective_presence("online", 0, 5, False, False) == "away"
    assert effective_presence("online", 0, 5, True, True) == "away"
    assert effective_presence("online", 5, 5, False, True) == "away"
    for stored in ("busy", "away", "offline"):
        assert effective_presence(stored, 0, 5, True, False) == stored


# --- the share guard ----------------------------------------------------------------------------

def _expert_and_novice(expert_recent: int, novice_recent: int):
    skilled = needs(required_skills={"repair": 1})
    expert = agent(1, skills={"repair": 5}, recent_assignments=expert_recent, capacity=4)
    novice = agent(2, skills={"repair": 1}, recent_assignments=novice_recent, capacity=4)
    return skilled, [expert, novice]


def test_the_best_agent_far_over_their_capacity_share_is_ranked_after_the_others():
    t, agents = _expert_and_novice(30, 5)  # 30 <= 1.75 * 35 * 4/8 = 30.6: not over
    assert order(rank(t, agents))[0] == 1
    t, agents = _expert_and_novice(32, 3)  # 32 > 1.75 * 35 / 2 = 30.6: over
    assert order(rank(t, agents)) == [2, 1]


def test_the_guard_waits_for_enough_assignments_and_can_be_turned_off():
    t, agents = _expert_and_novice(15, 0)  # 15 recent in all: below GUARD_MIN_RECENT
    assert order(rank(t, agents))[0] == 1
    t, agents = _expert_and_novice(32, 3)
    assert order(rank(t, agents, share_guard=None))[0] == 1


def test_an_agent_over_the_guard_still_gets_the_ticket_when_nobody_else_may_take_it():
    t, agents = _expert_and_novice(32, 3)
    agents[1] = agent(2, skills={}, recent_assignments=3, capacity=4)  # not qualified
    assert order(rank(t, agents)) == [1]


def test_the_guard_applies_to_the_skills_strategy_only_and_counts_present_agents():
    t, agents = _expert_and_novice(32, 3)
    assert order(rank(t, agents, "round_robin")) == [1, 2]
    gone = agent(3, presence="offline", recent_assignments=0, capacity=40)
    assert over_share(agents + [gone], SHARE_GUARD) == {1}
