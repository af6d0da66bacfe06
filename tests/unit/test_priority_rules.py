"""Priority/urgency rules: critical signals raise the classifier's priority (pure)."""
from dataclasses import dataclass

import pytest

from appliance.rules.priority import (COLD_START_CLASSIFIER_CAP, DEFAULT_RULES, PriorityRule,
                                      Signal, TicketFacts, decide_priority, keyword_matches,
                                      normalise, priority_signals, rule_from_row)


@dataclass
class Score:  # what the classifier returns (ports.LabelScore has the same two fields)
    label: str
    confidence: float


NORMAL = [Score("3", 0.7), Score("4", 0.2), Score("2", 0.08), Score("1", 0.02)]


def fired(text, facts=None, rules=DEFAULT_RULES):
    return [s.rule for s in priority_signals(text, facts, rules)]


@pytest.mark.parametrize("text, rule", [
    ("路由器插头在冒烟，有焦味", "safety_risk"),
    ("The charger gave off sparks and a burning smell", "safety_risk"),
    ("整栋楼都断网了，几百人没法上班", "mass_outage"),
    ("醫院整層網路中斷", "mass_outage"),
    ("我的账号被盗了，密码被改", "account_compromise_or_fraud"),
    ("有人冒充客服，我已经转了3000", "account_compromise_or_fraud"),
    ("不解决我就去工信部投诉，还要找律师", "regulator_or_legal_threat"),
    ("I will contact my lawyer", "regulator_or_legal_threat"),
])
def test_critical_signals_raise_the_priority_to_p1(text, rule):
    assert rule in fired(text)
    priority, urgency, confidence, reasons = decide_priority(NORMAL, priority_signals(text))
    assert (priority, urgency, confidence) == (1, "high", 1.0)
    assert any(r.startswith(rule) for r in reasons)


def test_a_negated_keyword_does_not_fire():
    assert fired("路由器没有冒烟，只是有点烫") == []
    assert fired("账号没有被盗，只是忘了密码") == []


def test_an_outage_needs_both_a_scope_and_an_outage_word():
    assert "mass_outage" not in fired("我家断网了")
    assert "mass_outage" not in fired("整栋楼的电梯广告太吵")
    assert keyword_matches(normalise("整栋楼断网"), "整栋|全楼+断网|没网") == "整栋+断网"


def test_latin_keywords_match_at_word_starts_only():
    assert keyword_matches(normalise("the fire alarm"), "fire") == "fire"
    assert keyword_matches(normalise("a campfire story"), "fire") is None
    assert keyword_matches(normalise("it exploded"), "explod") == "explod"


def test_facts_drive_the_vip_repeat_contact_and_sentiment_rules():
    facts = TicketFacts(vip_customer=True, recent_contacts=3, sentiment="negative",
                        sentiment_score=-0.9)
    assert set(fired("网速慢", facts)) >= {"vip_customer", "repeat_contact", "strongly_negative"}
    assert fired("网速慢", TicketFacts(recent_contacts=2, sentiment_score=-0.5)) == []
    assert fired("网速慢", None) == []


def test_any_object_with_the_fact_attributes_will_do():
    class Row:
        vip_customer = True
    assert "vip_customer" in fired("咨询", Row())


def test_a_floor_moves_less_urgent_classifier_mass_up_to_it():
    p, urgency, conf, _ = decide_priority(NORMAL, [Signal("vip", 2, "high", "vip: VIP customer")])
    assert (p, urgency) == (2, "high") and conf == pytest.approx(0.98)


def test_a_floor_never_lowers_a_more_urgent_classifier_answer():
    urgent = [Score("1", 0.9), Score("2", 0.1)]
    p, _, conf, reasons = decide_priority(urgent, [Signal("vip", 2, None, "vip")])
    assert p == 1 and conf == pytest.approx(0.9) and reasons[0].startswith("classifier: P1")


def test_without_signals_the_classifier_decides_and_urgency_follows_priority():
    assert decide_priority(NORMAL, []) == (3, "medium", 0.7, ["classifier: P3 (0.70)"])
    assert decide_priority([Score("4", 0.8), Score("3", 0.2)], [])[:2] == (4, "low")


def test_with_neither_classifier_nor_signal_a_human_decides():
    assert decide_priority([], []) == (3, "medium", 0.0, [])


def test_a_rule_alone_decides_with_full_confidence():
    assert decide_priority([], priority_signals("冒烟了"))[:3] == (1, "high", 1.0)


def test_an_urgency_only_signal_raises_urgency_not_priority():
    p, urgency, _, _ = decide_priority([Score("4", 1.0)], [Signal("angry", None, "high", "angry")])
    assert (p, urgency) == (4, "high")


def test_the_cold_start_cap_keeps_the_classifier_from_choosing_p1_or_p2_alone():
    scores = [Score("1", 0.5), Score("2", 0.3), Score("3", 0.15), Score("4", 0.05)]
    p, _, conf, _ = decide_priority(scores, [], classifier_cap=COLD_START_CLASSIFIER_CAP)
    assert p == 3 and conf == pytest.approx(0.95)
    assert decide_priority(scores, [])[0] == 1


def test_labels_that_are_not_priorities_are_ignored():
    assert decide_priority([Score("P2", 0.6), Score("urgent", 0.4)], [])[0] == 2


def test_admin_rules_come_from_triage_rule_rows_and_unknown_conditions_are_refused():
    class Row:
        name, condition, keywords, threshold, priority, urgency = (
            "boiler", "keywords", ["锅炉"], 0, 1, "high")
    rule = rule_from_row(Row())
    assert rule == PriorityRule("boiler", "keywords", ("锅炉",), 0, 1, "high")
    assert fired("锅炉漏水", rules=[rule]) == ["boiler"]
    with pytest.raises(ValueError, match="unknown rule condition"):
        fired("x", rules=[PriorityRule("bad", "moon_phase")])


def test_huge_and_empty_text_are_fine():
    assert fired("") == []
    assert "safety_risk" in fired("正常文字" * 1000 + "冒烟")
