#!/usr/bin/env python3
"""Verify a Gongdan offline bundle before anything on it is trusted; optionally extract it.

    python3 verify_bundle.py --pubkey vendor-signing.pub gongdan-0.2.0-linux-x86_64.tar.gz
    python3 verify_bundle.py --pubkey vendor-signing.pub BUNDLE.tar.gz --extract /opt/gongdan/bundles

Standalone: the Python standard library plus `cryptography` (which Ansible needs anyway).
Exit status 0 when every byte of the file is accounted for, 1 when the bundle is refused,
2 when the command line or the public key is wrong.

The bundle format is canonical, so every byte can be checked, not only the files:
- gzip: a fixed 10-byte header (no name, mtime 0, XFL 0, OS 3), a deflate stream of
  *stored* blocks of 65,535 bytes (the content - wheels, a quantised model - is already
  compressed; stored blocks leave no bits that a decompressor ignores and do not depend
  on the zlib implementation), the CRC-32 and size, and nothing after it;
- tar: ustar members sorted by path, directories 0755 and files 0644, uid/gid 0 (root),
  one mtime (the build's SOURCE_DATE_EPOCH), no links or devices, zero padding, two zero
  blocks and zero padding to a multiple of 10,240 bytes. Each header is recomputed from
  the member's name, type and size and compared byte for byte;
- SHA256SUMS (sha256sum format, sorted by path) lists every other file except itself and
  SHA256SUMS.sig, which holds the base64 (one line) of the Ed25519 signature over the
  exact SHA256SUMS bytes.
`packaging/bundle.py` writes the format with the functions below.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import struct
import sys
import tempfile
import zlib
from pathlib import Path

GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"  # no FNAME, mtime 0, XFL 0, OS Unix
STORED_BLOCK = 65535
BLOCK = 512
RECORD = 10240
DIR_MODE, FILE_MODE = 0o755, 0o644
SUMS, SIG = "SHA256SUMS", "SHA256SUMS.sig"
_PIECE = 1 << 20
_COMPONENT = re.compile(r"^[A-Za-z0-9._+@=,~-]+$")
_SUM_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)$")
_ADVICE = ("Do not install it. Obtain a fresh copy of the bundle (and the vendor's public "
           "key through a separate channel) and verify again.")


class Refused(Exception):
    """The bundle is not exactly what the vendor signed; the message says why."""


# --- the canonical format (shared with bundle.py) -------------------------------------

def sort_key(path: str) -> tuple[str, ...]:
    """Members are ordered by path components, so a directory precedes its contents."""
    return tuple(path.rstrip("/").split("/"))


def check_name(path: str) -> None:
    """Relative, no '..', portable characters only (what safe extraction relies on)."""
    parts = path.rstrip("/").split("/")
    if path.startswith("/") or not parts or any(
            p in ("", ".", "..") or not _COMPONENT.match(p) for p in parts):
        raise Refused(f"member name {path!r} is not allowed (absolute, '..', empty or "
                      "unusual characters)")


def tar_header(name: str, size: int, is_dir: bool, mtime: int) -> bytes:
    """The one ustar header this format allows for a member."""
    check_name(name)
    full = name.rstrip("/") + ("/" if is_dir else "")
    prefix, short = _split_name(full)
    fields = [
        short.encode("ascii").ljust(100, b"\0"),
        b"%07o\0" % (DIR_MODE if is_dir else FILE_MODE),
        b"%07o\0" % 0, b"%07o\0" % 0,
        b"%011o\0" % (0 if is_dir else size),
        b"%011o\0" % mtime,
        b" " * 8,                               # checksum placeholder
        b"5" if is_dir else b"0",
        b"\0" * 100,                            # linkname
        b"ustar\x0000",
        b"root".ljust(32, b"\0"), b"root".ljust(32, b"\0"),
        b"%07o\0" % 0, b"%07o\0" % 0,
        prefix.encode("ascii").ljust(155, b"\0"),
        b"\0" * 12,
    ]
    header = bytearray(b"".join(fields))
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def _split_name(full: str) -> tuple[str, str]:
    if len(full) <= 100:
        return "", full
    body = full.rstrip("/")
    for i in range(min(len(body) - 1, 155), 0, -1):   # the longest prefix that fits
        if body[i] == "/" and len(full) - i - 1 <= 100:
            return full[:i], full[i + 1:]
    raise Refused(f"member name {full!r} is too long for a ustar header")


def tar_trailer(offset: int) -> bytes:
    """Two zero blocks, then zeros up to the next multiple of RECORD."""
    end = offset + 2 * BLOCK
    return b"\0" * (2 * BLOCK + (-end) % RECORD)


def gzip_stored(chunks, out) -> None:
    """Write bytes from `chunks` to `out` as the canonical gzip member (stored blocks)."""
    out.write(GZIP_HEADER)
    crc, size, pending = 0, 0, b""
    for chunk in chunks:
        pending += chunk
        while len(pending) > STORED_BLOCK:
            block, pending = pending[:STORED_BLOCK], pending[STORED_BLOCK:]
            out.write(b"\x00" + struct.pack("<HH", STORED_BLOCK, STORED_BLOCK ^ 0xFFFF) + block)
            crc, size = zlib.crc32(block, crc), size + len(block)
    out.write(b"\x01" + struct.pack("<HH", len(pending), len(pending) ^ 0xFFFF) + pending)
    crc, size = zlib.crc32(pending, crc), size + len(pending)
    out.write(struct.pack("<II", crc, size & 0xFFFFFFFF))


def sums_text(digests: dict[str, str]) -> bytes:
    """SHA256SUMS as `sha256sum` writes it, sorted by path."""
    return "".join(f"{digests[p]}  {p}\n" for p in sorted(digests)).encode("ascii")


def key_fingerprint(public_key) -> str:
    from cryptography.hazmat.primitives import serialization
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


# --- reading --------------------------------------------------------------------------

class _Gzip:
    """Yields the tar bytes, checking every byte of the gzip framing. A CRC-32 or length
    mismatch is kept in `problem` and reported after the content checks, which name the
    changed file; all else is refused at once."""

    def __init__(self, fh):
        self.fh, self.summary, self.problem = fh, "", ""

    def blocks(self):
        fh = self.fh
        header = fh.read(len(GZIP_HEADER))
        if header != GZIP_HEADER:
            raise Refused(f"the gzip header is not the canonical one (got {header.hex()}, "
                          f"expected {GZIP_HEADER.hex()})")
        crc = size = blocks = 0
        while True:
            head = fh.read(5)
            if len(head) < 5:
                raise Refused("the file is truncated inside the compressed data")
            final, length, nlength = head[0], *struct.unpack("<HH", head[1:])
            if final not in (0, 1) or length ^ 0xFFFF != nlength or (
                    final == 0 and length != STORED_BLOCK) or (final == 1 and length == 0):
                raise Refused(f"compressed block {blocks} at byte {fh.tell() - 5} is not a "
                              "canonical stored block")
            data = fh.read(length)
            if len(data) < length:
                raise Refused("the file is truncated inside the compressed data")
            crc, size, blocks = zlib.crc32(data, crc), size + length, blocks + 1
            yield data
            if final:
                break
        trailer = fh.read(8)
        if len(trailer) < 8 or struct.unpack("<II", trailer) != (crc, size & 0xFFFFFFFF):
            self.problem = "the gzip CRC-32 or length does not match the data (damaged file)"
        if fh.read(1):
            raise Refused("there is data after the end of the gzip member (appended bytes)")
        self.summary = f"{blocks} stored blocks, {size:,} bytes, CRC-32 and length match"


class _Stream:
    """Exact-length reads over the chunk generator, hashing everything read."""

    def __init__(self, chunks):
        self._chunks, self._buf, self._pos = chunks, b"", 0
        self.offset, self.actual = 0, hashlib.sha256()

    def read(self, n: int) -> bytes:
        out = []
        while n > 0:
            if self._pos >= len(self._buf):
                self._buf, self._pos = next(self._chunks, None), 0
                if self._buf is None:
                    self._buf = b""
                    break
            piece = self._buf[self._pos:self._pos + n]
            self._pos += len(piece)
            n -= len(piece)
            out.append(piece)
        data = b"".join(out)
        self.offset += len(data)
        self.actual.update(data)
        return data


def _parse_header(raw: bytes) -> tuple[str, int, bool, int]:
    try:
        name = raw[0:100].rstrip(b"\0").decode("ascii")
        prefix = raw[345:500].rstrip(b"\0").decode("ascii")
        size, mtime = int(raw[124:136].strip(b"\0 ") or b"0", 8), int(raw[136:148].strip(b"\0 ") or b"0", 8)
    except (UnicodeDecodeError, ValueError):
        raise Refused("a tar header is damaged (unreadable name, size or time)") from None
    kind = raw[156:157]
    if kind not in (b"0", b"5"):
        raise Refused(f"member {prefix + '/' + name if prefix else name!r} is not a regular "
                      "file or directory (links and devices are refused)")
    full = f"{prefix}/{name}" if prefix else name
    return full.rstrip("/"), size, kind == b"5", mtime


def _walk(fh, sink=None) -> dict:
    """One pass over the bundle; returns what it found. `sink(name, is_dir)` may return a
    writable file object for the member's content (extraction)."""
    gz = _Gzip(fh)
    stream = _Stream(gz.blocks())
    canon = hashlib.sha256()
    found = {"files": {}, "dirs": set(), "small": {}, "mtime": None, "top": None}
    previous = None
    while True:
        start = stream.offset
        raw = stream.read(BLOCK)
        if len(raw) < BLOCK:
            raise Refused("the tar stream ends without its end-of-archive blocks")
        if raw == b"\0" * BLOCK:
            break
        name, size, is_dir, mtime = _parse_header(raw)
        check_name(name)
        found["mtime"] = mtime if found["mtime"] is None else found["mtime"]
        expected = tar_header(name, size, is_dir, found["mtime"])
        if raw != expected:
            raise Refused(f"the tar header of {name!r} (at byte {start} of the tar stream) is "
                          "not canonical (changed mode, owner, time or padding)")
        _check_place(name, is_dir, previous, found)
        previous = name
        canon.update(expected)
        if is_dir:
            found["dirs"].add(name)
            if sink:
                sink(name, True)
            continue
        found["files"][name] = _content(stream, name, size, canon, found,
                                        sink(name, False) if sink else None)
    trailer = tar_trailer(start)
    rest = raw + stream.read(len(trailer) - BLOCK + 1)   # +1: anything more is refused
    if rest != trailer:
        raise Refused("the tar end-of-archive is not canonical (extra or non-zero bytes "
                      "after the last member)")
    canon.update(trailer)
    if canon.digest() != stream.actual.digest():
        raise Refused("the tar stream differs from its canonical recomputation")
    found["tar_sha256"], found["gzip"] = canon.hexdigest(), gz
    return found


def _check_place(name: str, is_dir: bool, previous: str | None, found: dict) -> None:
    top = name.split("/")[0]
    if found["top"] is None:
        if "/" in name or not is_dir:
            raise Refused("the first member must be the bundle's top directory")
        found["top"] = top
    elif top != found["top"] or "/" not in name:
        raise Refused(f"member {name!r} is outside the single top directory {found['top']!r}")
    if previous is not None and sort_key(name) <= sort_key(previous):
        raise Refused(f"member {name!r} is out of order or repeated (after {previous!r})")
    parent = name.rsplit("/", 1)[0]
    if "/" in name and parent not in found["dirs"]:
        raise Refused(f"member {name!r} comes without its directory {parent!r}")


def _content(stream: _Stream, name: str, size: int, canon, found: dict, out) -> str:
    h = hashlib.sha256()
    keep = name.count("/") == 1 and size <= 1 << 20   # SHA256SUMS, .sig, bundle.json
    kept = []
    left = size
    while left:
        piece = stream.read(min(_PIECE, left))
        if not piece:
            raise Refused(f"the tar stream ends inside {name!r}")
        h.update(piece)
        canon.update(piece)
        if out:
            out.write(piece)
        if keep:
            kept.append(piece)
        left -= len(piece)
    if out:
        out.close()
    pad = stream.read(-size % BLOCK)
    if pad != b"\0" * (-size % BLOCK):
        raise Refused(f"the padding after {name!r} is not zero")
    canon.update(pad)
    if keep:
        found["small"][name.split("/", 1)[1]] = b"".join(kept)
    return h.hexdigest()


# --- checks after the pass ---------------------------------------------------------------

def _check_signed(found: dict, public_key) -> dict[str, str]:
    from cryptography.exceptions import InvalidSignature
    top = found["top"]
    sums, sig = found["small"].get(SUMS), found["small"].get(SIG)
    if sums is None or sig is None:
        raise Refused(f"{top}/{SUMS} or {top}/{SIG} is missing")
    try:
        signature = base64.b64decode(sig, validate=False)
        if base64.b64encode(signature) + b"\n" != sig or len(signature) != 64:
            raise ValueError
    except ValueError:
        raise Refused(f"{SIG} is not one line of base64 holding a 64-byte Ed25519 signature") from None
    try:
        public_key.verify(signature, sums)
    except InvalidSignature:
        raise Refused(f"the signature in {SIG} does not match {SUMS} under this public key "
                      f"({key_fingerprint(public_key)}): the checksums were changed, or the "
                      "bundle was signed by another key; check the key's fingerprint with "
                      "the vendor") from None
    listed = _parse_sums(sums)
    if sums_text(listed) != sums:
        raise Refused(f"{SUMS} is not in canonical form (sorted sha256sum lines)")
    return listed


def _parse_sums(sums: bytes) -> dict[str, str]:
    listed = {}
    for line in sums.decode("ascii", "replace").splitlines():
        match = _SUM_LINE.match(line)
        if not match:
            raise Refused(f"{SUMS} has a line that is not '<sha256>  <path>': {line[:80]!r}")
        listed[match.group(2)] = match.group(1)
    return listed


def _check_files(found: dict, listed: dict[str, str]) -> None:
    top = found["top"]
    actual = {name.split("/", 1)[1]: digest for name, digest in found["files"].items()}
    actual.pop(SUMS, None)
    actual.pop(SIG, None)
    for path in sorted(set(listed) - set(actual)):
        raise Refused(f"{path} is listed in {SUMS} but missing from the bundle")
    for path in sorted(set(actual) - set(listed)):
        raise Refused(f"{top}/{path} is in the bundle but not listed in {SUMS}")
    for path in sorted(actual):
        if actual[path] != listed[path]:
            raise Refused(f"{top}/{path} does not match its SHA-256 in {SUMS}")
    parents = {"/".join(n.split("/")[:i]) for n in found["files"] for i in range(1, n.count("/") + 1)}
    for extra in sorted(found["dirs"] - parents):
        raise Refused(f"directory {extra!r} holds no file (not part of the canonical form)")


def _check_manifest(found: dict) -> dict:
    try:
        manifest = json.loads(found["small"]["bundle.json"])
    except (KeyError, ValueError):
        raise Refused("bundle.json is missing or not JSON") from None
    if found["top"] != f"gongdan-{manifest.get('version')}":
        raise Refused(f"the top directory {found['top']!r} does not match the version in "
                      "bundle.json")
    if manifest.get("source_date_epoch") != found["mtime"]:
        raise Refused("the members' time differs from the build time in bundle.json")
    return manifest


def verify(bundle: Path, public_key, sink=None) -> tuple[dict, dict, list[str]]:
    """Check everything; return (found, manifest, report lines) or raise Refused."""
    with open(bundle, "rb") as fh:
        try:
            found = _walk(fh, sink)
        except Refused as exc:
            raise Refused(f"{exc} (at byte {fh.tell()} of the file)") from None
    listed = _check_signed(found, public_key)
    _check_files(found, listed)
    if found["gzip"].problem:
        raise Refused(found["gzip"].problem)
    manifest = _check_manifest(found)
    report = [
        "gzip: canonical header; " + found["gzip"].summary + "; nothing after the member",
        f"tar: {len(found['files']) + len(found['dirs'])} members with canonical headers, "
        f"padding and end-of-archive (stream sha256 {found['tar_sha256'][:16]}...)",
        f"signature: {SUMS} signed by {key_fingerprint(public_key)}",
        f"checksums: all {len(listed)} files match {SUMS}; none missing, none unlisted",
        f"bundle: {manifest['name']} {manifest['version']} (commit "
        f"{str(manifest.get('git_commit'))[:12]}, {len(manifest.get('wheels', []))} wheels, "
        f"model {manifest.get('model', {}).get('file')})",
    ]
    return found, manifest, report


# --- extraction --------------------------------------------------------------------------

def extract(bundle: Path, public_key, dest: Path) -> Path:
    """Second, extracting pass (all checks again) into a staging folder inside `dest`,
    renamed into place only when that pass succeeds too."""
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bundle-", dir=dest))

    def sink(name: str, is_dir: bool):
        path = staging / name
        if is_dir:
            os.mkdir(path, DIR_MODE)
            os.chmod(path, DIR_MODE)      # whatever the umask: services read the tree
            return None
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, "wb")
    try:
        found, _, _ = verify(bundle, public_key, sink)
        target = dest / found["top"]
        if target.exists():
            raise FileExistsError(f"{target} already exists: remove it or extract elsewhere")
        os.rename(staging / found["top"], target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_public_key(path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify (and optionally extract) a signed "
                                     "Gongdan offline bundle.")
    parser.add_argument("--pubkey", required=True, type=Path,
                        help="the vendor's Ed25519 public key (PEM), obtained separately")
    parser.add_argument("bundle", type=Path, help="gongdan-<version>-linux-x86_64.tar.gz")
    parser.add_argument("--extract", type=Path, metavar="DIR",
                        help="after full verification, extract into DIR/gongdan-<version>")
    args = parser.parse_args(argv)
    try:
        key = load_public_key(args.pubkey)
    except (OSError, ValueError) as exc:
        print(f"error: --pubkey {args.pubkey}: cannot read an Ed25519 public key ({exc}); "
              "pass the vendor's vendor-signing.pub", file=sys.stderr)
        return 2
    if not args.bundle.is_file():
        print(f"error: {args.bundle} is not a file", file=sys.stderr)
        return 2
    try:
        found, _, report = verify(args.bundle, key)
        print(f"{args.bundle}:")
        print("\n".join(f"  OK  {line}" for line in report))
        if args.extract and (args.extract / found["top"]).exists():
            raise FileExistsError(f"{args.extract / found['top']} already exists: remove it "
                                  "or extract elsewhere")
        if args.extract:
            print(f"extracted to {extract(args.bundle, key, args.extract)}")
    except Refused as exc:
        print(f"REFUSED {args.bundle}: {exc}.\n{_ADVICE}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("verified: every byte of the bundle is as the vendor signed it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
