"""Password hashing (Argon2id via argon2-cffi) and the password policies (decision 0027).

Two policies, chosen by the `password_policy` setting:
- "asvs" (OWASP ASVS 4 §2.1, NIST SP 800-63B): at least 12 characters, no composition
  rules, not in the breached/common list, not containing the user name or email.
- "mlps" (common MLPS level 3 assessor practice): at least 8 characters with 3 of the 4
  classes lower/upper/digit/symbol, plus the same list checks. Maximum age and history
  are enforced by appliance.services.password_policy, which knows the user.
The common list is zxcvbn's password frequency list (30,000 passwords from breach
corpora, shipped with the package, nothing fetched), compared case-insensitively.
"""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Verified against when the user does not exist, so both paths cost the same.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
# Kept on top of the breach list: local favourites and the product's own name.
_LOCAL_COMMON = frozenset({"woaini1314", "1qaz2wsx", "gongdan123", "gongdan", "admin123",
                           "88888888", "a123456789", "qwer1234", "1q2w3e4r"})
MAX_LENGTH = 256
MIN_LENGTH = 12  # the default ("asvs") policy's minimum

TOO_COMMON = "too common: it is in a list of breached passwords"
CONTAINS_NAME = "must not contain the user name or email address"
TOO_LONG = f"at most {MAX_LENGTH} characters"
CLASSES = "must use 3 of: lower-case letters, upper-case letters, digits, symbols"


@dataclass(frozen=True)
class Policy:
    name: str
    min_length: int
    classes: int  # how many of the four character classes a password needs (0: none)


POLICIES = {"asvs": Policy("asvs", 12, 0), "mlps": Policy("mlps", 8, 3)}


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


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS
    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"]) | _LOCAL_COMMON


def _classes(password: str) -> int:
    return sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() for c in password)))


def password_problem(password: str, username: str = "", *, email: str = "",
                     policy: str = "asvs") -> str | None:
    """Why a password is unacceptable, or None. Messages are stable keys for translation."""
    rules = POLICIES[policy]
    if len(password) < rules.min_length:
        return f"at least {rules.min_length} characters"
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    if rules.classes and _classes(password) < rules.classes:
        return CLASSES
    lowered = password.lower()
    if lowered in common_passwords():
        return TOO_COMMON
    names = [n.lower() for n in (username, email.partition("@")[0]) if n and len(n) >= 3]
    if any(n in lowered for n in names):
        return CONTAINS_NAME
    return None


def generate_password(length: int = 16, username: str = "", email: str = "") -> str:
    """A random password that passes both policies: all four classes, and not containing
    the user name or the e-mail's local part (random letters spell "sec" now and then)."""
    alphabet = string.ascii_letters + string.digits
    names = [n.lower() for n in (username, email.partition("@")[0]) if n and len(n) >= 3]
    while True:
        body = "".join(secrets.choice(alphabet) for _ in range(length - 1))
        candidate = body + secrets.choice("-_.!")
        if _classes(candidate) == 4 and not any(n in candidate.lower() for n in names):
            return candidate
