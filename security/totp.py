"""TOTP second factor (RFC 6238 via pyotp), its QR code, and recovery codes.

Pure functions: the caller stores the secret (encrypted, security.crypto with INFO) and the
last time step used, so a code cannot be replayed within its step. Recovery codes carry
80 random bits each, so a plain SHA-256 of the code is a sufficient stored form.
"""
from __future__ import annotations

import hashlib
import secrets
import time

import pyotp
import segno

INFO = b"gongdan totp secret v1"  # HKDF purpose label for encrypting TOTP secrets
ISSUER = "Gongdan"
STEP = 30
RECOVERY_CODES = 10
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud, typed by hand


def new_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG element (no script, no data: URL: fits the CSP)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP)


def matching_step(secret: str, code: str, last_step: int | None,
                  now: float | None = None) -> int | None:
    """The time step the code belongs to (one step of clock drift either way), or None if
    it is wrong or its step was already used (a replay)."""
    code = "".join((code or "").split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = current_step(now)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(candidate * STEP), code):
            if last_step is not None and candidate <= last_step:
                return None
            return candidate
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes like "k7pq-2xwm-ha9d-3fre" (4×4 characters of a 31-letter alphabet)."""
    def one() -> str:
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
        return "-".join(raw[i:i + 4] for i in range(0, 16, 4))
    return [one() for _ in range(RECOVERY_CODES)]


def recovery_hash(code: str) -> str:
    normal = "".join(ch for ch in (code or "").lower() if ch.isalnum())
    return hashlib.sha256(normal.encode("ascii", "ignore")).hexdigest()
