"""Admin mailbox pages against a real Dovecot on loopback: list with fetch state, add, edit
with a write-only password, field errors, "test connection" and "fetch now"."""
from __future__ import annotations

import socket
import time
import uuid

import pytest

from appliance.models import Job, Mailbox
from appliance.rules.access import SYSTEM
from appliance.services import mailboxes
from security.crypto import decrypt_secret
from tests.conftest import with_settings
from tests.imap_server import running_dovecot
from tests.silent_server import serving
from tests.smtp_relay import running_relay

SUPPORT = "support@gongdan.example"


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory):
    with running_dovecot(tmp_path_factory.mktemp("dovecot-admin")) as server:
        yield server


@pytest.fixture
def admin(login):
    return login("admin")


@pytest.fixture
def box(org):
    return mailboxes.add_mailbox(SYSTEM, SUPPORT, department_code="AS", name="Support")


def imap_form(dovecot, folder, **changes):
    form = {"name": "售后支持", "department": "AS", "active": "1", "host": "127.0.0.1",
            "port": str(dovecot.port), "security": "none", "username": dovecot.user,
            "password": dovecot.password, "folder": folder, "fetch_enabled": "1"}
    form.update(changes)
    return form


def page(r) -> str:
    return r.get_data(as_text=True)


@pytest.mark.parametrize("username", ["wangfang", "lead", "zhangsan"])
def test_only_admins_reach_the_mailbox_pages(login, box, username):
    b = login(username)
    for path in ("/admin/mailboxes/", f"/admin/mailboxes/{box.id}"):
        assert b.get(path).status_code == 403, path
    for path in ("/admin/mailboxes/", f"/admin/mailboxes/{box.id}",
                 f"/admin/mailboxes/{box.id}/test", f"/admin/mailboxes/{box.id}/fetch"):
        assert b.post(path, {"address": "x@y.example", "department": "AS"}).status_code == 403
    assert Mailbox.select().count() == 1 and Job.select().where(
        Job.name == "fetch_mailbox").count() == 0


def test_the_list_shows_each_mailbox_with_its_fetch_state(admin, box):
    Mailbox.update(imap_host="imap.example.com", fetch_enabled=True, last_uid=42,
                   last_error="transient: connect: timeout").execute()
    html = page(admin.get("/admin/mailboxes/"))
    assert SUPPORT in html and "AS" in html and ">42<" in html
    assert "transient: connect: timeout" in html
    assert 'id="nav-mailboxes"' in html
    assert admin.get("/admin/mailboxes/999").status_code == 404


def test_adding_a_mailbox_checks_each_field(admin, org):
    r = admin.post("/admin/mailboxes/", {"address": "not an address", "department": "XX"})
    assert r.status_code == 400
    assert 'id="err-address"' in page(r) and 'id="err-department"' in page(r)
    assert Mailbox.select().count() == 0

    r = admin.post("/admin/mailboxes/", {"address": "Sales@Gongdan.example", "name": "销售",
                                         "department": "LOG"})
    assert r.status_code == 302
    m = Mailbox.get()
    assert (m.address, m.name, m.department_id) == ("sales@gongdan.example", "销售",
                                                    org.logistics)
    r = admin.post("/admin/mailboxes/", {"address": "sales@gongdan.example", "department": "LOG"})
    assert r.status_code == 400 and 'id="err-address"' in page(r)


def test_editing_stores_the_password_encrypted_and_never_shows_it(admin, box, dovecot,
                                                                   settings):
    r = admin.post(f"/admin/mailboxes/{box.id}", imap_form(dovecot, "INBOX"))
    assert r.status_code == 302, page(r)[:2000]
    m = Mailbox.get_by_id(box.id)
    assert (m.name, m.imap_host, m.imap_port, m.imap_security, m.fetch_enabled) == (
        "售后支持", "127.0.0.1", dovecot.port, "none", True)
    assert dovecot.password not in m.imap_password
    assert decrypt_secret(m.imap_password, settings.secret_key) == dovecot.password
    html = page(admin.get(f"/admin/mailboxes/{box.id}"))
    assert dovecot.password not in html and m.imap_password not in html

    # Blank keeps the stored password; other fields change.
    r = admin.post(f"/admin/mailboxes/{box.id}", imap_form(dovecot, "Archive", password="",
                                                            fetch_enabled=""))
    assert r.status_code == 302
    m = Mailbox.get_by_id(box.id)
    assert (m.imap_folder, m.fetch_enabled) == ("Archive", False)
    assert decrypt_secret(m.imap_password, settings.secret_key) == dovecot.password


def test_bad_fields_are_named_and_nothing_is_saved(admin, box, dovecot):
    r = admin.post(f"/admin/mailboxes/{box.id}", imap_form(
        dovecot, "INBOX", name="新名字", host="imap.example.com", port="abc", username="",
        department="NOPE"))
    assert r.status_code == 400
    html = page(r)
    for field in ("port", "security", "username", "department"):
        assert f'id="err-{field}"' in html, field
    m = Mailbox.get_by_id(box.id)
    assert (m.name, m.imap_host, m.imap_password) == ("Support", "", "")

    r = admin.post(f"/admin/mailboxes/{box.id}", imap_form(dovecot, "INBOX", password=""))
    assert r.status_code == 400 and 'id="err-password"' in page(r)   # none stored yet
    assert Mailbox.get_by_id(box.id).imap_host == ""


def check_result(html: str) -> str:
    assert "flash error" in html.split('id="check-result"')[0][-80:]
    return html.split('id="check-result"')[1].split("</p>")[0]


def test_test_connection_reports_the_message_count_or_the_servers_refusal(admin, box,
                                                                          dovecot, caplog):
    folder = "t" + uuid.uuid4().hex[:10]
    dovecot.create(folder)
    dovecot.append(folder, b"Subject: a\r\n\r\none\r\n", b"Subject: b\r\n\r\ntwo\r\n")
    r = admin.post(f"/admin/mailboxes/{box.id}/test")
    assert r.status_code == 400 and 'id="err-host"' in page(r)       # nothing set up yet

    admin.post(f"/admin/mailboxes/{box.id}", imap_form(dovecot, folder))
    r = admin.post(f"/admin/mailboxes/{box.id}/test")
    assert r.status_code == 200
    assert 'id="check-result"' in page(r) and "2" in page(r).split('id="check-result"')[1][:200]

    # Failures are named in the admin's words; the server's reply goes to the log only.
    admin.post(f"/admin/mailboxes/{box.id}", imap_form(dovecot, folder, password="wrong-one"))
    with caplog.at_level("WARNING", logger="appliance.services.mailboxes"):
        html = page(admin.post(f"/admin/mailboxes/{box.id}/test"))
    assert "The server refused the login." in check_result(html)
    assert "AUTHENTICATIONFAILED" not in html and "wrong-one" not in html
    assert "AUTHENTICATIONFAILED" in caplog.text and "(login_refused)" in caplog.text
    assert "wrong-one" not in caplog.text and dovecot.user not in caplog.text

    admin.post(f"/admin/mailboxes/{box.id}", imap_form(dovecot, "NoSuchFolder",
                                                       password=dovecot.password))
    html = page(admin.post(f"/admin/mailboxes/{box.id}/test"))
    assert "The folder cannot be opened." in check_result(html)
    assert "NoSuchFolder" not in check_result(html) and "select" not in check_result(html)


def test_test_connection_names_unreachable_tls_and_silent_servers(admin, box, dovecot,
                                                                  monkeypatch):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    silent = socket.socket()     # accepts the connection (backlog) but never greets
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    monkeypatch.setattr(mailboxes, "TEST_TIMEOUT_S", 1)
    try:
        for form, expected in (
                (imap_form(dovecot, "INBOX", port=str(closed_port)), "cannot be reached"),
                (imap_form(dovecot, "INBOX", security="tls"), "secure connection failed"),
                (imap_form(dovecot, "INBOX", port=str(silent.getsockname()[1])),
                 "did not answer in time")):
            assert admin.post(f"/admin/mailboxes/{box.id}", form).status_code == 302
            result = check_result(page(admin.post(f"/admin/mailboxes/{box.id}/test")))
            assert expected in result, (form["port"], form["security"], result)
            assert "Error" not in result and "Errno" not in result
    finally:
        silent.close()
    Mailbox.update(imap_password="not-a-sealed-secret").where(Mailbox.id == box.id).execute()
    result = check_result(page(admin.post(f"/admin/mailboxes/{box.id}/test")))
    assert "the stored password cannot be read" in result


def relay_login(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult
    return AuthResult(success=(auth_data.login, auth_data.password) == (
        b"relay-user", b"relay-password"), handled=False)


def use_relay(app, settings, port: int, password: str = "relay-password") -> None:
    app.config["GONGDAN"] = with_settings(
        settings, smtp_url=f"smtp://127.0.0.1:{port}", smtp_security="none",
        smtp_username="relay-user", smtp_password=password)


def test_test_connection_also_logs_in_to_the_relay_and_names_each_result(
        app, settings, admin, box, dovecot, caplog):
    admin.post(f"/admin/mailboxes/{box.id}", imap_form(dovecot, "INBOX"))
    html = page(admin.post(f"/admin/mailboxes/{box.id}/test"))
    assert "No relay is configured" in html.split('id="check-smtp"')[1].split("</p>")[0]
    assert '<div class="flash success" id="check-result"' in html   # no relay is no failure

    with running_relay(ident="mx.example zhang@example.com", authenticator=relay_login,
                       auth_require_tls=False) as relay:
        use_relay(app, settings, relay.port)
        html = page(admin.post(f"/admin/mailboxes/{box.id}/test"))
        assert "Connected and logged in." in html.split('id="check-smtp"')[1]
        assert '<div class="flash success" id="check-result"' in html

        use_relay(app, settings, relay.port, password="wrong-relay-password")
        with caplog.at_level("WARNING", logger="appliance.services.mailboxes"):
            html = page(admin.post(f"/admin/mailboxes/{box.id}/test"))
    imap_line, smtp_line = (html.split(f'id="check-{p}"')[1].split("</p>")[0]
                            for p in ("imap", "smtp"))
    assert "Connected: the folder holds" in imap_line
    assert "The relay refused the login." in smtp_line
    assert '<div class="flash error" id="check-result"' in html
    assert "smtp failed (login_refused)" in caplog.text and "535" in caplog.text
    for secret in ("wrong-relay-password", "relay-user", "zhang@example.com", "mx.example"):
        assert secret not in html and secret not in caplog.text, secret


def test_servers_that_accept_and_never_answer_come_back_timed_out_within_the_bound(
        app, settings, admin, box, dovecot, monkeypatch):
    assert mailboxes.TEST_TIMEOUT_S <= 10   # the page's promise: at most 10 s per protocol
    monkeypatch.setattr(mailboxes, "TEST_TIMEOUT_S", 1)
    with serving() as imap_hole, serving(greeting=b"220 ", drip=b".") as smtp_drip:
        admin.post(f"/admin/mailboxes/{box.id}", imap_form(dovecot, "INBOX",
                                                           port=str(imap_hole.port)))
        use_relay(app, settings, smtp_drip.port)
        started = time.monotonic()
        html = page(admin.post(f"/admin/mailboxes/{box.id}/test"))
        took = time.monotonic() - started
        for server in (imap_hole, smtp_drip):   # both connections were let go in time
            assert server.hung_up_by(started + 1.4)
    # Side by side: both protocols together take one budget, not two.
    assert took < 1.6, took
    for protocol in ("imap", "smtp"):
        line = html.split(f'id="check-{protocol}"')[1].split("</p>")[0]
        assert "did not answer in time" in line, (protocol, line)


def test_each_imap_failure_text_maps_to_one_problem():
    cases = {
        "connect: ConnectionRefusedError: [Errno 111] Connection refused": "cannot_connect",
        "connect: gaierror: [Errno -2] Name or service not known": "cannot_connect",
        "connect: TimeoutError: timed out": "timed_out",
        "connect: SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number": "tls_failed",
        "connect: certificate not trusted (self-signed certificate)": "tls_failed",
        "connect: STARTTLS extension not supported by server.": "tls_failed",
        "starttls: NO TLS is not available": "tls_failed",
        "imap_security: plain IMAP only to 127.0.0.1 or localhost": "tls_failed",
        "login: NO [AUTHENTICATIONFAILED] Authentication failed.": "login_refused",
        "login: b'[AUTHENTICATIONFAILED] Invalid credentials (Failure)'": "login_refused",
        "login: abort: socket error: EOF": "cannot_connect",
        "login: TimeoutError: timed out": "timed_out",
        "select: NO [NONEXISTENT] Mailbox doesn't exist: Archive": "folder_missing",
        "select: ConnectionResetError: [Errno 104] Connection reset by peer": "cannot_connect",
        "the server sent no UIDVALIDITY": "folder_missing",
    }
    assert {text: mailboxes.connection_problem(text) for text in cases} == cases
    assert set(cases.values()) <= set(mailboxes.CHECK_PROBLEMS)


def test_fetch_now_schedules_the_fetch_job_only_when_fetching_is_enabled(admin, box, dovecot):
    r = admin.post(f"/admin/mailboxes/{box.id}/fetch")
    assert r.status_code == 400
    assert Job.select().where(Job.name == "fetch_mailbox").count() == 0

    admin.post(f"/admin/mailboxes/{box.id}", imap_form(dovecot, "INBOX"))
    r = admin.post(f"/admin/mailboxes/{box.id}/fetch")
    assert r.status_code == 302
    [job] = Job.select().where(Job.name == "fetch_mailbox")
    assert job.object_id == box.id
