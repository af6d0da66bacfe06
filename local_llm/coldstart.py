"""Cold start: a classifier built from label profiles when a field has no history.

An admin gives each label a name, a description and at most a handful of example
tickets (appliance.ports.LabelProfileSpec). Each of those becomes one or more short
"documents": the name, each example, and each clause of the description (split at
。；，、 so that "话费、月租、流量费" yields keyword-like pieces). A linear model over the
same TF-IDF features as the learned classifier is then built from them, so the result
is an ordinary `ColdStartClassifier` (same archive, same predict path).

Method (measured with bench/triage_eval.py on bench/data/coldstart_zh): `METHOD` picks
nearest-centroid cosine similarity, a LinearSVC on the profile documents, or the sum
of both (the default; 75 % → 88 % department accuracy came from adding the concept
features of local_llm/concepts.py, not from the choice of method, which moved ±2 %). Confidence is calibrated by a
temperature fitted on leave-one-example-out scores: each example is scored by the
model built without it, which is the closest thing to unseen tickets we have.
"""
from __future__ import annotations

import re

import numpy as np

from appliance.ports import LabelProfileSpec
from local_llm.classifier import ColdStartClassifier, fit_linear, fit_temperature
from local_llm.textfeatures import FeatureConfig, Featurizer, analyse

METHOD = "both"  # centroid | svm | both
# Few, short documents: keep every n-gram (min_df 1) and weigh words and characters alike.
COLD_FEATURES = FeatureConfig(min_df=1, word_weight=0.5, pair_weight=0.5, concept_weight=0.5)
CENTROID_SCALE = 4.0  # cosine similarities are small; brings them to the SVM's score range
_CLAUSES = re.compile(r"[。；;，,、！!？?\n（）()：:]+")


def profile_documents(profiles: list[LabelProfileSpec]) -> tuple[list[str], list[int], list[bool]]:
    """(texts, label index, is_example) for every name, clause and example of the profiles."""
    texts, ys, is_example = [], [], []
    for k, p in enumerate(profiles):
        pieces = [p.name] + [c for c in _CLAUSES.split(p.description or "") if c.strip()]
        for piece in pieces:
            texts.append(piece); ys.append(k); is_example.append(False)
        for ex in p.examples:
            texts.append(ex); ys.append(k); is_example.append(True)
    return texts, ys, is_example


def _validate(profiles: list[LabelProfileSpec]) -> list[LabelProfileSpec]:
    profiles = list(profiles)
    labels = [p.label for p in profiles]
    if len(set(labels)) < 2:
        raise ValueError("cold start needs profiles for at least two labels")
    if len(set(labels)) != len(labels):
        raise ValueError("each label may have only one profile")
    empty = [p.label for p in profiles if not (p.name or p.description or p.examples)]
    if empty:
        raise ValueError(f"profiles without name, description or examples: {empty}")
    return profiles


def _weights(docs, y: np.ndarray, n_labels: int, method: str, cfg: FeatureConfig):
    """(featurizer, coef, intercept) of the chosen method on analysed documents."""
    feats = Featurizer.fit_docs(docs, cfg)
    x = feats.transform_docs(docs)
    coef = np.zeros((n_labels, feats.n_features))
    icpt = np.zeros(n_labels)
    if method in ("centroid", "both"):
        for k in range(n_labels):
            c = np.asarray(x[y == k].mean(axis=0)).ravel()
            coef[k] += CENTROID_SCALE * c / (np.linalg.norm(c) or 1.0)
    if method in ("svm", "both"):
        w, b = fit_linear(x, y, np.ones(len(y)), 1.0, n_labels)
        coef += w
        icpt += b
    return feats, coef, icpt


def _loo_scores(docs, y, is_example, n_labels, method, cfg):
    """Scores of each example by a model built without it (for the temperature)."""
    rows, truth = [], []
    for i in np.flatnonzero(is_example):
        keep = np.ones(len(y), dtype=bool)
        keep[i] = False
        if len(np.unique(y[keep])) < n_labels:
            continue
        feats, coef, icpt = _weights([d for d, k in zip(docs, keep) if k], y[keep],
                                     n_labels, method, cfg)
        rows.append(np.asarray(feats.transform_docs([docs[i]]) @ coef.T).ravel() + icpt)
        truth.append(y[i])
    return np.array(rows), np.array(truth)


def build(profiles: list[LabelProfileSpec], method: str = METHOD,
          cfg: FeatureConfig = COLD_FEATURES) -> ColdStartClassifier:
    profiles = _validate(profiles)
    texts, ys, is_example = profile_documents(profiles)
    docs, y = [analyse(t, cfg) for t in texts], np.array(ys)
    n = len(profiles)
    scores, truth = _loo_scores(docs, y, np.array(is_example), n, method, cfg)
    t = fit_temperature(scores, truth) if len(truth) >= 2 * n else 1.0
    feats, coef, icpt = _weights(docs, y, n, method, cfg)
    meta = {"method": method, "n_documents": len(texts), "n_examples": int(sum(is_example)),
            "calibration": {"loo_examples": int(len(truth)), "temperature": t,
                            "loo_accuracy": float(np.mean(scores.argmax(1) == truth))
                            if len(truth) else None}}
    return ColdStartClassifier([p.label for p in profiles], feats, coef, icpt, t, meta)
