"""The quality rubric with the real default model (services.quality.rubric_for).

Measured (docs/decisions/0039, bench/quality_bench.py): the 0.5B default model returns a
valid rubric with reasons every time, but mostly gives the same number to all three
dimensions of a reply (one overall judgement, not three), and ranks a polite, correct
reply above a rude, wrong one in most pairs, not all. The first test asks for what was
measured (every rubric valid, the rude reply lower in at least 3 of the 4 labelled
pairs); the second states the real requirement (every pair) and is an expected failure
with this model, so a better model shows up as XPASS. About 3 minutes on the 2-core box (8 constrained completions, one thread)."""
from __future__ import annotations

import time

import pytest

from appliance import prompts_quality as pq
from appliance.rules.quality_rules import RUBRIC_KEYS
from appliance.services import quality
from bench.quality_bench import LABELLED


def _valid(rubric: dict) -> None:
    assert set(rubric) == set(RUBRIC_KEYS)
    for item in rubric.values():
        assert type(item["score"]) is int and 1 <= item["score"] <= 5
        assert item["reason"].strip() and len(item["reason"]) <= pq.REASON_MAX
        assert "\n" not in item["reason"]


@pytest.fixture(scope="module")
def graded(text_model):
    """Empathy (polite and correct, rude and wrong) of each labelled pair, every rubric
    checked for shape on the way."""
    seen = []
    for customer, knowledge, good, bad in LABELLED:
        scores = []
        for reply in (good, bad):
            started = time.monotonic()
            rubric = quality.rubric_for(text_model, customer, reply, [knowledge], 60)
            assert time.monotonic() - started < 60
            _valid(rubric)
            scores.append(rubric["empathy"]["score"])
        seen.append(tuple(scores))
    print("empathy (good, bad) per pair:", seen)
    return seen


def test_every_rubric_is_valid_and_most_rude_replies_score_lower_on_empathy(graded):
    assert sum(bad < good for good, bad in graded) >= 3, graded


@pytest.mark.xfail(reason="measured: the 0.5B default model ties or inverts some pairs "
                          "(docs/decisions/0039)", strict=False)
def test_every_rude_wrong_reply_scores_lower_on_empathy_than_its_polite_twin(graded):
    assert all(bad < good for good, bad in graded), graded


def test_a_card_number_in_the_reply_never_reaches_the_model(text_model):
    class Spy:
        def __init__(self, model):
            self.model, self.users = model, []

        def info(self):
            return self.model.info()

        def complete_json(self, system, user, schema, **kw):
            self.users.append(user)
            return self.model.complete_json(system, user, schema, **kw)

    spy = Spy(text_model)
    rubric = quality.rubric_for(spy, "我的卡被扣款两次", "您好，卡号 6222021234567894 的重复扣款会退回。",
                                [], 60)
    _valid(rubric)
    assert spy.users and all("6222021234567894" not in u for u in spy.users)
