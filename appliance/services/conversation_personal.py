"""The personal part of a chat or call record, encrypted at rest (decision 0046).

What the integration posted about the customer (name, phone, e-mail, its customer id)
and the call's caller and callee numbers are sealed together as one JSON value in
`conversation.personal_enc`, bound to conversation|personal|<id>; the plain columns keep
only what is not personal (the source system, the direction, the agent's name). The
transcript itself is free text, like a ticket's replies: it stays as posted (shown
masked to staff who may not see the customer's contacts).
"""
from __future__ import annotations

import json

from appliance.models import Conversation
from appliance.services import encryption

TABLE, COLUMN = "conversation", "personal"
PRIVATE_PARTICIPANTS = ("caller", "callee")


def public_participants(participants: dict) -> dict:
    return {k: v for k, v in (participants or {}).items() if k not in PRIVATE_PARTICIPANTS}


def seal(row_id: int, identifiers: dict, participants: dict) -> str:
    private = {k: v for k, v in (participants or {}).items() if k in PRIVATE_PARTICIPANTS}
    if not identifiers and not private:
        return ""
    value = json.dumps({"identifiers": identifiers or {}, "participants": private},
                       ensure_ascii=False, sort_keys=True)
    return encryption.seal(TABLE, COLUMN, row_id, value)


def store(row_id: int, identifiers: dict, participants: dict) -> None:
    """Inside the caller's transaction, right after the row was inserted (its id binds
    the ciphertext)."""
    Conversation.update(personal_enc=seal(row_id, identifiers, participants)).where(
        Conversation.id == row_id).execute()


def read(row: Conversation) -> tuple[dict, dict]:
    """(identifiers, participants with caller and callee) of the row."""
    opened = encryption.unseal(TABLE, COLUMN, row.id, row.personal_enc or "")
    private = json.loads(opened) if opened else {}
    return (dict(private.get("identifiers") or {}),
            {**(row.participants or {}), **(private.get("participants") or {})})
