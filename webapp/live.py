"""Live updates over HTTP (docs/decisions/0019-live-updates.md):

- GET /live/stream?topics=ticket:12,queue:mine[&since=N]: server-sent events; resumes after
  Last-Event-ID (or `since`, the cursor the page was rendered at). HTTP 503 with
  Retry-After when this worker holds live_streams_per_worker streams: the page polls.
- GET /live/poll?topics=…&since=N: the same events as JSON, for that fallback.
- POST /live/presence (ticket_id, state: viewing | replying | left) and
  GET /live/presence?ticket_id=N: who else has the ticket open.

Answers are JSON {"error": {...}} on failure, never a login page. The user is loaded here
without touching the session (services.live.session_user): listening is not activity.
"""
from __future__ import annotations

import json
import random

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from appliance.db import database
from appliance.errors import DomainError, ValidationError
from appliance.live import hub as hubs
from appliance.live.stream import Message, Stream, replay, resolve
from appliance.rules import live as rules
from appliance.services import live, live_presence, users
from webapp.auth import cookie_name
from webapp.errors import error_body

bp = Blueprint("live", __name__, url_prefix="/live")
RETRY_MS = 3000          # EventSource's wait before it reconnects
BUSY_RETRY_SECONDS = 30  # told to pages refused by a full worker (they poll meanwhile)
POLL_MS = 5000           # how often a page that polls asks


def settings():
    return current_app.config["GONGDAN"]


def _fail(status: int, code: str, message: str, details: dict | None = None, headers=None):
    response = jsonify(error_body(code, message, details))
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


@bp.errorhandler(DomainError)
def _domain(exc: DomainError):
    return _fail(exc.http_status, exc.code, exc.message, exc.details)


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException):
    code = "csrf_failed" if "CSRF" in (exc.description or "") else \
        (exc.name or "error").lower().replace(" ", "_")
    return _fail(exc.code or 500, code, exc.description or exc.name)


@bp.before_request
def _load_user():
    user = live.session_user(request.cookies.get(cookie_name(), ""), settings())
    if user is None:
        return _fail(401, "unauthorized", "log in first")
    if user.must_change_password:
        return _fail(403, "forbidden", "change your password first")
    g.user, g.actor = user, users.actor_of(user)


def _topics() -> tuple[str, ...]:
    try:
        return rules.parse_topics(request.args.get("topics", ""))
    except ValueError as exc:
        raise ValidationError({"topics": str(exc)}) from None


def _since() -> int | None:
    """Last-Event-ID (a reconnecting EventSource) wins over ?since= (the page's cursor)."""
    raw = request.headers.get("Last-Event-ID") or request.args.get("since")
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError({"since": "must be an event id"})
    return int(raw)


def _sse(m: Message) -> str:
    if m.kind == "heartbeat":
        return ": keep-alive\n\n"
    data = json.dumps(m.data or {}, separators=(",", ":"))
    if m.kind == "event":
        return f"id: {m.id}\ndata: {data}\n\n"
    return f"event: {m.kind}\ndata: {data}\n\n"


@bp.get("/stream")
def stream():
    topics, since, who = _topics(), _since(), g.actor
    live.authorize(who, topics)
    hub = hubs.hub_for(settings())
    token = request.cookies.get(cookie_name(), "")
    s = settings()
    try:
        opened = Stream(hub, who, topics, since,
                        check=lambda: live.session_user(token, s) is not None)
    except hubs.Full:
        wait = BUSY_RETRY_SECONDS + random.randint(0, BUSY_RETRY_SECONDS)  # nosec B311  # retry jitter, not a secret
        return _fail(503, "busy", "too many live streams on this server; poll instead",
                     {"retry_ms": POLL_MS}, {"Retry-After": str(wait)})
    try:
        opened.prepare()
    except BaseException:
        opened.close()
        raise
    database.close()  # hold no connection while the stream waits (SQLite keeps them open)

    def body():
        yield f"retry: {RETRY_MS}\n\n"
        for m in opened.messages():
            yield _sse(m)
    response = Response(body(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no",
                                 "X-Gongdan-Worker": hub.node})
    response.call_on_close(opened.close)  # however it ends: the client left, or it never began
    return response


@bp.get("/poll")
def poll():
    """The fallback: what a stream would have sent since `since` (the cursor to pass next)."""
    topics, since, who = _topics(), _since(), g.actor
    live.authorize(who, topics)
    if since is None:
        return _poll_reply([], live.last_id(), False)
    items, reset = replay(who, topics, since)
    events, cursor = [], since
    for e, topic, delivery in items:
        cursor = max(cursor, e.id)
        payload = resolve(who, delivery)
        events.append(payload if payload is not None else {"topic": topic, "kind": "gone"})
    return _poll_reply(events, cursor if not reset else live.last_id(), reset)


def _poll_reply(events: list, cursor: int, reset: bool):
    response = jsonify({"events": events, "cursor": cursor, "reset": reset, "poll_ms": POLL_MS})
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Gongdan-Worker"] = hubs.hub_for(settings()).node
    return response


def _ticket_id(values) -> int:
    raw = str(values.get("ticket_id", ""))
    if not raw.isdigit() or len(raw) > 10:
        raise ValidationError({"ticket_id": "must be a ticket id"})
    return int(raw)


def _viewers(rows) -> dict:
    return {"viewers": [{"user_id": v.user_id, "name": v.name, "state": v.state,
                         "expires_in": v.expires_in, "me": v.me} for v in rows]}


@bp.post("/presence")
def presence_beat():
    values = request.get_json(silent=True) if request.is_json else request.form
    if not hasattr(values, "get"):
        values = {}
    rows = live_presence.heartbeat(g.actor, _ticket_id(values), str(values.get("state", "")))
    return _no_store(jsonify(_viewers(rows)))


@bp.get("/presence")
def presence_list():
    return _no_store(jsonify(_viewers(live_presence.viewers(g.actor, _ticket_id(request.args)))))


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# Pages that follow live events (templates/agent/_live.html): their cursor is read before
# the view reads what it shows, so no change made in between is missed (one may be seen twice).
LIVE_PAGES = ("agent.ticket", "agent.queue", "agent.board")


@bp.before_app_request
def _page_cursor():
    if request.method == "GET" and request.endpoint in LIVE_PAGES:
        g.live_cursor = live.last_id()


@bp.app_template_global("live_cursor")
def live_cursor() -> int:
    """The newest event id when the page was read: its stream starts after it."""
    return g.get("live_cursor") or live.last_id()
