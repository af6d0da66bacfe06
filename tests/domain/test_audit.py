"""The audit log on SQLite and PostgreSQL: chained records, each kind of tampering found,
triggers, concurrency, fail-closed, retention, search and export, and the wired events."""
import datetime as dt
import json
import threading
from contextlib import contextmanager

import peewee
import pytest

from appliance import audit_keys, request_context
from appliance.db import database, is_postgres
from appliance.errors import PermissionDenied
from appliance.models import AuditCheckpoint, AuditRecord, User
from appliance.rules.access import SYSTEM, Actor
from appliance.services import audit, audit_export, customers, users
from tests.factories import make_org


@pytest.fixture
def auditor(settings):
    u, _ = users.create_user(SYSTEM, "auditor", "审计员", "audit_admin")
    return Actor(user_id=u.id, role="audit_admin")


def _write(n: int, action: str = "test.event") -> list[int]:
    return [audit.record(action, actor_id=None, object_type="t", object_id=i) for i in range(n)]


def _kinds(report) -> list[tuple[str, int]]:
    return [(p.kind, p.seq) for p in report.problems]


@contextmanager
def attacker():
    """Someone with write access to the database file or server, bypassing the triggers."""
    if is_postgres():
        with database.atomic():
            database.execute_sql("SET LOCAL session_replication_role = replica")
            yield
    else:
        for t in ("audit_record_no_update", "audit_record_no_delete",
                  "audit_checkpoint_no_update", "audit_checkpoint_no_delete"):
            database.execute_sql(f"DROP TRIGGER IF EXISTS {t}")
        yield


def test_records_chain_in_sequence_and_verify(settings):
    assert _write(5) == [1, 2, 3, 4, 5]
    report = audit.verify()
    assert report.ok and report.records == 5 and report.last_seq == 5


def test_the_client_address_comes_from_the_request_context(settings):
    token = request_context.set_client_ip("203.0.113.9")
    try:
        seq = audit.record("test.event", actor_id=None)
    finally:
        request_context.reset(token)
    assert AuditRecord.get(AuditRecord.seq == seq).ip == "203.0.113.9"


def test_an_edited_record_is_detected(settings):
    _write(10)
    with attacker():
        AuditRecord.update(result="failure").where(AuditRecord.seq == 4).execute()
    assert _kinds(audit.verify()) == [("edited", 4)]


def test_a_deleted_middle_record_is_detected(settings):
    _write(10)
    with attacker():
        AuditRecord.delete().where(AuditRecord.seq == 6).execute()
    assert _kinds(audit.verify()) == [("missing", 6)]


def test_a_truncated_tail_is_detected_by_the_checkpoint_and_the_head(settings):
    _write(10)
    cp = audit.checkpoint()
    with attacker():
        AuditRecord.delete().where(AuditRecord.seq > 7).execute()
    assert _kinds(audit.verify()) == [("truncated", 8)]
    # An exported checkpoint catches it even when the stored ones and the head are gone too.
    with attacker():
        AuditCheckpoint.delete().execute()
        database.execute_sql("DELETE FROM audit_head")
    assert audit.verify().ok
    assert _kinds(audit.verify([cp])) == [("truncated", 8)]


def test_reordered_records_are_detected(settings):
    _write(10)
    with attacker():
        AuditRecord.update(seq=-1).where(AuditRecord.seq == 3).execute()
        AuditRecord.update(seq=3).where(AuditRecord.seq == 4).execute()
        AuditRecord.update(seq=4).where(AuditRecord.seq == -1).execute()
    assert _kinds(audit.verify()) == [("moved", 3), ("moved", 4)]


def test_a_forged_checkpoint_is_detected(settings):
    _write(5)
    cp = audit.checkpoint()
    with attacker():
        AuditCheckpoint.update(head_mac="0" * 64).where(AuditCheckpoint.seq == cp["seq"]).execute()
    problems = audit.verify().problems
    assert [p.kind for p in problems] == ["bad_signature"]
    assert "bad signature" in problems[0].message


def test_triggers_refuse_update_and_delete_of_records_and_checkpoints(settings):
    _write(3)
    audit.checkpoint()
    for query in (AuditRecord.update(result="failure"), AuditRecord.delete(),
                  AuditCheckpoint.update(kind="anchor"), AuditCheckpoint.delete()):
        with pytest.raises(peewee.DatabaseError):
            with database.atomic():
                query.execute()
    assert AuditRecord.select().count() == 3 and audit.verify().ok


def test_concurrent_writers_keep_one_unbroken_chain(settings):
    errors = []

    def writer(k):
        try:
            for i in range(15):
                audit.record("test.concurrent", actor_id=None, object_id=f"{k}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            database.close()
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seqs = [r.seq for r in AuditRecord.select(AuditRecord.seq).order_by(AuditRecord.seq)]
    assert seqs == list(range(1, 91))
    assert audit.verify().ok


def test_verifying_while_writers_append_reports_nothing(settings):
    already = 30
    _write(already)
    done = threading.Event()

    def writer():
        try:
            for i in range(60):
                audit.record("test.during_verify", actor_id=None, object_id=i)
                if i % 20 == 0:
                    audit.checkpoint()
        finally:
            done.set()
            database.close()
    t = threading.Thread(target=writer)
    t.start()
    reports = []
    while not done.is_set():
        reports.append(audit.verify())
    t.join()
    reports.append(audit.verify())
    assert all(r.ok for r in reports), [r.problems for r in reports if not r.ok]
    assert reports[-1].records == already + 60


def test_fail_closed_when_the_audit_table_cannot_be_written(settings):
    org = make_org()
    before = User.select().count()
    database.execute_sql("ALTER TABLE audit_record RENAME TO audit_record_away")
    try:
        with pytest.raises(audit.AuditUnavailable) as exc:
            users.create_user(org.admin, "newbie", "New", "agent")
        assert exc.value.http_status == 503
        with pytest.raises(audit.AuditUnavailable):
            users.update_user(org.admin, org.agent.user_id, {"role": "supervisor"})
    finally:
        database.execute_sql("ALTER TABLE audit_record_away RENAME TO audit_record")
    assert User.select().count() == before
    assert User.get_by_id(org.agent.user_id).role == "agent"


def test_fail_closed_when_the_keys_are_gone(settings, tmp_path):
    org = make_org()
    (tmp_path / "keys" / audit_keys.HMAC_FILE).unlink()
    audit_keys.forget()
    try:
        with pytest.raises(audit.AuditUnavailable):
            users.create_user(org.admin, "newbie", "New", "agent")
    finally:
        audit_keys.forget()
    assert not User.select().where(User.username == "newbie").exists()


def test_retention_prune_keeps_the_rest_verifiable(settings, monkeypatch):
    old = dt.datetime.utcnow() - dt.timedelta(days=400)
    monkeypatch.setattr(audit, "utcnow", lambda: old)
    _write(6)
    monkeypatch.undo()
    _write(4)
    audit.checkpoint()
    assert audit.prune(365) == 6
    assert AuditRecord.select().count() == 5  # the 4 kept and the prune's own record
    anchor = AuditCheckpoint.get(AuditCheckpoint.kind == "anchor")
    assert anchor.seq == 6
    report = audit.verify()
    assert report.ok, report.problems
    assert report.first_seq == 7
    assert AuditRecord.get(AuditRecord.action == "audit.pruned").detail == json.dumps(
        {"records": 6, "retention_days": 365, "through_seq": 6}, separators=(",", ":"))
    # Deleting more from the head than retention did is still found.
    with attacker():
        AuditRecord.delete().where(AuditRecord.seq == 7).execute()
    assert _kinds(audit.verify()) == [("missing", 1)]


def test_search_is_for_audit_administrators_only(settings, auditor):
    org = make_org()
    for who in (org.admin, org.agent, org.supervisor):
        with pytest.raises(PermissionDenied):
            audit.search(who, audit.Filters())
    rows, more = audit.search(auditor, audit.Filters(action="user.created"), limit=2)
    assert len(rows) == 2 and more == rows[-1]["seq"]
    assert rows[0]["seq"] > rows[1]["seq"]
    rows2, _ = audit.search(auditor, audit.Filters(action="user.created"), before_seq=more)
    assert {r["seq"] for r in rows2}.isdisjoint({r["seq"] for r in rows})
    by_actor, _ = audit.search(auditor, audit.Filters(actor="system", action="user."))
    assert by_actor and all(r["actor_name"] == "system" for r in by_actor)


def test_export_holds_records_checkpoints_and_the_public_key_and_is_audited(settings, auditor):
    _write(3)
    audit.checkpoint()
    lines = list(audit.export(auditor, audit.Filters(), "jsonl"))
    header, records, cps = audit_export.read_export(lines)
    assert "BEGIN PUBLIC KEY" in header["public_key"]
    assert [r["action"] for r in records][-1] == "audit.exported"
    assert len(cps) == 1 and cps[0]["seq"] == 4
    from security import audit_chain
    keys = audit_keys.load(settings)
    assert audit_chain.verify(keys.hmac, keys.public, records, cps).ok
    csv_text = "".join(audit.export(auditor, audit.Filters(action="test.event"), "csv"))
    assert csv_text.splitlines()[0].startswith("seq,at,actor_id")
    assert len(csv_text.splitlines()) == 4
    assert AuditRecord.select().where(AuditRecord.action == "audit.exported").count() == 2


def test_security_events_of_users_tokens_and_customers_are_recorded(settings, auditor):
    org = make_org()
    users.update_user(org.admin, org.agent.user_id, {"role": "supervisor", "capacity": 5})
    users.disable_user(org.admin, org.agent2.user_id)
    users.reset_password(org.admin, org.supervisor.user_id)
    token_id, _secret = users.create_api_token(org.agent, "ci")
    users.revoke_api_token(org.agent, token_id)
    customers.get_customer(org.agent, org.customer.customer_id)
    customers.find_customer_by_contact(org.agent, "zhangsan@example.com")
    actions = [r.action for r in AuditRecord.select().order_by(AuditRecord.seq)]
    for expected in ("user.created", "user.updated", "user.role_changed", "user.disabled",
                     "auth.password_reset", "token.created", "token.revoked",
                     "customer.pii_viewed", "customer.found_by_contact"):
        assert expected in actions, expected
    changed = AuditRecord.get(AuditRecord.action == "user.role_changed")
    assert json.loads(changed.detail) == {"from": "agent", "to": "supervisor"}
    assert changed.actor_name == "admin"
    assert audit.verify().ok


def test_the_periodic_tasks_sign_hourly_when_the_head_moved_and_prune_nightly(settings,
                                                                              monkeypatch):
    from appliance import periodic
    periodic.audit_hourly()
    assert AuditCheckpoint.select().count() == 0       # nothing to sign yet
    _write(3)
    periodic.audit_hourly()
    periodic.audit_hourly()
    assert [c.seq for c in AuditCheckpoint.select()] == [3]
    monkeypatch.setattr(audit, "utcnow", lambda: dt.datetime.utcnow() + dt.timedelta(days=400))
    periodic.audit_nightly()                            # a year later: all three are past 365
    monkeypatch.undo()
    assert [r.action for r in AuditRecord.select()] == ["audit.pruned"]
    assert audit.verify().ok
