"""The backup stream format (security/backup_stream.py): round trip in bounded chunks,
and every kind of damage refused — an altered byte anywhere, truncation at and inside a
chunk, reordered chunks, chunks swapped in from another backup, data appended after the
end, a wrong or missing master key."""
import io
import os
import struct

import pytest

from security import backup_stream as bs
from security import envelope

MASTER = {1: envelope.new_key()}
CHUNK = 64


def _make(data: bytes, masters=MASTER, chunk=CHUNK) -> bytes:
    out = io.BytesIO()
    header, key = bs.new_header(masters, "2026-11-27T00:00:00+00:00", chunk_bytes=chunk)
    w = bs.Writer(out, header, key, chunk)
    for i in range(0, len(data), 37):  # writes that do not line up with chunks
        w.write(data[i:i + 37])
    w.close()
    return out.getvalue()


def _read(blob: bytes, masters=MASTER) -> bytes:
    fields, reader = bs.open_stream(io.BytesIO(blob), masters)
    out = reader.read(10) + reader.read()
    reader.drain()
    return out


def _frames(blob: bytes) -> tuple[bytes, list[bytes]]:
    """(header, [frame, ...]) of a backup, for surgery."""
    (length,) = struct.unpack(">I", blob[4:8])
    pos, frames = 8 + length, []
    head = blob[:pos]
    while pos < len(blob):
        _, n = struct.unpack(">BI", blob[pos:pos + 5])
        frames.append(blob[pos:pos + 5 + n])
        pos += 5 + n
    return head, frames


DATA = os.urandom(1000)


def test_round_trip_in_chunks_with_a_final_one():
    blob = _make(DATA)
    assert _read(blob) == DATA
    head, frames = _frames(blob)
    assert len(frames) == 1000 // CHUNK + 1 and frames[-1][0] == 1
    assert all(f[0] == 0 for f in frames[:-1])
    assert DATA[:32] not in blob  # encrypted
    assert _read(_make(b"")) == b""  # an empty stream still has its (final) chunk
    assert _read(_make(b"x" * CHUNK)) == b"x" * CHUNK  # exactly one chunk


@pytest.mark.parametrize("where", ["header", "first chunk", "middle", "tag", "last byte"])
def test_any_altered_byte_fails(where):
    blob = bytearray(_make(DATA))
    head, frames = _frames(bytes(blob))
    pos = {"header": len(head) - 3, "first chunk": len(head) + 10, "middle": len(blob) // 2,
           "tag": len(head) + len(frames[0]) - 1, "last byte": len(blob) - 1}[where]
    blob[pos] ^= 0x01
    with pytest.raises(bs.BackupError):
        _read(bytes(blob))


def test_truncation_at_a_chunk_boundary_and_inside_a_chunk_fails():
    blob = _make(DATA)
    head, frames = _frames(blob)
    with pytest.raises(bs.Truncated):
        _read(head + b"".join(frames[:-1]))  # the final chunk dropped
    with pytest.raises(bs.Truncated):
        _read(blob[:-5])
    with pytest.raises(bs.Truncated):
        _read(head)
    with pytest.raises(bs.Truncated):
        _read(blob[:len(head) - 4])


def test_a_non_final_chunk_cannot_pose_as_the_end():
    head, frames = _frames(_make(DATA))
    cut = frames[:3]
    forged = bytes([1]) + cut[-1][1:]  # flip the flag: the AAD no longer matches
    with pytest.raises(bs.Tampered):
        _read(head + b"".join(cut[:-1]) + forged)


def test_reordered_chunks_fail():
    head, frames = _frames(_make(DATA))
    frames[1], frames[2] = frames[2], frames[1]
    with pytest.raises(bs.Tampered):
        _read(head + b"".join(frames))


def test_chunks_swapped_between_two_backups_fail():
    head_a, frames_a = _frames(_make(DATA))
    head_b, frames_b = _frames(_make(DATA))  # same data, same master key
    mixed = head_a + frames_a[0] + frames_b[1] + b"".join(frames_a[2:])
    with pytest.raises(bs.Tampered):
        _read(mixed)
    with pytest.raises(bs.Tampered):  # b's header with a's chunks
        _read(head_b + b"".join(frames_a))


def test_data_after_the_final_chunk_is_refused():
    blob = _make(DATA)
    with pytest.raises(bs.Tampered):
        _read(blob + b"\0")
    with pytest.raises(bs.Tampered):
        _read(blob + _frames(blob)[1][-1])


def test_wrong_or_missing_master_key_is_named_as_such():
    blob = _make(DATA)
    with pytest.raises(bs.WrongKey, match="not the key this backup was made with"):
        _read(blob, {1: envelope.new_key()})
    with pytest.raises(bs.WrongKey, match="version 1"):
        _read(blob, {2: MASTER[1]})
    rotated = {1: MASTER[1], 2: envelope.new_key()}
    assert _read(_make(DATA, rotated), rotated) == DATA  # made under the newest version
    assert bs.read_header(io.BytesIO(_make(DATA, rotated)))[1]["master_version"] == 2


def test_not_a_backup_and_other_formats():
    with pytest.raises(bs.NotABackup):
        _read(b"PK\x03\x04 not ours")
    with pytest.raises(bs.NotABackup):
        _read(b"")
    header, _ = bs.new_header(MASTER, "t")
    body = header[8:].replace(b'"format":1', b'"format":9')
    with pytest.raises(bs.NotABackup, match="format 9"):
        _read(header[:4] + struct.pack(">I", len(body)) + body)


def test_memory_stays_at_one_chunk_while_reading():
    blob = _make(os.urandom(20 * CHUNK))
    _, reader = bs.open_stream(io.BytesIO(blob), MASTER)
    got = reader.read(5)
    assert len(got) == 5 and len(reader._buf) <= CHUNK
