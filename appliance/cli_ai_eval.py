"""`gongdan ai eval`: measure a classifier on a labelled file (accuracy, F1, latency).

Where the classifier comes from, in this order: `--train FILE` (trained now), `--split
F` (trained now on the rest of --data, seeded and stratified), `--profiles FILE.json`
(cold start), else the active ClassifierVersion of `--field` in the database. The
back-end and the metric functions come through appliance.registry, so the domain
never imports local_llm. For `--field priority` the priority rules are applied on top
of the classifier, as triage does (`--no-rules` measures the classifier alone).
"""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import click

from appliance.cli_ai import ai


def read_labelled(path: str, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    """Texts and labels from a CSV or TSV file (by extension), with clear column errors."""
    delimiter = "\t" if Path(path).suffix.lower() in (".tsv", ".tab") else ","
    csv.field_size_limit(16 * 1024 * 1024)  # a huge ticket is still one field
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        columns = reader.fieldnames or []
        for col in (text_col, label_col):
            if col not in columns:
                raise click.ClickException(
                    f"{path}: no column {col!r}; columns are: {', '.join(columns) or '(none)'}")
        rows = [(r[text_col] or "", (r[label_col] or "").strip()) for r in reader]
    rows = [(t, y) for t, y in rows if y]
    if not rows:
        raise click.ClickException(f"{path}: no labelled rows")
    return [t for t, _ in rows], [y for _, y in rows]


def read_profiles(path: str, field: str):
    """LabelProfileSpec list from JSON: {"fields": {field: [...]}}, {field: [...]} or [...]."""
    from appliance.ports import LabelProfileSpec
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: not readable JSON: {exc}") from None
    if isinstance(data, dict):
        fields = data.get("fields", data)
        data = fields.get(field) if isinstance(fields, dict) else None
    if not isinstance(data, list) or not data:
        raise click.ClickException(f"{path}: no profiles for field {field!r}")
    try:
        return [LabelProfileSpec(str(p["label"]), p.get("name", str(p["label"])),
                                 p.get("description", ""), tuple(p.get("examples", ())[:5]))
                for p in data]
    except (KeyError, TypeError, AttributeError):
        raise click.ClickException(f"{path}: each profile needs at least a 'label'") from None


def _active_classifier(field: str, backend):
    from appliance.cli import _boot
    _boot(queue=False)
    from appliance.models import ClassifierVersion
    row = ClassifierVersion.get_or_none((ClassifierVersion.field == field)
                                        & (ClassifierVersion.active == True))  # noqa: E712
    if row is None:
        raise click.ClickException(
            f"no active classifier for field {field!r}; pass --train, --split or --profiles")
    return backend.load(bytes(row.blob)), f"{row.kind}:{row.version} from the database"


def _classifier(opts, texts, labels, backend, ev):
    """(classifier, description, eval texts, eval labels)."""
    if opts["train"] or opts["split"]:
        if opts["train"]:
            tr_t, tr_y = read_labelled(opts["train"], opts["text"], opts["label"])
            te_t, te_y = texts, labels
        else:
            tr_i, te_i = ev.stratified_split(labels, opts["split"], opts["seed"])
            tr_t, tr_y = [texts[i] for i in tr_i], [labels[i] for i in tr_i]
            te_t, te_y = [texts[i] for i in te_i], [labels[i] for i in te_i]
        started = time.perf_counter()
        vectors, space = _vectors(opts["embedder"], tr_t)
        try:
            clf = backend.train(tr_t, tr_y, vectors=vectors, vector_space=space)
        except ValueError as exc:
            raise click.ClickException(f"cannot train: {exc}") from None
        return clf, f"learned on {len(tr_t)} rows in {time.perf_counter() - started:.1f} s", te_t, te_y
    if opts["profiles"]:
        started = time.perf_counter()
        try:
            clf = backend.cold_start(read_profiles(opts["profiles"], opts["field"]))
        except ValueError as exc:
            raise click.ClickException(f"cannot cold-start: {exc}") from None
        return clf, f"cold start from profiles in {time.perf_counter() - started:.1f} s", texts, labels
    clf, where = _active_classifier(opts["field"], backend)
    return clf, where, texts, labels


def _vectors(embedder, texts: list[str]):
    """Sentence vectors of `texts` from the local model, or (None, None) without one."""
    if embedder is None:
        return None, None
    vectors = []
    for i in range(0, len(texts), 16):
        vectors += embedder.embed(texts[i:i + 16])
    return vectors, embedder.space()


def _embedder(wanted: bool):
    """The local model's embedder when --vectors and a usable model; else None and why."""
    if not wanted:
        return None, "off (--no-vectors)"
    from appliance import registry
    from appliance.settings import load_settings
    settings = load_settings()
    if not settings.ai_semantic_features:
        return None, "off (ai_semantic_features = false)"
    emb = registry.text_embedder(settings)
    try:
        return emb, f"on ({emb.space()})"
    except Exception as exc:  # noqa: BLE001 - ModelUnavailable: evaluate text-only, say why
        return None, f"off ({exc})"


def _predict(clf, texts, field: str, use_rules: bool, embedder=None):
    """(predicted labels, confidences, seconds per ticket), one ticket at a time; with a
    classifier that reads vectors, each ticket's time includes computing its vector."""
    from appliance.rules import priority as prules
    cap = prules.COLD_START_CLASSIFIER_CAP if getattr(clf, "kind", "") == "cold" else 1
    preds, confs, secs = [], [], []
    clf.predict("预热 warm-up")  # loads the word segmenter's dictionary: not a ticket's latency
    space = getattr(clf, "vector_space", None)
    use = embedder if embedder is not None and space and space == embedder.space() else None
    for text in texts:
        started = time.perf_counter()
        scores = clf.predict(text, use.embed([text])[0] if use else None)
        if field == "priority" and use_rules:
            p, _, c, _ = prules.decide_priority(scores, prules.priority_signals(text),
                                                classifier_cap=cap)
            label, conf = str(p), c
        else:
            label, conf = scores[0].label, scores[0].confidence
        secs.append(time.perf_counter() - started)
        preds.append(label)
        confs.append(conf)
    return preds, confs, secs


@ai.command("eval")
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Labelled CSV or TSV file to evaluate on.")
@click.option("--text", required=True, help="Column with the ticket text.")
@click.option("--label", required=True, help="Column with the expected label.")
@click.option("--train", type=click.Path(exists=True, dir_okay=False),
              help="Train on this file (same columns) instead of using a stored classifier.")
@click.option("--profiles", type=click.Path(exists=True, dir_okay=False),
              help="Cold start from label profiles in this JSON file.")
@click.option("--field", default="department", show_default=True,
              help="Ticket field (picks the stored classifier and the profiles).")
@click.option("--threshold", default=0.6, show_default=True, type=click.FloatRange(0, 1),
              help="Confidence at which triage would apply the value (coverage).")
@click.option("--split", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Without --train: hold out this fraction of --data, train on the rest.")
@click.option("--seed", default=42, show_default=True, help="Seed of --split.")
@click.option("--rules/--no-rules", default=True, show_default=True,
              help="For --field priority: apply the priority rules on top.")
@click.option("--vectors/--no-vectors", default=True, show_default=True,
              help="Also use sentence vectors from the local model when it is installed "
                   "(slower: about 0.1-1.5 s of CPU per text).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def ai_eval(**opts) -> None:
    """Accuracy, macro-F1, per-label P/R, confusions, coverage and latency of a classifier."""
    if sum(bool(opts[k]) for k in ("train", "split", "profiles")) > 1:
        raise click.UsageError("--train, --split and --profiles cannot be combined")
    from appliance.registry import classifier_backend, evaluation
    ev = evaluation()
    texts, labels = read_labelled(opts["data"], opts["text"], opts["label"])
    opts["embedder"], vectors_note = _embedder(opts["vectors"])
    clf, source, texts, labels = _classifier(opts, texts, labels, classifier_backend(), ev)
    preds, confs, secs = _predict(clf, texts, opts["field"], opts["rules"], opts["embedder"])
    report = ev.evaluate(labels, preds, confs, threshold=opts["threshold"], latencies=secs)
    meta = getattr(clf, "meta", {}) or {}
    if opts["as_json"]:
        click.echo(json.dumps({"classifier": source, "kind": clf.kind, "meta": meta,
                               "vectors": vectors_note, "vector_space": getattr(clf, "vector_space", None),
                               **report.as_dict()}, ensure_ascii=False, indent=1))
        return
    click.echo(f"classifier: {clf.kind}, {source}; {len(clf.labels)} labels")
    click.echo(f"sentence vectors: {vectors_note}; the classifier "
               + ("reads them" if getattr(clf, "vector_space", None) else "is text-only"))
    calib = meta.get("calibration") or {}
    if "ece_before" in calib:
        click.echo(f"calibration slice: {calib['holdout']} rows, C={calib['C']}, "
                   f"T={calib['temperature']:.3f}, ECE {calib['ece_before']:.4f} -> "
                   f"{calib['ece_after']:.4f}")
    click.echo(ev.format_report(report, f"field: {opts['field']}; data: {opts['data']}"))
