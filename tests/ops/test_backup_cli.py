"""`gongdan backup create|verify|restore` as an operator runs them: real subprocesses
against a throw-away site (SQLite; PostgreSQL when pg_dump/pg_restore are installed).

The site holds tickets, a customer with a phone number and an ID number, an attachment
and audit records. A backup holds none of them in plaintext; any altered byte or a cut
makes verify and restore fail and restore change nothing; a restore into an emptied data
directory brings back tickets, the decrypted phone number, the attachment's bytes and an
audit chain that verifies; another site's keys are refused with a clear error."""
import os
import shutil
import sqlite3
import sys
import uuid

import pytest

PHONE = "13912345678"
ID_NUMBER = "11010519491231002X"
SECRET_TEXT = b"backup-plaintext-marker 7f3a9c attachment body\n"

POPULATE = f"""
from appliance.bootstrap import boot
settings = boot(queue=False)
from appliance import migrate
migrate.upgrade()
from appliance.services import keys
keys.activate(settings)
from appliance.rules.access import SYSTEM
from appliance.services import audit, customers, tickets
from appliance.services.attachments import Upload
from appliance.db import database
c = customers.create_customer(SYSTEM, "王小明", contacts=[{{"kind": "phone", "value": "{PHONE}"}}],
                              id_number="{ID_NUMBER}")
for i in range(3):
    t = tickets.create_ticket(SYSTEM, tickets.TicketInput(subject=f"打印机坏了 {{i}}",
                              customer_id=c.id), settings,
                              uploads=[Upload("log.txt", {SECRET_TEXT!r})] if i == 0 else None)
with database.atomic():
    audit.record("customer.pii_viewed", actor_id=0, object_type="customer", object_id=c.id)
print("customer", c.id)
"""

READ_BACK = f"""
from appliance.bootstrap import boot
settings = boot(queue=False)
from appliance.models import Attachment, Ticket
from appliance.rules.access import SYSTEM
from appliance.services import attachments, customers
c = customers.find_customer_by_contact(SYSTEM, "{PHONE}")
print("tickets", Ticket.select().count())
print("phone", [x.value for x in c.contacts])
print("id_number", customers.get_customer(SYSTEM, c.id).id_number)
a = Attachment.get()
print("attachment", attachments.read_file(settings, a.storage_name) == {SECRET_TEXT!r})
"""


def _python(site, script, check=True):
    return site(cmd=[sys.executable, "-c", script], check=check)


def _populate(site):
    _python(site, POPULATE)


def _backup(site, name="site.gdbk"):
    out = site.path / name
    r = site("backup", "create", "--out", str(out))
    assert "keys are NOT in the backup" in r.stdout and "search index" in r.stdout
    assert PHONE not in r.stdout + r.stderr
    return out


def _snapshot(site):
    """What restore must not change: the database's rows and the attachment files."""
    conn = sqlite3.connect(site.path / "g.db")
    rows = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
            for t in ("ticket", "customer", "customer_contact", "attachment")}
    conn.close()
    files = {p.relative_to(site.path): p.read_bytes()
             for p in (site.path / "att").rglob("*") if p.is_file()}
    return rows, files


def _audit_actions(site):
    conn = sqlite3.connect(site.path / "g.db")
    try:
        return [r[0] for r in conn.execute("SELECT action FROM audit_record ORDER BY seq")]
    finally:
        conn.close()


def _empty_data(site):
    for name in ("g.db", "g.db-wal", "g.db-shm"):
        (site.path / name).unlink(missing_ok=True)
    shutil.rmtree(site.path / "att")
    shutil.rmtree(site.path / "index", ignore_errors=True)


def test_backup_holds_no_plaintext_and_restores_into_an_emptied_site(site):
    _populate(site)
    out = _backup(site)
    raw = out.read_bytes()
    for needle in (PHONE.encode(), ID_NUMBER.encode(), SECRET_TEXT.strip(), "王小明".encode(),
                   "打印机".encode(), b"SQLite format 3", b"MANIFEST"):
        assert needle not in raw
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert "backup.created" in _audit_actions(site)
    r = site("backup", "verify", str(out))
    assert r.stdout.startswith("OK:") and "1 attachment files" in r.stdout

    before = _snapshot(site)
    _empty_data(site)
    r = site("backup", "restore", str(out))
    assert "audit log verifies" in r.stdout and "3 tickets" in r.stdout
    assert "1 contacts" in r.stdout and "1 attachment files" in r.stdout
    assert "search rebuild" in r.stdout
    assert _snapshot(site) == before
    got = _python(site, READ_BACK).stdout
    assert "tickets 3" in got and f"phone ['{PHONE}']" in got
    assert f"id_number {ID_NUMBER}" in got and "attachment True" in got
    assert site("audit", "verify").stdout.startswith("OK")
    assert "backup.restored" in _audit_actions(site)
    assert not [p for p in site.path.iterdir() if "restore-" in p.name]  # no staging left


def test_an_altered_byte_or_a_cut_fails_and_restore_changes_nothing(site):
    _populate(site)
    out = _backup(site)
    raw = out.read_bytes()
    before = _snapshot(site)
    for label, damaged in (("flip", raw[:len(raw) // 2] + bytes([raw[len(raw) // 2] ^ 1])
                            + raw[len(raw) // 2 + 1:]),
                           ("flip-last", raw[:-1] + bytes([raw[-1] ^ 0x80])),
                           ("cut", raw[:len(raw) - 100]), ("cut-half", raw[:len(raw) // 2])):
        bad = site.path / f"{label}.gdbk"
        bad.write_bytes(damaged)
        r = site("backup", "verify", str(bad), check=False)
        assert r.returncode == 1 and "NOT usable" in r.stderr, (label, r.stdout, r.stderr)
        assert ("truncated" if label.startswith("cut") else "tampered") in r.stderr
        r = site("backup", "restore", "--force", str(bad), check=False)
        assert r.returncode == 1 and "NOT usable" in r.stderr, (label, r.stdout, r.stderr)
        assert _snapshot(site) == before
    assert "backup.verify_failed" in _audit_actions(site)
    assert not [p for p in site.path.iterdir() if "restore-" in p.name]
    assert site("audit", "verify").stdout.startswith("OK")


def test_restore_refuses_a_non_empty_site_without_force_and_keeps_the_old_one_aside(site):
    _populate(site)
    out = _backup(site)
    _python(site, POPULATE.replace(PHONE, "13700001111").replace(ID_NUMBER, ""))
    r = site("backup", "restore", str(out), check=False)
    assert r.returncode == 1 and "not empty" in r.stderr and "--force" in r.stderr
    r = site("backup", "restore", "--force", str(out))
    assert "kept the previous data as" in r.stdout and "3 tickets" in r.stdout
    assert any(p.name.startswith("g.db.before-restore-") for p in site.path.iterdir())
    assert site("audit", "verify").stdout.startswith("OK")


def test_restore_refuses_while_another_process_has_the_database_open(site):
    _populate(site)
    out = _backup(site)
    holder = sqlite3.connect(site.path / "g.db")  # as a running web or worker would
    try:
        holder.execute("SELECT count(*) FROM ticket").fetchone()
        r = site("backup", "restore", "--force", str(out), check=False)
        assert r.returncode == 1 and "in use by process" in r.stderr and "stop web and worker" in r.stderr
        assert not any(p.name.startswith("g.db.before-restore-") for p in site.path.iterdir())
    finally:
        holder.close()
    r = site("backup", "restore", "--force", str(out))
    assert "3 tickets" in r.stdout


def test_another_sites_keys_are_refused_with_a_clear_error(site):
    _populate(site)
    out = _backup(site)
    keys = site.path / "keys"
    shutil.move(keys, site.path / "keys.real")
    from appliance import audit_keys, keystore
    from appliance.settings import load_settings
    settings = load_settings(site.path / "gongdan.toml", environ={})
    keystore.create_master(settings, environ={})  # a new box's own keys: not this site's
    audit_keys.create(settings)
    for args in (("verify",), ("restore", "--force")):
        r = site("backup", *args, str(out), check=False)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "not the key this backup was made with" in r.stderr
        assert "Traceback" not in r.stderr
    shutil.rmtree(keys)
    r = site("backup", "verify", str(out), check=False)
    assert r.returncode == 2 and "no master key" in r.stderr
    shutil.move(site.path / "keys.real", keys)
    assert site("backup", "verify", str(out)).stdout.startswith("OK")


def test_not_a_backup_and_an_existing_target_are_refused(site):
    _populate(site)
    junk = site.path / "junk.gdbk"
    junk.write_bytes(b"PK\x03\x04" + os.urandom(100))
    r = site("backup", "verify", str(junk), check=False)
    assert r.returncode == 1 and "not a Gongdan backup" in r.stderr
    out = _backup(site)
    r = site("backup", "create", "--out", str(out), check=False)
    assert r.returncode == 1 and "exists already" in r.stderr


@pytest.mark.skipif(not (shutil.which("pg_dump") and shutil.which("pg_restore")),
                    reason="pg_dump/pg_restore (Debian postgresql-client) not installed")
def test_postgresql_backup_and_restore(site):
    import psycopg2

    from tests.conftest import PG_DSN
    name = f"gongdan_backup_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG_DSN + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
    url = f"{PG_DSN}/{name}"
    cfg = site.path / "gongdan.toml"
    cfg.write_text(cfg.read_text().replace(f"sqlite:///{site.path}/g.db", url))
    try:
        _populate(site)
        out = _backup(site)
        assert PHONE.encode() not in out.read_bytes()
        assert site("backup", "verify", str(out)).stdout.startswith("OK:")
        assert "postgresql database" in site("backup", "verify", str(out)).stdout
        shutil.rmtree(site.path / "att")
        with admin.cursor() as cur:  # the database lost: an empty one in its place
            cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
        r = site("backup", "restore", str(out))
        assert "audit log verifies" in r.stdout and "3 tickets" in r.stdout
        got = _python(site, READ_BACK).stdout
        assert f"phone ['{PHONE}']" in got and "attachment True" in got
        assert site("audit", "verify").stdout.startswith("OK")
        r = site("backup", "restore", str(out), check=False)
        assert r.returncode == 1 and "not empty" in r.stderr
        session = psycopg2.connect(url)  # a running web or worker
        try:
            r = site("backup", "restore", "--force", str(out), check=False)
            assert r.returncode == 1 and "in use by PostgreSQL session" in r.stderr
        finally:
            session.close()
        r = site("backup", "restore", "--force", str(out))  # over the live schema: one transaction
        assert "audit log verifies" in r.stdout and "3 tickets" in r.stdout
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
