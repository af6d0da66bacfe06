"""The search text pipeline: PII masking, folding, mixed Chinese/English tokens, highlights."""
from __future__ import annotations

import pytest

from search.analysis import MASKS, analyzer, clean, fold, mask_pii, match_spans
from search.highlight import MARK_END, MARK_START, MarkFormatter, match_tokens
from search.querying import QueryBuilder
from search.whoosh_index import schema


def words(text: str, mode: str = "query") -> list[str]:
    return [t.text for t in analyzer()(text, mode=mode)]


@pytest.mark.parametrize("text", [
    "13812345678", "手机13812345678请回电", "+86 138 1234 5678", "0086-138-1234-5678", "138-1234-5678",
    "１３８１２３４５６７８"])
def test_chinese_mobile_numbers_are_masked_in_every_common_spelling(text):
    masked = mask_pii(text)
    assert MASKS["phone"] in masked
    assert "5678" not in masked and "５６７８" not in masked


def test_resident_id_numbers_bank_cards_and_emails_are_masked():
    text = "身份证11010519491231002X，卡号6222 0212 3456 7890 123，卡2 6217000010001234567，邮箱zhang.san+1@example.com.cn"
    masked = mask_pii(text)
    assert masked == ("身份证〔id-number〕，卡号〔bank-card〕，卡2 〔bank-card〕，邮箱〔email〕")


def test_an_id_number_is_not_mistaken_for_a_phone_number_inside_it():
    assert mask_pii("110105199003071234") == MASKS["id"]


def test_ordinary_numbers_and_text_are_left_alone():
    text = "订单 20240113 共 3 件，金额 1999 元，型号 HP-1020，GD-2026-000123"
    assert mask_pii(text) == text


def test_clean_removes_the_private_use_characters_the_index_relies_on():
    assert clean("a\ue000b\ue001c\ue002d 13812345678") == "abcd 〔phone〕"


def test_masks_are_not_searchable_words():
    assert words("电话〔phone〕 email 〔email〕", mode="index") == ["电话", "email"]


def test_traditional_chinese_and_full_width_letters_fold_to_one_form_keeping_the_length():
    for text in ("印表機無法列印", "ＰＲＩＮＴＥＲ　ｅｒｒｏｒ", "退款"):
        assert len(fold(text)) == len(text)
    assert fold("無法列印") == "无法列印"
    assert fold("ＰＲＩＮＴＥＲ　ｅｒｒｏｒ") == "PRINTER error"


def test_chinese_is_segmented_into_words_and_english_is_lowercased_stemmed_and_stop_listed():
    assert words("打印机无法打印") == ["打印机", "无法", "打印"]
    assert words("My printers are NOT printing") == ["printer", "print"]
    assert words("退款 refunds") == ["退款", "refund"]


def test_index_mode_adds_sub_words_at_the_position_of_their_word():
    tokens = [(t.text, t.pos) for t in analyzer()("打印机坏了", positions=True, mode="index")]
    assert ("打印", 0) in tokens and ("打印机", 0) in tokens
    assert ("坏", 1) in tokens


def test_token_offsets_point_into_the_original_traditional_text():
    text = "請處理印表機"
    spans = {t.text: (t.startchar, t.endchar) for t in analyzer()(text, chars=True, mode="index")}
    start, end = spans["印表机"]
    assert text[start:end] == "印表機"


def test_subject_words_weigh_three_times_body_words():
    tokens = analyzer()("退款\ue002退款", mode="index")
    assert [t.boost for t in tokens] == [3.0, 1.0]


def test_match_spans_finds_chinese_substrings_and_stemmed_english_words():
    text = "My printer is not printing. 打印机坏了，无法打印"
    spans = match_spans(text, frozenset({"print", "打印"}))
    assert [text[s:e] for s, e in spans] == ["printing", "打印", "打印"]


def test_highlights_wrap_matches_in_private_use_marks_and_drop_stray_marks():
    text = "申请\ue000退款"
    fragment_text = "申请退款了"
    from whoosh.highlight import Fragment
    fragment = Fragment(fragment_text, match_tokens([(2, 4)]), 0, len(fragment_text))
    assert MarkFormatter().format([fragment]) == f"申请{MARK_START}退款{MARK_END}了"
    fragment = Fragment(text, match_tokens([(3, 5)]), 0, len(text))
    assert MarkFormatter().format([fragment]) == f"申请{MARK_START}退款{MARK_END}"


@pytest.mark.parametrize("query", ['"unbalanced', "((", "AND OR NOT", "NOT refund", "*", "a:b",
                                   "internal:secret", "[a TO z]", "退款^", "?", "'"])
def test_odd_query_syntax_never_raises_and_never_reaches_other_fields(query):
    parsed = QueryBuilder(schema()).build(query, ("text",))
    for q in (parsed or ()):
        if q is not None:
            assert {field for field, _ in q.iter_all_terms()} <= {"text"}


def test_a_query_of_only_negations_falls_back_to_its_words():
    parsed = QueryBuilder(schema()).build("NOT refund", ("text",))
    assert [t for _, t in parsed.any.iter_all_terms()] == ["refund"]


def test_plain_words_come_as_an_all_words_query_and_an_any_word_query():
    parsed = QueryBuilder(schema()).build("打印机无法打印", ("text", "internal"))
    assert type(parsed.all).__name__ == "And" and type(parsed.any).__name__ == "Or"
    assert {t for _, t in parsed.all.iter_all_terms()} == {"打印机", "无法", "打印"}
    assert QueryBuilder(schema()).build("退款", ("text",)).all is None


def test_a_pasted_essay_is_cut_to_a_bounded_number_of_words():
    essay = " ".join(f"word{i}" for i in range(300))
    parsed = QueryBuilder(schema()).build(essay, ("text", "internal"))
    assert len(set(parsed.any.iter_all_terms())) <= 64


import pytest as _pytest  # noqa: E402


@_pytest.mark.parametrize("phone", ["010-62345678", "(021)6234 5678", "0755 8765 4321",
                                    "138.1234.5678", "+86 138 1234 5678"])
def test_landlines_and_dotted_mobiles_are_masked_too(phone):
    from search.analysis import mask_pii
    masked = mask_pii(f"请回电 {phone} 谢谢")
    assert "〔phone〕" in masked and phone not in masked
