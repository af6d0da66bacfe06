"""Triage classifier figures: BANKING77, SMP2017, cold start, sentiment, language.

    .venv/bin/python bench/triage_eval.py                 # everything, seed 42
    .venv/bin/python bench/triage_eval.py --seeds 5       # learned: 5 seeded splits, mean ± sd
    .venv/bin/python bench/triage_eval.py --only cold sentiment

Learned classifiers: seeded, stratified 80/20 splits of ../shared/data/banking77/train.csv
and smp2017/train.tsv (local_llm.evaluation.stratified_split, the split `gongdan ai eval
--split 0.2 --seed S` makes too); train time, accuracy, macro-F1, ECE with T = 1 and
with the fitted T, coverage at 0.6, per-ticket latency (one `predict` call each).
Cold start: bench/data/coldstart_zh (our own six-department set: department, and priority
with and without the rules), plus two checks the method was not tuned on: 5 examples per
label from SMP2017 and from the Bitext sample (description = label name).
Datasets are read in place and never copied.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
COLD = ROOT / "bench" / "data" / "coldstart_zh"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from appliance.ports import LabelProfileSpec  # noqa: E402
from appliance.rules import priority as prules  # noqa: E402
from local_llm import evaluation as ev  # noqa: E402
from local_llm.classifier import SklearnBackend, ece, softmax  # noqa: E402

csv.field_size_limit(16 * 1024 * 1024)


def read(path: Path, text: str, label: str, delimiter: str = ",") -> tuple[list[str], list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter))
    return [r[text] for r in rows], [r[label] for r in rows]


def latencies(clf, texts: list[str], n: int = 300) -> dict:
    secs = []
    clf.predict("预热 warm-up")  # the first call loads jieba's dictionary
    for t in texts[:n]:
        started = time.perf_counter()
        clf.predict(t)
        secs.append(time.perf_counter() - started)
    return ev.latency_summary(secs)


def vectors_of(name: str, texts: list[str], cache: Path) -> tuple[list[bytes], str, float]:
    """Sentence vectors of every text from the default model (local_llm.embedder, 2
    threads), cached in `cache` per data set and vector space: the first run computes
    them (BANKING77: about 25 minutes on the 2-core box), later runs read them."""
    import numpy as np
    from local_llm.embedder import LlamaEmbedder, to_bytes
    emb = LlamaEmbedder(str(ROOT / "var" / "models"), "", threads=2)
    space = emb.space()
    path = cache / f"{name}-{space}.npy"
    if path.exists():
        arr = np.load(path)
        return [to_bytes(v) for v in arr], space, float("nan")
    started, out = time.perf_counter(), []
    for i in range(0, len(texts), 16):
        out += emb.embed(texts[i:i + 16])
    per_text = (time.perf_counter() - started) / len(texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, np.vstack([np.frombuffer(v, dtype="<f2") for v in out]))
    print(f"  {name}: {len(texts)} vectors in {per_text * len(texts):.0f} s "
          f"({per_text * 1000:.0f} ms each), cached in {path}", flush=True)
    return out, space, per_text


def learned_run(texts, labels, seed: int, vectors=None, space=None) -> dict:
    import numpy as np
    tr, te = ev.stratified_split(labels, 0.2, seed)
    started = time.perf_counter()
    clf = SklearnBackend().train([texts[i] for i in tr], [labels[i] for i in tr],
                                 vectors=[vectors[i] for i in tr] if vectors else None,
                                 vector_space=space)
    train_s = time.perf_counter() - started
    te_t, te_y = [texts[i] for i in te], [labels[i] for i in te]
    y = np.array([clf.labels.index(v) for v in te_y])
    scores = clf.scores(te_t)
    probs = clf.probabilities(te_t, [vectors[i] for i in te] if vectors else None)
    pred = [clf.labels[i] for i in probs.argmax(1)]
    rep = ev.evaluate(te_y, pred, probs.max(1).tolist(), threshold=0.6)
    return {"seed": seed, "train_rows": len(tr), "test_rows": len(te), "train_s": train_s,
            "accuracy": rep.accuracy, "macro_f1": rep.macro_f1, "coverage_0.6": rep.coverage,
            "accuracy_covered": rep.accuracy_covered, "ece_T1": ece(softmax(scores), y),
            "ece": ece(probs, y), "T": clf.semantic.temperature if clf.semantic else clf.temperature, "C": clf.meta["C"],
            "blob_kb": len(clf.to_bytes()) / 1024, "latency_ms": latencies(clf, te_t)}


def learned(name: str, texts, labels, seeds: list[int], cache: Path | None = None) -> dict:
    vectors, space = (vectors_of(name, texts, cache)[:2] if cache else (None, None))
    runs = [learned_run(texts, labels, s, vectors, space) for s in seeds]
    for r in runs:
        print(f"  {name} seed {r['seed']}: acc {r['accuracy']:.4f}  macro-F1 {r['macro_f1']:.4f}  "
              f"train {r['train_s']:.1f} s ({r['train_rows']} rows)  C {r['C']}  T {r['T']:.3f}  "
              f"ECE {r['ece_T1']:.3f} -> {r['ece']:.3f}  coverage@0.6 {r['coverage_0.6']:.3f} "
              f"(acc {r['accuracy_covered']:.3f})  latency p50 {r['latency_ms']['p50']:.2f} / "
              f"p95 {r['latency_ms']['p95']:.2f} ms  blob {r['blob_kb']:.0f} KiB", flush=True)
    accs = [r["accuracy"] for r in runs]
    sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
    print(f"  {name}: accuracy mean {statistics.mean(accs):.4f} ± {sd:.4f} over {len(runs)} split(s)")
    return {"runs": runs, "accuracy_mean": statistics.mean(accs), "accuracy_sd": sd}


def cold_profiles(field: str) -> list[LabelProfileSpec]:
    data = json.loads((COLD / "profiles.json").read_text(encoding="utf-8"))["fields"][field]
    return [LabelProfileSpec(p["label"], p["name"], p["description"], tuple(p["examples"]))
            for p in data]


def cold_own() -> dict:
    texts, depts = read(COLD / "tickets.csv", "text", "department")
    _, prios = read(COLD / "tickets.csv", "text", "priority")
    backend = SklearnBackend()
    dept = backend.cold_start(cold_profiles("department"))
    out = {"department": _cold_report("department", dept, texts, depts)}
    prio = backend.cold_start(cold_profiles("priority"))
    base = prio.predict_many(texts)
    alone = [b[0].label for b in base]
    ruled = [str(prules.decide_priority(b, prules.priority_signals(t),
                                        classifier_cap=prules.COLD_START_CLASSIFIER_CAP)[0])
             for b, t in zip(base, texts)]
    out["priority_classifier_only"] = ev.accuracy(prios, alone)
    out["priority_with_rules"] = ev.accuracy(prios, ruled)
    out["priority_with_rules_macro_f1"] = ev.macro_f1(prios, ruled)
    print(f"  coldstart_zh priority: classifier alone {out['priority_classifier_only']:.4f}, "
          f"with rules {out['priority_with_rules']:.4f} (macro-F1 "
          f"{out['priority_with_rules_macro_f1']:.4f}); "
          f"confusions {ev.top_confusions(prios, ruled, 5)}")
    return out


def _cold_report(name: str, clf, texts, gold) -> dict:
    res = clf.predict_many(texts)
    pred, conf = [r[0].label for r in res], [r[0].confidence for r in res]
    rep = ev.evaluate(gold, pred, conf, threshold=0.6, latencies=None)
    half = [ev.accuracy(gold[i::2], pred[i::2]) for i in (0, 1)]
    print(f"  {name}: acc {rep.accuracy:.4f} (even rows {half[0]:.4f}, odd rows {half[1]:.4f})  "
          f"macro-F1 {rep.macro_f1:.4f}  ECE {rep.ece:.3f}  T {clf.temperature:.3f}  "
          f"coverage@0.6 {rep.coverage:.3f} (acc {rep.accuracy_covered:.3f})  "
          f"latency p50 {latencies(clf, texts)['p50']:.2f} ms", flush=True)
    return {"accuracy": rep.accuracy, "macro_f1": rep.macro_f1, "ece": rep.ece,
            "coverage_0.6": rep.coverage, "accuracy_covered": rep.accuracy_covered}


def cold_few_shot(name: str, texts, labels, seed: int = 42, k: int = 5) -> dict:
    """k examples per label as profiles (description = label name), the rest as test."""
    rng = random.Random(seed)
    by: dict[str, list[int]] = {}
    for i, y in enumerate(labels):
        by.setdefault(y, []).append(i)
    shots = {y: rng.sample(idx, min(k, len(idx) - 1)) for y, idx in sorted(by.items())}
    used = {i for v in shots.values() for i in v}
    profiles = [LabelProfileSpec(y, y.replace("_", " ").lower(), y.replace("_", " ").lower(),
                                 tuple(texts[i] for i in idx)) for y, idx in shots.items()]
    clf = SklearnBackend().cold_start(profiles)
    test = [i for i in range(len(texts)) if i not in used]
    return _cold_report(f"{name} {k}-shot cold start", clf, [texts[i] for i in test],
                        [labels[i] for i in test])


def sentiment(seed: int = 1, n: int = 3000) -> dict:
    from appliance.rules.sentiment import analyse_sentiment
    texts, labels = read(DATA / "online_shopping_10_cats" / "train.csv", "review", "label")
    idx = list(range(len(texts)))
    random.Random(seed).shuffle(idx)
    idx = idx[:n]
    started = time.perf_counter()
    res = [analyse_sentiment(texts[i]) for i in idx]
    ms = (time.perf_counter() - started) / n * 1000
    gold = ["positive" if labels[i] == "1" else "negative" for i in idx]
    decided = [(g, r.label) for g, r in zip(gold, res) if r.label != "neutral"]
    out = {"n": n, "accuracy_neutral_as_wrong": ev.accuracy(gold, [r.label for r in res]),
           "coverage": len(decided) / n,
           "accuracy_decided": sum(g == p for g, p in decided) / len(decided), "ms_per_text": ms}
    print(f"  online_shopping sample of {n} (seed {seed}): accuracy {out['accuracy_decided']:.4f} "
          f"on the {out['coverage']:.1%} not judged neutral; {out['accuracy_neutral_as_wrong']:.4f} "
          f"counting neutral as wrong; {ms:.2f} ms per review")
    return out


def language() -> dict:
    from appliance.rules.language import detect_language
    zh, _ = read(DATA / "smp2017" / "train.tsv", "Sentence", "Tag", "\t")
    en, _ = read(DATA / "banking77" / "train.csv", "text", "category")
    out = {"smp2017_zh": sum(detect_language(t) == "zh" for t in zh) / len(zh),
           "banking77_en": sum(detect_language(t) == "en" for t in en) / len(en)}
    print(f"  detect_language: SMP2017 → zh {out['smp2017_zh']:.4f}, BANKING77 → en "
          f"{out['banking77_en']:.4f}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=1, help="learned: splits with seeds 42, 43, ...")
    ap.add_argument("--only", nargs="*", default=["banking77", "smp2017", "cold", "sentiment",
                                                   "language"])
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--vectors", type=Path, metavar="CACHE_DIR",
                    help="learned: add sentence vectors from var/models (decision 0053), "
                         "computed once and cached in this folder")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"no datasets at {DATA}", file=sys.stderr)
        return 2
    seeds = [42 + i for i in range(args.seeds)]
    results = {}
    if "banking77" in args.only:
        print("BANKING77 (77 intents, en), stratified 80/20:")
        results["banking77"] = learned("banking77", *read(DATA / "banking77" / "train.csv",
                                                          "text", "category"), seeds, args.vectors)
    if "smp2017" in args.only:
        print("SMP2017 (31 domains, zh), stratified 80/20:")
        results["smp2017"] = learned("smp2017", *read(DATA / "smp2017" / "train.tsv",
                                                      "Sentence", "Tag", "\t"), seeds, args.vectors)
    if "cold" in args.only:
        print("Cold start:")
        results["coldstart_zh"] = cold_own()
        results["smp2017_5shot"] = cold_few_shot("SMP2017", *read(
            DATA / "smp2017" / "train.tsv", "Sentence", "Tag", "\t"))
        results["bitext_5shot"] = cold_few_shot("Bitext categories", *read(
            DATA / "bitext" / "customer_support_sample.csv", "instruction", "category"))
    if "sentiment" in args.only:
        print("Sentiment (lexicon):")
        results["sentiment"] = sentiment()
    if "language" in args.only:
        print("Language:")
        results["language"] = language()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
