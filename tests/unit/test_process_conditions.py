import datetime as dt
import time

import pytest

from appliance.rules import safe_regex
from appliance.rules.process_conditions import FIELD_TYPES, check_condition, describe, evaluate


def leaf(field, op, value=None):
    return {"field": field, "op": op, "value": value}


def holds(field, op, value, fields):
    return evaluate(leaf(field, op, value), fields)


# -- evaluation: operators -----------------------------------------------------------------

def test_no_condition_always_holds():
    assert evaluate(None, {}) is True


def test_equals_and_not_equals_compare_values():
    assert holds("status", "==", "open", {"status": "open"})
    assert not holds("status", "==", "open", {"status": "new"})
    assert holds("status", "!=", "open", {"status": "new"})
    assert not holds("status", "!=", "open", {"status": "open"})


def test_text_equality_ignores_case_surrounding_spaces_and_full_width_forms():
    assert holds("category", "==", "Refund", {"category": " refund "})
    assert holds("custom.tier", "==", "vip", {"custom.tier": "ＶＩＰ"})


def test_contains_is_a_case_insensitive_substring_test_on_text():
    assert holds("subject", "contains", "REFUND", {"subject": "Please refund my order"})
    assert holds("subject", "contains", "退款", {"subject": "申请退款，谢谢"})
    assert not holds("subject", "contains", "invoice", {"subject": "Please refund"})


def test_contains_on_a_list_field_tests_membership():
    fields = {"custom.tags": ["VIP", "加急"]}
    assert holds("custom.tags", "contains", "vip", fields)
    assert not holds("custom.tags", "contains", "批量", fields)
    assert not holds("custom.tags", "contains", "V", fields)  # an item, not a substring


def test_in_holds_when_the_value_is_one_of_the_listed_values():
    assert holds("channel", "in", ["email", "chat"], {"channel": "chat"})
    assert not holds("channel", "in", ["email", "chat"], {"channel": "phone"})
    assert holds("priority", "in", ["1", 2], {"priority": 1})


def test_in_on_a_list_field_holds_when_any_item_is_listed():
    assert holds("custom.tags", "in", ["加急", "回访"], {"custom.tags": ["VIP", "加急"]})
    assert not holds("custom.tags", "in", ["回访"], {"custom.tags": ["VIP", "加急"]})


def test_less_and_greater_compare_numbers():
    assert holds("priority", "<", 3, {"priority": 1})
    assert not holds("priority", "<", 1, {"priority": 1})
    assert holds("custom.amount", ">", 500, {"custom.amount": 500.5})
    assert not holds("custom.amount", ">", 500, {"custom.amount": 500})


def test_is_empty_holds_for_missing_none_blank_and_empty_list_and_false_means_not_empty():
    for value in (None, "", "   ", []):
        assert holds("custom.note", "is_empty", None, {"custom.note": value})
        assert not holds("custom.note", "is_empty", False, {"custom.note": value})
    assert holds("custom.note", "is_empty", True, {})
    assert holds("custom.note", "is_empty", False, {"custom.note": "x"})
    assert holds("custom.count", "is_empty", False, {"custom.count": 0})  # 0 is a value


def test_matches_searches_a_regular_expression_anywhere_in_the_text():
    assert holds("subject", "matches", r"GD-\d{4}", {"subject": "about GD-2026 again"})
    assert not holds("subject", "matches", r"^GD", {"subject": "about GD-2026"})
    assert holds("subject", "matches", r"(?i)^vip", {"subject": "Vip customer"})
    assert not holds("subject", "matches", r"^vip", {"subject": "Vip customer"})


def test_matches_reads_only_the_first_500_characters():
    assert holds("subject", "matches", "x$", {"subject": "a" * 499 + "x"})
    assert not holds("subject", "matches", "x$", {"subject": "a" * 500 + "x"})


def test_matches_on_a_missing_field_does_not_hold():
    assert not holds("subject", "matches", ".*", {})


# -- evaluation: coercion ------------------------------------------------------------------

def test_numbers_given_as_text_compare_as_numbers():
    assert holds("custom.amount", ">", 500, {"custom.amount": "600"})
    assert holds("custom.amount", ">", "500", {"custom.amount": 600})
    assert holds("custom.amount", "<", "1000", {"custom.amount": "999.5"})
    assert holds("custom.amount", "==", 500, {"custom.amount": "500.0"})
    assert holds("custom.amount", ">", "90", {"custom.amount": "100"})  # as text "100" < "90"


def test_thousands_separators_and_full_width_digits_are_numbers():
    assert holds("custom.amount", ">", 1000, {"custom.amount": "1,200.50"})
    assert holds("custom.amount", "==", 500, {"custom.amount": "５００"})


def test_text_that_is_not_a_number_is_neither_less_nor_greater():
    assert not holds("custom.amount", ">", 500, {"custom.amount": "a lot"})
    assert not holds("custom.amount", "<", 500, {"custom.amount": "a lot"})
    assert not holds("subject", ">", "a", {"subject": "b"})  # text has no order


def test_booleans_are_not_numbers_but_match_true_and_false_text():
    assert not holds("custom.flag", ">", 0, {"custom.flag": True})
    assert holds("custom.flag", "==", "true", {"custom.flag": True})
    assert holds("custom.flag", "==", False, {"custom.flag": "no"})


def test_iso_dates_compare_as_dates():
    fields = {"custom.purchase_date": "2026-03-01"}
    assert holds("custom.purchase_date", ">", "2026-02-28", fields)
    assert holds("custom.purchase_date", "<", "2026-03-02", fields)
    assert holds("custom.purchase_date", "==", dt.date(2026, 3, 1), fields)
    # as text "2026-3-10" would sort before "2026-03-01"; as dates it is later
    assert holds("custom.purchase_date", "<", dt.date(2026, 3, 10), fields)


def test_a_date_against_a_date_time_compares_the_day():
    fields = {"custom.seen": "2026-03-01T23:30:00"}
    assert holds("custom.seen", "==", "2026-03-01", fields)
    assert not holds("custom.seen", ">", "2026-03-01", fields)


def test_date_times_with_offsets_compare_in_utc():
    fields = {"custom.seen": "2026-03-01T08:00:00+08:00"}  # 00:00 UTC
    assert holds("custom.seen", "<", "2026-03-01T01:00:00Z", fields)
    assert holds("custom.seen", "==", dt.datetime(2026, 3, 1, 0, 0), fields)


def test_a_missing_field_is_none():
    assert not holds("custom.amount", "==", 500, {})
    assert holds("custom.amount", "!=", 500, {})
    assert not holds("custom.amount", ">", 500, {})
    assert not holds("custom.amount", "<", 500, {})
    assert not holds("custom.amount", "in", [500], {})
    assert not holds("subject", "contains", "x", {})
    assert holds("custom.amount", "==", None, {})


def test_fields_may_be_given_flat_or_nested():
    assert holds("custom.amount", ">", 500, {"custom": {"amount": 600}})
    assert holds("process.approve.outcome", "==", "approved",
                 {"process": {"approve": {"outcome": "approved"}}})
    assert holds("process.approve.outcome", "==", "approved",
                 {"process.approve.outcome": "approved"})


# -- evaluation: groups and malformed input ------------------------------------------------

def test_all_and_any_combine_and_nest():
    condition = {"all": [leaf("custom.amount", ">", 500),
                         {"any": [leaf("category", "in", ["refund"]), leaf("priority", "==", 1)]}]}
    assert evaluate(condition, {"custom.amount": 600, "category": "refund", "priority": 3})
    assert evaluate(condition, {"custom.amount": 600, "category": "other", "priority": 1})
    assert not evaluate(condition, {"custom.amount": 600, "category": "other", "priority": 3})
    assert not evaluate(condition, {"custom.amount": 400, "category": "refund", "priority": 1})


def test_an_empty_all_holds_and_an_empty_any_does_not():
    assert evaluate({"all": []}, {})
    assert not evaluate({"any": []}, {})


def test_a_malformed_condition_raises_instead_of_routing_silently():
    with pytest.raises(ValueError, match="unknown operator"):
        evaluate(leaf("status", "~=", "open"), {"status": "open"})
    with pytest.raises(ValueError):
        evaluate(["status"], {})


def test_a_refused_pattern_raises_at_evaluation_too():
    with pytest.raises(ValueError, match="regex_nested_quantifier"):
        evaluate(leaf("subject", "matches", "(a+)+$"), {"subject": "aaaa"})


# -- regular expressions: what is refused, and how long the allowed ones take --------------

@pytest.mark.parametrize("pattern, code", [
    ("(a+)+$", "regex_nested_quantifier"),
    (r"(\w+\s?)*$", "regex_nested_quantifier"),
    ("(.*,){3}x", "regex_nested_quantifier"),
    ("(a|ab)+c", "regex_ambiguous_alternation"),
    ("(x|x)*y", "regex_ambiguous_alternation"),
    ("a*a*a*b", "regex_too_slow"),
    (".*.*.*x", "regex_too_slow"),
    ("订*订*订*x", "regex_too_slow"),
    ("a?" * 30 + "a" * 30, "regex_too_slow"),
    ("x{0,400}x{0,400}x{0,400}y", "regex_too_slow"),
    (r"(a)\1", "regex_backreference"),
    ("[", "regex_invalid"),
    ("a" * 201, "regex_too_long"),
    (42, "regex_not_text"),
])
def test_risky_or_broken_patterns_are_refused(pattern, code):
    assert safe_regex.pattern_problem(pattern)[0] == code


@pytest.mark.parametrize("pattern", [
    "^(VIP|GOLD)", "退款|退货", r"\d{6,}", r"订单号.*\d+", r"(\d{1,3}\.){3}\d{1,3}",
    r"\w+@\w+\.\w+", r"(?i)vip", "(foo|bar)+", r"^\s+|\s+$", r"(?=.*a)(?=.*b).*c",
    r"a*a*b", r".*a.*b", r"\d+\d+x", r"[a-z]+\d+[a-z]+\d+x",
])
def test_ordinary_patterns_are_allowed_and_finish_quickly_on_hostile_input(pattern):
    assert safe_regex.pattern_problem(pattern) is None
    worst = 0.0
    for text in ("a" * 600, "1" * 600, "x" * 600, "ab" * 300, "订" * 600, "a1" * 300):
        started = time.perf_counter()
        safe_regex.search(pattern, text)
        worst = max(worst, time.perf_counter() - started)
    assert worst < 0.5, f"{pattern} took {worst:.3f} s"


# -- checking ------------------------------------------------------------------------------

KNOWN = {"custom.amount": "number", "custom.purchase_date": "date", "custom.tags": "multiselect",
         "custom.tier": "select", "process.approve.outcome": "select"}


def problems_of(condition):
    return [(p.path, p.code) for p in check_condition(condition, KNOWN, "edges[2].condition")]


def test_a_sound_condition_has_no_problems():
    condition = {"all": [leaf("custom.amount", ">", "500"), leaf("custom.purchase_date", "<",
                                                                  "2026-01-01"),
                         {"any": [leaf("category", "in", ["refund"]), leaf("priority", "==", 1),
                                  leaf("custom.tags", "contains", "VIP"),
                                  leaf("process.approve.outcome", "==", "rejected"),
                                  leaf("subject", "matches", "^退款"),
                                  leaf("assignee", "is_empty", False)]}]}
    assert problems_of(condition) == []
    assert check_condition(None, {}) == []


def test_ticket_fields_are_always_known():
    assert set(FIELD_TYPES) == {"status", "priority", "urgency", "channel", "category",
                                "department", "assignee", "language", "sentiment", "subject"}
    assert check_condition(leaf("urgency", "==", "high"), {}) == []


def test_an_unknown_field_is_reported_at_its_path():
    assert problems_of({"all": [leaf("custom.amount", ">", 1), leaf("custom.nope", "==", 1)]}) \
        == [("edges[2].condition.all[1].field", "unknown_field")]


def test_an_unknown_operator_is_reported():
    assert problems_of(leaf("status", "~=", "open")) == [("edges[2].condition.op",
                                                          "unknown_operator")]


@pytest.mark.parametrize("field, op", [
    ("priority", "contains"), ("priority", "matches"), ("subject", "<"), ("status", ">"),
    ("custom.tags", "=="), ("custom.tags", ">"), ("custom.purchase_date", "contains"),
])
def test_an_operator_that_does_not_suit_the_field_type_is_reported(field, op):
    assert problems_of(leaf(field, op, "1")) == [("edges[2].condition.op",
                                                  "operator_not_for_type")]


@pytest.mark.parametrize("condition, code", [
    (leaf("custom.amount", ">", "lots"), "value_not_number"),
    (leaf("priority", "==", "high"), "value_not_number"),
    (leaf("custom.purchase_date", "<", "next week"), "value_not_date"),
    (leaf("custom.amount", "==", [1, 2]), "value_not_scalar"),
    (leaf("status", "==", "closd"), "unknown_choice"),
    (leaf("channel", "in", ["email", "fax"]), "unknown_choice"),
    (leaf("process.approve.outcome", "==", "maybe"), "unknown_choice"),
    (leaf("category", "in", "refund"), "value_not_list"),
    (leaf("category", "in", []), "value_not_list"),
    (leaf("subject", "contains", ""), "value_not_text"),
    (leaf("subject", "contains", ["a"]), "value_not_text"),
    (leaf("subject", "is_empty", "yes"), "is_empty_value"),
    (leaf("subject", "matches", "(a+)+"), "regex_nested_quantifier"),
    (leaf("subject", "matches", "("), "regex_invalid"),
])
def test_a_value_that_does_not_suit_the_field_and_operator_is_reported(condition, code):
    assert problems_of(condition) == [("edges[2].condition.value", code)]


def test_a_number_compared_with_less_than_on_text_is_accepted_as_a_number():
    assert problems_of(leaf("custom.amount", "<", "1,000")) == []


def test_group_shapes_are_checked():
    assert problems_of({"any": []}) == [("edges[2].condition.any", "empty_group")]
    assert problems_of({"all": "x"}) == [("edges[2].condition.all", "not_list")]
    assert problems_of({"all": [leaf("status", "==", "open")], "not": 1}) == \
        [("edges[2].condition.not", "unknown_key")]
    assert problems_of({"all": ["status"]}) == [("edges[2].condition.all[0]", "not_object")]
    assert problems_of({"field": "status", "op": "==", "value": "open", "extra": 1}) == \
        [("edges[2].condition.extra", "unknown_key")]
    assert problems_of({"op": "=="}) == [("edges[2].condition.field", "missing")]


def test_conditions_are_bounded_in_depth_and_size():
    deep = leaf("status", "==", "open")
    for _ in range(9):
        deep = {"all": [deep]}
    assert ("edges[2].condition" + ".all[0]" * 8, "condition_too_deep") in problems_of(deep)
    wide = {"any": [leaf("priority", "==", 1)] * 101}
    assert problems_of(wide) == [("edges[2].condition", "condition_too_large")]


def test_problems_carry_an_english_message_and_the_params_of_its_code():
    [p] = check_condition(leaf("status", "==", "closd"), {})
    assert p.code == "unknown_choice" and p.path == "value"
    assert p.params["field"] == "status" and p.params["value"] == "closd"
    assert p.message.startswith("status: “closd” is not one of new, open")


def test_describe_reads_a_condition_as_one_line():
    condition = {"all": [leaf("custom.amount", ">", 500),
                         {"any": [leaf("category", "in", ["refund"]), leaf("priority", "==", 1)]},
                         leaf("assignee", "is_empty", False)]}
    assert describe(condition) == ('custom.amount > 500 and (category in ["refund"] or '
                                   'priority == 1) and assignee is not empty')
    assert describe(None) == "always"
