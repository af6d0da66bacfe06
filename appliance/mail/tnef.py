"""The files inside a TNEF attachment (winmail.dat, application/ms-tnef), pure Python.

Outlook and Exchange wrap a rich-text message's attachments in TNEF; other clients show
one useless winmail.dat. This reader follows [MS-OXTNEF] far enough to get the files
out: attAttachRendData starts an attachment, attAttachTitle names it (8.3), attAttachData
holds its bytes, and the attAttachment property list may carry the long file name
(PidTagAttachLongFilename), the MIME type and the data. Embedded messages and the rich
text body are not unpacked. On anything malformed it stops and returns what it has: the
caller then keeps winmail.dat itself, so nothing is lost.

Written here rather than taken from PyPI: the one maintained-looking package (tnefparse)
has had no release since 2021 and is LGPL; only this small part of the format is needed.
"""
from __future__ import annotations

import mimetypes
import re
import struct
from dataclasses import dataclass, field

SIGNATURE = 0x223E9F78
LEVEL_ATTACHMENT = 2
ATT_RENDDATA = 0x00069002
ATT_TITLE = 0x00018010
ATT_DATA = 0x0006800F
ATT_ATTACHMENT = 0x00069005
ATT_OEMCODEPAGE = 0x00069007
PR_ATTACH_DATA = 0x3701
PR_ATTACH_FILENAME = 0x3704
PR_ATTACH_LONG_FILENAME = 0x3707
PR_ATTACH_MIME_TAG = 0x370E
PR_DISPLAY_NAME = 0x3001
MAX_FILES = 100
_FIXED = {0x0001: 4, 0x0002: 4, 0x0003: 4, 0x0004: 4, 0x0005: 8, 0x0006: 8, 0x0007: 8,
          0x000A: 4, 0x000B: 4, 0x0014: 8, 0x0040: 8, 0x0048: 16}
_VARIABLE = (0x001E, 0x001F, 0x0102, 0x000D)
_MIME_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


class TnefError(ValueError):
    pass


@dataclass
class TnefFile:
    filename: str = ""
    content_type: str = ""
    data: bytes = b""
    names: dict[int, str] = field(default_factory=dict)


def is_tnef(data: bytes) -> bool:
    return len(data) >= 6 and struct.unpack_from("<I", data)[0] == SIGNATURE


def files(data: bytes) -> list[TnefFile]:
    """The attachments with data, in order; TnefError when `data` is not TNEF or breaks
    off before any attachment was complete."""
    if not is_tnef(data):
        raise TnefError("not TNEF (signature missing)")
    found: list[TnefFile] = []
    codepage = "cp1252"
    pos = 6
    try:
        while pos + 9 <= len(data) and len(found) <= MAX_FILES:
            level, attr, length = struct.unpack_from("<BII", data, pos)
            value = data[pos + 9:pos + 9 + length]
            if len(value) != length:
                raise TnefError("attribute runs past the end")
            pos += 9 + length + 2     # the checksum is not checked: a wrong one loses nothing
            if attr == ATT_OEMCODEPAGE and length >= 4:
                codepage = f"cp{struct.unpack_from('<I', value)[0]}"
            elif level == LEVEL_ATTACHMENT and attr == ATT_RENDDATA:
                found.append(TnefFile())
            elif level == LEVEL_ATTACHMENT and found:
                _attachment_attribute(found[-1], attr, value, codepage)
    except (struct.error, TnefError):
        if not any(f.data for f in found):
            raise TnefError("malformed TNEF") from None
    return [_finish(f) for f in found if f.data][:MAX_FILES]


def _attachment_attribute(f: TnefFile, attr: int, value: bytes, codepage: str) -> None:
    if attr == ATT_TITLE:
        f.names.setdefault(0, _string8(value, codepage))
    elif attr == ATT_DATA:
        f.data = value
    elif attr == ATT_ATTACHMENT:
        for prop, val in _properties(value, codepage):
            if prop in (PR_ATTACH_LONG_FILENAME, PR_DISPLAY_NAME, PR_ATTACH_FILENAME) \
                    and isinstance(val, str):
                f.names[prop] = val
            elif prop == PR_ATTACH_MIME_TAG and isinstance(val, str):
                f.content_type = val.strip().lower()
            elif prop == PR_ATTACH_DATA and isinstance(val, bytes) and not f.data:
                f.data = val


def _finish(f: TnefFile) -> TnefFile:
    for key in (PR_ATTACH_LONG_FILENAME, PR_DISPLAY_NAME, PR_ATTACH_FILENAME, 0):
        if f.names.get(key, "").strip():
            f.filename = f.names[key].strip()
            break
    if not _MIME_TYPE.match(f.content_type):
        f.content_type = mimetypes.guess_type(f.filename)[0] or "application/octet-stream"
    return f


def _string8(value: bytes, codepage: str) -> str:
    raw = value.split(b"\0", 1)[0]
    try:
        return raw.decode(codepage)
    except (LookupError, UnicodeDecodeError):
        return raw.decode("cp1252", "replace")


def _properties(data: bytes, codepage: str):
    """(property id, value) of a MAPI property list; strings decoded, others raw bytes."""
    (count,), pos = struct.unpack_from("<I", data), 4
    for _ in range(min(count, 10_000)):
        ptype, pid = struct.unpack_from("<HH", data, pos)
        pos += 4
        if pid >= 0x8000:            # a named property: GUID, then an id or a name
            kind = struct.unpack_from("<I", data, pos + 16)[0]
            pos += 20
            if kind == 0:
                pos += 4
            else:
                size = struct.unpack_from("<I", data, pos)[0]
                pos += 4 + size + (-size % 4)
        values, pos = _values(data, pos, ptype, codepage)
        yield pid, values[0] if len(values) == 1 else values


def _values(data: bytes, pos: int, ptype: int, codepage: str) -> tuple[list, int]:
    multi, base = bool(ptype & 0x1000), ptype & ~0x1000
    count = 1
    if multi or base in _VARIABLE:
        count = struct.unpack_from("<I", data, pos)[0]
        pos += 4
    out = []
    for _ in range(min(count, 10_000)):
        if base in _VARIABLE:
            size = struct.unpack_from("<I", data, pos)[0]
            raw = data[pos + 4:pos + 4 + size]
            if len(raw) != size:
                raise TnefError("property runs past the end")
            pos += 4 + size + (-size % 4)
            out.append(raw.decode("utf-16-le", "replace").rstrip("\0") if base == 0x001F else
                       _string8(raw, codepage) if base == 0x001E else raw)
        elif base in _FIXED:
            out.append(data[pos:pos + _FIXED[base]])
            pos += _FIXED[base]
        else:
            raise TnefError(f"unknown property type 0x{base:04x}")
    return out, pos
