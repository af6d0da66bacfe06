"""TNEF (winmail.dat) unpacking: the files inside become attachments; anything the reader
cannot take apart is kept as winmail.dat, never lost."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from appliance.mail import tnef
from appliance.mail.parse import parse_message

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mail_corpus"
_spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
make_corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_corpus)


def test_the_files_inside_come_out_with_their_long_names_and_types():
    parsed = parse_message((CORPUS / "tnef_winmail_dat_with_files.eml").read_bytes())
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("报价单 2025.pdf", "application/pdf"), ("photo.png", "image/png")]
    assert parsed.attachments[0].content == make_corpus.PDF
    assert parsed.attachments[1].content == make_corpus.PNG
    assert parsed.problems == []


def test_a_broken_winmail_dat_is_kept_and_the_problem_recorded():
    parsed = parse_message((CORPUS / "tnef_winmail_dat.eml").read_bytes())
    assert [a.filename for a in parsed.attachments] == ["winmail.dat"]
    assert any("TNEF" in p for p in parsed.problems)


def test_a_stream_cut_short_keeps_the_files_completed_before_the_cut():
    data = make_corpus.tnef([("A.TXT", "first.txt", "text/plain", b"one"),
                             ("B.TXT", "second.txt", "text/plain", b"two" * 100)])
    cut = data[:data.rindex(b"two") - 50]
    assert [(f.filename, f.data) for f in tnef.files(cut)] == [("first.txt", b"one")]
    assert tnef.files(data[:40]) == []            # message attributes only: no files
    with pytest.raises(tnef.TnefError):
        tnef.files(data[:60])                     # cut inside an attribute
    with pytest.raises(tnef.TnefError):
        tnef.files(b"PK\x03\x04 not tnef")


def test_the_8_3_title_in_the_oem_codepage_names_a_file_without_a_long_name():
    data = make_corpus.tnef([("报价.PDF", None, None, b"%PDF-1.4")])
    [f] = tnef.files(data)
    assert (f.filename, f.content_type) == ("报价.PDF", "application/pdf")
