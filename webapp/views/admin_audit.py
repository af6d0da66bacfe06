"""The audit administrator's pages (/audit): search with filters and paging, one record,
CSV/JSONL export (itself audited), the verifier's result, the signed checkpoints.

Only the audit administrator (permission audit.read) reaches them: the app-wide gate
(webapp.permission_matrix, rule "audit.*"), the role check below, and the service's own
check. Nothing here changes anything but the audit log's own export record.
"""
from __future__ import annotations

import datetime as dt

from flask import (Blueprint, Response, abort, g, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import gettext as _

from appliance.errors import ValidationError
from appliance.services import audit, audit_verification
from webapp.auth import login_required
from webapp.client import client_address

bp = Blueprint("audit", __name__, url_prefix="/audit")
FILTER_FIELDS = ("since", "until", "actor", "action", "object_type", "object_id", "result")


def _time(value: str, name: str, errors: dict) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        errors[name] = _("Use a date and time such as 2026-11-01 08:00 (UTC).")
        return None


def _filters(source) -> tuple[audit.Filters, dict, dict]:
    """(filters, the form's values, errors) from query or form fields."""
    form = {k: (source.get(k) or "").strip()[:100] for k in FILTER_FIELDS}
    errors: dict = {}
    if form["result"] and form["result"] not in audit.RESULTS:
        errors["result"] = _("Choose success, failure or denied.")
    f = audit.Filters(since=_time(form["since"], "since", errors),
                      until=_time(form["until"], "until", errors), actor=form["actor"],
                      action=form["action"], object_type=form["object_type"],
                      object_id=form["object_id"],
                      result=form["result"] if not errors.get("result") else "")
    return f, form, errors


@bp.get("/")
@login_required("audit_admin")
def index():
    filters, form, errors = _filters(request.args)
    rows, next_before = [], None
    if not errors:
        rows, next_before = audit.search(g.actor, filters, request.args.get("before", type=int))
    return render_template("audit/index.html", rows=rows, next_before=next_before, form=form,
                           errors=errors, results=audit.RESULTS,
                           last_check=audit_verification.latest_finished(g.actor)
                           ), 400 if errors else 200


@bp.get("/<int:seq>")
@login_required("audit_admin")
def detail(seq: int):
    row = audit.get(g.actor, seq)
    if row is None:
        abort(404)
    return render_template("audit/detail.html", row=row)


@bp.post("/export")
@login_required("audit_admin")
def export():
    filters, _form, errors = _filters(request.form)
    fmt = request.form.get("format", "csv")
    if errors:
        raise ValidationError(errors)
    lines = audit.export(g.actor, filters, fmt)  # recorded before the first line
    stamp = dt.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
    mime = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    return Response(stream_with_context(lines), mimetype=mime, headers={
        "Content-Disposition": f'attachment; filename="audit-{stamp}.{fmt}"',
        "Cache-Control": "no-store"})


@bp.post("/verify")
@login_required("audit_admin")
def verify():
    """Queues a run in the worker (a whole chain takes longer than a request may)."""
    run = audit_verification.request(g.actor, ip=client_address())
    return redirect(url_for("audit.verification", run_id=run.id), 303)


@bp.get("/verify")
@login_required("audit_admin")
def verifications():
    return render_template("audit/verifications.html",
                           runs=audit_verification.recent(g.actor))


@bp.get("/verify/<int:run_id>")
@login_required("audit_admin")
def verification(run_id: int):
    run = audit_verification.get(g.actor, run_id)
    if run is None:
        abort(404)
    status = 409 if run.status == "tampered" else 200
    return render_template("audit/verify.html", run=run), status


@bp.get("/checkpoints")
@login_required("audit_admin")
def checkpoints():
    audit.require_auditor(g.actor)
    return render_template("audit/checkpoints.html",
                           checkpoints=list(reversed(audit.checkpoints()))[:500])
