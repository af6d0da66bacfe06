"""Agent assistance on the ticket page: ask for a reply draft or a summary, then
follow it as it is written (server-sent events, or JSON polling as a fallback).

No model call happens here (docs/decisions/0010-ai-triage.md): the POST stores a
draft and schedules the worker's job; the stream and the poll only read the row.
The stream polls the row for at most STREAM_SECONDS per connection, sends a comment
as heartbeat, and ends on done/failed; EventSource reconnects by itself after a
capped stream, and the service reports a draft that never ends as expired, so
nothing waits for ever. Registered on the agent blueprint (staff only, CSRF on POST).
"""
from __future__ import annotations

import json
import logging
import threading
import time

from flask import Response, jsonify, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.db import end_request
from appliance.errors import DomainError, NotFound, ValidationError
from appliance.services import assist, common
from webapp import ai_status as model_status
from webapp.errors import retry_headers
from webapp.messages import translate
from webapp.views.agent_common import actor, bp, settings

log = logging.getLogger(__name__)
STREAM_SECONDS = 45.0
# Each open stream holds a gunicorn thread; at most this many per process, so drafts can
# never take every thread from the portal, the API and /healthz. Past it the browser
# gets 503 and ai.js falls back to polling (a short request per second).
MAX_STREAMS_PER_PROCESS = 2
_streams = threading.BoundedSemaphore(MAX_STREAMS_PER_PROCESS)
POLL_SECONDS = 0.2
HEARTBEAT_SECONDS = 10.0
RETRY_MS = 1500

REASONS = {
    "unavailable": _l("The AI model is not available. Write the reply yourself, or ask an "
                      "administrator to check the model."),
    "busy": _l("The AI assistant is busy. Try again in a minute."),
    "timeout": _l("The AI assistant took too long and stopped. Try again."),
    "expired": _l("The draft was not finished in time. Try again."),
    "forbidden": _l("You can no longer see this ticket."),
    "failed": _l("The AI assistant could not write a draft. Try again."),
    "truncated": _l("The AI assistant reached its time limit: the text may be incomplete."),
}
BUSY = {
    "too many drafts in progress; wait for one to finish":
        _l("You have several drafts in progress. Wait for one to finish."),
    "too many draft requests; try again later":
        _l("Too many drafts were requested in the last hour. Try again later."),
}


def _ai_available() -> bool:
    """The web's cheap view of the model (no loading); a broken check counts as unavailable."""
    try:
        return model_status.current(settings()).available
    except Exception:
        log.exception("AI status check failed")
        return False


def _error(status: int, code: str, message: str, fields: dict | None = None):
    return jsonify({"error": {"code": code, "message": message, "fields": fields or {}}}), status


def _citation(c: assist.Citation) -> dict:
    href = (url_for("agent.kb_article", article_id=c.id) if c.kind == "article"
            else url_for("agent.ticket", ticket_id=c.id))
    return {"marker": c.marker, "kind": c.kind, "label": c.label, "href": href, "cited": c.cited}


def _payload(d: assist.DraftView) -> dict:
    """The draft as the browser reads it. The text is data: ai.js sets it as textContent."""
    return {"id": d.id, "kind": d.kind, "tone": d.tone, "language": d.language,
            "status": d.status, "finished": d.status in ("done", "failed"), "text": d.text,
            "citations": [_citation(c) for c in d.citations] if d.status == "done" else [],
            "error": d.error, "message": str(REASONS.get(d.error, "")) if d.error else "",
            "ahead": d.ahead}


def _urls(ticket_id: int, draft_id: int) -> dict:
    return {"poll": url_for("agent.ai_draft", ticket_id=ticket_id, draft_id=draft_id),
            "stream": url_for("agent.ai_draft_events", ticket_id=ticket_id, draft_id=draft_id)}


def _visible(ticket_id: int) -> bool:
    """Whether the agent can see the ticket (callers answer 404 otherwise)."""
    try:
        common.ticket_for(actor(), ticket_id)
        return True
    except NotFound:
        return False


@bp.get("/tickets/<int:ticket_id>/ai/status")
def ai_status(ticket_id: int):
    if not _visible(ticket_id):
        return _error(404, "not_found", _("Not Found"))
    available = _ai_available()
    return jsonify({"available": available,
                    "message": "" if available else str(REASONS["unavailable"])})


@bp.post("/tickets/<int:ticket_id>/ai/drafts")
def ai_request_draft(ticket_id: int):
    kind = request.form.get("kind", "reply")
    tone = request.form.get("tone", "formal")
    try:
        if not _ai_available():
            if not _visible(ticket_id):
                raise NotFound("ticket not found")
            return _error(503, "ai_unavailable", str(REASONS["unavailable"]))
        draft_id = assist.request_draft(actor(), ticket_id, kind, tone, settings())
    except ValidationError as exc:
        return _error(400, exc.code, _("Invalid request."),
                      {k: translate(v) for k, v in exc.fields.items()})
    except assist.AssistBusy as exc:
        return (*_error(429, exc.code, str(BUSY.get(exc.message, REASONS["busy"]))),
                retry_headers(exc))
    except NotFound:
        return _error(404, "not_found", _("Not Found"))
    d = assist.get_draft(actor(), draft_id, ticket_id, settings())
    return jsonify({"draft": _payload(d), "urls": _urls(ticket_id, draft_id)}), 202


@bp.get("/tickets/<int:ticket_id>/ai/drafts/<int:draft_id>")
def ai_draft(ticket_id: int, draft_id: int):
    try:
        d = assist.get_draft(actor(), draft_id, ticket_id, settings())
    except DomainError:
        return _error(404, "not_found", _("Not Found"))
    return jsonify({"draft": _payload(d)})


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _read(who, ticket_id: int, draft_id: int, s) -> dict | None:
    try:
        return _payload(assist.get_draft(who, draft_id, ticket_id, s))
    except DomainError:
        return None
    finally:
        end_request()  # no database connection held while the stream sleeps


def _events(who, ticket_id: int, draft_id: int, s):
    """Poll the row; send it when it changed; end on done/failed or after STREAM_SECONDS."""
    yield f"retry: {RETRY_MS}\n\n"
    start = last_beat = time.monotonic()
    last = None
    while time.monotonic() - start < STREAM_SECONDS:
        payload = _read(who, ticket_id, draft_id, s)
        if payload is None:
            yield _event("gone", {})
            return
        if payload != last:
            last = payload
            yield _event("end" if payload["finished"] else "draft", payload)
            if payload["finished"]:
                return
        if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
            last_beat = time.monotonic()
            yield ": keep-alive\n\n"
        time.sleep(POLL_SECONDS)


@bp.get("/tickets/<int:ticket_id>/ai/drafts/<int:draft_id>/events")
def ai_draft_events(ticket_id: int, draft_id: int):
    who, s = actor(), settings()
    try:
        assist.get_draft(who, draft_id, ticket_id, s)  # 404 before the stream starts
    except DomainError:
        return _error(404, "not_found", _("Not Found"))
    if not _streams.acquire(blocking=False):
        return _error(503, "busy", _("The AI assistant is busy. Try again in a minute."))
    body = stream_with_context(_events(who, ticket_id, draft_id, s))
    response = Response(body, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    # The server closes the response however the stream ends (done, timeout, client
    # gone, never started): the slot is given back then.
    response.call_on_close(_streams.release)
    return response
