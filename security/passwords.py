"""Password hashing (Argon2id via argon2-cffi) and the basic password policy."""
from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Verified against when the user does not exist, so both paths cost the same.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
_COMMON = frozenset({"password", "password1", "12345678", "123456789", "1234567890", "qwerty123",
                     "11111111", "abc12345", "admin123", "iloveyou", "00000000", "88888888",
                     "woaini1314", "1qaz2wsx", "qwertyuiop", "passw0rd", "gongdan123"})
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-cost check; an empty hash (no such user) still runs one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str, username: str = "") -> str | None:
    """Why a password is unacceptable, or None. Messages are stable keys for translation."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password) > 256:
        return "at most 256 characters"
    if password.lower() in _COMMON or (username and username.lower() in password.lower()):
        return "too common or contains the user name"
    return None


def generate_password(length: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))
