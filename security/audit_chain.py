"""The audit log's cryptography, with no knowledge of the domain (docs/decisions/0026).

- `canonical`: the bytes a record is authenticated by: a JSON array of FIELDS in a fixed
  order (no key sorting to get wrong, no whitespace), UTF-8.
- `chain_mac`: mac(n) = HMAC-SHA256(key, mac(n-1) || canonical(record n)); the first
  record chains from GENESIS (or, after a retention prune, from a signed anchor
  checkpoint that holds the mac of the last pruned record).
- `sign_checkpoint` / `checkpoint_valid`: Ed25519 over (kind, seq, head mac, time, count).
- `Verifier`: fed records in seq order and the known checkpoints, it names each problem:
  an edited record, a missing (deleted) record, records out of order or moved to another
  seq, a truncated tail, a checkpoint that disagrees with the chain, a bad signature.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

FIELDS = ("seq", "at", "actor_id", "actor_name", "ip", "action", "object_type", "object_id",
          "result", "detail")
GENESIS = "0" * 64
CHECKPOINT_KINDS = ("periodic", "manual", "anchor")
_SIG_DOMAIN = "gongdan-audit-checkpoint-v1"
_REORDER_WINDOW = 8      # how far (in seq) a moved record is looked for
MAX_REPORTED = 200       # problems listed one by one; the rest are counted


def canonical(record: dict) -> bytes:
    """The stable serialisation the mac covers. `at` is an ISO string, `detail` the
    canonical JSON text stored with the record (see canonical_detail)."""
    return json.dumps([record[f] for f in FIELDS], ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def canonical_detail(detail: dict | None) -> str:
    return json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def chain_mac(key: bytes, prev_mac: str, record: dict) -> str:
    return hmac.new(key, prev_mac.encode("ascii") + canonical(record), hashlib.sha256).hexdigest()


def key_id(public: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_payload(cp: dict) -> bytes:
    return json.dumps([_SIG_DOMAIN, cp["kind"], cp["seq"], cp["head_mac"], cp["at"],
                       cp["count"], cp["key_id"]], separators=(",", ":")).encode("utf-8")


def sign_checkpoint(private: Ed25519PrivateKey, cp: dict) -> str:
    return private.sign(checkpoint_payload(cp)).hex()


def checkpoint_valid(public: Ed25519PublicKey, cp: dict) -> bool:
    try:
        public.verify(bytes.fromhex(cp["signature"]), checkpoint_payload(cp))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return cp.get("kind") in CHECKPOINT_KINDS and cp.get("count") == cp.get("seq")


@dataclass(frozen=True)
class Problem:
    kind: str      # edited, missing, out_of_order, moved, truncated, checkpoint_mismatch,
    seq: int       # bad_signature, beyond_head
    message: str


@dataclass
class Report:
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    more_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, seq: int, message: str) -> None:
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(Problem(kind, seq, message))
        else:
            self.more_problems += 1


class Verifier:
    """Streaming verifier: `feed` records (dicts with FIELDS and "mac") in seq order,
    then `finish()`. Memory stays bounded by the checkpoints and a small window."""

    def __init__(self, key: bytes, public: Ed25519PublicKey, checkpoints: Iterable[dict],
                 partial: bool = False):
        """`partial`: the records are a slice (an export from a date on): its first
        record is taken as the start instead of needing seq 1 or an anchor."""
        self.key = key
        self.partial = partial
        self.report = Report()
        self._good: dict[int, list[dict]] = {}   # valid checkpoints by seq
        for cp in sorted(checkpoints, key=lambda c: (c.get("seq", 0), c.get("at", ""))):
            self.report.checkpoints += 1
            if not checkpoint_valid(public, cp):
                self.report.add("bad_signature", cp.get("seq", 0),
                                f"checkpoint at seq {cp.get('seq')} has a bad signature "
                                "(forged or altered)")
            else:
                self._good.setdefault(cp["seq"], []).append(cp)
        self._prev: str | None = None
        self._prev_seq: int | None = None
        self._window: deque = deque(maxlen=2 * _REORDER_WINDOW + 1)
        self._suspects: list[dict] = []

    def feed(self, rec: dict) -> None:
        seq = rec["seq"]
        r = self.report
        if self._prev_seq is None:
            self._start(seq)
        elif seq <= self._prev_seq:
            r.add("out_of_order", seq, f"record seq {seq} comes after seq {self._prev_seq} "
                  "(records reordered)")
            return
        elif seq != self._prev_seq + 1:
            first, last = self._prev_seq + 1, seq - 1
            r.add("missing", first, f"record seq {first} is missing (deleted)" if first == last
                  else f"records seq {first} to {last} are missing (deleted)")
            self._prev = None  # the chain resumes at this record's own mac
        r.records += 1
        r.last_seq = seq
        mac = rec["mac"]
        if self._prev is not None and not hmac.compare_digest(
                chain_mac(self.key, self._prev, rec), mac):
            self._suspects.append(rec)
        if any(not hmac.compare_digest(cp["head_mac"], mac) for cp in self._good.get(seq, ())):
            r.add("checkpoint_mismatch", seq, f"checkpoint at seq {seq} does not match record "
                  f"seq {seq} (the record or the chain was rewritten)")
        self._window.append((rec, self._prev))
        self._classify(done=False)
        self._prev, self._prev_seq = mac, seq

    def _start(self, seq: int) -> None:
        self.report.first_seq = seq
        if seq == 1:
            self._prev = GENESIS
            return
        anchor = next((c for c in self._good.get(seq - 1, ()) if c["kind"] == "anchor"), None)
        if anchor is not None:
            self._prev = anchor["head_mac"]
        elif not self.partial:
            self.report.add("missing", 1, f"records before seq {seq} are missing and no signed "
                            "retention anchor explains it (deleted)")

    def _classify(self, done: bool) -> None:
        """Name each record whose mac failed once its neighbours are in the window: a
        record that verifies at another seq was moved (reordered), else it was edited."""
        while self._suspects:
            rec = self._suspects[0]
            newest = self._window[-1][0]["seq"] if self._window else rec["seq"]
            if not done and newest - rec["seq"] < _REORDER_WINDOW:
                return
            self._suspects.pop(0)
            moved_from = self._written_as(rec)
            if moved_from == rec["seq"]:
                continue
            if moved_from is not None:
                self.report.add("moved", rec["seq"], f"record seq {rec['seq']} was written as "
                                f"seq {moved_from} (records reordered)")
            else:
                self.report.add("edited", rec["seq"], f"record seq {rec['seq']} does not match "
                                "its MAC (edited)")

    def _written_as(self, rec: dict) -> int | None:
        prevs = {GENESIS} | {r["mac"] for r, _ in self._window} | {
            p for _, p in self._window if p}
        # Own seq first: an intact record whose predecessor moved is no problem of its own.
        seqs = range(max(1, rec["seq"] - _REORDER_WINDOW), rec["seq"] + _REORDER_WINDOW + 1)
        for seq in sorted(seqs, key=lambda s: s != rec["seq"]):
            moved = dict(rec, seq=seq)
            for prev in prevs:
                if hmac.compare_digest(chain_mac(self.key, prev, moved), rec["mac"]):
                    return seq
        return None

    def finish(self, head_seq: int | None = None) -> Report:
        """`head_seq`: the seq the writer says it reached (its head row), if known."""
        self._classify(done=True)
        r = self.report
        last = r.last_seq or 0
        beyond = [s for s in self._good if s > last]
        if head_seq is not None and head_seq > last:
            beyond.append(head_seq)
        if beyond:
            r.add("truncated", last + 1, f"records after seq {last} are missing: a checkpoint "
                  f"or the log head reaches seq {max(beyond)} (tail truncated)")
        if head_seq is not None and head_seq < last:
            r.add("beyond_head", head_seq + 1, f"records after seq {head_seq} were not "
                  f"written by the log (its head is at seq {head_seq})")
        r.problems.sort(key=lambda p: p.seq)
        return r


def verify(key: bytes, public: Ed25519PublicKey, records: Iterable[dict],
           checkpoints: Iterable[dict], head_seq: int | None = None,
           partial: bool = False) -> Report:
    v = Verifier(key, public, checkpoints, partial)
    for rec in records:
        v.feed(rec)
    return v.finish(head_seq)
