"""Envelope encryption for data at rest (pure: bytes in, bytes out, no files, no database).

A 256-bit master key wraps data keys (AES-256-GCM, the key id as associated data, so a
wrapped key copied onto another key's row does not open). Data keys encrypt fields and
files with AES-256-GCM under a fresh 96-bit random nonce; the associated data names
where the value lives (table|column|row id for a field, attachment|id for a file), so a
ciphertext moved to another row or column fails authentication instead of decrypting.

Formats carry a version and the data key id, so keys can be rotated value by value:
- text (database columns): ``g1.<key id>.<base64url(nonce + ciphertext + tag)>``
- bytes (files): ``b"GDE1" + key id (4 bytes, big-endian) + nonce + ciphertext + tag``

Blind indexes: HMAC-SHA256 under a key of its own (never a data key, never the master
key) over a normalised value, truncated to 128 bits: exact lookups without the value.
See docs/decisions/0030-encryption-at-rest.md.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import struct
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TEXT_PREFIX = "g1"
BLOB_MAGIC = b"GDE1"
BLIND_BYTES = 16  # 128 bits: collisions are out of reach for any customer base
_CHECK_LABEL = b"gongdan master key check v1"
_WRAP_LABEL = b"gongdan data key v1|"


class CryptoError(Exception):
    """Base of the errors below."""


class TamperedError(CryptoError):
    """The ciphertext does not authenticate: altered, truncated, moved to another
    row/column/file, or made under another key."""


class UnknownKeyError(CryptoError):
    """The ciphertext names a data key this installation does not have."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ValueError("keys are 32 bytes (AES-256)")


# --- key wrapping -----------------------------------------------------------------------------

def wrap_key(master: bytes, key_id: int, data_key: bytes) -> bytes:
    """The data key encrypted under the master key, bound to its id."""
    _check_key(master)
    _check_key(data_key)
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, data_key, _WRAP_LABEL + str(key_id).encode())


def unwrap_key(master: bytes, key_id: int, wrapped: bytes) -> bytes:
    _check_key(master)
    try:
        key = AESGCM(master).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:],
                                     _WRAP_LABEL + str(key_id).encode())
    except (InvalidTag, ValueError):
        raise TamperedError(f"data key {key_id} does not unwrap under this master key "
                            f"(wrong master key, or the wrapped key was altered)") from None
    _check_key(key)
    return key


def key_check(master: bytes) -> str:
    """A value stored in the database that tells whether a master key is the right one
    without revealing it (HMAC of a fixed label; hex)."""
    _check_key(master)
    return hmac.new(master, _CHECK_LABEL, hashlib.sha256).hexdigest()[:32]


# --- fields -----------------------------------------------------------------------------------

def field_aad(table: str, column: str, row_id: int | str) -> bytes:
    return f"{table}|{column}|{row_id}".encode()


def encrypt_text(key: bytes, key_id: int, plain: str, aad: bytes) -> str:
    _check_key(key)
    nonce = os.urandom(NONCE_BYTES)
    body = nonce + AESGCM(key).encrypt(nonce, plain.encode("utf-8"), aad)
    return f"{TEXT_PREFIX}.{int(key_id)}.{base64.urlsafe_b64encode(body).decode().rstrip('=')}"


def text_key_id(token: str) -> int:
    """The data key id a text ciphertext was made under."""
    parts = (token or "").split(".")
    if len(parts) != 3 or parts[0] != TEXT_PREFIX or not parts[1].isdigit():
        raise TamperedError("not an encrypted value in a format this version knows")
    return int(parts[1])


def is_ciphertext(value: str) -> bool:
    try:
        text_key_id(value)
    except TamperedError:
        return False
    return True


def decrypt_text(keys: Callable[[int], bytes], token: str, aad: bytes) -> str:
    """`keys(id)` gives the data key with that id (or raises UnknownKeyError)."""
    key_id = text_key_id(token)
    b64 = token.split(".", 2)[2]
    try:
        body = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
    except (ValueError, TypeError):
        raise TamperedError("the encrypted value is not valid base64") from None
    return _open(keys(key_id), body, aad).decode("utf-8")


def _open(key: bytes, body: bytes, aad: bytes) -> bytes:
    if len(body) < NONCE_BYTES + 16:
        raise TamperedError("the encrypted value is truncated")
    try:
        return AESGCM(key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], aad)
    except InvalidTag:
        raise TamperedError("the encrypted value failed authentication: it was altered, "
                            "moved from another record, or made under another key") from None


# --- files ------------------------------------------------------------------------------------

def encrypt_bytes(key: bytes, key_id: int, data: bytes, aad: bytes) -> bytes:
    """Whole-object encryption: attachments are bounded (max_attachment_bytes, 10 MiB by
    default), so one GCM message is simpler than a chunked stream and as safe."""
    _check_key(key)
    nonce = os.urandom(NONCE_BYTES)
    return BLOB_MAGIC + struct.pack(">I", key_id) + nonce + AESGCM(key).encrypt(nonce, data, aad)


def is_encrypted_blob(data: bytes) -> bool:
    return data[:4] == BLOB_MAGIC and len(data) >= 8 + NONCE_BYTES + 16


def blob_key_id(data: bytes) -> int:
    if not is_encrypted_blob(data):
        raise TamperedError("not an encrypted file in a format this version knows")
    return struct.unpack(">I", data[4:8])[0]


def decrypt_bytes(keys: Callable[[int], bytes], data: bytes, aad: bytes) -> bytes:
    return _open(keys(blob_key_id(data)), data[8:], aad)


# --- blind indexes ----------------------------------------------------------------------------

_NOT_DIGIT = re.compile(r"[^0-9]")


def normalise(kind: str, value: str) -> str:
    """The form a value is indexed in: phone numbers as digits with an optional leading +
    (so "+86 138-0013-8000" spacing never matters), e-mail addresses trimmed and
    lower-cased, ID numbers upper-cased without spaces, anything else trimmed."""
    value = (value or "").strip()
    if kind == "phone":
        return ("+" if value.startswith("+") else "") + _NOT_DIGIT.sub("", value)
    if kind == "email":
        return value.lower()
    if kind == "id_number":
        return "".join(value.split()).upper()
    return value


def blind_index(key: bytes, kind: str, value: str) -> str:
    """Hex HMAC-SHA256 of kind|normalised value, truncated to 128 bits. The kind is in
    the input so the same digits as a phone and as an external id never collide."""
    _check_key(key)
    msg = f"{kind}|{normalise(kind, value)}".encode("utf-8")
    return hmac.new(key, msg, hashlib.sha256).digest()[:BLIND_BYTES].hex()
