"""The addresses of mail messages, encrypted at rest (docs/decisions/0051).

A sender's or recipient's e-mail address is personal data (SECURITY.md): `from_enc` holds
the sender sealed to mail_message|from|<id>, `to_enc` the To/Cc list (JSON) sealed to
mail_message|to|<id>, and `from_bidx` the blind index of the sender (the same HMAC as an
e-mail contact's) for the per-sender rate limit and the "did this sender write on this
ticket" check. Rows are inserted and sealed in one transaction (the ciphertext is bound
to the row id). Every read and write of those columns goes through this module.
"""
from __future__ import annotations

import json

from appliance.db import database
from appliance.models import MailMessage
from appliance.services import encryption

TABLE = "mail_message"


def canonical(address: str) -> str:
    return (address or "").strip().lower()


def blind(address: str) -> str:
    """The sender's blind index ("" for no address)."""
    return encryption.blind("email", canonical(address))


def create(**fields) -> MailMessage:
    """Insert a message row; `from_address` and `to_addresses` among `fields` are sealed to
    it. Runs in a savepoint of the caller's transaction (or its own)."""
    sender = canonical(fields.pop("from_address", "") or "")
    to = [str(a) for a in (fields.pop("to_addresses", None) or [])]
    with database.atomic():
        row = MailMessage.create(**fields)
        values = columns(row.id, sender, to)
        if values["from_enc"] or values["to_enc"]:
            MailMessage.update(**values).where(MailMessage.id == row.id).execute()
    row.from_enc, row.from_bidx, row.to_enc = (values["from_enc"], values["from_bidx"],
                                               values["to_enc"])
    return row


def columns(row_id: int, sender: str, to: list[str]) -> dict:
    sender = canonical(sender)
    return {"from_enc": encryption.seal(TABLE, "from", row_id, sender),
            "from_bidx": blind(sender),
            "to_enc": encryption.seal(TABLE, "to", row_id,
                                      json.dumps(to, ensure_ascii=False)) if to else ""}


def set_sender(row_id: int, sender: str) -> None:
    sender = canonical(sender)
    MailMessage.update(from_enc=encryption.seal(TABLE, "from", row_id, sender),
                       from_bidx=blind(sender)).where(MailMessage.id == row_id).execute()


def sender_of(row: MailMessage) -> str:
    """The sender of a row read with its id and from_enc."""
    return encryption.unseal(TABLE, "from", row.id, row.from_enc)


def recipients_of(row: MailMessage) -> list[str]:
    """The To/Cc addresses of a row read with its id and to_enc."""
    text = encryption.unseal(TABLE, "to", row.id, row.to_enc)
    return list(json.loads(text)) if text else []


def sent_by(address: str):
    """A condition on MailMessage: its sender is `address` (case aside)."""
    key = blind(address)
    return (MailMessage.from_bidx == key) if key else (MailMessage.id == -1)
