"""Verifying the audit chain in the worker, not in a web request (decision 0043).

The verifier reads every record (1,000,000 in about 22 s on the 2-core box): far past a
request's time limit. The audit administrator's button only queues a run — a row of
audit_verification and a job naming it — and the page shows its state until the worker
has stored the result. A run already queued or running is shared rather than doubled. A
nightly run needs nobody to click; its result heads the audit pages, so tampering is
seen the next morning. Each finished run is itself an audit record (audit.verified,
success or failure).
"""
from __future__ import annotations

import datetime as dt
import logging

from appliance import jobs
from appliance.jobs import unit_of_work
from appliance.models import AuditVerification, utcnow
from appliance.rules.access import Actor
from appliance.services import audit

log = logging.getLogger(__name__)
JOB = "audit_verify"
STALE = dt.timedelta(hours=2)       # a run "running" longer than this died with its worker


def request(actor: Actor, *, ip: str = "") -> AuditVerification:
    """Queue a run for the audit administrator (or join the one in progress)."""
    audit.require_auditor(actor)
    return _queue(actor.user_id or None, ip)


def request_nightly() -> AuditVerification:
    return _queue(None, "")


def _queue(user_id: int | None, ip: str) -> AuditVerification:
    with unit_of_work():
        busy = (AuditVerification.select()
                .where(AuditVerification.status.in_(("queued", "running"))
                       & (AuditVerification.requested_at > utcnow() - STALE))
                .order_by(AuditVerification.id.desc()).first())
        if busy is not None:
            return busy
        row = AuditVerification.create(requested_by=user_id, requested_at=utcnow())
        jobs.schedule(JOB, row.id)
        if user_id:
            audit.record("audit.verify_requested", actor_id=user_id, ip=ip,
                         object_type="audit_verification", object_id=row.id)
    return row


def get(actor: Actor, run_id: int) -> AuditVerification | None:
    audit.require_auditor(actor)
    return AuditVerification.get_or_none(AuditVerification.id == run_id)


def recent(actor: Actor, limit: int = 20) -> list[AuditVerification]:
    audit.require_auditor(actor)
    return list(AuditVerification.select().order_by(AuditVerification.id.desc()).limit(limit))


def latest_finished(actor: Actor) -> AuditVerification | None:
    audit.require_auditor(actor)
    return (AuditVerification.select()
            .where(AuditVerification.status.in_(("intact", "tampered", "error")))
            .order_by(AuditVerification.id.desc()).first())


@jobs.handler(JOB)
def run(run_id: int) -> None:
    """The worker's part; a second delivery of a finished run does nothing."""
    row = AuditVerification.get_or_none(AuditVerification.id == run_id)
    if row is None or row.status not in ("queued", "running"):
        return
    AuditVerification.update(status="running", started_at=utcnow()).where(
        AuditVerification.id == run_id).execute()
    try:
        report = audit.verify()
    except Exception as exc:  # keys unreadable, database gone: say so on the page
        log.warning("audit verification %s failed: %s", run_id, type(exc).__name__)
        AuditVerification.update(status="error", finished_at=utcnow(),
                                 error=type(exc).__name__[:200]).where(
            AuditVerification.id == run_id).execute()
        return
    problems = [{"kind": p.kind, "seq": p.seq, "message": p.message} for p in report.problems]
    with unit_of_work():
        AuditVerification.update(
            status="intact" if report.ok else "tampered", finished_at=utcnow(),
            records=report.records, checkpoints=report.checkpoints,
            first_seq=report.first_seq, last_seq=report.last_seq, problems=problems,
            more_problems=report.more_problems).where(AuditVerification.id == run_id).execute()
        audit.record("audit.verified", actor_id=row.requested_by, object_type="audit_verification",
                     object_id=run_id, result="success" if report.ok else "failure",
                     detail={"records": report.records,
                             "problems": len(problems) + report.more_problems})
