"""Report metrics: the histogram quantile, the definitions shared with other reports, and
one text per metric for every place that shows it (services.reports_metrics)."""
from __future__ import annotations

from pathlib import Path

import pytest

from appliance.models.reports import BUCKET_MEASURES, FRT_EDGES, FRT_HIST
from appliance.services import ai_training, knowledge_metrics, reports_facts
from appliance.services.reports_figures import figures, quantile_seconds
from appliance.services.reports_metrics import METRICS

ROOT = Path(__file__).resolve().parents[2]


def test_a_time_falls_in_the_bin_whose_upper_edge_it_does_not_pass():
    assert reports_facts.frt_bin(0) == 0
    assert reports_facts.frt_bin(300) == 0
    assert reports_facts.frt_bin(301) == 1
    assert reports_facts.frt_bin(10**9) == len(FRT_EDGES)


@pytest.mark.parametrize("hist, q, expected", [
    ([0] * 11, 0.5, None),
    ([1] + [0] * 10, 0.5, 300.0),
    ([1, 1] + [0] * 9, 0.5, 300.0),          # the 1st of 2 answers
    ([1, 1] + [0] * 9, 0.9, 900.0),          # the 2nd of 2
    ([0] * 10 + [4], 0.5, 604800.0),         # the open bin reports its lower edge
])
def test_quantiles_are_the_edge_of_the_bin_holding_them(hist, q, expected):
    assert quantile_seconds(hist, q) == expected


def test_the_definitions_are_those_of_the_other_reports():
    assert reports_facts.COVERING_STATUSES == knowledge_metrics.COVERING_STATUSES
    assert reports_facts.INSERT_KINDS == knowledge_metrics.INSERT_KINDS
    assert reports_facts.ROUTING_COLUMNS == ai_training.COLUMNS


def test_every_figure_the_dashboard_returns_is_defined_and_ratios_divide_by_nothing_to_none():
    sums = {m: 0 for m in BUCKET_MEASURES}
    keys = [f.key for f in figures(sums, 0)]
    assert set(keys) == {k for k, m in METRICS.items() if m.kind == "figure"}
    assert all(f.unit == METRICS[f.key].unit for f in figures(sums, 0))
    assert {f.key for f in figures(sums, 0) if f.value is None} >= {"fcr", "aht", "csat", "nps"}
    assert len(FRT_HIST) == len(FRT_EDGES) + 1


def test_every_metric_is_documented_in_both_languages_and_translated_by_the_api():
    from webapp.api.reports_dashboard import TEXTS
    for name in ("metrics.md", "metrics.zh-CN.md"):
        text = (ROOT / "docs" / name).read_text(encoding="utf-8")
        missing = [k for k in METRICS if f"`{k}`" not in text]
        assert not missing, (name, missing)
    assert set(TEXTS) == set(METRICS)
    for key, m in METRICS.items():
        label, formula = TEXTS[key]
        assert (label._args[0], formula._args[0]) == (m.label, m.formula)   # the msgids
