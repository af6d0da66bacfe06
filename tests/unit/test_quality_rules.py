"""Quality inspection rules (rules.quality_rules, rules.quality_score): pure checks of one
reply, the settings form's field errors and the total's maths."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from appliance.rules import quality_rules as qr
from appliance.rules import quality_score as qs

CFG = qs.defaults().rules
ID = "11010519491231002X"        # a valid check digit (GB 11643)
CARD = "6222021234567894"        # passes Luhn


def findings(text, language="zh", waited=dt.timedelta(minutes=5), cfg=CFG):
    return {f.key: f for f in qr.check_reply(text, language, waited, cfg)}


def test_a_polite_reply_in_time_passes_every_rule_with_full_points():
    got = findings("您好，您的打印机驱动需要重新安装，步骤见附件。祝您工作顺利！")
    assert all(f.passed for f in got.values())
    assert sum(f.points for f in got.values()) == 85      # the six rule weights
    assert got["greeting"].evidence == "您好" and got["closing"].evidence == "祝您"


@pytest.mark.parametrize("text", ["我们保证明天送到", "我们保 证明天送到", "我们保\u3000证明天送到",
                                  "我们保\u200b证明天送到"])
def test_a_forbidden_promise_is_found_through_spacing_variants(text):
    f = findings(text)["forbidden_promises"]
    assert not f.passed and f.points == 0 and f.evidence == "保证"
    assert qr.reason(f) == "forbidden promise made: 保证"


def test_full_width_latin_letters_match_the_half_width_word():
    f = findings("We ＧＵＡＲＡＮＴＥＥ it.", "en")["forbidden_promises"]
    assert not f.passed and f.evidence == "guarantee"


def test_latin_words_match_whole_words_only():
    cfg = qs.parse({**qs.to_json(qs.defaults()), "forbidden_words": ["ass"]})[0].rules
    assert findings("Your class starts at nine.", "en", cfg=cfg)["forbidden_words"].passed
    assert not findings("Don't be an ass.", "en", cfg=cfg)["forbidden_words"].passed


def test_a_multi_word_phrase_matches_across_any_white_space():
    f = findings("hello, this is   NOT  MY\nproblem.", "en")["forbidden_words"]
    assert not f.passed and f.evidence == "not my problem"


def test_greeting_and_closing_follow_the_language_of_the_reply():
    got = findings("Hi Anna, the parcel left today. Best regards", "en")
    assert got["greeting"].passed and got["closing"].passed
    got = findings("The parcel left today.", "en")
    assert not got["greeting"].passed and got["greeting"].code == "greeting_missing"
    assert not got["closing"].passed


def test_a_greeting_late_in_the_reply_does_not_count():
    text = "订单已经发货，" * 10 + "您好"
    assert not findings(text)["greeting"].passed


def test_a_language_without_phrases_passes_as_not_configured():
    cfg = qs.parse({**qs.to_json(qs.defaults()), "greetings": {"zh": [], "en": ["hello"]}})[0].rules
    f = findings("订单已经发货", cfg=cfg)["greeting"]
    assert f.passed and f.code == "not_configured"


def test_response_time_against_the_limit_and_without_a_waiting_customer():
    assert findings("您好", waited=dt.timedelta(minutes=60))["response_time"].passed
    slow = findings("您好", waited=dt.timedelta(minutes=61))["response_time"]
    assert not slow.passed and slow.evidence == "61 min" and slow.points == 0
    none = findings("您好", waited=None)["response_time"]
    assert none.passed and none.code == "no_customer_message"


@pytest.mark.parametrize("text", [f"您的身份证号是{ID}。", f"身份证 {ID[:6]} {ID[6:14]} {ID[14:]}",
                                  "身份证" + ID.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})])
def test_a_full_resident_id_is_a_failed_finding_with_masked_evidence(text):
    f = findings(text)["pii_disclosure"]
    assert not f.passed and f.code == "id_number"
    assert f.evidence == "110105**********2X"
    assert ID not in json.dumps(f.to_json(), ensure_ascii=False) and ID not in qr.reason(f)


@pytest.mark.parametrize("text", [f"卡号 {CARD}", "卡号 6222 0212 3456 7894", "卡号 6222-0212-3456-7894"])
def test_a_full_card_number_passing_luhn_is_a_failed_finding_with_masked_evidence(text):
    f = findings(text)["pii_disclosure"]
    assert not f.passed and f.code == "card_number"
    assert f.evidence == "6222********7894" and CARD not in json.dumps(f.to_json())


@pytest.mark.parametrize("text", ["身份证 110105**********2X", "身份证 110105194912310021",
                                  "卡号 6222021234567893", "订单 20261127000123", "卡尾号 7892"])
def test_masked_numbers_bad_check_digits_and_short_numbers_are_not_disclosures(text):
    assert findings(text)["pii_disclosure"].passed


def test_an_admin_pattern_matches_far_into_a_long_reply_and_its_evidence_is_masked():
    cfg = qs.parse({**qs.to_json(qs.defaults()),
                    "promise_patterns": [r"赔\s*\d+\s*倍"]})[0].rules
    text = "您好。" + "我们正在处理。" * 200 + "多赔 3 倍给您"
    f = findings(text, cfg=cfg)["forbidden_promises"]
    assert not f.passed and "赔 3 倍" in f.evidence
    cfg = qs.parse({**qs.to_json(qs.defaults()), "forbidden_patterns": [r"号码\S+"]})[0].rules
    f = findings(f"号码{CARD}", cfg=cfg)["forbidden_words"]
    assert not f.passed and CARD not in f.evidence


def test_settings_errors_name_each_bad_field():
    data = {**qs.to_json(qs.defaults()), "forbidden_patterns": ["(a+)+$"],
            "promise_patterns": ["[unclosed"], "response_minutes": "soon",
            "sampling": {"rate": 2, "lowest": 5}}
    _, errors = qs.parse(data)
    assert "regex_nested_quantifier" in errors["forbidden_patterns"]
    assert "regex_invalid" in errors["promise_patterns"]
    assert set(errors) == {"forbidden_patterns", "promise_patterns", "response_minutes",
                           "sampling.rate"}


def test_weights_must_add_up_to_100_and_each_be_a_number():
    data = qs.to_json(qs.defaults())
    _, errors = qs.parse({**data, "weights": {**data["weights"], "empathy": 30}})
    assert errors == {"weights": "must add up to 100 (they add up to 125)"}
    _, errors = qs.parse({**data, "weights": {**data["weights"], "empathy": "x"}})
    assert set(errors) == {"weights.empathy"}


def test_the_stored_form_reads_back_to_the_same_settings():
    s = qs.defaults()
    again, errors = qs.parse(json.loads(json.dumps(qs.to_json(s))))
    assert not errors and qs.to_json(again) == qs.to_json(s)


def test_the_total_adds_rubric_points_and_is_provisional_without_the_rubric():
    w = qs.defaults().rules.weights
    rules = {"forbidden_words": 15, "forbidden_promises": 15, "greeting": 10, "closing": 0,
             "response_time": 15, "pii_disclosure": 20}
    assert qs.total(w, rules, {"empathy": 5, "correctness": 5, "resolution": 5}) == (90.0, True)
    assert qs.total(w, rules, {"empathy": 1, "correctness": 3, "resolution": 5}) == (82.5, True)
    assert qs.total(w, rules, None) == (round(75 * 100 / 85, 1), False)
