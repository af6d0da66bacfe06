"""Secrets the appliance must keep and use again (mailbox passwords), encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256, authenticated) under a key derived from the
installation's `secret_key` with HKDF-SHA256 and a fixed purpose label, so the same
secret key used elsewhere (CSRF, cookies) never serves as this key directly. A token
made under one secret key does not open under another: that is a `SecretDecryptError`,
never garbage.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"gongdan mailbox credentials v1"


class SecretDecryptError(Exception):
    """The token was made under another secret key, or was altered."""


def _fernet(secret_key: str, info: bytes = INFO) -> Fernet:
    if not secret_key:
        raise ValueError("secret_key is empty; run `gongdan init` to generate one")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(plain: str, secret_key: str, info: bytes = INFO) -> str:
    """An ASCII token for `plain`; a fresh random IV each time. `info` names the purpose
    (a token made for one purpose does not open as another)."""
    return _fernet(secret_key, info).encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str, secret_key: str, info: bytes = INFO) -> str:
    try:
        return _fernet(secret_key, info).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError) as exc:
        if isinstance(exc, ValueError) and not secret_key:
            raise
        raise SecretDecryptError(
            "cannot decrypt the stored secret: the secret key differs from the one it "
            "was stored with, or the data was altered") from None
