"""The system administrator's backup page (/admin/backups, permission backup.run): the
encrypted backups in backup_dir, a button that has the worker make one and a button per
file that has it checked (appliance.services.backup_runs decides and audits)."""
from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from appliance.services import backup_runs
from webapp import messages
from webapp.client import client_address
from webapp.messages import N_

bp = Blueprint("backups", __name__, url_prefix="/backups")
messages.FIXED.update({m: _l(m) for m in (
    N_("only the system administrator makes backups"), N_("no such backup run"),
    N_("no such backup"))})


@bp.get("/")
def index():
    s = current_app.config["GONGDAN"]
    return render_template("admin/backups.html", files=backup_runs.list_backups(g.actor, s),
                           runs=backup_runs.recent(g.actor), folder=s.backup_dir,
                           keys_dir=s.keys_dir)


@bp.post("/create")
def create():
    run = backup_runs.request_backup(g.actor, ip=client_address())
    return redirect(url_for("admin.backups.run", run_id=run.id), 303)


@bp.post("/verify")
def verify():
    run = backup_runs.request_check(g.actor, current_app.config["GONGDAN"],
                                    request.form.get("name", ""), ip=client_address())
    return redirect(url_for("admin.backups.run", run_id=run.id), 303)


@bp.get("/runs/<int:run_id>")
def run(run_id: int):
    r = backup_runs.get(g.actor, run_id)
    return render_template("admin/backup_run.html", run=r), 200
