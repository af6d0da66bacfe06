"""`gongdan ai eval` as a real subprocess: train → evaluate round trips on public data."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
COLD = ROOT / "bench" / "data" / "coldstart_zh"
# `python -m appliance.cli` runs main() before the ai group is attached at the bottom of
# appliance/cli.py, so call main() after a full import, as the `gongdan` script does.
GONGDAN = [sys.executable, "-c", "from appliance.cli import main; main()"]

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="no datasets in ../shared/data")


@pytest.fixture
def gongdan(tmp_path):
    cfg = tmp_path / "gongdan.toml"
    cfg.write_text(f'database_url = "sqlite:///{tmp_path}/g.db"\n'
                   f'queue_url = "sqlite:///{tmp_path}/q.db"\n'
                   f'index_dir = "{tmp_path}/index"\nattachment_dir = "{tmp_path}/att"\n'
                   f'secret_key = "ai-eval-test"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGDAN_")}
    env["GONGDAN_CONFIG"] = str(cfg)

    def run(*args, check=True, cmd=None):
        r = subprocess.run((cmd or GONGDAN) + list(args), env=env, capture_output=True,
                           text=True, timeout=120, cwd=tmp_path)
        if check:
            assert r.returncode == 0, r.stdout + r.stderr
        return r
    run.path = tmp_path
    return run


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
def test_eval_with_split_trains_on_a_banking77_slice_and_reaches_the_floor(gongdan):
    data = write_rows(gongdan.path / "b77.csv", ["text", "category"], banking_slice())
    r = gongdan("ai", "eval", "--data", data, "--text", "text", "--label", "category",
                "--split", "0.2", "--seed", "7", "--json")
    report = json.loads(r.stdout)
    assert report["kind"] == "learned" and report["n"] > 300
    assert report["accuracy"] >= 0.88, report["accuracy"]
    assert report["meta"]["calibration"]["ece_after"] < report["meta"]["calibration"]["ece_before"]
    assert report["latency_ms"]["p95"] < 50


@needs_data
def test_eval_with_a_separate_training_file_reaches_the_floor_on_smp2017(gongdan):
    with open(DATA / "smp2017" / "train.tsv", encoding="utf-8") as f:
        rows = [(r["Sentence"], r["Tag"]) for r in csv.DictReader(f, delimiter="\t")]
    train = write_rows(gongdan.path / "train.tsv", ["Sentence", "Tag"],
                       [x for i, x in enumerate(rows) if i % 5], "\t")
    test = write_rows(gongdan.path / "test.tsv", ["Sentence", "Tag"], rows[::5], "\t")
    r = gongdan("ai", "eval", "--data", test, "--train", train, "--text", "Sentence",
                "--label", "Tag")
    out = r.stdout
    accuracy = float(out.split("accuracy: ")[1].split()[0])
    assert accuracy >= 0.82, out
    for part in ("macro-F1:", "coverage at confidence >= 0.60", "latency per ticket: p50",
                 "top confusions", "precision", "ECE"):
        assert part in out


def test_cold_start_from_profiles_meets_the_department_and_priority_floors(gongdan):
    common = ["--data", str(COLD / "tickets.csv"), "--text", "text",
              "--profiles", str(COLD / "profiles.json"), "--json"]
    dept = json.loads(gongdan("ai", "eval", *common, "--label", "department").stdout)
    assert dept["kind"] == "cold" and dept["accuracy"] >= 0.85, dept["accuracy"]
    prio = json.loads(gongdan("ai", "eval", *common, "--label", "priority",
                              "--field", "priority").stdout)
    assert prio["accuracy"] >= 0.70, prio["accuracy"]


def test_a_missing_column_is_named_in_the_error(gongdan):
    r = gongdan("ai", "eval", "--data", str(COLD / "tickets.csv"), "--text", "body",
                "--label", "department", "--profiles", str(COLD / "profiles.json"), check=False)
    assert r.returncode != 0 and "no column 'body'" in r.stderr and "text" in r.stderr


def test_without_train_or_profiles_the_active_stored_classifier_is_used(gongdan):
    common = ["ai", "eval", "--data", str(COLD / "tickets.csv"), "--text", "text",
              "--label", "department"]
    gongdan("db", "upgrade")
    r = gongdan(*common, check=False)
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
    gongdan(cmd=[sys.executable, "-c", store])
    out = gongdan(*common).stdout
    assert "cold:1 from the database" in out
    assert float(out.split("accuracy: ")[1].split()[0]) >= 0.85


def test_train_split_and_profiles_cannot_be_combined(gongdan):
    r = gongdan("ai", "eval", "--data", str(COLD / "tickets.csv"), "--text", "text",
                "--label", "department", "--train", str(COLD / "tickets.csv"),
                "--profiles", str(COLD / "profiles.json"), check=False)
    assert r.returncode != 0 and "cannot be combined" in r.stderr
