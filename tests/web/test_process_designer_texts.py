"""The designer's scripts hold no text of their own and no second copy of the rules'
vocabulary that could drift: every string key they use is in the translated table the
page sends, the choices they offer are the rules' choices, every problem code has a
translatable message, and each module stays small."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance.models.process import DEFINITION_STATUSES
from appliance.rules import process_nodes as nodes
from appliance.rules.process_conditions import OPERATORS
from appliance.rules.process_problems import MESSAGES
from webapp.views.process_choices import vocabulary
from webapp.views.process_labels import NODE_TYPES, designer_strings
from webapp.views.process_problem_text import PROBLEM_TEXT

DESIGNER = Path(__file__).resolve().parents[2] / "webapp" / "static" / "designer"


def scripts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(DESIGNER.glob("*.js"))}


@pytest.fixture
def strings(app):
    with app.test_request_context("/"):
        return designer_strings()


def test_every_string_key_a_script_uses_is_in_the_translated_table(strings):
    used = set()
    for source in scripts().values():
        code = re.sub(r"^\s*//.*$", "", source, flags=re.M)
        used |= set(re.findall(r'\bt\("([a-z_]+)"', code))
    assert used and used <= set(strings), sorted(used - set(strings))


def test_every_choice_the_designer_offers_has_a_translated_label(app, strings):
    with app.test_request_context("/"):
        vocab = vocabulary()
    kinds = set(vocab["assigneeKinds"]) | set(vocab["approverKinds"]) | set(vocab["notifyKinds"])
    wanted = {f"who_{k}" for k in kinds} | {f"action_{a}" for a in vocab["actions"]} \
        | {f"event_{e}" for e in vocab["waitEvents"]} | {f"type_{t}" for t in NODE_TYPES} \
        | {f"quorum_{q}" for q in vocab["quorumModes"]} | {f"op_{o}" for o in OPERATORS} \
        | {f"outcome_{o}" for o in vocab["endOutcomes"]} \
        | {f"status_{s}" for s in DEFINITION_STATUSES} | {"on_approved", "on_rejected"} \
        | {f"{w}_{part}" for w in ("assignee", "approvers", "escalate_to", "notify")
           for part in ("kind", "value")} \
        | {f"param_{p}" for names in vocab["actions"].values() for p in names if p != "body"}
    assert wanted <= set(strings), sorted(wanted - set(strings))
    assert set(NODE_TYPES) == set(nodes.NODE_TYPES)


def test_the_designer_offers_exactly_what_the_rules_accept(app):
    with app.test_request_context("/"):
        vocab = vocabulary()
    assert vocab["actions"].keys() == set(nodes.ACTIONS)
    assert {a: set(p) for a, p in vocab["actions"].items()} == \
        {a: set(k) for a, k in nodes.ACTION_KEYS.items()}
    assert set(vocab["waitEvents"]) <= set(nodes.WAIT_EVENTS)
    assert (vocab["notifyKinds"], vocab["approverKinds"], vocab["assigneeKinds"]) == \
        (list(nodes.NOTIFY_KINDS), list(nodes.APPROVER_KINDS), list(nodes.ASSIGNEE_KINDS))


def test_every_problem_code_has_its_message_as_a_translatable_msgid():
    assert {k: str(v) for k, v in PROBLEM_TEXT.items()} == MESSAGES


def test_each_designer_module_stays_under_400_lines():
    sizes = {name: source.count("\n") for name, source in scripts().items()}
    assert len(sizes) >= 10 and max(sizes.values()) < 400, sizes
