"""The e-mail addresses of logins (staff and portal customers), encrypted at rest
(docs/decisions/0052).

`user.email_enc` holds the address sealed to user|email|<id>, `user.email_bidx` the blind
index of the lower-cased address (the same HMAC an e-mail contact gets), for the "a
portal login uses another customer's address" hint and for "has an address". Every read
and write of a login's address goes through this module.
"""
from __future__ import annotations

from appliance.models import User
from appliance.services import encryption

TABLE, COLUMN = "user", "email"


def blind(email: str) -> str:
    return encryption.blind("email", (email or "").strip().lower())


def columns(user_id: int, email: str) -> dict:
    """Model column values for this login's address ("" clears it)."""
    email = (email or "").strip()
    return {"email_enc": encryption.seal(TABLE, COLUMN, user_id, email),
            "email_bidx": blind(email)}


def set_email(user_id: int, email: str, **other) -> int:
    """Store the address (and any `other` column values) on the login's row."""
    return User.update(**columns(user_id, email), **other).where(User.id == user_id).execute()


def email_of(u: User) -> str:
    """The address of a login row read with its id and email_enc."""
    return encryption.unseal(TABLE, COLUMN, u.id, u.email_enc)


def has_email():
    """A condition on User: the login has an address."""
    return User.email_bidx != ""
