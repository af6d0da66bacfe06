"""Any changed byte of a bundle is refused: framing, headers, content, checksums, signature."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil

import pytest

from tests.bundle_fixture import keygen
from tests.packaging.conftest import load_script, verify

pytestmark = pytest.mark.slow

REFUSED = "Do not install it"


def test_one_changed_byte_anywhere_in_the_file_is_refused(built_bundle, tmp_path):
    bundle, pub = built_bundle
    copy = tmp_path / bundle.name
    shutil.copyfile(bundle, copy)
    size = copy.stat().st_size
    # offset in the file -> what the verifier names (10-byte gzip header, then 5-byte
    # stored-block headers every 65,535 bytes; the tar stream starts at byte 15). Byte 10
    # marks the first block final, so the rest of the file follows "the end".
    cases = {4: "gzip header", 9: "gzip header", 10: "after the end of the gzip member",
             12: "stored block",
             15 + 100 + 4: "tar header",                 # the top directory's mode
             15 + 1024 + 10: "signature",                # a digit inside SHA256SUMS
             size // 2: "does not match its SHA-256",    # deep inside the model's bytes
             size - 12: "end-of-archive",                # the last data byte (tar padding)
             size - 8: "CRC-32", size - 1: "CRC-32"}     # CRC and length trailer
    with open(copy, "r+b") as fh:
        for offset, named in cases.items():
            fh.seek(offset)
            original = fh.read(1)
            fh.seek(offset)
            fh.write(bytes([original[0] ^ 0x01]))
            fh.flush()
            r = verify(copy, pub)
            assert r.returncode == 1 and REFUSED in r.stderr, (offset, r.stdout, r.stderr)
            assert named in r.stderr, (offset, r.stderr)
            fh.seek(offset)
            fh.write(original)
            fh.flush()
    assert verify(copy, pub).returncode == 0      # every byte put back: accepted again
    with open(copy, "ab") as fh:
        fh.write(b"\0")
    r = verify(copy, pub)
    assert r.returncode == 1 and "after the end of the gzip member" in r.stderr
    os.truncate(copy, size - 1)
    r = verify(copy, pub)
    assert r.returncode == 1 and REFUSED in r.stderr


@pytest.fixture
def repack(extracted, tmp_path):
    """repack(change) -> a bundle rebuilt in the canonical form from a copy of the
    extracted tree after `change(tree)`; the big files are hard links, never modified."""
    bundle_py = load_script("bundle")
    epoch = json.loads((extracted / "bundle.json").read_text())["source_date_epoch"]

    def make(change=None, name="repacked.tar.gz"):
        tree = tmp_path / "tree" / extracted.name
        shutil.rmtree(tmp_path / "tree", ignore_errors=True)
        shutil.copytree(extracted, tree, copy_function=os.link)
        if change:
            change(tree)
        files = {str(p.relative_to(tree)): p for p in tree.rglob("*") if p.is_file()}
        out = tmp_path / name
        with open(out, "wb") as fh:
            bundle_py.fmt.gzip_stored(bundle_py.tar_chunks(tree.name, files, {}, epoch), fh)
        return out
    make.bundle_py = bundle_py
    return make


def _replace(path, data: bytes) -> None:
    path.unlink()                  # a hard link to the session's tree: never write through it
    path.write_bytes(data)


def _rehash(tree, rel: str, data: bytes) -> None:
    _replace(tree / rel, data)
    fmt = load_script("verify_bundle")
    listed = fmt._parse_sums((tree / "SHA256SUMS").read_bytes())
    listed[rel] = hashlib.sha256(data).hexdigest()
    _replace(tree / "SHA256SUMS", fmt.sums_text(listed))


def test_repacking_an_unchanged_tree_gives_the_same_bytes(built_bundle, repack):
    bundle, pub = built_bundle
    again = repack()
    assert again.read_bytes() == bundle.read_bytes()
    assert verify(again, pub).returncode == 0


def test_a_changed_file_rehashed_in_sha256sums_without_a_new_signature_is_refused(built_bundle, repack):
    _, pub = built_bundle
    forged = repack(lambda tree: _rehash(tree, "docs/README.md", b"# forged\n"))
    r = verify(forged, pub)
    assert r.returncode == 1 and "signature in SHA256SUMS.sig does not match" in r.stderr


def test_a_bundle_re_signed_with_another_key_is_refused(built_bundle, repack, tmp_path):
    _, pub = built_bundle
    other_pub = keygen(tmp_path / "other")
    other_key = repack.bundle_py.load_signing_key(other_pub.with_name("vendor-signing.key"))

    def resign(tree):
        _rehash(tree, "docs/README.md", b"# forged\n")
        _replace(tree / "SHA256SUMS.sig",
                 base64.b64encode(other_key.sign((tree / "SHA256SUMS").read_bytes())) + b"\n")
    forged = repack(resign)
    r = verify(forged, pub)
    assert r.returncode == 1 and "signed by another key" in r.stderr
    assert verify(forged, other_pub).returncode == 0   # valid, but not the vendor's


def test_unlisted_and_missing_files_are_refused(built_bundle, repack):
    _, pub = built_bundle
    extra = repack(lambda tree: (tree / "docs/extra.md").write_bytes(b"not listed\n"))
    r = verify(extra, pub)
    assert r.returncode == 1 and "docs/extra.md is in the bundle but not listed" in r.stderr
    missing = repack(lambda tree: (tree / "docs/configuration.md").unlink(), name="missing.tar.gz")
    r = verify(missing, pub)
    assert r.returncode == 1 and "docs/configuration.md is listed in SHA256SUMS but missing" in r.stderr


def _tiny_bundle(tmp_path, members: list[bytes]):
    fmt = load_script("verify_bundle")
    out = tmp_path / "tiny.tar.gz"
    stream = b"".join(members)
    with open(out, "wb") as fh:
        fmt.gzip_stored([stream + fmt.tar_trailer(len(stream))], fh)
    return out


def _with_type(header: bytes, kind: bytes, link: bytes = b"") -> bytes:
    raw = bytearray(header)
    raw[156:157] = kind
    raw[157:257] = link.ljust(100, b"\0")
    raw[148:156] = b" " * 8
    raw[148:156] = b"%06o\0 " % sum(raw)
    return bytes(raw)


def test_links_devices_and_escaping_paths_are_refused(built_bundle, tmp_path):
    _, pub = built_bundle
    fmt = load_script("verify_bundle")
    top = fmt.tar_header("gongdan-9.9.9", 0, True, 0)
    symlink = _with_type(fmt.tar_header("gongdan-9.9.9/passwd", 0, False, 0), b"2", b"/etc/passwd")
    r = verify(_tiny_bundle(tmp_path, [top, symlink]), pub)
    assert r.returncode == 1 and "links and devices are refused" in r.stderr
    device = _with_type(fmt.tar_header("gongdan-9.9.9/sda", 0, False, 0), b"3")
    assert "links and devices are refused" in verify(_tiny_bundle(tmp_path, [top, device]), pub).stderr
    escaping = bytearray(fmt.tar_header("gongdan-9.9.9/x", 0, False, 0))
    escaping[0:100] = b"gongdan-9.9.9/../../etc/cron.d/x".ljust(100, b"\0")
    r = verify(_tiny_bundle(tmp_path, [top, bytes(escaping)]), pub)
    assert r.returncode == 1 and "is not allowed" in r.stderr
    absolute = bytearray(fmt.tar_header("gongdan-9.9.9/x", 0, False, 0))
    absolute[0:100] = b"/etc/cron.d/x".ljust(100, b"\0")
    r = verify(_tiny_bundle(tmp_path, [top, bytes(absolute)]), pub)
    assert r.returncode == 1 and "is not allowed" in r.stderr


def test_extraction_refuses_an_existing_target_and_leaves_nothing_behind(built_bundle, tmp_path):
    bundle, pub = built_bundle
    dest = tmp_path / "dest"
    (dest / bundle.name.split("-linux")[0]).mkdir(parents=True)
    r = verify(bundle, pub, "--extract", str(dest))
    assert r.returncode == 2 and "already exists" in r.stderr
    assert sorted(p.name for p in dest.iterdir()) == [bundle.name.split("-linux")[0]]
    damaged = tmp_path / "damaged.tar.gz"
    shutil.copyfile(bundle, damaged)
    with open(damaged, "ab") as fh:
        fh.write(b"x")
    r = verify(damaged, pub, "--extract", str(tmp_path / "never"))
    assert r.returncode == 1 and not (tmp_path / "never").exists()


def test_extraction_writes_0644_files_and_0755_folders_whatever_the_umask(built_bundle, tmp_path):
    bundle, pub = built_bundle
    old = os.umask(0o077)
    try:
        r = verify(bundle, pub, "--extract", str(tmp_path / "x"))
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    modes = {oct(p.stat().st_mode & 0o777) for p in (tmp_path / "x").rglob("*")}
    assert modes == {"0o644", "0o755"}
    assert [p.name for p in (tmp_path / "x").iterdir()] == [bundle.name.split("-linux")[0]]
