"""Audit chain verification as a worker job (services.audit_verification, decision 0043),
on SQLite and PostgreSQL: queued by the audit administrator or the nightly task, run
once by the worker, its result stored and itself audited."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance import jobs
from appliance.errors import PermissionDenied
from appliance.models import AuditRecord, AuditVerification, Job, utcnow
from appliance.rules.access import SYSTEM, Actor
from appliance.services import audit, audit_verification, users
from tests.domain.test_audit import attacker
from tests.factories import make_org


@pytest.fixture
def auditor(settings):
    u, _ = users.create_user(SYSTEM, "auditor", "审计员", "audit_admin")
    return Actor(user_id=u.id, role="audit_admin")


def test_a_requested_run_is_queued_then_the_worker_stores_the_result(settings, auditor):
    for i in range(5):
        audit.record("test.event", actor_id=None, object_type="t", object_id=i)
    run = audit_verification.request(auditor)
    assert run.status == "queued" and run.finished_at is None
    assert Job.select().where((Job.name == "audit_verify") & (Job.object_id == run.id)).exists()
    assert jobs.run_pending_inline() == 1
    run = AuditVerification.get_by_id(run.id)
    assert run.status == "intact" and run.records >= 5 and run.problems == []
    done = AuditRecord.get(AuditRecord.action == "audit.verified")
    assert (done.result, done.actor_id) == ("success", auditor.user_id)
    audit_verification.run(run.id)              # delivered again: nothing changes
    assert AuditRecord.select().where(AuditRecord.action == "audit.verified").count() == 1


def test_the_nightly_run_finds_an_edited_record(settings, auditor):
    for i in range(4):
        audit.record("test.event", actor_id=None, object_type="t", object_id=i)
    with attacker():
        AuditRecord.update(object_id="99").where(AuditRecord.seq == 2).execute()
    run = audit_verification.request_nightly()
    jobs.run_pending_inline()
    run = AuditVerification.get_by_id(run.id)
    assert run.status == "tampered" and run.requested_by is None
    assert [(p["kind"], p["seq"]) for p in run.problems] == [("edited", 2)]
    assert audit_verification.latest_finished(auditor).id == run.id
    assert AuditRecord.get(AuditRecord.action == "audit.verified").result == "failure"


def test_a_run_in_progress_is_shared_unless_its_worker_died(settings, auditor):
    first = audit_verification.request(auditor)
    assert audit_verification.request(auditor).id == first.id
    assert audit_verification.request_nightly().id == first.id
    AuditVerification.update(status="running", requested_at=utcnow() - dt.timedelta(hours=3)
                             ).where(AuditVerification.id == first.id).execute()
    assert audit_verification.request(auditor).id != first.id


def test_only_the_audit_administrator_asks_or_reads(settings):
    org = make_org()
    for who in (org.admin, org.supervisor, org.agent):
        with pytest.raises(PermissionDenied):
            audit_verification.request(who)
        with pytest.raises(PermissionDenied):
            audit_verification.recent(who)
    assert AuditVerification.select().count() == 0


def test_the_worker_runs_it_every_night(settings):
    from appliance import tasks
    huey = tasks.get_huey(settings)
    due = {type(t).__name__ for t in huey.read_periodic(dt.datetime(2026, 3, 2, 4, 11))}
    assert "gongdan.audit_verify" in due
