"""Admin: the process designer page and its JSON calls (docs/decisions/0020).

The page gets one JSON configuration (the document, the organisation's choices, the
fields conditions may use, URLs and every string, translated). The script then posts
to `validate` (the rules' validate with this site's fields, departments and webhook
hosts), `save` (a draft, with expected_version), `publish` and `dry-run`. Every answer
is JSON, errors too: {"error": {"code", "message", "details"}}, as the API answers.
"""
from __future__ import annotations

import functools

from flask import Blueprint, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from appliance.errors import Conflict, DomainError, NotFound, ValidationError
from appliance.rules.process_conditions import OPERATORS
from appliance.services import process_defs
from webapp.errors import error_body
from webapp.messages import translate
from webapp.views import process_choices
from webapp.views.process_labels import NODE_TYPES, TYPE_LABELS, designer_strings
from webapp.views.process_problem_text import problem_dicts

bp = Blueprint("designer", __name__, url_prefix="/designer")

MAX_DOCUMENT_BYTES = 512 * 1024


def blank_document() -> dict:
    """A new process: a start joined to an end, for the admin to build between."""
    return {"format": 1, "key": "", "name": {"zh": "", "en": ""}, "description": "",
            "nodes": [{"id": "start", "type": "start", "label": "", "x": 80, "y": 160},
                      {"id": "end", "type": "end", "label": "", "outcome": "resolved",
                       "x": 520, "y": 160}],
            "edges": [], "start_rules": []}


def page(definition=None):
    """The designer for a stored version, or for a new process (definition None)."""
    stored = definition is not None
    key = definition.key if stored else None
    config = {
        "document": definition.document if stored else blank_document(), "key": key,
        "version": definition.version if stored else None,
        "revision": definition.revision if stored else None,
        "status": definition.status if stored else None,
        "keyLocked": stored,
        "csrf": generate_csrf(),
        "urls": {name: url_for(f"admin.processes.designer.{endpoint}") for name, endpoint in
                 (("validate", "validate"), ("save", "save"), ("publish", "publish"),
                  ("dryRun", "dry_run"))},
        "strings": designer_strings(),
        "operators": list(OPERATORS),
        **process_choices.designer_choices(g.actor),
    }
    title = _("New process") if definition is None else _("Process %(key)s", key=key)
    return render_template("admin/process_designer.html", config=config, key=key, title=title,
                           node_types=[(t, TYPE_LABELS[t]) for t in NODE_TYPES])


def json_call(view):
    """JSON in, JSON out: the body must be a JSON object; domain errors become JSON."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if (request.content_length or 0) > MAX_DOCUMENT_BYTES:
            return _error("payload_too_large", _("The definition is too large."), 413)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error("bad_request", _("Send a JSON object."), 400)
        try:
            return view(body, *args, **kwargs)
        except ValidationError as exc:
            details = dict(exc.details)
            if "problems" in details:
                details["problems"] = problem_dicts(details["problems"])
            details["fields"] = {k: translate(v) for k, v in (exc.fields or {}).items()}
            return jsonify(error_body(exc.code, _message(exc), details)), exc.http_status
        except DomainError as exc:
            return jsonify(error_body(exc.code, translate(exc.message), _safe(exc.details))), \
                exc.http_status
    return wrapped


def _message(exc: ValidationError) -> str:
    if exc.details.get("problems"):
        return _("The definition has %(n)s problem(s).", n=len(exc.details["problems"]))
    return translate(exc.message)


def _safe(details: dict) -> dict:
    return {k: v for k, v in (details or {}).items()
            if isinstance(v, (str, int, float, list, dict))}


def _error(code: str, message: str, status: int):
    return jsonify(error_body(code, message)), status


def _document(body: dict) -> dict:
    doc = body.get("document")
    if not isinstance(doc, dict):
        raise ValidationError({"document": "must be an object"})
    return doc


@bp.post("/validate")
@json_call
def validate(body: dict):
    # The same check publishing makes (fields, departments and webhook hosts of this site).
    return jsonify({"problems": problem_dicts(process_defs.problems_of(_document(body)))})


@bp.post("/save")
@json_call
def save(body: dict):
    """Save the draft. `expected_version` is the draft's revision the page read (None when
    it opened a published or retired version, or a new process); `base_version` is the
    version it opened, so a draft someone started meanwhile is not overwritten unseen."""
    doc = _document(body)
    expected, base = body.get("expected_version"), body.get("base_version")
    for name, value in (("expected_version", expected), ("base_version", base)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationError({name: "must be an integer"})
    key = doc.get("key") if isinstance(doc.get("key"), str) else ""
    try:
        if expected is None:
            _no_newer_draft(key, base)
        saved = process_defs.save_draft(g.actor, key, doc, expected_version=expected)
    except Conflict:
        return _conflict(key)
    return jsonify(_saved(saved))


def _no_newer_draft(key: str, base: int | None) -> None:
    """Saving without a revision creates a draft: refuse if the key has one already (or,
    for a new process, if the key is taken) since the page could not have seen it."""
    try:
        latest = process_defs.get_definition(g.actor, key)
    except (NotFound, ValidationError):
        return
    if base is None or (latest.status == "draft" and latest.version != base):
        raise Conflict("process changed", key=key)


def _conflict(key: str):
    details = {"edit_url": url_for("admin.processes.edit", key=key)} if key else {}
    return jsonify(error_body("conflict", _("Someone else saved this process after you opened "
                                            "it, or the key is taken."), details)), 409


def _saved(d) -> dict:
    return {"key": d.key, "version": d.version, "status": d.status,
            "revision": getattr(d, "revision", None),
            "edit_url": url_for("admin.processes.edit", key=d.key, version=d.version),
            "history_url": url_for("admin.processes.history", key=d.key)}


@bp.post("/publish")
@json_call
def publish(body: dict):
    key, version = body.get("key"), body.get("version")
    errors = {}
    if not isinstance(key, str) or not key:
        errors["key"] = "required"
    if isinstance(version, bool) or not isinstance(version, int):
        errors["version"] = "must be an integer"
    if errors:
        raise ValidationError(errors)
    return jsonify(_saved(process_defs.publish(g.actor, key, version)))


@bp.post("/dry-run")
@json_call
def dry_run(body: dict):
    fields, outcomes = body.get("fields") or {}, body.get("outcomes") or {}
    errors = {name: "must be an object" for name, value in (("fields", fields),
                                                             ("outcomes", outcomes))
              if not isinstance(value, dict)}
    if errors:
        raise ValidationError(errors)
    document = _document(body)
    result = process_defs.dry_run(g.actor, document, fields, outcomes)
    return jsonify(process_choices.simulation_view(document, result))
