"""Admin: process definitions (docs/decisions/0018, 0020) — the list of processes with
their versions and status, the designer (new and edit), the version history with a
readable diff of any two versions, import and export of the JSON document, publish and
retire. Nested under the admin blueprint (admin.processes.*, administrators only); the
designer's JSON calls live in admin_processes_designer.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.services import process_defs
from webapp.messages import translate
from webapp.views import admin_processes_designer as designer
from webapp.views.process_diff_view import diff_rows
from webapp.views.process_labels import STATUS_LABELS
from webapp.views.process_problem_text import problem_dicts

bp = Blueprint("processes", __name__, url_prefix="/processes")
bp.register_blueprint(designer.bp)

MAX_IMPORT_BYTES = process_defs.MAX_BYTES


@bp.get("/")
def index():
    return render_template("admin/processes.html", status_labels=STATUS_LABELS,
                           definitions=process_defs.list_definitions(g.actor))


@bp.get("/new")
def new():
    return designer.page(None)


@bp.get("/<key>/edit")
def edit(key: str):
    version = _version_arg("version")
    return designer.page(process_defs.get_definition(g.actor, key, version))


def _version_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    if raw == "":
        return None
    if not raw.isdigit():
        raise NotFound("process version not found")
    return int(raw)


# -- history and diff ------------------------------------------------------------------

@bp.get("/<key>/history")
def history(key: str):
    return _history(key)


def _history(key: str, problems=None, status: int = 200):
    versions = process_defs.list_versions(g.actor, key)
    numbers = [v.version for v in versions]
    new_v = _version_arg("b") or numbers[0]
    old_v = _version_arg("a") or (numbers[1] if len(numbers) > 1 else numbers[0])
    if old_v not in numbers or new_v not in numbers:
        raise NotFound("process version not found")
    lines = process_defs.diff_versions(g.actor, key, old_v, new_v)
    return render_template("admin/process_history.html", key=key, versions=versions,
                           latest=versions[0], old_v=old_v, new_v=new_v, rows=diff_rows(lines),
                           status_labels=STATUS_LABELS, problems=problem_dicts(problems)), status


# -- publish and retire ----------------------------------------------------------------

@bp.post("/<key>/<int:version>/publish")
def publish(key: str, version: int):
    try:
        process_defs.publish(g.actor, key, version)
    except process_defs.DefinitionProblems as exc:
        flash(_("Version %(version)s was not published: it has %(n)s problem(s).", version=version,
                n=len(exc.problems)), "error")
        return _history(key, exc.problems, 400)
    except Conflict as exc:
        flash(translate(exc.message), "error")
        return redirect(url_for(".history", key=key))
    flash(_("Version %(version)s of %(key)s is published.", version=version, key=key), "success")
    return redirect(url_for(".history", key=key))


@bp.post("/<key>/<int:version>/retire")
def retire(key: str, version: int):
    try:
        process_defs.retire(g.actor, key, version)
    except Conflict as exc:
        flash(translate(exc.message), "error")
        return redirect(url_for(".history", key=key))
    flash(_("Version %(version)s of %(key)s is retired; tickets already on it finish on it.",
            version=version, key=key), "success")
    return redirect(url_for(".history", key=key))


# -- export and import -----------------------------------------------------------------

@bp.get("/<key>/<int:version>/export")
def export(key: str, version: int):
    document = process_defs.export_definition(g.actor, key, version)
    body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{key}-v{version}.json"'})


@bp.get("/import")
def import_form():
    return render_template("admin/process_import.html", problems=[], error=None, text="")


@bp.post("/import")
def import_post():
    text, error = _uploaded_text()
    document = None
    if error is None:
        document, error = _parse(text)
    if error is not None:
        return _import_page(text, error=error)
    try:
        saved = process_defs.import_definition(g.actor, document)
    except process_defs.DefinitionProblems as exc:
        return _import_page(text, error=_("The file is not a valid process definition: "
                                          "%(n)s problem(s).", n=len(exc.problems)),
                            problems=exc.problems)
    except Conflict as exc:
        return _import_page(text, error=translate(exc.message), status=409)
    except ValidationError as exc:
        return _import_page(text, error="; ".join(f"{k}: {translate(v)}"
                                                  for k, v in exc.fields.items()))
    flash(_("Imported %(key)s as draft version %(version)s.", key=saved.key, version=saved.version),
          "success")
    return redirect(url_for(".edit", key=saved.key, version=saved.version))


def _import_page(text: str, error: str, problems=None, status: int = 400):
    shown = text if len(text) <= 200_000 else ""
    return render_template("admin/process_import.html", error=error, text=shown,
                           problems=problem_dicts(problems)), status


def _uploaded_text() -> tuple[str, str | None]:
    """The JSON text from the uploaded file, else from the text box."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        raw = upload.read(MAX_IMPORT_BYTES + 1)
        if len(raw) > MAX_IMPORT_BYTES:
            return "", _("The file is larger than %(n)s KB.", n=MAX_IMPORT_BYTES // 1024)
        try:
            return raw.decode("utf-8-sig"), None
        except UnicodeDecodeError:
            return "", _("The file is not UTF-8 text.")
    text = request.form.get("document", "")
    if not text.strip():
        return "", _("Choose a JSON file or paste a definition.")
    if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
        return "", _("The file is larger than %(n)s KB.", n=MAX_IMPORT_BYTES // 1024)
    return text, None


def _parse(text: str) -> tuple[dict | None, str | None]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, _("Not valid JSON: %(problem)s at line %(line)s, column %(column)s.",
                       problem=exc.msg, line=exc.lineno, column=exc.colno)
    except RecursionError:
        return None, _("Not valid JSON: nested too deeply.")
    if not isinstance(document, dict):
        return None, _("The file must hold one JSON object (the process definition).")
    return document, None
