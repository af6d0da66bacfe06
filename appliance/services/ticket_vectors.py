"""Tickets' sentence vectors for the triage classifiers (decision 0053).

Owns TicketVector rows. A vector is computed by the local model (ports.TextEmbedder,
0.1-3 s of CPU each on the 2-core box), so each ticket's is computed once and kept:
triage computes it for a new ticket when it can do so without delaying routing, and
training computes the missing ones of resolved tickets within a time budget per run.
A row counts only for the embedder's current space and the exact text it was computed
from (an edited subject is embedded again). Vectors are derived from the ticket's text
and live and die with it (cascade on delete).
"""
from __future__ import annotations

import hashlib
import logging
import time

import peewee as pw

from appliance import registry
from appliance.jobs import unit_of_work
from appliance.models import TicketVector
from appliance.ports import ModelBusy, ModelTimeout, ModelUnavailable
from appliance.settings import Settings

log = logging.getLogger(__name__)

CHUNK = 16           # texts per embed call: the budget is checked between calls
READ_CHUNK = 500     # ids per SELECT ... IN (...)
UNAVAILABLE = (ModelBusy, ModelTimeout, ModelUnavailable)


def embedder(settings: Settings):
    """The embedder and its space, or (None, None) when vectors are off or no model is
    registered (classifiers then stay text-only)."""
    if not settings.ai_semantic_features:
        return None, None
    emb = registry.text_embedder(settings)
    try:
        return emb, emb.space()
    except ModelUnavailable:
        return None, None


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored(items: list[tuple[int, str]], space: str) -> dict[int, bytes]:
    """Stored vectors of (ticket id, text) pairs that match the space and the text."""
    want = {tid: text_sha(text) for tid, text in items}
    ids, out = list(want), {}
    for i in range(0, len(ids), READ_CHUNK):
        q = (TicketVector.select(TicketVector.ticket_id, TicketVector.text_sha, TicketVector.vector)
             .where(TicketVector.ticket.in_(ids[i:i + READ_CHUNK]) & (TicketVector.space == space)))
        out.update({r.ticket_id: bytes(r.vector) for r in q if r.text_sha == want[r.ticket_id]})
    return out


def _store(rows: list[tuple[int, str, bytes]], space: str) -> None:
    """Replace the rows' vectors. Losing a race with another writer of the same ticket
    (or its deletion) is harmless: the vector is a cache, computed again when missing."""
    try:
        with unit_of_work():
            ids = [tid for tid, _, _ in rows]
            TicketVector.delete().where(TicketVector.ticket.in_(ids)).execute()
            TicketVector.insert_many([{"ticket": tid, "space": space, "vector": vec,
                                       "text_sha": text_sha(text)}
                                      for tid, text, vec in rows]).execute()
    except pw.IntegrityError:
        log.info("ticket vectors of %d tickets not stored (written or deleted meanwhile)",
                 len(rows))


def for_training(items: list[tuple[int, str]], settings: Settings
                 ) -> tuple[list[bytes | None] | None, str | None, dict]:
    """One vector or None per (ticket id, text), in order, the missing ones computed
    until `ai_embed_budget_seconds` is spent; (None, None, info) when vectors are off."""
    emb, space = embedder(settings)
    if emb is None:
        return None, None, {"vectors": "off or no model"}
    have = stored(items, space)
    missing = [(tid, text) for tid, text in items if tid not in have]
    started, computed = time.monotonic(), 0
    for i in range(0, len(missing), CHUNK):
        if time.monotonic() - started > settings.ai_embed_budget_seconds:
            break
        part = missing[i:i + CHUNK]
        try:
            vectors = emb.embed([text for _, text in part], wait_s=60.0)
        except UNAVAILABLE as exc:
            log.warning("ticket vectors: stopped after %d (%s)", computed, exc)
            break
        _store([(tid, text, v) for (tid, text), v in zip(part, vectors)], space)
        have.update({tid: v for (tid, _), v in zip(part, vectors)})
        computed += len(part)
    info = {"vectors_stored": len(have) - computed, "vectors_computed": computed,
            "vectors_missing": len(items) - len(have),
            "vector_seconds": round(time.monotonic() - started, 1)}
    return [have.get(tid) for tid, _ in items], space, info


def for_new_ticket(ticket_id: int, text: str, settings: Settings, *, compute: bool = True
                   ) -> tuple[bytes | None, str]:
    """(vector, space): the stored one, else (with `compute`) a new one if the embedder
    is free right now, else (None, space); routing never waits for the model."""
    emb, space = embedder(settings)
    if emb is None:
        return None, ""
    have = stored([(ticket_id, text)], space)
    if ticket_id in have or not compute:
        return have.get(ticket_id), space
    try:
        vector = emb.embed([text], wait_s=0)[0]
    except UNAVAILABLE as exc:
        log.info("ticket %d triaged without its vector: %s", ticket_id, exc)
        return None, space
    _store([(ticket_id, text, vector)], space)
    return vector, space
