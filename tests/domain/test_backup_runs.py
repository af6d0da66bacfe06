"""Backups from the system administrator's page (services.backup_runs, decision 0044), on
SQLite and PostgreSQL (pg_dump): queued by the request, made and read back by the worker's
job, checked again on demand; a damaged file fails its check; names are never paths;
only `backup.run` asks; every step is audited."""
from __future__ import annotations

from pathlib import Path

import pytest

from appliance import jobs
from appliance.errors import NotFound, PermissionDenied
from appliance.models import AuditRecord, BackupRun
from appliance.rules.access import SYSTEM
from appliance.services import backup_runs, users
from tests.factories import actor, make_org, ticket


@pytest.fixture
def org(settings):
    o = make_org()
    users.create_user(SYSTEM, "sec", "安全管理员", "security_admin")
    users.create_user(SYSTEM, "auditor", "审计管理员", "audit_admin")
    ticket(settings, o.agent, "打印机卡纸")
    return o


def _actions() -> list[tuple[str, str]]:
    return [(r.action, r.result) for r in AuditRecord.select().where(
        AuditRecord.action.startswith("backup.")).order_by(AuditRecord.seq)]


def test_a_backup_is_made_by_the_worker_and_read_back(settings, org):
    run = backup_runs.request_backup(org.admin)
    assert run.status == "queued" and backup_runs.list_backups(org.admin, settings) == []
    assert backup_runs.request_backup(org.admin).id == run.id      # joins, not doubles
    jobs.run_pending_inline()
    assert BackupRun.select().count() == 1
    run = BackupRun.get_by_id(run.id)
    assert run.status == "done" and run.bytes > 0 and run.files >= 1, run.error
    [listed] = backup_runs.list_backups(org.admin, settings)
    assert listed.name == run.file_name and backup_runs.NAME.match(listed.name)
    assert (Path(settings.backup_dir) / listed.name).stat().st_size == run.bytes
    assert _actions() == [("backup.create_requested", "success"), ("backup.created", "success")]
    backup_runs.run(run.id)                  # the job delivered again: nothing more
    assert len(list(Path(settings.backup_dir).glob("gongdan-*.gdbk"))) == 1


def test_a_check_finds_a_damaged_backup(settings, org):
    made = backup_runs.request_backup(org.admin)
    jobs.run_pending_inline()
    name = BackupRun.get_by_id(made.id).file_name
    check = backup_runs.request_check(org.admin, settings, name)
    jobs.run_pending_inline()
    assert BackupRun.get_by_id(check.id).status == "done"
    assert backup_runs.list_backups(org.admin, settings)[0].last_check.id == check.id
    path = Path(settings.backup_dir) / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    again = backup_runs.request_check(org.admin, settings, name)
    jobs.run_pending_inline()
    again = BackupRun.get_by_id(again.id)
    assert again.status == "failed" and again.error
    assert backup_runs.list_backups(org.admin, settings)[0].last_check.status == "failed"
    assert ("backup.verified", "failure") in _actions()


@pytest.mark.parametrize("name", ["../gongdan.db", "/etc/passwd", "gongdan-20260101T000000Z.gdbk",
                                  "backup.gdbk", ""])
def test_a_name_that_is_not_a_backup_in_the_folder_is_404(settings, org, name):
    with pytest.raises(NotFound):
        backup_runs.request_check(org.admin, settings, name)
    assert BackupRun.select().count() == 0


def test_only_the_system_administrator_makes_or_sees_backups(settings, org):
    for who in (actor("sec"), actor("auditor"), org.supervisor, org.agent):
        with pytest.raises(PermissionDenied):
            backup_runs.request_backup(who)
        with pytest.raises(PermissionDenied):
            backup_runs.list_backups(who, settings)
    assert BackupRun.select().count() == 0
