"""Uploads (SECURITY.md "Input and output"): archive-bomb limits (huge expansion, many
entries, nesting), content that must match its extension, size, and the download's
headers (attachment with an RFC 6266 filename*, nosniff, never HTML inline)."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

from appliance.errors import PayloadTooLarge, UnsupportedMediaType
from appliance.models import Attachment, Ticket
from appliance.services import attachments
from appliance.services.attachments import Upload, check_upload
from tests.conftest import with_settings

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64


def zip_bytes(entries: dict[str, bytes], level: int = 9) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def nested(depth: int) -> bytes:
    data = zip_bytes({"readme.txt": b"hello " * 50})
    for n in range(depth - 1):
        data = zip_bytes({f"level{n}.zip": data, "note.txt": b"x" * 100})
    return data


def refused(name: str, data: bytes, settings) -> str:
    with pytest.raises(UnsupportedMediaType) as exc:
        check_upload(Upload(name, data), settings)
    return exc.value.message


def test_an_archive_that_expands_enormously_is_refused(settings):
    bomb = zip_bytes({"zeros.bin": b"\0" * (50 * 1024 * 1024)})
    assert len(bomb) < 100_000
    assert "expands too much" in refused("bomb.zip", bomb, settings)


def test_an_archive_with_too_many_entries_is_refused(settings):
    many = zip_bytes({f"f{i}.txt": b"" for i in range(attachments.MAX_ARCHIVE_ENTRIES + 1)},
                     level=1)
    assert "expands too much" in refused("many.zip", many, settings)


def test_archives_nested_deeper_than_one_level_are_refused(settings):
    check_upload(Upload("one.zip", nested(2)), settings)   # a zip in a zip: allowed
    assert "expands too much" in refused("deep.zip", nested(3), settings)


def test_entries_of_nested_archives_count_towards_the_limit(settings):
    half = attachments.MAX_ARCHIVE_ENTRIES // 2 + 1
    inner = zip_bytes({f"i{i}.txt": b"" for i in range(half)}, level=1)
    outer = zip_bytes({"inner.zip": inner, **{f"o{i}.txt": b"" for i in range(half)}}, level=1)
    assert "expands too much" in refused("split.zip", outer, settings)


def test_an_office_file_is_held_to_the_same_archive_limits(settings):
    docx_bomb = zip_bytes({"[Content_Types].xml": b"<Types/>",
                           "word/document.xml": b" " * (60 * 1024 * 1024)})
    assert "expands too much" in refused("report.docx", docx_bomb, settings)


def test_a_broken_archive_is_refused(settings):
    assert "not a readable archive" in refused("broken.zip", b"PK\x03\x04" + b"\x00" * 200,
                                               settings)


@pytest.mark.parametrize("name, data", [
    ("photo.png", b"<html><script>alert(1)</script></html>"),
    ("report.pdf", PNG),
    ("page.html", b"<html></html>"),
    ("image.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
    ("run.exe", b"MZ\x90\x00"),
    ("notes.txt", b"\x00\x01binary"),
])
def test_content_must_match_an_allowed_extension(settings, name, data):
    refused(name, data, settings)


def test_an_upload_over_the_size_limit_is_refused(settings):
    small = with_settings(settings, max_attachment_bytes=1000)
    with pytest.raises(PayloadTooLarge):
        check_upload(Upload("big.txt", b"x" * 1001), small)


def test_an_archive_bomb_through_the_portal_is_refused_and_nothing_is_stored(login, settings):
    b = login("zhangsan")
    bomb = zip_bytes({"zeros.bin": b"\0" * (50 * 1024 * 1024)})
    r = b.post("/portal/new", {"subject": "压缩包", "description": "见附件",
                               "attachments": [(io.BytesIO(bomb), "logs.zip")]})
    assert r.status_code == 415
    root = Path(settings.attachment_dir)
    assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]
    assert Ticket.select().count() == 0


@pytest.mark.parametrize("name, data, served", [
    ("运行日志 v2;x.txt", b"line 1\n<script>alert(1)</script>\n", "text/plain"),
    ("照片.png", PNG, "image/png"),
])
def test_downloads_are_attachments_with_an_rfc6266_name_and_never_sniffed(login, org, name,
                                                                          data, served):
    b = login("zhangsan")
    r = b.post("/portal/new", {"subject": "附件", "description": "见附件",
                               "attachments": [(io.BytesIO(data), name)]})
    assert r.status_code == 302
    a = Attachment.get()
    d = b.get(f"/portal/attachments/{a.id}")
    assert d.status_code == 200 and d.mimetype == served
    disposition = d.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="')
    assert disposition.endswith("filename*=UTF-8''" + quote(name, safe=""))
    fallback = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert fallback.isascii() and ";" not in fallback
    assert d.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in d.headers["Content-Security-Policy"]
    assert d.headers["Cache-Control"] == "private, no-store"


def test_a_stored_active_type_is_served_as_bytes(login, org):
    """Defence in depth: a row that somehow says text/html or SVG is never served as such."""
    b = login("zhangsan")
    b.post("/portal/new", {"subject": "附件", "description": "x",
                           "attachments": [(io.BytesIO(b"plain"), "a.txt")]})
    a = Attachment.get()
    for ctype in ("text/html", "image/svg+xml", "application/xhtml+xml", "text/html; charset=utf-8"):
        Attachment.update(content_type=ctype).where(Attachment.id == a.id).execute()
        d = b.get(f"/portal/attachments/{a.id}")
        assert d.mimetype == "application/octet-stream", ctype
        assert d.headers["Content-Disposition"].startswith("attachment;")
