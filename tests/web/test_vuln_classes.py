"""One regression test per known helpdesk vulnerability class, named after it
(SECURITY.md, "Regression tests in the style of Request Tracker"). Each goes through
the real path an attacker would use: the portal and agent forms, mail intake, the
outbound mail job against a real SMTP relay on loopback, a real HTTP receiver for
webhooks, real logging; on a real SQLite file and on the real PostgreSQL."""
from __future__ import annotations

import base64
import io
import logging
import os
import re
import statistics
import time
from pathlib import Path

import pytest

from appliance import jobs
from appliance.models import Attachment, Job, Ticket, User, utcnow
from appliance.models.mail import Mailbox, MailMessage
from appliance.services import mail_intake, process_webhook
from tests.conftest import with_settings
from tests.web.conftest import Browser
from tests.web.htmlcheck import active_markup
from tests.webhook_server import WebhookServer
from webapp import create_app

XSS = '<script>alert("gd-xss")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">x</a>'
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64
SUPPORT = "support@example.com"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    """These tests guard the whole stack: run them on both databases."""
    return request.param


def files(*items):
    return [(io.BytesIO(data), name) for name, data in items]


def page(r) -> str:
    return r.get_data(as_text=True)


def submitted_ticket(r) -> int:
    assert r.status_code == 302, page(r)[:1500]
    return int(re.search(r"/portal/tickets/(\d+)$", r.headers["Location"]).group(1))


def to_after_sales(org, ticket_id: int) -> None:
    """Test set-up: put the customer's ticket where 王芳 (after-sales) works."""
    Ticket.update(department=org.after_sales).where(Ticket.id == ticket_id).execute()


def assert_inert(html: str, *, shown: bool = True) -> None:
    """The payload is on the page as text (when `shown`), never as markup."""
    assert "gd-xss" in html or not shown, "the payload is not on the page: nothing was tested"
    assert active_markup(html) == []
    assert "<script>alert" not in html and "<img src=x" not in html


# --- stored XSS ---------------------------------------------------------------------------

def test_stored_xss_in_ticket_subject(login, org):
    customer = login("zhangsan")
    tid = submitted_ticket(customer.post("/portal/new", {"subject": XSS, "description": "正文"}))
    to_after_sales(org, tid)
    agent = login("wangfang")
    assert_inert(page(agent.get(f"/agent/tickets/{tid}")))
    assert_inert(page(customer.get(f"/portal/tickets/{tid}")))
    assert_inert(page(customer.get("/portal/")))
    for path in ("/agent/", "/agent/search?q=gd-xss"):
        assert_inert(page(agent.get(path)), shown=False)


def test_stored_xss_in_ticket_body(login, org):
    customer = login("zhangsan")
    tid = submitted_ticket(customer.post("/portal/new", {"subject": "打印机", "description": XSS}))
    to_after_sales(org, tid)
    r = customer.post(f"/portal/tickets/{tid}/reply", {"body": XSS + " 追问"},
                      csrf_from=f"/portal/tickets/{tid}")
    assert r.status_code in (302, 303), page(r)[:1500]
    agent = login("wangfang")
    assert_inert(page(agent.get(f"/agent/tickets/{tid}")))
    assert_inert(page(customer.get(f"/portal/tickets/{tid}")))


def _html_mail(sender: str, subject_b64: str, html: str, extra: bytes = b"") -> bytes:
    return (f"From: {sender}\r\nTo: {SUPPORT}\r\nSubject: =?utf-8?b?{subject_b64}?=\r\n"
            f"Message-ID: <x{time.time_ns()}@mail.example.net>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=BOUND\r\n\r\n--BOUND\r\n"
            "Content-Type: text/html; charset=utf-8\r\n\r\n").encode() + html.encode() + \
        b"\r\n" + extra + b"--BOUND--\r\n"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_stored_xss_in_ticket_email(login, org, settings):
    Mailbox.create(address=SUPPORT, name="售后", department=org.after_sales)
    html = (f"<html><body><p>你好</p>{XSS}<div onmouseover=\"alert(3)\" style=\"x\">悬停"
            "</div><iframe src=\"https://evil.example\"></iframe><form action=\"https://evil."
            "example\"><input name=p></form></body></html>")
    result = mail_intake.ingest(_html_mail("赵六 <zhao@example.net>", _b64("邮件 " + XSS), html),
                                settings, mailbox_address=SUPPORT)
    tid = result.ticket_id
    assert tid, result
    Ticket.update(department=org.after_sales).where(Ticket.id == tid).execute()
    body = page(login("wangfang").get(f"/agent/tickets/{tid}"))
    assert_inert(body)
    assert "<iframe" not in body and not re.search(r"<form[^>]*evil", body)


# --- attachments --------------------------------------------------------------------------

def _customer_attachment(login, org, who="zhangsan", name="照片.png") -> tuple[int, int]:
    b = login(who)
    tid = submitted_ticket(b.post("/portal/new", {"subject": "屏幕不亮", "description": "黑屏",
                                                  "attachments": files((name, PNG))}))
    to_after_sales(org, tid)
    return tid, Attachment.get(Attachment.ticket == tid).id


def test_attachment_idor(login, org, app):
    tid, aid = _customer_attachment(login, org)
    assert login("zhangsan").get(f"/portal/attachments/{aid}").status_code == 200
    assert login("wangfang").get(f"/agent/attachments/{aid}").status_code == 200
    # Another customer, an agent of another department, and their API tokens: not found.
    assert login("lisi").get(f"/portal/attachments/{aid}").status_code == 404
    assert login("lilei").get(f"/agent/attachments/{aid}").status_code == 404
    from appliance.services import users
    from tests.factories import actor
    _, token = users.create_api_token(actor("lilei"), "probe")
    r = app.test_client().get(f"/api/v1/attachments/{aid}",
                              headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404
    # A customer cannot reach the staff download at all.
    assert login("lisi").get(f"/agent/attachments/{aid}").status_code in (302, 403, 404)


def test_predictable_attachment_tokens(login, org, settings):
    _, first = _customer_attachment(login, org)
    _, second = _customer_attachment(login, org)   # the very same bytes and name
    a, b = Attachment.get_by_id(first), Attachment.get_by_id(second)
    for row in (a, b):
        assert re.fullmatch(r"[0-9a-f]{48}", row.storage_name)   # 192 random bits
        assert row.filename not in row.storage_name
    assert a.storage_name != b.storage_name and a.sha256 == b.sha256
    # The id in a download URL is guessable, so it is never the key: every id a stranger
    # tries is refused exactly like one that does not exist.
    stranger = login("lisi")
    statuses = {stranger.get(f"/portal/attachments/{i}").status_code for i in range(1, b.id + 3)}
    assert statuses == {404}
    # Nothing under the web root: files are not reachable by their storage name.
    assert stranger.get(f"/static/{a.storage_name}").status_code == 404
    static = Path(__file__).resolve().parents[2] / "webapp" / "static"
    assert not Path(settings.attachment_dir).resolve().is_relative_to(static)


@pytest.mark.parametrize("name", [
    "../../../../tmp/gd-traversal.png", "..\\..\\..\\gd-traversal.png", "/etc/gd-traversal.png",
    "..%2f..%2fgd-traversal.png", "sub/../../gd-traversal.png", "gd\x00traversal.png",
])
def test_path_traversal_in_attachment_names(login, org, settings, tmp_path, name):
    before = set(Path("/tmp").glob("gd-traversal*")) | set(tmp_path.parent.glob("gd-traversal*"))
    tid, aid = _customer_attachment(login, org, name=name)
    a = Attachment.get_by_id(aid)
    assert "/" not in a.filename and "\\" not in a.filename and "\x00" not in a.filename
    assert not a.filename.startswith(".")
    root = Path(settings.attachment_dir).resolve()
    stored = [p for p in root.rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].resolve().is_relative_to(root)
    after = set(Path("/tmp").glob("gd-traversal*")) | set(tmp_path.parent.glob("gd-traversal*"))
    assert after == before
    r = login("wangfang").get(f"/agent/attachments/{aid}")
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "/" not in disposition.split("filename*")[0]
    assert "%2F" not in disposition and "%5C" not in disposition


def test_path_traversal_in_attachment_names_from_email(org, settings):
    Mailbox.create(address=SUPPORT, name="售后", department=org.after_sales)
    part = (b"--BOUND\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Disposition: attachment; filename=\"../../../gd-mail-traversal.txt\"\r\n\r\n"
            b"log line\r\n")
    result = mail_intake.ingest(_html_mail("a@example.net", _b64("日志"), "<p>见附件</p>", part),
                                settings, mailbox_address=SUPPORT)
    names = [a.filename for a in Attachment.select().where(Attachment.ticket == result.ticket_id)]
    assert any(n.endswith("gd-mail-traversal.txt") for n in names), names
    assert all("/" not in n and not n.startswith(".") for n in names)
    root = Path(settings.attachment_dir).resolve()
    assert all(p.resolve().is_relative_to(root) for p in root.rglob("*"))
    assert not (root.parent / "gd-mail-traversal.txt").exists()


# --- e-mail header injection --------------------------------------------------------------

def test_email_header_injection(login, org, settings):
    pytest.importorskip("aiosmtpd", reason="aiosmtpd (the test extras) is not installed")
    from tests.smtp_relay import relay_settings, running_relay
    Mailbox.create(address=SUPPORT, name="售后", department=org.after_sales)
    with running_relay() as relay:
        s = relay_settings(settings, relay)
        app = create_app(s)
        app.config.update(TESTING=True)
        # Encoded-words decode to CR/LF: the classic way a line break enters a header.
        name = _b64("Eve\r\nBcc: victim1@evil.example")
        sender = f"=?utf-8?b?{name}?= <eve@example.net>"
        raw = _html_mail(sender, _b64("求助\r\nBcc: victim2@evil.example\r\nX-Injected: 1"),
                         "<p>请回复</p>")
        tid = mail_intake.ingest(raw, s, mailbox_address=SUPPORT).ticket_id
        Ticket.update(department=org.after_sales).where(Ticket.id == tid).execute()
        agent = Browser(app)
        assert agent.login("wangfang", org.passwords["wangfang"]).status_code == 302
        r = agent.post(f"/agent/tickets/{tid}/comments",
                       {"body": "您好\r\nBcc: victim3@evil.example", "kind": "reply"},
                       csrf_from=f"/agent/tickets/{tid}")
        assert r.status_code == 302, page(r)[:1500]
        # Intake already folds decoded line breaks; a stored subject that still has one
        # (an older row, another channel) must be stopped when the reply is composed.
        MailMessage.update(subject="求助\r\nBcc: victim4@evil.example").where(
            (MailMessage.ticket == tid) & (MailMessage.direction == "in")).execute()
        r = agent.post(f"/agent/tickets/{tid}/comments", {"body": "第二次回复", "kind": "reply"},
                       csrf_from=f"/agent/tickets/{tid}")
        assert r.status_code == 302, page(r)[:1500]
        for job in list(Job.select().where((Job.name == "send_mail") & Job.done_at.is_null())):
            jobs.run_job(job.id)
        rows = list(MailMessage.select().where((MailMessage.ticket == tid)
                                               & (MailMessage.direction == "out")))
    assert rows, "no outgoing mail was queued: nothing was checked"
    for got in relay.messages:
        assert got.rcpt_tos == ["eve@example.net"]
        header_block = got.raw.split(b"\r\n\r\n", 1)[0]
        names = [ln.split(b":", 1)[0].lower() for ln in header_block.split(b"\r\n")
                 if ln and not ln[:1].isspace()]
        assert b"bcc" not in names and b"x-injected" not in names, header_block
    # Either the reply went out with every header on its own line, or it was refused
    # and says why; never sent with a forged header.
    for row in rows:
        assert row.status == "sent" or "header injection" in (row.error or ""), row.error
    assert len(relay.messages) == sum(row.status == "sent" for row in rows) >= 2
    assert any("header injection" in (row.error or "") for row in rows)


# --- SSRF ----------------------------------------------------------------------------------

def _post(url: str, allowed: tuple, networks: tuple = ()):
    return process_webhook.post(url, {"ticket": 1}, key="k", attempt=1, allowed=allowed,
                                timeout=3, private_networks=networks)


def test_ssrf_through_webhooks():
    with WebhookServer([200]) as server:
        port = server.server.server_address[1]
        refused = [
            (f"http://127.0.0.1:{port}/hook", ("hooks.example.com",)),         # not listed
            ("http://169.254.169.254/latest/meta-data/", ("hooks.example.com",)),
            ("http://10.0.0.5/hook", ("hooks.example.com",)),
            (f"http://localhost:{port}/hook", ("localhost",)),       # a listed name → loopback
            (f"http://user:pw@127.0.0.1:{port}/hook", (f"127.0.0.1:{port}",)),
            ("file:///etc/passwd", ("127.0.0.1",)),
            (f"http://127.0.0.1:{port + 1 if port < 65535 else 1}/hook", (f"127.0.0.1:{port}",)),
        ]
        for url, allowed in refused:
            with pytest.raises(process_webhook.WebhookRefused):
                _post(url, allowed)
        assert server.requests == []
        # Only the administrator's allow-list passes: the address itself, or a name
        # inside a network the administrator opened for webhooks.
        assert _post(server.url, (f"127.0.0.1:{port}",)).status == 200
        assert _post(f"http://localhost:{port}/hook", ("localhost",), ("127.0.0.0/8", "::1/128")
                     ).status == 200
        assert len(server.requests) == 2
    # A redirect to the metadata service is not followed.
    with WebhookServer([("redirect", "http://169.254.169.254/latest/meta-data/")]) as server:
        with pytest.raises(process_webhook.WebhookRefused, match="redirect"):
            _post(server.url, ("127.0.0.1",))
        assert len(server.requests) == 1


# --- credentials in logs -------------------------------------------------------------------

def test_credential_leakage_into_logs(login, browser, org, app, caplog):
    secrets_ = {"wrong": "Wr0ng-Leak-Pass!", "new": "N3w-Leak-Passphrase-2026",
                "imap": "Imap-Leak-Secret-77"}
    caplog.set_level(logging.DEBUG)
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    b = browser()
    b.login("wangfang", secrets_["wrong"])
    b.login("nobody-here", secrets_["wrong"])
    agent = login("wangfang")
    agent.post("/account/password", {"current_password": org.passwords["wangfang"],
                                     "new_password": secrets_["new"],
                                     "confirm_password": secrets_["new"]},
               csrf_from="/account/password")
    r = agent.post("/account/tokens", {"name": "脚本"}, csrf_from="/account/tokens")
    m = re.search(r"gd_[A-Za-z0-9_-]{20,}", page(r))
    token = m.group(0) if m else ""
    secrets_["token"] = token
    client = app.test_client()
    client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    client.get("/api/v1/tickets", headers={"Authorization": "Bearer gd_" + "x" * 43})
    admin = login("admin")
    box = Mailbox.create(address=SUPPORT, name="售后", department=org.after_sales)
    admin.post(f"/admin/mailboxes/{box.id}", {
        "name": "售后", "department": "AS", "active": "1", "host": "127.0.0.1", "port": "9",
        "security": "none", "username": "support", "password": secrets_["imap"],
        "folder": "INBOX", "fetch_enabled": "1"}, csrf_from=f"/admin/mailboxes/{box.id}")
    admin.post(f"/admin/mailboxes/{box.id}/test", {}, csrf_from=f"/admin/mailboxes/{box.id}")
    # The application also logs what a careless caller hands it: still masked.
    logging.getLogger("appliance.test").warning("form=%s", {"password": secrets_["wrong"],
                                                           "token": token})
    assert token, "no API token was shown: the token part of this test checked nothing"
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for name, value in secrets_.items():
        assert value not in text, f"{name} leaked into the log"


# --- sessions and forms --------------------------------------------------------------------

def test_session_fixation(app, org, settings):
    from webapp.auth import cookie_name
    with app.test_request_context():
        name = cookie_name()
    attacker = Browser(app)
    assert attacker.login("lilei", org.passwords["lilei"]).status_code == 302
    planted = attacker.client.get_cookie(name).value
    victim = Browser(app)
    for value in (planted, "attacker-chosen-session-id"):
        victim.client.set_cookie(name, value)
        r = victim.login("wangfang", org.passwords["wangfang"])
        assert r.status_code == 302
        issued = victim.client.get_cookie(name).value
        assert issued != value and len(issued) >= 32
    # The planted session no longer opens anything; the attacker is logged out.
    assert attacker.get("/agent/").status_code == 302


def _sample_path(rule) -> str:
    values = {arg: (1 if type(conv).__name__ in ("IntegerConverter", "NumberConverter") else "x")
              for arg, conv in rule._converters.items()}
    return rule.build(values, append_unknown=False)[1]


def test_csrf_on_state_changes(app, login):
    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def _marked(exc):   # marks the CSRF refusal apart from any other 400
        return "CSRF-REFUSED", 400

    admin = login("admin")
    checked, exempt = [], {"forms.submit": "its own signed form token (test_web_form_refusals)"}
    for rule in app.url_map.iter_rules():
        methods = sorted((rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"})
        if not methods or rule.endpoint in exempt or rule.rule.startswith("/api/"):
            continue
        path = _sample_path(rule)
        for method in methods:
            r = admin.client.open(path, method=method, data={"name": "x"})
            assert (r.status_code, page(r)) == (400, "CSRF-REFUSED"), f"{method} {rule.rule}"
            checked.append(f"{method} {rule.rule}")
    assert len(checked) > 50 and "POST /login" in checked and "POST /logout" in checked
    # The API takes bearer tokens only: a session cookie alone does not authenticate it.
    r = admin.client.post("/api/v1/tickets", json={"subject": "x"})
    assert r.status_code == 401


# --- user enumeration ----------------------------------------------------------------------

def _login_times(b: Browser, cases: dict, rounds: int) -> tuple[dict, dict, set]:
    """Median wall-clock and CPU seconds per case (rounds interleaved, first two dropped as
    warm-up) and the set of distinct answers."""
    token = b.csrf("/login")
    wall = {case: [] for case in cases}
    cpu = {case: [] for case in cases}
    answers = set()
    order = list(cases.items())
    for n in range(rounds):
        k = n % len(order)
        for case, username in order[k:] + order[:k]:
            w, c = time.perf_counter(), time.process_time()
            r = b.client.post("/login", data={"username": username, "password": "Wrong-Pw-123!",
                                              "csrf_token": token})
            wall[case].append(time.perf_counter() - w)
            cpu[case].append(time.process_time() - c)
            answers.add((r.status_code, re.sub(r'value="[^"]*"', "", page(r))))
    median = lambda d: {k: statistics.median(v[2:]) for k, v in d.items()}  # noqa: E731
    return median(wall), median(cpu), answers


def _within(medians: dict, tolerance: float) -> bool:
    return max(medians.values()) <= min(medians.values()) * (1 + tolerance)


@pytest.mark.real_hashing
@pytest.mark.slow
def test_user_enumeration_by_timing(settings, org):
    """Unknown user, wrong password, locked and disabled account: one answer, and medians within
    10%. Wall-clock time on a shared test box is noisy (other processes take the CPU), so
    a measurement that misses is taken again, up to five times: a real difference (a
    path that skips the Argon2 verification costs a fraction of the others) misses every
    time. The CPU time this process spends per answer must be within 10% as well."""
    s = with_settings(settings, lockout_threshold=1000, auth_rate_per_ip=100_000,
                      auth_rate_per_account=100_000)
    app = create_app(s)
    app.config.update(TESTING=True)
    from appliance.services import users
    from tests.factories import actor
    users.create_user(actor("admin"), "locked-one", "锁定", "agent",
                      department_id=org.after_sales)
    User.update(locked_until=utcnow().replace(year=utcnow().year + 1)).where(
        User.username == "locked-one").execute()
    users.create_user(actor("admin"), "disabled-one", "停用", "agent",
                      department_id=org.after_sales)
    User.update(active=False).where(User.username == "disabled-one").execute()
    cases = {"unknown user": "no-such-user-x", "wrong password": "wangfang",
             "locked account": "locked-one", "disabled account": "disabled-one"}
    tries = []
    for _ in range(5):
        load_before = os.getloadavg()[0]
        wall, cpu, answers = _login_times(Browser(app), cases, rounds=14)
        assert len(answers) == 1, "the answers differ"
        # More runnable processes than cores (six test runs on a 2-core box): wall-clock
        # medians then wander by ~15% on their own; allow 25% and rely on CPU time's 10%.
        busy = max(load_before, os.getloadavg()[0]) > (os.cpu_count() or 1)
        tries.append({"wall": wall, "cpu": cpu, "busy": busy})
        if _within(wall, 0.25 if busy else 0.10) and _within(cpu, 0.10):
            break
    else:
        pytest.fail(f"login timings differ by more than 10%: {tries}")
