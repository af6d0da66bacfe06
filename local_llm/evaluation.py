"""Classifier metrics: pure functions over gold labels, predictions and confidences.

Used by `gongdan ai eval` (through appliance.registry.evaluation()) and
bench/triage_eval.py. No numpy: plain lists in, plain numbers and dicts out, so the
results can be printed or stored as JSON (ClassifierVersion.metrics) as they are.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LabelMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    n: int
    accuracy: float
    macro_f1: float
    per_label: list[LabelMetrics]
    confusions: list[tuple[str, str, int]]  # (gold, predicted, count), most frequent first
    threshold: float
    coverage: float  # share of items with confidence >= threshold
    accuracy_covered: float  # accuracy on those items
    ece: float
    latency_ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["per_label"] = [m.__dict__ for m in self.per_label]
        d["confusions"] = [list(c) for c in self.confusions]
        return d


def accuracy(gold: list[str], pred: list[str]) -> float:
    _same_length(gold, pred)
    return sum(g == p for g, p in zip(gold, pred)) / len(gold) if gold else 0.0


def per_label(gold: list[str], pred: list[str]) -> list[LabelMetrics]:
    """Precision, recall and F1 for every label seen in gold or predictions."""
    _same_length(gold, pred)
    tp = Counter(g for g, p in zip(gold, pred) if g == p)
    n_gold, n_pred = Counter(gold), Counter(pred)
    out = []
    for label in sorted(set(n_gold) | set(n_pred)):
        p = tp[label] / n_pred[label] if n_pred[label] else 0.0
        r = tp[label] / n_gold[label] if n_gold[label] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        out.append(LabelMetrics(label, p, r, f1, n_gold[label]))
    return out


def macro_f1(gold: list[str], pred: list[str]) -> float:
    """Mean F1 over the labels that occur in gold (a label only ever predicted counts
    through the precision of the others, as in scikit-learn with labels=gold labels)."""
    rows = [m for m in per_label(gold, pred) if m.support]
    return sum(m.f1 for m in rows) / len(rows) if rows else 0.0


def top_confusions(gold: list[str], pred: list[str], k: int = 10) -> list[tuple[str, str, int]]:
    _same_length(gold, pred)
    c = Counter((g, p) for g, p in zip(gold, pred) if g != p)
    return [(g, p, n) for (g, p), n in sorted(c.items(), key=lambda x: (-x[1], x[0]))[:k]]


def coverage_at(gold: list[str], pred: list[str], conf: list[float],
                threshold: float) -> tuple[float, float]:
    """(share with confidence >= threshold, accuracy on that share)."""
    _same_length(gold, pred, conf)
    kept = [(g, p) for g, p, c in zip(gold, pred, conf) if c >= threshold]
    if not gold:
        return 0.0, 0.0
    acc = sum(g == p for g, p in kept) / len(kept) if kept else 0.0
    return len(kept) / len(gold), acc


def expected_calibration_error(gold: list[str], pred: list[str], conf: list[float],
                               bins: int = 10) -> float:
    """Σ over equal-width confidence bins of (share of items) × |accuracy − mean confidence|."""
    _same_length(gold, pred, conf)
    buckets: dict[int, list[tuple[bool, float]]] = {}
    for g, p, c in zip(gold, pred, conf):
        b = min(bins - 1, max(0, math.ceil(c * bins) - 1))
        buckets.setdefault(b, []).append((g == p, c))
    n = len(gold)
    return sum(len(v) / n * abs(sum(ok for ok, _ in v) / len(v) - sum(c for _, c in v) / len(v))
               for v in buckets.values()) if n else 0.0


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def latency_summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "max": max(ms, default=0.0)}


def evaluate(gold: list[str], pred: list[str], conf: list[float], *, threshold: float = 0.6,
             latencies: list[float] | None = None, top_k: int = 10) -> Report:
    """Every figure `gongdan ai eval` prints, in one object."""
    cov, acc_cov = coverage_at(gold, pred, conf, threshold)
    return Report(n=len(gold), accuracy=accuracy(gold, pred), macro_f1=macro_f1(gold, pred),
                  per_label=per_label(gold, pred), confusions=top_confusions(gold, pred, top_k),
                  threshold=threshold, coverage=cov, accuracy_covered=acc_cov,
                  ece=expected_calibration_error(gold, pred, conf),
                  latency_ms=latency_summary(latencies or []))


def format_report(r: Report, title: str = "") -> str:
    """A plain-text report for the terminal."""
    lines = [title] if title else []
    lines += [f"items: {r.n}", f"accuracy: {r.accuracy:.4f}", f"macro-F1: {r.macro_f1:.4f}",
              f"coverage at confidence >= {r.threshold:.2f}: {r.coverage:.4f} "
              f"(accuracy there {r.accuracy_covered:.4f})",
              f"ECE (10 bins): {r.ece:.4f}"]
    if r.latency_ms:
        lines.append("latency per ticket: p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {max:.2f} ms"
                     .format(**r.latency_ms))
    lines.append(f"{'label':<28} {'precision':>9} {'recall':>7} {'F1':>7} {'support':>8}")
    lines += [f"{m.label[:28]:<28} {m.precision:>9.3f} {m.recall:>7.3f} {m.f1:>7.3f} {m.support:>8}"
              for m in r.per_label]
    lines.append("top confusions (gold -> predicted: count):")
    lines += [f"  {g} -> {p}: {n}" for g, p, n in r.confusions] or ["  none"]
    return "\n".join(lines)


def _same_length(*seqs) -> None:
    if len({len(s) for s in seqs}) > 1:
        raise ValueError(f"lengths differ: {[len(s) for s in seqs]}")


def stratified_split(labels: list[str], test_fraction: float, seed: int = 42
                     ) -> tuple[list[int], list[int]]:
    """(train indices, test indices): `test_fraction` of every label, seeded and stable;
    a label with a single item stays in train."""
    import random
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be between 0 and 1")
    rng = random.Random(seed)  # nosec B311  # seeded test split, not a secret
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    train, test = [], []
    for label in sorted(by_label):
        idx = by_label[label]
        rng.shuffle(idx)
        k = min(len(idx) - 1, round(len(idx) * test_fraction))
        test += idx[:k]
        train += idx[k:]
    return sorted(train), sorted(test)
