"""Sentence vectors from the real default model, and the classifiers and triage using them
(decision 0053): the embedder itself, the vectors kept per ticket, training with them and
the fast path reading them, on a real SQLite database."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from appliance import jobs, runtime
from appliance import registry as app_registry
from appliance.models import Ticket, TicketVector
from appliance.ports import ModelBusy, ModelUnavailable
from appliance.models import TriageRun
from appliance.services import ai_training, ticket_vectors, tickets, triage
from local_llm import registry
from local_llm.classifier import SklearnBackend
from local_llm.embedder import LlamaEmbedder, from_bytes
from tests.conftest import with_settings
from tests.factories import make_org
from tests.web.aifakes import ScriptedModel

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="module")
def embedder(llm_model_dir) -> LlamaEmbedder:
    return LlamaEmbedder(str(llm_model_dir), registry.DEFAULT.entry.name, threads=2)


def cosine(a: bytes, b: bytes) -> float:
    x, y = from_bytes(a), from_bytes(b)
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def test_vectors_are_unit_length_repeatable_and_differ_between_texts(embedder):
    texts = ["打印机不能打印了", "打印机坏了，打不出来", "我的快递三天没有更新物流",
             "My card payment was declined", ""]
    first = embedder.embed(texts)
    assert len(first) == 5 and all(len(v) == len(first[0]) > 0 for v in first)
    assert all(abs(np.linalg.norm(from_bytes(v)) - 1) < 1e-2 for v in first)
    assert cosine(embedder.embed(texts[:1])[0], first[0]) > 0.999   # same text, same vector
    # Raw vectors of a decoder model share one large common direction (the classifier
    # centres them); what they add is measured by the SMP2017 test below.
    assert all(cosine(first[0], v) < 0.99 for v in first[1:])
    assert embedder.space().startswith(registry.DEFAULT.entry.sha256[:16])


def test_each_vector_is_two_readings_of_half_length_each(embedder):
    """Decision 0054: the mean reading and the one-word (last-token) reading, each unit
    length, side by side and scaled so the whole is unit length."""
    vec = from_bytes(embedder.embed(["快递三天没有更新物流"])[0])
    mean, eol = np.split(vec, 2)
    assert abs(np.linalg.norm(mean) - 2 ** -0.5) < 1e-2
    assert abs(np.linalg.norm(eol) - 2 ** -0.5) < 1e-2
    assert abs(float(mean @ eol)) < 0.5          # two readings, not one copied twice
    assert embedder.space().endswith("-mean+eol-64")


def test_the_frame_follows_the_language_and_survives_a_long_text(embedder):
    mean_llm, _ = embedder._loaded()
    assert embedder._eol_prompt(mean_llm, "打印机坏了").startswith("这句话：“打印机坏了”")
    assert embedder._eol_prompt(mean_llm, "card declined").startswith('This sentence : "card')
    assert embedder._eol_prompt(mean_llm, "VPN 连不上").startswith("这句话")  # mixed, zh-led
    long = embedder._eol_prompt(mean_llm, "宽带断网 " * 500)
    assert long.endswith("用一个词来说是：“") and len(long) < 400


def test_a_huge_text_is_cut_to_the_token_cap_not_refused(embedder):
    vec = embedder.embed(["宽带断网 " * 5000])[0]
    assert cosine(vec, embedder.embed(["宽带断网 " * 200])[0]) > 0.999  # both past the cap


def test_a_busy_embedder_answers_model_busy_at_once_when_the_caller_cannot_wait(embedder):
    embedder._lock.acquire()
    try:
        with pytest.raises(ModelBusy):
            embedder.embed(["快递"], wait_s=0)
    finally:
        embedder._lock.release()
    assert embedder.embed(["快递"], wait_s=0)


def test_without_a_model_the_embedder_is_unavailable_and_vectors_are_off(tmp_path, settings):
    missing = LlamaEmbedder(str(tmp_path / "none"), "")
    with pytest.raises(ModelUnavailable):
        missing.space()
    assert ticket_vectors.embedder(settings) == (None, None)  # the test site has no model


def smp_slice(domains=("health", "train", "weather", "translation", "calc", "email")):
    with open(DATA / "smp2017" / "train.tsv", encoding="utf-8") as f:
        rows = [(r["Sentence"], r["Tag"]) for r in csv.DictReader(f, delimiter="\t")
                if r["Tag"] in domains]
    return rows


@pytest.mark.skipif(not DATA.is_dir(), reason="no datasets in ../shared/data")
def test_a_classifier_trained_with_real_vectors_reads_them_and_reaches_the_floor(embedder):
    rows = smp_slice()
    train, test = [r for i, r in enumerate(rows) if i % 4], rows[::4]
    vectors = embedder.embed([t for t, _ in train])
    clf = SklearnBackend().train([t for t, _ in train], [y for _, y in train],
                                 vectors=vectors, vector_space=embedder.space())
    assert clf.vector_space == embedder.space() and clf.meta["semantic"]["used"]
    test_vectors = embedder.embed([t for t, _ in test])
    with_vectors = clf.predict_many([t for t, _ in test], test_vectors)
    right = np.mean([p[0].label == y for p, (_, y) in zip(with_vectors, test)])
    assert right >= 0.9, right
    assert clf.predict(test[0][0]) == SklearnBackend().load(clf.to_bytes()).predict(test[0][0])


# --- the vectors kept per ticket, training and triage on a real database --------------------

@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    """The vectors table and its queries on a real SQLite file and the real PostgreSQL."""
    return request.param


@pytest.fixture
def site(settings, llm_model_dir, monkeypatch):
    """The real model's vectors for this site, and jobs run as the worker runs them (model
    allowed). Enrichment gets a scripted answer: generating text is not under test here."""
    s = with_settings(settings, model_dir=str(llm_model_dir), ai_min_examples=10,
                      ai_embed_threads=2)
    runtime.configure(s)
    monkeypatch.setattr(triage, "_llm_here", True)
    reply = {"summary": "打印机卡纸", "order_numbers": [], "product": "", "location": ""}
    monkeypatch.setattr(app_registry, "text_model", lambda settings: ScriptedModel(reply))
    return s


def drain() -> None:
    while jobs.run_pending_inline():
        pass


def test_training_computes_each_tickets_vector_once_and_triage_reads_it(site):
    org = make_org()
    ids = []
    for i in range(8):
        for subject, dept in ((f"打印机卡纸，打不出来 {i}", org.after_sales),
                              (f"快递三天没有更新物流 {i}", org.logistics)):
            t = tickets.create_ticket(org.admin, tickets.TicketInput(
                subject=subject, department_id=dept, priority=3), site)
            tickets.transition_ticket(org.admin, t.summary.id, "resolved", site)
            ids.append(t.summary.id)
    drain()
    results = {r.field: r for r in ai_training.train(site, "department")}
    dept = results["department"]
    assert dept.kind == "learned" and dept.metrics["semantic"] is True
    assert dept.metrics["vectors_computed"] >= 16 and dept.metrics["vectors_missing"] == 0
    rows = {r.ticket_id: r for r in TicketVector.select().where(TicketVector.ticket.in_(ids))}
    assert set(rows) == set(ids)
    again = ai_training.train(site, "department")[0]
    assert again.metrics["vectors_computed"] == 0 and again.metrics["vectors_stored"] >= 16

    new = tickets.create_ticket(org.admin, tickets.TicketInput(subject="打印机又卡纸了"), site)
    drain()
    stored = TicketVector.get_or_none(TicketVector.ticket == new.summary.id)
    assert stored is not None and stored.space == ticket_vectors.embedder(site)[1]
    t = Ticket.get_by_id(new.summary.id)
    run = TriageRun.select().where(TriageRun.ticket == t.id).order_by(TriageRun.id).first()
    assert run.classifier_versions["department"].endswith("+vector")
    assert str(run.suggestions["department"]["value"]) == str(org.after_sales)

    Ticket.delete().where(Ticket.id == t.id).execute()      # vectors go with their ticket
    assert TicketVector.get_or_none(TicketVector.ticket == t.id) is None


def test_a_backlogged_ticket_is_routed_from_text_alone_and_an_edited_one_embedded_again(site):
    org = make_org()
    for i in range(6):
        for subject, dept in ((f"打印机卡纸 {i}", org.after_sales), (f"快递没更新 {i}", org.logistics)):
            t = tickets.create_ticket(org.admin, tickets.TicketInput(
                subject=subject, department_id=dept), site)
            tickets.transition_ticket(org.admin, t.summary.id, "resolved", site)
    drain()
    ai_training.train(site, "department")
    late = with_settings(site, ai_embed_max_lag_seconds=0.0)
    runtime.configure(late)
    t = tickets.create_ticket(org.admin, tickets.TicketInput(subject="打印机卡纸了"), late)
    drain()
    assert TicketVector.get_or_none(TicketVector.ticket == t.summary.id) is None
    run = TriageRun.get(TriageRun.ticket == t.summary.id)
    assert not run.classifier_versions["department"].endswith("+vector")

    text = ai_training.ticket_text("打印机卡纸了", "")
    first, space = ticket_vectors.for_new_ticket(t.summary.id, text, site)
    edited, _ = ticket_vectors.for_new_ticket(t.summary.id, text + " 还冒烟", site)
    assert first and edited and first != edited
    assert ticket_vectors.stored([(t.summary.id, text + " 还冒烟")], space) == {t.summary.id: edited}
