"""Health and version endpoints for load balancers and monitoring."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from appliance import __version__, jobs, registry
from appliance.db import database
from appliance.tasks import queue_health
from webapp import ai_status

bp = Blueprint("health", __name__)


def _db_ok() -> bool:
    try:
        database.execute_sql("SELECT 1").fetchone()
        return True
    except Exception:
        return False


@bp.get("/healthz")
def healthz():
    settings = current_app.config["GONGDAN"]
    try:
        index_ok = registry.search_index(settings).health()
    except Exception:
        index_ok = False
    checks = {"database": _db_ok(), "queue": queue_health(settings), "index": index_ok}
    ok = all(checks.values())
    body = {"status": "ok" if ok else "fail", "checks": checks}
    if checks["database"]:
        body["failed_jobs"] = jobs.failed_jobs()  # work that needs an administrator's look
    # Reported, never a failure: without the model tickets still flow to triage by rules.
    body["ai"] = ai_status.current(settings, fresh=True).as_health()
    return jsonify(body), 200 if ok else 503


@bp.get("/version")
def version():
    return jsonify({"name": "gongdan", "version": __version__})
