"""Lexicon sentiment with negation/intensifiers, and script-based language detection."""
import pytest

from appliance.rules.language import detect_language, script_profile
from appliance.rules.sentiment import analyse_sentiment


@pytest.mark.parametrize("text, label", [
    ("服务很好，谢谢师傅", "positive"),
    ("太差了，客服态度恶劣！！！", "negative"),
    ("不好用", "negative"),
    ("质量不错", "positive"),
    ("没有问题", "positive"),
    ("请问营业厅几点开门", "neutral"),
    ("Great service, thank you!", "positive"),
    ("This is not good, I'm really disappointed", "negative"),
    ("😡😡", "negative"),
    ("👍", "positive"),
    ("", "neutral"),
])
def test_sentiment_labels_clear_cases(text, label):
    assert analyse_sentiment(text).label == label


def test_intensifiers_make_it_stronger_and_negation_weaker():
    assert analyse_sentiment("非常差").score < analyse_sentiment("差").score < 0
    assert analyse_sentiment("不好").score > analyse_sentiment("差").score


def test_the_clause_after_but_weighs_more():
    assert analyse_sentiment("快递很快，但是质量太差").label == "negative"
    assert analyse_sentiment("价格有点贵，不过服务很好很专业").label == "positive"


def test_words_containing_a_sentiment_character_are_not_sentiment():
    assert analyse_sentiment("快递到哪了").label == "neutral"


def test_exclamation_marks_after_a_complaint_make_it_angrier():
    assert analyse_sentiment("太慢了！！！").score < analyse_sentiment("太慢了").score


def test_sentiment_reports_the_words_that_decided_it():
    assert "恶劣" in analyse_sentiment("态度恶劣").hits


def test_score_stays_within_minus_one_and_one_for_huge_text():
    s = analyse_sentiment("垃圾！" * 100_000)
    assert s.label == "negative" and -1 <= s.score <= 1


@pytest.mark.parametrize("text, lang", [
    ("我的宽带断网了", "zh"), ("我的VPN连不上", "zh"), ("帳號被盜", "zh"),
    ("My card has not arrived", "en"), ("Hi 你好, my invoice is wrong", "en"),
    ("", ""), ("   ", ""), ("12345 !!! 😡", ""), (None, ""),
])
def test_language_is_decided_by_the_script_with_more_units(text, lang):
    assert detect_language(text) == lang


def test_a_text_with_both_scripts_in_good_measure_is_mixed():
    assert script_profile("请帮我 reset 一下 VPN password").mixed
    assert not script_profile("请帮我重置密码").mixed
    assert not script_profile("").mixed


def test_thousands_of_intensifiers_give_a_finite_score():
    # A pasted run of "很" once overflowed to inf - inf = NaN, which no database accepts as JSON.
    from appliance.rules.sentiment import analyse_sentiment
    text = "很" * 1600 + "好。" + "很" * 1600 + "差"
    result = analyse_sentiment(text)
    assert -1.0 <= result.score <= 1.0
