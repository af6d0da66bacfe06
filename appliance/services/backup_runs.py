"""The system administrator's backups in the web UI (permission backup.run, decision 0044).

The page lists the encrypted backups in `backup_dir` (gongdan-<UTC time>.gdbk, the
names the nightly timer of the Ansible install writes) and asks the worker to make a
new one or to check one (services.backup: the same create and verify as the command
line). The web request only queues: a backup of a large site takes minutes. One run at
a time; a second request joins the run in progress. Restoring stays on the command line
— it needs the services stopped — and backups are not downloadable from the browser:
a copy of every customer's data is one click from leaving the building otherwise.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from appliance import jobs
from appliance.errors import NotFound, PermissionDenied
from appliance.jobs import unit_of_work
from appliance.models import BackupRun, utcnow
from appliance.rules.access import Actor
from appliance.services import audit
from appliance.settings import Settings

log = logging.getLogger(__name__)
JOB = "backup_run"
NAME = re.compile(r"^gongdan-\d{8}T\d{6}Z\.gdbk$")
STALE = dt.timedelta(hours=6)      # "running" longer than this: its worker died


@dataclass(frozen=True)
class BackupFile:
    name: str
    bytes: int
    modified: dt.datetime           # naive UTC
    last_check: BackupRun | None    # the newest finished verify run of this file


def _require(actor: Actor) -> None:
    if not actor.can("backup.run"):
        raise PermissionDenied("only the system administrator makes backups")


def folder(settings: Settings) -> Path:
    return Path(settings.backup_dir)


def list_backups(actor: Actor, settings: Settings) -> list[BackupFile]:
    """The backups in the folder, newest first (names of the expected form only)."""
    _require(actor)
    base = folder(settings)
    if not base.is_dir():
        return []
    paths = sorted((p for p in base.iterdir() if NAME.match(p.name) and p.is_file()),
                   key=lambda p: p.name, reverse=True)
    checks: dict[str, BackupRun] = {}
    for r in (BackupRun.select().where((BackupRun.kind == "verify")
                                       & BackupRun.status.in_(("done", "failed")))
              .order_by(BackupRun.id)):
        checks[r.file_name] = r
    out = []
    for p in paths:
        st = p.stat()
        modified = dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc).replace(tzinfo=None)
        out.append(BackupFile(p.name, st.st_size, modified, checks.get(p.name)))
    return out


def recent(actor: Actor, limit: int = 20) -> list[BackupRun]:
    _require(actor)
    return list(BackupRun.select().order_by(BackupRun.id.desc()).limit(limit))


def get(actor: Actor, run_id: int) -> BackupRun:
    _require(actor)
    row = BackupRun.get_or_none(BackupRun.id == run_id)
    if row is None:
        raise NotFound("no such backup run")
    return row


def request_backup(actor: Actor, *, ip: str = "") -> BackupRun:
    _require(actor)
    return _queue(actor, "create", "", ip)


def request_check(actor: Actor, settings: Settings, name: str, *, ip: str = "") -> BackupRun:
    """Check one backup of the folder; an unknown name is 404 (never a path)."""
    _require(actor)
    if not isinstance(name, str) or not NAME.match(name) \
            or not (folder(settings) / name).is_file():
        raise NotFound("no such backup")
    return _queue(actor, "verify", name, ip)


def _queue(actor: Actor, kind: str, name: str, ip: str) -> BackupRun:
    with unit_of_work():
        busy = (BackupRun.select().where(BackupRun.status.in_(("queued", "running"))
                                         & (BackupRun.requested_at > utcnow() - STALE))
                .order_by(BackupRun.id.desc()).first())
        if busy is not None:
            return busy
        row = BackupRun.create(kind=kind, file_name=name, requested_by=actor.user_id or None,
                               requested_at=utcnow())
        jobs.schedule(JOB, row.id)
        audit.record(f"backup.{kind}_requested", actor_id=actor.user_id or None, ip=ip,
                     object_type="backup", object_id=row.id,
                     detail={"file": name} if name else None)
    return row


@jobs.handler(JOB)
def run(run_id: int) -> None:
    """The worker's part; a second delivery of a finished run does nothing."""
    from appliance import runtime
    from appliance.services import backup
    row = BackupRun.get_or_none(BackupRun.id == run_id)
    if row is None or row.status not in ("queued", "running"):
        return
    BackupRun.update(status="running", started_at=utcnow()).where(
        BackupRun.id == run_id).execute()
    settings = runtime.settings()
    name = row.file_name or f"gongdan-{utcnow():%Y%m%dT%H%M%SZ}.gdbk"
    try:
        if row.kind == "create":
            folder(settings).mkdir(parents=True, exist_ok=True, mode=0o700)
            summary = backup.create(settings, folder(settings) / name)
            summary = backup.verify(settings, summary.path)   # what was written reads back
        else:
            summary = backup.verify(settings, folder(settings) / name)
    except Exception as exc:  # noqa: BLE001  # every failure is the run's result
        _finish(row, name, "failed", error=_reason(exc))
        return
    _finish(row, name, "done", bytes=summary.bytes, files=summary.files,
            seconds=round(summary.seconds, 1))


def _reason(exc: Exception) -> str:
    """What the page shows: the service's own message, else the kind of error (no paths
    of the host beyond the backup folder's file name)."""
    from appliance.services.backup import BackupProblem
    from security.backup_stream import BackupError
    if isinstance(exc, (BackupProblem, BackupError)):
        return str(exc)[:300]
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or ''}"[:300]
    log.warning("backup run failed: %s", type(exc).__name__)
    return type(exc).__name__


def _finish(row: BackupRun, name: str, status: str, **values) -> None:
    action = {"create": "backup.created", "verify": "backup.verified"}[row.kind]
    with unit_of_work():
        BackupRun.update(status=status, finished_at=utcnow(), file_name=name, **values).where(
            BackupRun.id == row.id).execute()
        audit.record(action, actor_id=row.requested_by, object_type="backup",
                     object_id=row.id, result="success" if status == "done" else "failure",
                     detail={"file": name, **{k: v for k, v in values.items()
                                              if k in ("bytes", "files", "error")}})
