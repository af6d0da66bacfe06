"""Random secrets and their stored hashes (API tokens, session ids)."""
from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token(prefix: str = "gd") -> str:
    """A 256-bit random token; the prefix makes leaked tokens easy to recognise."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
