"""When an approval step is decided (pure; docs/decisions/0018).

Quorum `any` needs one approval, `all` every approver's, `n_of_m` n of them. The step is
approved as soon as enough approvals are in, and rejected as soon as enough rejections
are in that the quorum can no longer be reached (so with `all` one rejection rejects,
with `any` only everyone rejecting does). An approver added by escalation decides alone:
escalation hands the decision to someone above the approvers who did not decide in time.
"""
from __future__ import annotations

from dataclasses import dataclass

MODES = ("any", "all", "n_of_m")


@dataclass(frozen=True)
class Vote:
    decision: str          # "" (not yet) | approved | rejected | void
    escalated: bool = False


def needed(quorum: dict | None, approvers: int) -> int:
    """How many approvals the step needs, from 1 to the number of approvers."""
    quorum = quorum if isinstance(quorum, dict) else {}
    mode = quorum.get("mode") or "any"
    if mode == "all":
        return max(approvers, 1)
    if mode == "n_of_m":
        n = quorum.get("n")
        n = n if isinstance(n, int) and not isinstance(n, bool) else 1
        return min(max(n, 1), max(approvers, 1))
    return 1


def outcome(quorum: dict | None, votes: list[Vote]) -> str | None:
    """approved, rejected, or None while the step still waits for votes."""
    for v in votes:
        if v.escalated and v.decision in ("approved", "rejected"):
            return v.decision
    regular = [v for v in votes if not v.escalated]
    need = needed(quorum, len(regular))
    approved = sum(v.decision == "approved" for v in regular)
    rejected = sum(v.decision == "rejected" for v in regular)
    if approved >= need:
        return "approved"
    if rejected > len(regular) - need:
        return "rejected"
    return None
