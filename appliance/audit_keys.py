"""The audit log's two keys, as files in `keys_dir` (docs/decisions/0026-audit-log.md):

- audit-hmac.key: 32 random bytes (hex) that chain the records (security.audit_chain);
- audit-signing.key: the Ed25519 private key (PEM) that signs checkpoints, and
  audit-signing.pub, its public half, which anyone may hold to check checkpoints off the box.

`gongdan init` creates them (mode 0400, never overwriting); web and worker start-up refuse
to run when one is missing, unreadable, or readable by group or others.
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

from appliance.settings import Settings
from security import keyfiles
from security.audit_chain import key_id

HMAC_FILE = "audit-hmac.key"
SIGNING_FILE = "audit-signing.key"
PUBLIC_FILE = "audit-signing.pub"


class AuditKeyProblem(Exception):
    """An audit key cannot be used; the message names the file and what to do."""


@dataclass(frozen=True)
class AuditKeys:
    hmac: bytes
    private: Ed25519PrivateKey
    public: Ed25519PublicKey
    key_id: str
    public_pem: str


_cache: dict[str, AuditKeys] = {}
_lock = threading.Lock()


def create(settings: Settings) -> list[Path]:
    """Create the keys that do not exist yet; returns the files written. An existing
    key is never replaced: records and checkpoints made with it must stay verifiable."""
    folder = Path(settings.keys_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    hmac_path, signing_path = folder / HMAC_FILE, folder / SIGNING_FILE
    if not hmac_path.exists():
        keyfiles.write_new(hmac_path, secrets.token_hex(32).encode("ascii") + b"\n", 0o400)
        written.append(hmac_path)
    if not signing_path.exists():
        private = Ed25519PrivateKey.generate()
        keyfiles.write_new(signing_path, private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()), 0o400)
        written.append(signing_path)
        (folder / PUBLIC_FILE).unlink(missing_ok=True)
    if not (folder / PUBLIC_FILE).exists():
        private = serialization.load_pem_private_key(signing_path.read_bytes(), None)
        keyfiles.write_new(folder / PUBLIC_FILE, _public_pem(private.public_key()).encode("ascii"), 0o444)
        written.append(folder / PUBLIC_FILE)
    return written


def _public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def _read_secret(path: Path) -> bytes:
    try:
        return keyfiles.read_private(path, "audit key")
    except keyfiles.KeyFileProblem as exc:
        raise AuditKeyProblem(str(exc)) from None


def load(settings: Settings) -> AuditKeys:
    """The keys of this installation (read once per process); raises AuditKeyProblem."""
    folder = str(Path(settings.keys_dir).resolve())
    keys = _cache.get(folder)
    if keys is not None:
        return keys
    with _lock:
        raw_hmac = _read_secret(Path(folder) / HMAC_FILE).strip()
        raw_signing = _read_secret(Path(folder) / SIGNING_FILE)
        try:
            hmac_key = bytes.fromhex(raw_hmac.decode("ascii"))
            private = serialization.load_pem_private_key(raw_signing, None)
        except (ValueError, UnicodeDecodeError, TypeError):
            raise AuditKeyProblem(f"an audit key in {folder} is malformed; restore it from "
                                  "your key backup") from None
        if len(hmac_key) < 32 or not isinstance(private, Ed25519PrivateKey):
            raise AuditKeyProblem(f"an audit key in {folder} is malformed; restore it from "
                                  "your key backup")
        public = private.public_key()
        keys = AuditKeys(hmac_key, private, public, key_id(public), _public_pem(public))
        _cache[folder] = keys
        return keys


def check(settings: Settings) -> None:
    """Start-up check (web, worker): raises AuditKeyProblem with what to do."""
    load(settings)


def forget() -> None:
    """Drop the keys read so far (tests that change the files)."""
    _cache.clear()
