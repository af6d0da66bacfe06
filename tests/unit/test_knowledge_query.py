"""search.knowledge_query: query words, synonym groups, typo flags and bounded queries."""
from __future__ import annotations

from search.knowledge_query import MAX_GROUPS, compile_synonyms, distinctive_words, parse

SETS = (("退款", "退钱", "返款"), ("refund", "reimbursement", "money back"))


def alternatives(groups):
    return [g.alternatives for g in groups]


def test_plain_words_are_analysed_and_deduplicated():
    groups = parse("打印机 无法 打印 打印机")
    assert alternatives(groups) == [(("打印机",),), (("无法",),), (("打印",),)]
    assert [g.labels for g in parse("Printers printing")] == [("Printers",), ("printing",)]
    assert alternatives(parse("Printers printing")) == [(("printer",),), (("print",),)]


def test_a_synonym_typed_inside_a_chinese_run_becomes_a_group_of_the_whole_set():
    groups = parse("我要退钱怎么办", SETS)
    syn = [g for g in groups if g.synonym]
    assert len(syn) == 1
    assert syn[0].labels[0] == "退钱"
    assert set(syn[0].labels) == {"退款", "退钱", "返款"}
    # 返款 is not a jieba word: it is matched as a phrase of its tokens
    assert ("返", "款") in syn[0].alternatives


def test_traditional_and_full_width_input_find_the_set():
    groups = parse("我要退錢", SETS)
    syn = [g for g in groups if g.synonym][0]
    assert syn.alternatives[0] == ("退钱",) and syn.labels[0] == "退钱"  # the set's own spelling
    assert ("退款",) in syn.alternatives
    assert [g for g in parse("ＲＥＦＵＮＤ", SETS) if g.synonym]


def test_latin_synonyms_must_stand_alone_but_match_by_stem():
    assert not [g for g in parse("prefunding", SETS) if g.synonym]
    refunds = [g for g in parse("refunds please", SETS) if g.synonym]
    assert refunds and ("reimburs",) in refunds[0].alternatives
    money = [g for g in parse("money back now", SETS) if g.synonym]
    assert money and money[0].labels[0] == "money back"


def test_typo_tolerance_only_for_latin_words_of_five_letters_or_more():
    flags = {g.labels[0]: g.fuzzy for g in parse("printer ink 打印机 refnd")}
    assert flags == {"printer": True, "ink": False, "打印机": False, "refnd": True}


def test_pii_is_masked_before_analysis_and_groups_are_capped():
    assert alternatives(parse("13812345678 zhang@example.com")) == []
    long_query = " ".join(f"word{i}x" for i in range(100))
    assert len(parse(long_query)) == MAX_GROUPS


def test_compiled_sets_are_cached_per_tuple():
    assert compile_synonyms(SETS) is compile_synonyms(tuple(SETS))


def test_distinctive_words_bound_a_long_text_and_prefer_rare_words():
    text = "我们的打印机今天又卡纸了，" * 500 + "customer mentions toner cartridge"
    words = distinctive_words(text, 6)
    assert len(words) <= 6
    assert "卡纸" in words and "打印机" in words
    assert "今天" not in words[:2]
    assert distinctive_words("的 了 the and", 5) == []


def test_request_words_are_dropped_unless_nothing_else_is_left():
    assert [g.labels[0] for g in parse("I need help to change my shipping address")] == [
        "change", "shipping", "address"]
    assert [g.labels[0] for g in parse("怎么改密码")] == ["改", "密码"]
    assert [g.labels[0] for g in parse("how can")] == ["how", "can"]
