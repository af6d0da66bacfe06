"""Attachments: checked (size, extension, content), stored outside the web root
under random names, served only after a per-object permission check."""
from __future__ import annotations

import hashlib
import io
import os
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import filetype

from appliance.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationError
from appliance.models import Attachment
from appliance.rules.access import Actor, can_see_internal
from appliance.services import common, encryption
from appliance.settings import Settings
from security import envelope

_TEXT_TYPES = {"txt": "text/plain", "log": "text/plain", "csv": "text/csv",
               "eml": "message/rfc822"}
# Office Open XML files are ZIP containers; old Office files are OLE2 compound files.
_ZIP_BASED = {"zip", "docx", "xlsx", "pptx"}
_OLE2 = {"doc", "xls"}
_OLE2_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_CONTENT_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                  "zip": "application/zip", "doc": "application/msword",
                  "xls": "application/vnd.ms-excel"}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def safe_filename(name: str) -> str:
    """Keep a readable display name with no path, control or reserved characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    name = name.strip(" .")
    return name[:200] or "attachment"


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def check_upload(upload: Upload, settings: Settings) -> tuple[str, str]:
    """Return (safe name, content type) or raise 413/415 with the reason."""
    name = safe_filename(upload.filename)
    if len(upload.data) > settings.max_attachment_bytes:
        raise PayloadTooLarge(f"{name}: larger than {settings.max_attachment_bytes} bytes",
                              field="attachments", limit=settings.max_attachment_bytes)
    ext = _extension(name)
    if ext not in settings.allowed_attachment_types:
        raise UnsupportedMediaType(f"{name}: file type .{ext or '?'} is not allowed",
                                   field="attachments", allowed=list(settings.allowed_attachment_types))
    if not upload.data:
        raise ValidationError({"attachments": f"{name}: the file is empty"})
    return name, _sniff(name, ext, upload.data)


def _sniff(name: str, ext: str, data: bytes) -> str:
    """The content must be what the extension says (no HTML renamed to .png)."""
    if ext in _TEXT_TYPES:
        if b"\x00" in data[:8192]:
            raise UnsupportedMediaType(f"{name}: not a text file", field="attachments")
        return _TEXT_TYPES[ext]
    if ext in _OLE2:
        if not data.startswith(_OLE2_MAGIC):
            raise UnsupportedMediaType(f"{name}: content does not match .{ext}", field="attachments")
        return _CONTENT_TYPES[ext]
    kind = filetype.guess(data[:8192])
    actual = kind.extension if kind else ""
    expected = "zip" if ext in _ZIP_BASED else ("jpg" if ext == "jpeg" else ext)
    if actual != expected and not (ext in _ZIP_BASED and actual in _ZIP_BASED):
        raise UnsupportedMediaType(f"{name}: content does not match .{ext}", field="attachments")
    if ext in _ZIP_BASED:
        _check_archive(name, data)
    return _CONTENT_TYPES.get(ext) or kind.mime


# Limits against archive bombs (a few KB that expand to gigabytes when someone opens them).
# Entries and bytes count across nested archives together; an archive inside an archive
# is allowed (a workbook embedded in a document), one more level is not.
MAX_ARCHIVE_ENTRIES = 2000
MAX_ARCHIVE_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
MAX_ARCHIVE_DEPTH = 2
MAX_NESTED_ARCHIVE_BYTES = 20 * 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"


def _check_archive(name: str, data: bytes) -> None:
    """ZIP containers (zip, docx, xlsx, pptx): readable, bounded in entries, size, ratio
    and nesting; zipfile never yields more than an entry's declared size, so the
    declared sizes bound what opening it costs."""
    try:
        entries, total = _archive_totals(data, depth=1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
            RuntimeError):
        raise UnsupportedMediaType(f"{name}: not a readable archive", field="attachments") from None
    except _ArchiveTooBig:
        raise UnsupportedMediaType(f"{name}: archive expands too much", field="attachments") from None
    if entries > MAX_ARCHIVE_ENTRIES or total > MAX_ARCHIVE_BYTES \
            or total / max(1, len(data)) > MAX_COMPRESSION_RATIO:
        raise UnsupportedMediaType(f"{name}: archive expands too much", field="attachments")


class _ArchiveTooBig(Exception):
    pass


def _archive_totals(data: bytes, depth: int) -> tuple[int, int]:
    """(entries, uncompressed bytes) of a ZIP and the ZIPs inside it, or _ArchiveTooBig."""
    if depth > MAX_ARCHIVE_DEPTH:
        raise _ArchiveTooBig()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        entries, total = len(infos), sum(e.file_size for e in infos)
        if entries > MAX_ARCHIVE_ENTRIES or total > MAX_ARCHIVE_BYTES:
            raise _ArchiveTooBig()
        for e in infos:
            if e.is_dir() or e.file_size < len(_ZIP_MAGIC) or e.flag_bits & 0x1:
                continue  # an encrypted entry cannot be looked into (nor opened by a bomb)
            with archive.open(e) as fh:
                if fh.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
                    continue
            if e.file_size > MAX_NESTED_ARCHIVE_BYTES:
                raise _ArchiveTooBig()
            inner_entries, inner_total = _archive_totals(archive.read(e), depth + 1)
            entries, total = entries + inner_entries, total + inner_total
            if entries > MAX_ARCHIVE_ENTRIES or total > MAX_ARCHIVE_BYTES:
                raise _ArchiveTooBig()
    return entries, total


def _path(settings: Settings, storage_name: str) -> Path:
    return Path(settings.attachment_dir) / storage_name[:2] / storage_name


def write_files(uploads: list[Upload], settings: Settings) -> list[dict]:
    """Check every upload first, then write them; nothing is written if any is bad."""
    checked = [(u, *check_upload(u, settings)) for u in uploads]
    written = []
    try:
        for upload, name, ctype in checked:
            storage_name = secrets.token_hex(24)
            path = _path(settings, storage_name)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                # Encrypted at rest, bound to the generated name (the file is written before
                # its row exists; the name is unique and stored on the row).
                fh.write(encryption.seal_bytes("attachment", storage_name, upload.data))
            written.append({"filename": name, "storage_name": storage_name, "content_type": ctype,
                            "size": len(upload.data),
                            "sha256": hashlib.sha256(upload.data).hexdigest()})
    except Exception:
        remove_files([w["storage_name"] for w in written], settings)
        raise
    return written


def read_file(settings: Settings, storage_name: str) -> bytes:
    """The stored file's bytes, decrypted; a file stored before encryption at rest (no
    envelope header) is returned as it is until `gongdan keys rotate --reencrypt`
    encrypts it. A file that fails authentication raises encryption.TamperedData."""
    data = _path(settings, storage_name).read_bytes()
    if not envelope.is_encrypted_blob(data):
        return data
    return encryption.unseal_bytes("attachment", storage_name, data)


def remove_files(storage_names: list[str], settings: Settings) -> None:
    for storage_name in storage_names:
        try:
            _path(settings, storage_name).unlink()
        except FileNotFoundError:
            pass


def open_attachment(actor: Actor, attachment_id: int, settings: Settings
                    ) -> tuple[Attachment, bytes]:
    """The attachment and its bytes, if the actor may see its ticket (and it is not internal)."""
    a = Attachment.get_or_none(Attachment.id == attachment_id)
    if a is None:
        raise NotFound("attachment not found", id=attachment_id)
    try:
        common.ticket_for(actor, a.ticket_id)
    except NotFound:
        raise NotFound("attachment not found", id=attachment_id) from None
    if a.internal and not can_see_internal(actor):
        raise NotFound("attachment not found", id=attachment_id)
    return a, read_file(settings, a.storage_name)
