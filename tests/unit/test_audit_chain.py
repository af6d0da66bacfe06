"""The audit chain's primitives: each kind of tampering is named by the verifier."""
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from security import audit_chain as ac

KEY = b"k" * 32


def _chain(n: int, start: int = 1, prev: str = ac.GENESIS) -> list[dict]:
    out = []
    for seq in range(start, start + n):
        rec = {"seq": seq, "at": f"2026-11-27T10:00:{seq % 60:02d}.000000", "actor_id": 7,
               "actor_name": "alice", "ip": "10.0.0.1", "action": "auth.login",
               "object_type": "user", "object_id": str(seq), "result": "success",
               "detail": ac.canonical_detail({"n": seq, "名": "值"})}
        rec["mac"] = prev = ac.chain_mac(KEY, prev, rec)
        out.append(rec)
    return out


@pytest.fixture
def signer():
    return Ed25519PrivateKey.generate()


def _cp(signer, rec: dict, kind: str = "periodic") -> dict:
    cp = {"kind": kind, "seq": rec["seq"], "head_mac": rec["mac"], "at": rec["at"],
          "count": rec["seq"], "key_id": ac.key_id(signer.public_key())}
    cp["signature"] = ac.sign_checkpoint(signer, cp)
    return cp


def _kinds(report) -> list[tuple[str, int]]:
    return [(p.kind, p.seq) for p in report.problems]


def test_an_untouched_chain_with_checkpoints_verifies(signer):
    recs = _chain(50)
    r = ac.verify(KEY, signer.public_key(), recs, [_cp(signer, recs[9]), _cp(signer, recs[-1])])
    assert r.ok and r.records == 50 and (r.first_seq, r.last_seq) == (1, 50)


def test_canonical_form_is_stable_and_field_ordered():
    rec = _chain(1)[0]
    assert ac.canonical(rec) == ac.canonical(dict(reversed(list(rec.items()))))
    assert ac.canonical_detail({"b": 1, "a": "中"}) == '{"a":"中","b":1}'


def test_an_edited_record_is_named(signer):
    recs = _chain(20)
    recs[6] = dict(recs[6], actor_name="mallory")
    assert _kinds(ac.verify(KEY, signer.public_key(), recs, [])) == [("edited", 7)]


def test_a_deleted_middle_record_is_named(signer):
    recs = _chain(20)
    del recs[9]
    r = ac.verify(KEY, signer.public_key(), recs, [])
    assert _kinds(r) == [("missing", 10)]
    assert "seq 10 is missing" in r.problems[0].message


def test_a_truncated_tail_is_found_from_the_latest_checkpoint(signer):
    recs = _chain(30)
    cp = _cp(signer, recs[-1])
    r = ac.verify(KEY, signer.public_key(), recs[:25], [cp])
    assert _kinds(r) == [("truncated", 26)]


def test_a_truncated_tail_is_found_from_the_writer_head(signer):
    recs = _chain(30)
    r = ac.verify(KEY, signer.public_key(), recs[:28], [], head_seq=30)
    assert _kinds(r) == [("truncated", 29)]


def test_records_swapped_between_seqs_are_named_as_moved(signer):
    recs = _chain(30)
    a, b = recs[11], recs[12]
    recs[11], recs[12] = dict(b, seq=12), dict(a, seq=13)   # seq values swapped
    r = ac.verify(KEY, signer.public_key(), recs, [])
    assert _kinds(r) == [("moved", 12), ("moved", 13)]
    assert "was written as seq 13" in r.problems[0].message


def test_records_out_of_seq_order_are_named(signer):
    recs = _chain(10)
    recs[4], recs[5] = recs[5], recs[4]
    assert ("out_of_order", 5) in _kinds(ac.verify(KEY, signer.public_key(), recs, []))


def test_a_forged_checkpoint_is_named(signer):
    recs = _chain(10)
    forged = dict(_cp(signer, recs[-1]), head_mac="f" * 64)   # altered after signing
    other = _cp(Ed25519PrivateKey.generate(), recs[-1])        # signed by another key
    r = ac.verify(KEY, signer.public_key(), recs, [forged, other])
    assert _kinds(r) == [("bad_signature", 10), ("bad_signature", 10)]


def test_a_rewritten_chain_disagrees_with_its_checkpoint(signer):
    """Someone holding the HMAC key (not the signing key) rewrites seq 5 and re-chains."""
    recs = _chain(10)
    cp = _cp(signer, recs[4])
    rewritten = recs[:4] + _chain_from([dict(recs[4], object_id="x")] + recs[5:],
                                       recs[3]["mac"])
    r = ac.verify(KEY, signer.public_key(), rewritten, [cp])
    assert _kinds(r) == [("checkpoint_mismatch", 5)]


def _chain_from(recs, prev):
    out = []
    for rec in recs:
        rec = dict(rec)
        rec["mac"] = prev = ac.chain_mac(KEY, prev, rec)
        out.append(rec)
    return out


def test_a_pruned_head_verifies_from_its_signed_anchor_only(signer):
    recs = _chain(40)
    anchor = _cp(signer, recs[14], kind="anchor")
    assert ac.verify(KEY, signer.public_key(), recs[15:], [anchor]).ok
    periodic = _cp(signer, recs[14])
    r = ac.verify(KEY, signer.public_key(), recs[15:], [periodic])
    assert _kinds(r) == [("missing", 1)]


def test_many_problems_are_counted_beyond_the_listed_ones(signer):
    recs = [dict(r, ip="x") for r in _chain(ac.MAX_REPORTED + 50)]
    r = ac.verify(KEY, signer.public_key(), recs, [])
    assert len(r.problems) == ac.MAX_REPORTED and r.more_problems == 50
