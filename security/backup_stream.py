"""The encrypted, authenticated backup stream (pure: file objects and keys in, no settings,
no database). See docs/decisions/0032-backups.md.

Layout::

    b"GDBK" | header length (4 bytes, big-endian) | header (canonical JSON)
    frame*  where frame = final flag (1 byte) | ciphertext length (4 bytes) | ciphertext

The header names the format version, the chunk size, the master key version and its
check value (envelope.key_check), and the backup key: 32 random bytes made for this
backup alone, wrapped by the master key with envelope.wrap_key under a random 62-bit id.
Each chunk of at most `chunk_bytes` plaintext is sealed with AES-256-GCM under the backup
key; the nonce is the chunk index (a fresh key per backup, so a counter never repeats)
and the associated data is SHA-256(header) | index | final flag. So an altered header
fails the first chunk, a chunk moved to another place or another backup fails, a cut at a
chunk boundary is seen (no final chunk), and bytes after the final chunk are refused.
Nothing is released to the reader before its chunk has authenticated, and memory holds
one chunk at a time whatever the size of the backup.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from security import envelope

MAGIC = b"GDBK"
FORMAT = 1
CHUNK_BYTES = 1 << 20
MAX_HEADER = 64 * 1024
TAG_BYTES = 16
_FRAME = struct.Struct(">BI")
_AAD = struct.Struct(">QB")


class BackupError(Exception):
    """The backup cannot be used; `kind` says why (for the audit log and exit codes)."""
    kind = "invalid"


class NotABackup(BackupError):
    kind = "not_a_backup"


class Tampered(BackupError):
    kind = "tampered"


class Truncated(BackupError):
    kind = "truncated"


class WrongKey(BackupError):
    kind = "wrong_key"


def new_header(masters: dict[int, bytes], created_at: str,
               chunk_bytes: int = CHUNK_BYTES) -> tuple[bytes, bytes]:
    """(header bytes, backup key): a fresh key wrapped by the newest master key version."""
    version = max(masters)
    key, key_id = envelope.new_key(), secrets.randbits(62)
    fields = {"format": FORMAT, "cipher": "AES-256-GCM", "chunk_bytes": chunk_bytes,
              "master_version": version, "master_check": envelope.key_check(masters[version]),
              "key_id": key_id, "created_at": created_at,
              "wrapped_key": base64.b64encode(envelope.wrap_key(masters[version], key_id, key))
              .decode("ascii")}
    body = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("ascii")
    return MAGIC + struct.pack(">I", len(body)) + body, key


def _nonce(index: int) -> bytes:
    return b"\0\0\0\0" + struct.pack(">Q", index)


def _aad(digest: bytes, index: int, final: bool) -> bytes:
    return digest + _AAD.pack(index, 1 if final else 0)


class Writer:
    """A write-only file object (what tarfile's stream mode needs) that encrypts."""

    def __init__(self, out, header: bytes, key: bytes, chunk_bytes: int = CHUNK_BYTES):
        self._out, self._aead, self._chunk = out, AESGCM(key), chunk_bytes
        self._digest = hashlib.sha256(header).digest()
        self._buf, self._index, self.closed = bytearray(), 0, False
        out.write(header)

    def write(self, data) -> int:
        self._buf += data
        # Strictly more than a chunk: close() always has a (possibly empty) final chunk.
        while len(self._buf) > self._chunk:
            self._emit(bytes(self._buf[:self._chunk]), final=False)
            del self._buf[:self._chunk]
        return len(data)

    def _emit(self, plain: bytes, final: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._index), plain,
                                    _aad(self._digest, self._index, final))
        self._out.write(_FRAME.pack(1 if final else 0, len(sealed)) + sealed)
        self._index += 1

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buf), final=True)
            self._buf.clear()
            self.closed = True


def read_header(src) -> tuple[bytes, dict]:
    """(header bytes, fields); raises NotABackup for anything that is not one of ours."""
    start = src.read(8)
    if len(start) < 8 or start[:4] != MAGIC:
        raise NotABackup("this is not a Gongdan backup file")
    (length,) = struct.unpack(">I", start[4:])
    if length > MAX_HEADER:
        raise Tampered("the backup header is damaged")
    body = src.read(length)
    if len(body) < length:
        raise Truncated("the backup file is truncated (inside its header)")
    try:
        fields = json.loads(body)
        ok = (isinstance(fields, dict) and isinstance(fields.get("master_version"), int)
              and isinstance(fields.get("key_id"), int)
              and 1 <= int(fields.get("chunk_bytes", 0)) <= 64 * CHUNK_BYTES)
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise Tampered("the backup header is damaged")
    if fields.get("format") != FORMAT:
        raise NotABackup(f"backup format {fields.get('format')!r} is not one this version "
                         f"reads (it reads format {FORMAT})")
    return start + body, fields


def unwrap(fields: dict, masters: dict[int, bytes]) -> bytes:
    """The backup key; WrongKey when the master key is not the one it was made with."""
    version = fields["master_version"]
    master = masters.get(version)
    if master is None:
        raise WrongKey(f"the backup was made with master key version {version}, which the "
                       f"key file does not hold")
    if envelope.key_check(master) != fields.get("master_check"):
        raise WrongKey(f"the master key (version {version}) is not the key this backup was "
                       f"made with")
    try:
        wrapped = base64.b64decode(fields.get("wrapped_key", ""), validate=True)
        return envelope.unwrap_key(master, fields["key_id"], wrapped)
    except (ValueError, TypeError, envelope.CryptoError):
        raise Tampered("the backup header is damaged (its key does not unwrap)") from None


class Reader:
    """A read-only file object over the plaintext; every chunk authenticates before any
    of its bytes are returned. Reading to the end proves the whole file is intact."""

    def __init__(self, src, header: bytes, key: bytes, chunk_bytes: int):
        self._src, self._aead, self._chunk = src, AESGCM(key), chunk_bytes
        self._digest = hashlib.sha256(header).digest()
        self._buf, self._pos, self._index, self.done = b"", 0, 0, False

    def _next(self) -> None:
        frame = self._src.read(_FRAME.size)
        if len(frame) < _FRAME.size:
            raise Truncated(f"the backup file is truncated (after chunk {self._index})")
        final, length = _FRAME.unpack(frame)
        if final > 1 or length > self._chunk + TAG_BYTES or length < TAG_BYTES:
            raise Tampered(f"the backup file is damaged at chunk {self._index}")
        sealed = self._src.read(length)
        if len(sealed) < length:
            raise Truncated(f"the backup file is truncated (inside chunk {self._index})")
        try:
            plain = self._aead.decrypt(_nonce(self._index), sealed,
                                       _aad(self._digest, self._index, bool(final)))
        except InvalidTag:
            raise Tampered(f"chunk {self._index} of the backup failed authentication: the "
                           f"file was altered, or chunks were moved or mixed") from None
        if final and self._src.read(1):
            raise Tampered("the backup file has data after its final chunk")
        self._buf, self._pos, self.done = plain, 0, bool(final)
        self._index += 1

    def read(self, size: int = -1) -> bytes:
        out = []
        while size < 0 or size > 0:
            if self._pos >= len(self._buf):
                if self.done:
                    break
                self._next()
                continue
            take = len(self._buf) - self._pos if size < 0 else min(size, len(self._buf) - self._pos)
            out.append(self._buf[self._pos:self._pos + take])
            self._pos += take
            size = size - take if size > 0 else size
        return b"".join(out)

    def drain(self) -> None:
        """Read to the end (authenticating every remaining chunk)."""
        while self.read(self._chunk):
            pass


def open_stream(src, masters: dict[int, bytes]) -> tuple[dict, Reader]:
    header, fields = read_header(src)
    key = unwrap(fields, masters)
    return fields, Reader(src, header, key, int(fields["chunk_bytes"]))

