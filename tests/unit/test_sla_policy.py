"""Which SLA policy a ticket gets, and which policy sets are refused (rules/sla_policy.py).
Categories: 1 售后 > 2 维修 > 3 空调维修; 4 物流 is another tree."""
from datetime import datetime, timedelta, timezone

from appliance.rules.sla_policy import (Escalation, Policy, TicketFacts, crossed, match,
                                        pause_intervals, problems)

PARENTS = {1: None, 2: 1, 3: 2, 4: None}
VIP = Policy(1, "VIP", order=10, tiers=frozenset({"vip"}), first_response=30, resolution=240)
P1 = Policy(2, "P1", order=20, priorities=frozenset({1}), first_response=60, resolution=480)
REPAIR = Policy(3, "Repairs", order=30, category_ids=frozenset({2}), first_response=120,
                resolution=2400)
ANY = Policy(4, "Everything else", order=90, first_response=240, next_response=480,
             resolution=4800)
ALL = [ANY, REPAIR, P1, VIP]


def facts(priority=3, category=None, tier="standard", channel="web"):
    return TicketFacts(priority, category, tier, channel)


def codes(found):
    return [(p.path, p.code) for p in found]


def test_the_first_matching_policy_in_order_wins():
    assert match(ALL, facts(priority=1, tier="vip"), PARENTS).name == "VIP"
    assert match(ALL, facts(priority=1), PARENTS).name == "P1"
    assert match(ALL, facts(), PARENTS).name == "Everything else"


def test_a_category_policy_covers_its_sub_categories_but_not_its_parent():
    assert match(ALL, facts(category=3), PARENTS).name == "Repairs"
    assert match(ALL, facts(category=2), PARENTS).name == "Repairs"
    assert match(ALL, facts(category=1), PARENTS).name == "Everything else"
    assert match(ALL, facts(category=4), PARENTS).name == "Everything else"


def test_inactive_policies_and_unmatched_channels_are_skipped():
    email_only = Policy(5, "Mail", order=1, channels=frozenset({"email"}), first_response=10)
    off = Policy(6, "Off", order=0, first_response=5, active=False)
    assert match([off, email_only, ANY], facts(channel="web"), PARENTS).name == "Everything else"
    assert match([off, email_only, ANY], facts(channel="email"), PARENTS).name == "Mail"
    assert match([email_only], facts(), PARENTS) is None


def test_a_consistent_set_has_no_problems():
    assert problems(ALL, PARENTS, set(PARENTS)) == []


def test_resolution_shorter_than_the_first_response_is_refused_with_the_field():
    bad = Policy(7, "Bad", first_response=600, next_response=700, resolution=300)
    found = codes(problems([bad], PARENTS))
    assert found == [("policies[0].resolution", "targets_order")] * 2
    assert "longer than the resolution target" in problems([bad], PARENTS)[0].message


def test_each_field_problem_names_its_path():
    bad = Policy(8, " ", order=-1, priorities=frozenset({7}), channels=frozenset({"fax"}),
                 tiers=frozenset({""}), category_ids=frozenset({99}), warn_at=(75, 75, 120))
    assert set(codes(problems([bad], PARENTS, set(PARENTS)))) == {
        ("policies[0].name", "name_required"), ("policies[0].order", "bad_order"),
        ("policies[0].first_response", "no_targets"), ("policies[0].warn_at", "bad_warning"),
        ("policies[0].priorities", "bad_priority"), ("policies[0].channels", "bad_channel"),
        ("policies[0].tiers", "bad_tier"), ("policies[0].category_ids", "unknown_category")}


def test_zero_or_huge_targets_are_refused():
    assert codes(problems([Policy(1, "x", first_response=0)], PARENTS)) == [
        ("policies[0].first_response", "bad_target")]
    assert codes(problems([Policy(1, "x", resolution=10 ** 9)], PARENTS)) == [
        ("policies[0].resolution", "bad_target")]


def test_two_policies_of_the_same_order_that_overlap_with_different_targets_conflict():
    a = Policy(1, "Mail P1", order=5, priorities=frozenset({1}), first_response=30)
    b = Policy(2, "Mail repairs", order=5, category_ids=frozenset({3}), first_response=60)
    found = problems([a, b], PARENTS)
    assert codes(found) == [("policies[1]", "policy_conflict")]
    assert "“Mail P1”" in found[0].message


def test_same_order_without_overlap_or_with_the_same_targets_is_fine():
    a = Policy(1, "P1", order=5, priorities=frozenset({1}), first_response=30)
    b = Policy(2, "P2", order=5, priorities=frozenset({2}), first_response=60)
    c = Policy(3, "P1 again", order=5, channels=frozenset({"web"}), first_response=30)
    assert problems([a, b], PARENTS) == []
    assert codes(problems([a, c], PARENTS)) == []
    d = Policy(4, "Sibling trees", order=5, category_ids=frozenset({4}), first_response=90)
    e = Policy(5, "Repairs", order=5, category_ids=frozenset({2}), first_response=60)
    assert problems([d, e], PARENTS) == []


def test_a_policy_behind_a_broader_one_is_unreachable():
    narrow = Policy(9, "AC repairs", order=50, category_ids=frozenset({3}),
                    priorities=frozenset({2}), first_response=60)
    found = problems([REPAIR, narrow], PARENTS)
    assert codes(found) == [("policies[1]", "policy_unreachable")]
    assert "“Repairs”" in found[0].message
    assert codes(problems([ANY, Policy(10, "Late", order=95, first_response=1)], PARENTS)) == [
        ("policies[1]", "policy_unreachable")]
    # the narrow one first is the right way round
    assert problems([narrow.__class__(**{**narrow.__dict__, "order": 5}), REPAIR], PARENTS) == []


def test_escalations_must_run_at_a_threshold_and_reassign_to_one_target():
    p = Policy(1, "Esc", first_response=60, warn_at=(75, 90), escalations=(
        Escalation(80, "notify_lead"), Escalation(100, "explode"),
        Escalation(90, "reassign"), Escalation(100, "reassign", user_id=3, team_id=4),
        Escalation(100, "raise_priority"), Escalation(90, "reassign", team_id=2)))
    assert codes(problems([p], PARENTS)) == [
        ("policies[0].escalations[0].at", "bad_escalation_at"),
        ("policies[0].escalations[1].action", "bad_escalation_action"),
        ("policies[0].escalations[2].action", "reassign_target"),
        ("policies[0].escalations[3].action", "reassign_target")]


def test_thresholds_crossed_are_all_those_reached():
    h = timedelta(hours=1)
    assert crossed(0.5 * h, h, (75, 90)) == []
    assert crossed(0.8 * h, h, (90, 75)) == [75]
    assert crossed(0.9 * h, h, (75, 90)) == [75, 90]


def test_pause_intervals_follow_the_status_changes():
    t = [datetime(2026, 11, 23, h, tzinfo=timezone.utc) for h in range(10)]
    changes = [(t[1], "new", "open"), (t[2], "open", "pending_customer"),
               (t[3], "pending_customer", "pending_internal"), (t[4], "pending_internal", "open"),
               (t[5], "open", "pending_customer"), (t[6], "pending_customer", "pending_internal"),
               (t[7], "pending_internal", "pending_customer")]
    assert pause_intervals(changes, {"pending_customer"}) == [(t[2], t[3]), (t[5], t[6]),
                                                              (t[7], None)]
    assert pause_intervals(changes, {"pending_customer", "pending_internal"}) == [
        (t[2], t[4]), (t[5], None)]
    assert pause_intervals([], {"pending_customer"}) == []


def test_calendar_json_reads_every_part_and_names_the_unreadable_ones():
    from datetime import date as d

    from appliance.rules import calendar_json
    cal, errors = calendar_json.parse({
        "time_zone": "Asia/Shanghai", "week": {"monday": [["22:00", "06:00+1"]],
                                               "tuesday": [["9点", ""]], "funday": []},
        "closures": [{"start": "2026-12-24", "end": "2026-12-25", "reason": "年会"},
                     {"start": "soon", "end": "2026-12-31"}],
        "extra_open_days": ["2026-12-27", "2026-13-01"], "chinese_holidays": True})
    assert set(errors) == {"week.funday", "week.tuesday[0]", "closures[1].start",
                           "extra_open_days[1]"}
    assert str(cal.week[0][0]) == "22:00–06:00+1" and cal.week[1] == ()
    assert cal.closures[0].start == d(2026, 12, 24) and cal.extra_open_days == (d(2026, 12, 27),)
    stored = calendar_json.stored(cal)
    assert stored["week"][0] == [["22:00", "06:00+1"]]
    assert calendar_json.parse(stored) == (cal, {})          # round trip
    assert calendar_json.parse({"week": {}})[1] == {
        "time_zone": "required (an IANA name such as Asia/Shanghai)"}


def test_the_pause_statuses_and_batch_size_are_checked_settings(tmp_path):
    import pytest

    from appliance.settings import SettingsError, load_settings
    env = {"GONGDAN_CONFIG": str(tmp_path / "none.toml")}
    assert load_settings(environ=env).sla_pause_statuses == ("pending_customer",)
    both = load_settings(environ={**env, "GONGDAN_SLA_PAUSE_STATUSES":
                                  "pending_customer, pending_internal"})
    assert both.sla_pause_statuses == ("pending_customer", "pending_internal")
    with pytest.raises(SettingsError, match="sla_pause_statuses"):
        load_settings(environ={**env, "GONGDAN_SLA_PAUSE_STATUSES": "resolved"})
    with pytest.raises(SettingsError, match="sla_batch_size"):
        load_settings(environ={**env, "GONGDAN_SLA_BATCH_SIZE": "0"})
