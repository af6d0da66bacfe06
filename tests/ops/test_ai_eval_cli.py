"""`gongdan ai eval` as a real subprocess: train → evaluate round trips on public data."""
import csv
import json
import sys
from pathlib import Path

import pytest

from local_llm import registry

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
COLD = ROOT / "bench" / "data" / "coldstart_zh"

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="no datasets in ../shared/data")


def write_rows(path: Path, header, rows, delimiter=","):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def banking_slice(n_labels=15):
    with open(DATA / "banking77" / "train.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    keep = sorted({r["category"] for r in rows})[:n_labels]
    return [(r["text"], r["category"]) for r in rows if r["category"] in keep]


@needs_data
def test_eval_with_split_trains_on_a_banking77_slice_and_reaches_the_floor(site):
    data = write_rows(site.path / "b77.csv", ["text", "category"], banking_slice())
    r = site("ai", "eval", "--data", data, "--text", "text", "--label", "category",
             "--split", "0.2", "--seed", "7", "--json")
    report = json.loads(r.stdout)
    assert report["kind"] == "learned" and report["n"] > 300
    assert report["accuracy"] >= 0.88, report["accuracy"]
    assert report["meta"]["calibration"]["ece_after"] < report["meta"]["calibration"]["ece_before"]
    assert report["latency_ms"]["p95"] < 50


@needs_data
def test_eval_with_a_separate_training_file_reaches_the_floor_on_smp2017(site):
    with open(DATA / "smp2017" / "train.tsv", encoding="utf-8") as f:
        rows = [(r["Sentence"], r["Tag"]) for r in csv.DictReader(f, delimiter="\t")]
    train = write_rows(site.path / "train.tsv", ["Sentence", "Tag"],
                       [x for i, x in enumerate(rows) if i % 5], "\t")
    test = write_rows(site.path / "test.tsv", ["Sentence", "Tag"], rows[::5], "\t")
    r = site("ai", "eval", "--data", test, "--train", train, "--text", "Sentence",
             "--label", "Tag")
    out = r.stdout
    accuracy = float(out.split("accuracy: ")[1].split()[0])
    assert accuracy >= 0.82, out
    for part in ("macro-F1:", "coverage at confidence >= 0.60", "latency per ticket: p50",
                 "top confusions", "precision", "ECE"):
        assert part in out


def test_cold_start_from_profiles_meets_the_department_and_priority_floors(site):
    common = ["--data", str(COLD / "tickets.csv"), "--text", "text",
              "--profiles", str(COLD / "profiles.json"), "--json"]
    dept = json.loads(site("ai", "eval", *common, "--label", "department").stdout)
    assert dept["kind"] == "cold" and dept["accuracy"] >= 0.85, dept["accuracy"]
    prio = json.loads(site("ai", "eval", *common, "--label", "priority",
                           "--field", "priority").stdout)
    assert prio["accuracy"] >= 0.70, prio["accuracy"]


def test_a_missing_column_is_named_in_the_error(site):
    r = site("ai", "eval", "--data", str(COLD / "tickets.csv"), "--text", "body",
             "--label", "department", "--profiles", str(COLD / "profiles.json"), check=False)
    assert r.returncode != 0 and "no column 'body'" in r.stderr and "text" in r.stderr


def test_without_train_or_profiles_the_active_stored_classifier_is_used(site):
    common = ["ai", "eval", "--data", str(COLD / "tickets.csv"), "--text", "text",
              "--label", "department"]
    site("db", "upgrade")
    r = site(*common, check=False)
    assert r.returncode != 0 and "no active classifier for field 'department'" in r.stderr
    store = ("import hashlib, json\n"
             "from appliance.bootstrap import boot\n"
             "from appliance.ports import LabelProfileSpec\n"
             "from appliance.registry import classifier_backend\n"
             "boot(queue=False)\n"
             "from appliance.models import ClassifierVersion\n"
             f"fields = json.load(open({str(COLD / 'profiles.json')!r}))['fields']\n"
             "specs = [LabelProfileSpec(p['label'], p['name'], p['description'],"
             " tuple(p['examples'])) for p in fields['department']]\n"
             "blob = classifier_backend().cold_start(specs).to_bytes()\n"
             "ClassifierVersion.create(field='department', version=1, kind='cold', blob=blob,"
             " sha256=hashlib.sha256(blob).hexdigest(), active=True)\n")
    site(cmd=[sys.executable, "-c", store])
    out = site(*common).stdout
    assert "cold:1 from the database" in out
    assert float(out.split("accuracy: ")[1].split()[0]) >= 0.85


def test_train_split_and_profiles_cannot_be_combined(site):
    r = site("ai", "eval", "--data", str(COLD / "tickets.csv"), "--text", "text",
             "--label", "department", "--train", str(COLD / "tickets.csv"),
             "--profiles", str(COLD / "profiles.json"), check=False)
    assert r.returncode != 0 and "cannot be combined" in r.stderr


MODEL_DIR = ROOT / "var" / "models"
DEFAULT_MODEL = registry.DEFAULT


@needs_data
@pytest.mark.skipif(not (MODEL_DIR / DEFAULT_MODEL.entry.file).is_file(),
                    reason="the default model is not installed in var/models (`make model`)")
def test_eval_uses_sentence_vectors_from_the_installed_model_unless_told_not_to(site):
    domains = {"health", "train", "weather", "translation", "calc", "email"}
    with open(DATA / "smp2017" / "train.tsv", encoding="utf-8") as f:
        rows = [(r["Sentence"], r["Tag"]) for r in csv.DictReader(f, delimiter="\t")
                if r["Tag"] in domains]
    data = write_rows(site.path / "smp6.tsv", ["Sentence", "Tag"], rows, "\t")
    args = ("ai", "eval", "--data", data, "--text", "Sentence", "--label", "Tag",
            "--split", "0.25", "--json")
    env = {"GONGDAN_MODEL_DIR": str(MODEL_DIR)}
    with_vectors = json.loads(site(*args, extra_env=env, timeout=600).stdout)
    assert with_vectors["vectors"].startswith("on (") and with_vectors["vector_space"]
    assert with_vectors["meta"]["semantic"]["used"] is True
    assert with_vectors["accuracy"] >= 0.9, with_vectors["accuracy"]
    text_only = json.loads(site(*args, "--no-vectors", extra_env=env).stdout)
    assert text_only["vectors"] == "off (--no-vectors)" and text_only["vector_space"] is None
