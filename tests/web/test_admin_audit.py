"""The audit administrator's pages: only audit_admin gets in; search, detail, export,
verify and checkpoints work; logins are recorded with the client address, and refused
(503, nothing changed) when the audit log cannot be written."""
import pytest

from appliance import jobs
from appliance.db import database
from appliance.models import AuditRecord, UserSession
from appliance.rules.access import SYSTEM
from appliance.services import audit, users
from tests.conftest import with_settings
from tests.web.conftest import Browser
from webapp import create_app


@pytest.fixture
def app(settings):
    # Password-only logins here: the second factor of admin roles is tested elsewhere.
    app = create_app(with_settings(settings, mfa_required_roles=()))
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def auditor(app, org):
    _, password = users.create_user(SYSTEM, "auditor", "审计员", "audit_admin")
    b = Browser(app)
    assert b.login("auditor", password).status_code == 302
    return b


def test_the_audit_admin_searches_pages_and_opens_records(auditor):
    r = auditor.get("/audit/?action=auth.login")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "auth.login" in html and "127.0.0.1" in html
    seq = AuditRecord.get(AuditRecord.action == "auth.login").seq
    detail = auditor.get(f"/audit/{seq}")
    assert detail.status_code == 200 and "auth.login" in detail.get_data(as_text=True)
    assert auditor.get("/audit/999999").status_code == 404
    assert auditor.get("/audit/?since=yesterday").status_code == 400


def test_paging_goes_to_older_records(auditor):
    for i in range(60):
        audit.record("test.event", actor_id=None, object_id=i)
    first = auditor.get("/audit/?action=test.event").get_data(as_text=True)
    assert 'id="audit-next"' in first and "test.event" in first
    oldest = AuditRecord.select().where(AuditRecord.action == "test.event").order_by(
        AuditRecord.seq).first().seq
    assert f'id="audit-{oldest}"' not in first
    nxt = auditor.get(f"/audit/?action=test.event&before={oldest + 10}").get_data(as_text=True)
    assert f'id="audit-{oldest}"' in nxt


@pytest.mark.parametrize("username", ["admin", "wangfang", "lead", "zhangsan"])
def test_everyone_else_is_refused(login, username):
    b = login(username)
    for path in ("/audit/", "/audit/checkpoints", "/audit/1"):
        assert b.get(path).status_code == 403, path
    assert b.post("/audit/verify").status_code == 403
    assert b.post("/audit/export", data={"format": "csv"}).status_code == 403


def test_anonymous_visitors_are_sent_to_login(browser):
    r = browser().get("/audit/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_export_downloads_csv_and_jsonl_and_is_audited(auditor):
    r = auditor.post("/audit/export", data={"format": "csv", "action": "auth.login"},
                     csrf_from="/audit/")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    lines = r.get_data(as_text=True).splitlines()
    assert lines[0].startswith("seq,at,actor_id") and "auth.login" in lines[1]
    r = auditor.post("/audit/export", data={"format": "jsonl"}, csrf_from="/audit/")
    assert '"type":"header"' in r.get_data(as_text=True).splitlines()[0]
    assert AuditRecord.select().where(AuditRecord.action == "audit.exported").count() == 2
    bad = auditor.post("/audit/export", data={"format": "xml"}, csrf_from="/audit/")
    assert bad.status_code == 400


def _verify(auditor) -> str:
    """Press the button: the request only queues a run (303 to its page, which refreshes
    itself while waiting); the worker's job does the verifying."""
    r = auditor.post("/audit/verify", csrf_from="/audit/")
    assert r.status_code == 303
    page = r.headers["Location"]
    waiting = auditor.get(page)
    assert 'id="verify-running"' in waiting.get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting.get_data(as_text=True)
    assert jobs.run_pending_inline() >= 1
    return page


def test_verify_button_queues_a_run_that_shows_intact_then_tampering(auditor):
    audit.checkpoint()
    page = _verify(auditor)
    r = auditor.get(page)
    assert r.status_code == 200 and 'id="verify-ok"' in r.get_data(as_text=True)
    assert 'http-equiv="refresh"' not in r.get_data(as_text=True)
    assert 'id="last-verification"' in auditor.get("/audit/").get_data(as_text=True)
    database.execute_sql("DROP TRIGGER audit_record_no_delete")
    AuditRecord.delete().where(AuditRecord.seq == 2).execute()
    r = auditor.get(_verify(auditor))
    assert r.status_code == 409
    assert "record seq 2 is missing" in r.get_data(as_text=True)
    assert "TAMPERING DETECTED" in auditor.get("/audit/").get_data(as_text=True)
    listing = auditor.get("/audit/verify").get_data(as_text=True)
    assert listing.count('id="verification-') == 2
    done = AuditRecord.select().where(AuditRecord.action == "audit.verified")
    assert sorted(r.result for r in done) == ["failure", "success"]
    page = auditor.get("/audit/checkpoints").get_data(as_text=True)
    assert "periodic" in page or "manual" in page


def test_a_second_press_joins_the_run_in_progress(auditor):
    first = auditor.post("/audit/verify", csrf_from="/audit/").headers["Location"]
    second = auditor.post("/audit/verify", csrf_from="/audit/").headers["Location"]
    assert first == second
    assert jobs.run_pending_inline() == 1
    assert auditor.get("/audit/verify/999999").status_code == 404


def test_login_is_refused_with_503_when_the_audit_log_cannot_be_written(app, org):
    sessions = UserSession.select().count()
    database.execute_sql("ALTER TABLE audit_record RENAME TO audit_record_away")
    try:
        b = Browser(app)
        r = b.login("wangfang", org.passwords["wangfang"])
    finally:
        database.execute_sql("ALTER TABLE audit_record_away RENAME TO audit_record")
    assert r.status_code == 503
    assert "audit log cannot be written" in r.get_data(as_text=True)
    assert UserSession.select().count() == sessions


def test_the_app_refuses_to_start_without_usable_audit_keys(settings, tmp_path):
    import os

    from appliance import audit_keys
    key = tmp_path / "keys" / audit_keys.SIGNING_FILE
    os.chmod(key, 0o640)
    audit_keys.forget()
    with pytest.raises(RuntimeError, match="chmod 0400"):
        create_app(settings)
    other = tmp_path / "other-keys"
    other.mkdir()
    for f in (tmp_path / "keys").iterdir():  # other keys (the master key) but no audit keys
        if not f.name.startswith("audit-"):
            other.joinpath(f.name).write_bytes(f.read_bytes())
            os.chmod(other / f.name, 0o400)
    with pytest.raises(RuntimeError, match="gongdan init"):
        create_app(with_settings(settings, keys_dir=str(other)))
    audit_keys.forget()
