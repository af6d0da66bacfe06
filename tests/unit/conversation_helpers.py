"""Small builders shared by the conversation-rule tests (tests/unit/test_conversation_*)."""
from __future__ import annotations

from appliance.rules.conversation_extract import Identifiers, Turn, extract_identifiers


def ids(*lines) -> Identifiers:
    """Identifiers in a conversation: a plain string is a customer turn, a tuple
    (speaker, text) any other."""
    turns = [Turn(*line) if isinstance(line, tuple) else Turn("customer", line) for line in lines]
    return extract_identifiers(turns)


def turns(*pairs) -> list[Turn]:
    """("C" | "A", text) pairs as customer and agent turns."""
    return [Turn({"C": "customer", "A": "agent"}[s], t) for s, t in pairs]
