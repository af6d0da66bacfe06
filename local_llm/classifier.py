"""The triage classifiers: a linear model over TF-IDF features, trained or cold-started.

Owns `SklearnBackend` (appliance.ports.ClassifierBackend) and the classifiers it makes
(appliance.ports.TextClassifier): `LearnedClassifier`, trained on resolved tickets, and
`ColdStartClassifier`, built from label profiles (local_llm/coldstart.py). Both are
the same thing at prediction time, `scores = X · Wᵀ + b`, `p = softmax(scores / T)`,
with X from local_llm.textfeatures, so one archive format and one predict path serve
both. Choices below were measured with bench/triage_eval.py:

* Features: word uni+bigrams (jieba / stemmed English), word pairs a gap apart (0.7),
  character 1–4-grams. Model: LinearSVC, C = 1, classes balanced (SMP2017 +0.5–1 point
  over unweighted; no loss on BANKING77). LogisticRegression was no more accurate and
  10× slower to train; SVD features, kNN and NB ensembles did not help.
* Calibration: the model is first fitted on a stratified 85 %, one temperature T is
  fitted (NLL) on the other 15 %'s decision scores, then the model is refitted on
  everything and keeps T (ECE on BANKING77 ≈ 0.8 with T = 1, ≈ 0.03 after).
* Storage: `to_bytes()` is a numpy ``.npz`` archive (terms as UTF-8, idf, float16
  weights, JSON metadata) read back with ``allow_pickle=False``: a database row can
  never execute code. Weights are rounded to float16 when the model is built, not when
  saved, so a loaded classifier predicts exactly what the trained one did.
"""
from __future__ import annotations

import io
import json
import math
import time
import zipfile

import numpy as np
from scipy import sparse

from appliance.ports import LabelProfileSpec, LabelScore
from local_llm.embedder import from_bytes
from local_llm.textfeatures import BLOCKS, FeatureConfig, Featurizer, Vocabulary, analyse

FORMAT = "gongdan-text-classifier"
FORMAT_VERSION = 2  # 2 adds the optional semantic head; version 1 archives still load
READABLE_VERSIONS = (1, 2)
# C was tuned offline (bench/triage_eval.py): 1.0 was best or tied on BANKING77 and
# SMP2017; picking C per training run on the 15 % slice chose worse values as often as
# better ones (the slice is small) and cost a fit per value. Add values to search again.
C_GRID = (1.0,)
HOLDOUT = 0.15
# The semantic head (decision 0053): vectors weigh as much as one TF-IDF block (1.0 was
# best of 0.5-2 on SMP2017); it is built when this share of the examples has a vector.
SEMANTIC_WEIGHT = 1.0
MIN_VECTOR_SHARE = 0.95
MIN_FOR_HOLDOUT = 40  # below this, every example is needed for training; T stays 1


class ClassifierFormatError(ValueError):
    """A stored classifier blob is not one this version can load."""


# --- prediction ---------------------------------------------------------------------

class LinearClassifier:
    """softmax((X·Wᵀ + b) / T) over a fixed label list; `kind` says where W came from."""
    kind = "learned"

    def __init__(self, labels, featurizer: Featurizer, coef, intercept, temperature: float,
                 meta: dict | None = None, semantic: "SemanticHead | None" = None):
        self.labels = tuple(labels)
        self.semantic = semantic
        self.featurizer = featurizer
        # float16 is what is stored: round now so fresh and loaded models are identical.
        self.coef = np.asarray(coef, dtype=np.float16).astype(np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float32).astype(np.float64)
        self._weights_t = np.ascontiguousarray(self.coef.T)  # sparse @ this needs no copy
        self.temperature = float(temperature)
        self.meta = dict(meta or {})

    def scores(self, texts: list[str]) -> np.ndarray:
        """Uncalibrated decision scores, one row per text."""
        x = self.featurizer.transform(list(texts))
        return np.asarray(x @ self._weights_t) + self.intercept

    @property
    def vector_space(self) -> str | None:
        return self.semantic.space if self.semantic is not None else None

    def probabilities(self, texts: list[str], vectors: list[bytes | None] | None = None
                      ) -> np.ndarray:
        """Calibrated probabilities; rows with a vector use the semantic head."""
        x = self.featurizer.transform(list(texts))
        z = (np.asarray(x @ self._weights_t) + self.intercept) / self.temperature
        rows = [i for i, v in enumerate(vectors or ()) if v] if self.semantic else []
        if rows:
            z[rows] = self.semantic.logits(x[rows], [vectors[i] for i in rows])
        return softmax(z)

    def predict_many(self, texts: list[str], vectors: list[bytes | None] | None = None
                     ) -> list[list[LabelScore]]:
        if not texts:
            return []
        return [_ranked(self.labels, row) for row in self.probabilities(texts, vectors)]

    def predict(self, text: str, vector: bytes | None = None) -> list[LabelScore]:
        return self.predict_many([text], [vector])[0]

    def to_bytes(self) -> bytes:
        return dump(self)


class SemanticHead:
    """The same text features plus a sentence vector (local_llm.embedder), with its own
    weights and temperature: `[x, w·unit(v - mean)]·Wᵀ + b`. The vector is centred on the
    training mean and re-normalised, because raw vectors of a decoder model share one
    large common direction that would drown the differences between texts."""

    def __init__(self, space: str, mean, coef, intercept, temperature: float,
                 weight: float = 1.0):
        self.space, self.weight, self.temperature = space, float(weight), float(temperature)
        self.mean = np.asarray(mean, dtype=np.float32).astype(np.float64)
        self.coef = np.asarray(coef, dtype=np.float16).astype(np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float32).astype(np.float64)
        self._weights_t = np.ascontiguousarray(self.coef.T)

    def features(self, vectors: list[bytes]) -> np.ndarray:
        return vector_features(vectors, self.mean, self.weight)

    def logits(self, x, vectors: list[bytes]) -> np.ndarray:
        full = sparse.hstack([x, sparse.csr_matrix(self.features(vectors))]).tocsr()
        return (np.asarray(full @ self._weights_t) + self.intercept) / self.temperature


def vector_features(vectors: list[bytes], mean: np.ndarray, weight: float) -> np.ndarray:
    e = np.vstack([from_bytes(v) for v in vectors])
    if e.shape[1] != mean.shape[0]:
        raise ValueError(f"vectors have {e.shape[1]} dimensions, the classifier {mean.shape[0]}")
    e = e - mean
    return weight * e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)


class LearnedClassifier(LinearClassifier):
    kind = "learned"


class ColdStartClassifier(LinearClassifier):
    kind = "cold"


KINDS = {"learned": LearnedClassifier, "cold": ColdStartClassifier}


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _ranked(labels, probs) -> list[LabelScore]:
    order = np.argsort(-probs, kind="stable")
    return [LabelScore(labels[i], float(probs[i])) for i in order]


# --- calibration --------------------------------------------------------------------

def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The T minimising the negative log-likelihood of softmax(scores / T) on (scores, y)."""
    from scipy.optimize import minimize_scalar

    def nll(log_t):
        p = softmax(scores / math.exp(log_t))
        return -np.mean(np.log(p[np.arange(len(y)), y] + 1e-12))
    res = minimize_scalar(nll, bounds=(-4.0, 4.0), method="bounded")
    return float(math.exp(res.x))


def ece(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of probability rows against label indices y."""
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs((pred[m] == y[m]).mean() - conf[m].mean())
    return float(total)


# --- training -----------------------------------------------------------------------

def _validate(texts, labels, weights):
    texts = ["" if t is None else str(t) for t in texts]
    labels = [str(x) for x in labels]
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if len(set(labels)) < 2:
        raise ValueError("training needs examples of at least two labels")
    w = np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(texts),) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("weights must be one positive number per text")
    return texts, labels, w


def _balanced(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Caller's weights times n / (k · n_class): rare labels are not drowned out."""
    counts = np.bincount(y)
    return w * len(y) / (len(counts) * counts[y])


def _holdout(y: np.ndarray, frac: float, seed: int = 0) -> np.ndarray:
    """A seeded, stratified boolean mask; a label with one example is never held out."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(y), dtype=bool)
    for k in np.unique(y):
        idx = np.flatnonzero(y == k)
        take = min(len(idx) - 1, int(round(len(idx) * frac)))
        if take > 0:
            mask[rng.choice(idx, size=take, replace=False)] = True
    return mask


def fit_linear(x, y: np.ndarray, w: np.ndarray, c: float, n_labels: int):
    """LinearSVC (coef: n_labels × n_features, intercept: n_labels), also for two labels."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few more epochs change ~0
        m = LinearSVC(C=c, max_iter=3000).fit(x, y, sample_weight=_balanced(y, w))
    coef, icpt = m.coef_, m.intercept_
    if n_labels == 2:  # one separating direction: split it so that softmax = sigmoid(d/T)
        coef, icpt = np.vstack([-coef / 2, coef / 2]), np.concatenate([-icpt / 2, icpt / 2])
    return coef, icpt


def _choose_c_and_t(docs, y, w, cfg, n_labels, extra: np.ndarray | None = None
                    ) -> tuple[float, float, dict]:
    """C with the best accuracy on a stratified slice, and T fitted on that slice.
    `extra`: dense columns appended to each text's features (the semantic head's)."""
    hold = _holdout(y, HOLDOUT)
    if len(y) < MIN_FOR_HOLDOUT or not hold.any() or len(np.unique(y[~hold])) < n_labels:
        return 1.0, 1.0, {"holdout": 0}
    fit_docs = [d for d, h in zip(docs, hold) if not h]
    feats = Featurizer.fit_docs(fit_docs, cfg)
    xf = _with(feats.transform_docs(fit_docs), None if extra is None else extra[~hold])
    xh = _with(feats.transform_docs([d for d, h in zip(docs, hold) if h]),
               None if extra is None else extra[hold])
    best = None
    for c in C_GRID:
        coef, icpt = fit_linear(xf, y[~hold], w[~hold], c, n_labels)
        s = np.asarray(xh @ coef.T) + icpt
        acc = float(np.mean(s.argmax(1) == y[hold]))
        if best is None or acc > best[0]:
            best = (acc, c, s)
    acc, c, s = best
    t = fit_temperature(s, y[hold])
    return c, t, {"holdout": int(hold.sum()), "holdout_accuracy": acc, "C": c,
                  "temperature": t, "ece_before": ece(softmax(s), y[hold]),
                  "ece_after": ece(softmax(s / t), y[hold])}


def _with(x, extra: np.ndarray | None):
    return x if extra is None else sparse.hstack([x, sparse.csr_matrix(extra)]).tocsr()


def train_linear(texts, labels, weights=None, cfg: FeatureConfig | None = None, *,
                 vectors: list[bytes | None] | None = None,
                 vector_space: str | None = None) -> LearnedClassifier:
    """The text model, and with `vectors` (one per text, None where missing) from
    `vector_space` also a semantic head (see `_semantic`)."""
    cfg = cfg or FeatureConfig()
    started = time.perf_counter()
    texts, labels, w = _validate(texts, labels, weights)
    classes = sorted(set(labels))
    index = {label: i for i, label in enumerate(classes)}
    y = np.array([index[x] for x in labels])
    docs = [analyse(t, cfg) for t in texts]  # the slow part: once per text
    c, t, calib = _choose_c_and_t(docs, y, w, cfg, len(classes))
    feats = Featurizer.fit_docs(docs, cfg)
    x = feats.transform_docs(docs)
    coef, icpt = fit_linear(x, y, w, c, len(classes))
    meta = {"n_examples": len(texts), "C": c, "calibration": calib}
    semantic = None
    if vectors is not None and vector_space:
        semantic, meta["semantic"] = _semantic(docs, x, y, w, cfg, vectors, vector_space,
                                               len(classes))
    meta["train_seconds"] = round(time.perf_counter() - started, 2)
    return LearnedClassifier(classes, feats, coef, icpt, t, meta, semantic)


def _semantic(docs, x, y, w, cfg, vectors, space, n_labels) -> tuple[SemanticHead | None, dict]:
    """Text features plus vectors, calibrated like the text model. Built only when at
    least MIN_VECTOR_SHARE of the examples have a vector and every label is among them;
    otherwise the classifier stays text-only and says why."""
    if len(vectors) != len(docs):
        raise ValueError(f"{len(docs)} texts but {len(vectors)} vectors")
    rows = np.array([i for i, v in enumerate(vectors) if v], dtype=np.int64)
    share = len(rows) / len(docs)
    if share < MIN_VECTOR_SHARE or len(np.unique(y[rows])) < n_labels:
        return None, {"used": False, "vector_share": round(share, 4),
                      "reason": f"vectors for {share:.0%} of the examples"}
    raw = np.vstack([from_bytes(vectors[i]) for i in rows])
    mean = raw.mean(axis=0)
    e = vector_features([vectors[i] for i in rows], mean, SEMANTIC_WEIGHT)
    sub_docs, ys, ws = [docs[i] for i in rows], y[rows], w[rows]
    c, t, calib = _choose_c_and_t(sub_docs, ys, ws, cfg, n_labels, extra=e)
    coef, icpt = fit_linear(_with(x[rows], e), ys, ws, c, n_labels)
    head = SemanticHead(space, mean, coef, icpt, t, SEMANTIC_WEIGHT)
    return head, {"used": True, "space": space, "vector_share": round(share, 4),
                  "calibration": calib}


# --- storage ------------------------------------------------------------------------

def _terms_array(terms: list[str]) -> np.ndarray:
    return np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8)


def _terms(arr: np.ndarray) -> list[str]:
    text = arr.tobytes().decode("utf-8")
    return text.split("\n") if text else []


def dump(clf: LinearClassifier) -> bytes:
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "kind": clf.kind,
            "labels": list(clf.labels), "temperature": clf.temperature,
            "features": clf.featurizer.cfg.to_dict(), "meta": clf.meta}
    arrays = {"coef": clf.coef.astype(np.float16), "intercept": clf.intercept.astype(np.float32)}
    for b in BLOCKS:
        arrays[f"terms_{b}"] = _terms_array(clf.featurizer.vocabs[b].terms)
        arrays[f"idf_{b}"] = clf.featurizer.vocabs[b].idf
    head = clf.semantic
    if head is not None:
        meta["semantic"] = {"space": head.space, "temperature": head.temperature,
                            "weight": head.weight}
        arrays.update({"sem_coef": head.coef.astype(np.float16),
                       "sem_mean": head.mean.astype(np.float32),
                       "sem_intercept": head.intercept.astype(np.float32)})
    arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def load(blob: bytes) -> LinearClassifier:
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, TypeError) as exc:
        raise ClassifierFormatError(f"not a classifier archive: {exc}") from None
    try:
        return _from_arrays(arrays)
    except (KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
        if isinstance(exc, ClassifierFormatError):
            raise
        raise ClassifierFormatError(f"malformed classifier archive: {exc!r}") from None


def _from_arrays(a: dict) -> LinearClassifier:
    meta = json.loads(a["meta"].tobytes().decode("utf-8"))
    if meta.get("format") != FORMAT or meta.get("version") not in READABLE_VERSIONS:
        raise ClassifierFormatError(
            f"unsupported classifier format {meta.get('format')!r} v{meta.get('version')!r}")
    cls = KINDS.get(meta.get("kind"))
    if cls is None:
        raise ClassifierFormatError(f"unknown classifier kind {meta.get('kind')!r}")
    cfg = FeatureConfig(**meta["features"])
    vocabs = {b: Vocabulary(_terms(a[f"terms_{b}"]), a[f"idf_{b}"]) for b in BLOCKS}
    feats = Featurizer(cfg, vocabs)
    labels, t = meta["labels"], float(meta["temperature"])
    coef, icpt = a["coef"], a["intercept"]
    if (len(set(labels)) != len(labels) or len(labels) < 2
            or coef.shape != (len(labels), feats.n_features) or icpt.shape != (len(labels),)):
        raise ClassifierFormatError("labels, weights and vocabulary sizes do not match")
    if not (math.isfinite(t) and t > 0) or not np.all(np.isfinite(coef)):
        raise ClassifierFormatError("temperature or weights are not finite")
    semantic = _head(meta.get("semantic"), a, len(labels), feats.n_features)
    return cls(labels, feats, coef, icpt, t, meta.get("meta", {}), semantic)


def _head(spec: dict | None, a: dict, n_labels: int, n_features: int) -> SemanticHead | None:
    if spec is None:
        return None
    coef, mean, icpt = a["sem_coef"], a["sem_mean"], a["sem_intercept"]
    t, weight = float(spec["temperature"]), float(spec["weight"])
    if (mean.ndim != 1 or coef.shape != (n_labels, n_features + mean.shape[0])
            or icpt.shape != (n_labels,) or not isinstance(spec["space"], str)):
        raise ClassifierFormatError("semantic head sizes do not match")
    if not (math.isfinite(t) and t > 0 and math.isfinite(weight)) or not np.all(np.isfinite(coef)):
        raise ClassifierFormatError("semantic head weights are not finite")
    return SemanticHead(spec["space"], mean, coef, icpt, t, weight)


# --- the back-end the registry loads --------------------------------------------------

class SklearnBackend:
    """appliance.ports.ClassifierBackend: train, cold start, and restore classifiers."""

    def __init__(self, cfg: FeatureConfig | None = None):
        self.cfg = cfg or FeatureConfig()

    def train(self, texts: list[str], labels: list[str], *,
              weights: list[float] | None = None, vectors: list[bytes | None] | None = None,
              vector_space: str | None = None) -> LearnedClassifier:
        return train_linear(texts, labels, weights, self.cfg, vectors=vectors,
                            vector_space=vector_space)

    def cold_start(self, profiles: list[LabelProfileSpec]) -> ColdStartClassifier:
        from local_llm.coldstart import build
        return build(profiles)

    def load(self, blob: bytes) -> LinearClassifier:
        return load(blob)
