"""AI triage for web tests: small real classes implementing the ports (no MagicMock), and
a fixture that makes the real services triage tickets with them.

The word classifier is sure (90%) when a ticket shares words with exactly one label's
description, and undecided (50/50) otherwise, so each test chooses what gets applied.
The scripted model answers enrichment with text the test chooses (HTML included).
"""
from __future__ import annotations

import json

import pytest

from appliance import jobs, registry
from appliance.ports import LabelScore, ModelInfo
from appliance.services import ai_admin, org as org_service, tickets, triage
from webapp import ai_status


class WordClassifier:
    def __init__(self, words: dict[str, list[str]], kind: str = "cold"):
        self.words, self.kind = words, kind
        self.labels = tuple(sorted(words))

    vector_space = None  # word sets only: never reads sentence vectors

    def predict(self, text: str, vector: bytes | None = None) -> list[LabelScore]:
        tokens = set(text.lower().split())
        hits = {label: len(tokens & set(ws)) for label, ws in self.words.items()}
        winners = [label for label, n in hits.items() if n and n == max(hits.values())]
        if len(winners) != 1:
            return [LabelScore(label, 1 / len(self.labels)) for label in self.labels]
        rest = 0.1 / max(len(self.labels) - 1, 1)
        return [LabelScore(winners[0], 0.9)] + [LabelScore(label, rest) for label in self.labels
                                                if label != winners[0]]

    def predict_many(self, texts, vectors=None):
        return [self.predict(t) for t in texts]

    def to_bytes(self) -> bytes:
        return json.dumps({"words": self.words, "kind": self.kind}).encode()


class WordBackend:
    def train(self, texts, labels, *, weights=None, vectors=None, vector_space=None):
        words: dict[str, set] = {}
        for text, label in zip(texts, labels):
            words.setdefault(label, set()).update(text.lower().split())
        return WordClassifier({k: sorted(v) for k, v in words.items()}, "learned")

    def cold_start(self, profiles):
        return WordClassifier({p.label: " ".join((p.description,) + p.examples).lower().split()
                               for p in profiles})

    def load(self, blob: bytes):
        data = json.loads(blob)
        return WordClassifier(data["words"], data["kind"])


class ScriptedModel:
    """A TextModel whose enrichment answer is `reply` (whatever the ticket says)."""

    def __init__(self, reply: dict, available: bool = True):
        self.reply = reply
        self._info = ModelInfo("fake-0.5b", "ab" * 32, "/models/fake.gguf", available, "")

    def info(self) -> ModelInfo:
        return self._info

    def complete_json(self, system, user, schema, **kw) -> dict:
        return dict(self.reply)

    def stream(self, *a, **kw):
        raise NotImplementedError


# What the "model" says about every ticket: markup that must reach the page escaped.
MODEL_REPLY = {"summary": "<script>alert('summary')</script> 客户的打印机卡纸",
               "order_numbers": ["<b>SO-1</b>"], "product": "<img src=x onerror=alert(1)>",
               "location": ""}


def drain() -> None:
    """Run queued jobs until none are left (triage schedules enrichment, and so on)."""
    while jobs.run_pending_inline():
        pass


@pytest.fixture
def ai(settings, org, monkeypatch):
    """Cold-start classifiers of every routing field from label profiles, trained
    through the services, with the fake back-end and model; returns a helper to open
    tickets (triaged unless run=False)."""
    monkeypatch.setattr(registry, "classifier_backend", lambda: WordBackend())
    monkeypatch.setattr(registry, "text_model", lambda s: ScriptedModel(MODEL_REPLY))
    monkeypatch.setattr(triage, "_llm_here", True)
    printers = org_service.save_category(org.admin, "打印机", department_id=org.after_sales)
    parcels = org_service.save_category(org.admin, "快递", department_id=org.logistics)
    for field, printer, parcel in (("department", org.after_sales, org.logistics),
                                   ("category", printers.id, parcels.id),
                                   ("priority", 2, 4), ("urgency", "high", "low")):
        ai_admin.save_label_profile(org.admin, field, str(printer), "printer screen 打印机 屏幕",
                                    ["printer jammed"])
        ai_admin.save_label_profile(org.admin, field, str(parcel), "parcel delivery 快递",
                                    ["parcel late"])
    ai_admin.schedule_training(org.admin)
    drain()

    def open_ticket(subject: str, description: str = "", run: bool = True) -> int:
        t = tickets.create_ticket(org.customer, tickets.TicketInput(
            subject=subject, description=description), settings).summary.id
        if run:
            drain()
        return t
    return open_ticket


@pytest.fixture(autouse=True)
def fresh_model_status():
    """The UI caches the model status per process; each test starts without it."""
    ai_status.forget()
    yield
    ai_status.forget()
