"""The AI step of chat and call intake (issue 5; being built): does the conversation need
a ticket, and what does it say (subject, problem, identifiers, product, urgency)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Extraction:
    needs_ticket: bool
    confidence: float                 # 0..1, of the decision
    reason: str                       # short English code or phrase, e.g. "customer_confirmed"
    subject: str
    description: str
    language: str = ""                # zh | en | ...
    product: str = ""
    urgency: str = "medium"           # low | medium | high
    phones: tuple[str, ...] = field(default_factory=tuple)
    emails: tuple[str, ...] = field(default_factory=tuple)
    order_numbers: tuple[str, ...] = field(default_factory=tuple)
    addresses: tuple[str, ...] = field(default_factory=tuple)
    method: str = "rules"             # rules | model (what decided)

    def to_json(self) -> dict:
        out = asdict(self)
        for k in ("phones", "emails", "order_numbers", "addresses"):
            out[k] = list(out[k])
        return out


def analyse(channel: str, messages: list[dict], settings) -> Extraction:
    """`messages`: [{"speaker": "customer" | "agent" | "bot" | "system", "text": str,
    "at": iso str or ""}] in order. Stub until the extraction is built: always a ticket."""
    text = "\n".join(m.get("text", "") for m in messages if m.get("speaker") == "customer")
    first = text.strip().splitlines()[0] if text.strip() else ""
    return Extraction(True, 0.0, "stub", first[:120] or channel, text)
