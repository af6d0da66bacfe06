"""Classifier metrics (local_llm.evaluation): pure functions with hand-checked values."""
import pytest

from local_llm import evaluation as ev

GOLD = ["a", "a", "a", "b", "b", "c"]
PRED = ["a", "a", "b", "b", "c", "c"]
CONF = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]


def test_accuracy_is_the_share_of_exact_matches():
    assert ev.accuracy(GOLD, PRED) == pytest.approx(4 / 6)
    assert ev.accuracy([], []) == 0.0


def test_per_label_precision_recall_and_f1():
    m = {x.label: x for x in ev.per_label(GOLD, PRED)}
    assert (m["a"].precision, m["a"].recall, m["a"].support) == (1.0, pytest.approx(2 / 3), 3)
    assert (m["b"].precision, m["b"].recall) == (0.5, 0.5)
    assert (m["c"].precision, m["c"].recall, m["c"].f1) == (0.5, 1.0, pytest.approx(2 / 3))


def test_macro_f1_averages_over_gold_labels():
    assert ev.macro_f1(GOLD, PRED) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_top_confusions_are_counted_most_frequent_first():
    assert ev.top_confusions(["a", "a", "b"], ["b", "b", "a"]) == [("a", "b", 2), ("b", "a", 1)]


def test_coverage_counts_items_at_or_above_the_threshold_and_their_accuracy():
    assert ev.coverage_at(GOLD, PRED, CONF, 0.6) == (pytest.approx(4 / 6), pytest.approx(3 / 4))
    assert ev.coverage_at(GOLD, PRED, CONF, 0.95) == (0.0, 0.0)


def test_ece_is_zero_when_confidence_matches_accuracy_and_large_when_overconfident():
    assert ev.expected_calibration_error(["a", "b"], ["a", "a"], [0.5, 0.5]) == pytest.approx(0.0)
    assert ev.expected_calibration_error(["a", "b"], ["b", "a"], [1.0, 1.0]) == pytest.approx(1.0)


def test_percentiles_interpolate_like_numpy():
    assert ev.percentile([1, 2, 3, 4], 50) == 2.5
    assert ev.percentile([10], 95) == 10
    assert ev.latency_summary([0.001, 0.003]) == {"p50": 2.0, "p95": pytest.approx(2.9), "max": 3.0}


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="lengths differ"):
        ev.accuracy(["a"], [])


def test_evaluate_collects_every_figure_and_formats_them():
    r = ev.evaluate(GOLD, PRED, CONF, threshold=0.6, latencies=[0.001, 0.002])
    assert r.n == 6 and r.as_dict()["per_label"][0]["label"] == "a"
    text = ev.format_report(r, "t")
    for part in ("accuracy: 0.6667", "macro-F1", "coverage at confidence >= 0.60", "p95",
                 "a -> b: 1"):
        assert part in text


def test_a_stratified_split_is_seeded_and_keeps_every_label_in_train():
    labels = ["x"] * 10 + ["y"] * 5 + ["z"]
    tr, te = ev.stratified_split(labels, 0.2, seed=1)
    assert ev.stratified_split(labels, 0.2, seed=1) == (tr, te)
    assert sorted(tr + te) == list(range(16))
    assert [labels[i] for i in te].count("x") == 2 and [labels[i] for i in te].count("y") == 1
    assert "z" in [labels[i] for i in tr]
