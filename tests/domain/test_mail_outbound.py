"""Outgoing e-mail through a real SMTP server on loopback (aiosmtpd), on SQLite and
PostgreSQL: agent replies on e-mail tickets are delivered threaded and tagged; relay
errors back off (4xx) or fail visibly (5xx) and can be retried."""
from __future__ import annotations

import datetime as dt
import shutil
import ssl
import subprocess
import types

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd (the test extras) is not installed")

from appliance import jobs, runtime  # noqa: E402
from appliance.errors import Conflict, NotFound  # noqa: E402
from appliance.mail.smtp import SmtpMailer  # noqa: E402
from appliance.models import Job, TimelineEvent, utcnow  # noqa: E402
from appliance.models.mail import Mailbox, MailMessage  # noqa: E402
from appliance.ports import MailSendError  # noqa: E402
from appliance.services import comments, customers, mail_addresses, mail_outbound  # noqa: E402
from appliance.services.attachments import Upload  # noqa: E402
from tests.conftest import with_settings  # noqa: E402
from tests.factories import make_org, ticket  # noqa: E402
from tests.smtp_relay import free_port, relay, relay_settings, running_relay  # noqa: E402,F401

CUSTOMER = "zhao.liu@example.com"
CUSTOMER_MID = "<cust-2@mail.example.net>"
ROOT_MID = "<cust-1@mail.example.net>"
PDF = b"%PDF-1.4\n% test\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def mail_settings(settings, relay):
    return relay_settings(settings, relay)


@pytest.fixture
def org(settings):
    return make_org()


@pytest.fixture
def email_ticket(mail_settings, org):
    """An e-mail ticket of 赵六 with two inbound messages (the second one threads on the
    first) and a mailbox of the after-sales department."""
    Mailbox.create(address="support@example.com", name="售后支持", department=org.after_sales)
    c = customers.create_customer(org.agent, "赵六", contacts=[
        {"kind": "email", "value": "zhao.other@example.com"}])
    t = ticket(mail_settings, org.agent, "打印机无法打印", channel="email", customer_id=c.id,
               department_id=org.after_sales)
    for mid, refs in ((ROOT_MID, []), (CUSTOMER_MID, [ROOT_MID])):
        mail_addresses.create(direction="in", ticket=t.summary.id, message_id=mid,
                           dedupe_key=mid, from_address=CUSTOMER, to_addresses=["support@example.com"],
                           subject="打印机无法打印", references=refs, status="processed")
    return t.summary


def run_send_jobs() -> int:
    ran = 0
    for job in list(Job.select(Job.id).where((Job.name == "send_mail") & Job.done_at.is_null())
                    .order_by(Job.id)):
        ran += jobs.run_job(job.id)
    return ran


def outbox(ticket_id: int) -> list[MailMessage]:
    return list(MailMessage.select().where((MailMessage.ticket == ticket_id)
                                           & (MailMessage.direction == "out"))
                .order_by(MailMessage.id))


def failures(ticket_id: int) -> list[TimelineEvent]:
    return list(TimelineEvent.select().where((TimelineEvent.ticket == ticket_id)
                                             & (TimelineEvent.kind == "mail_failed")))


def reply(org, t, mail_settings, body="您好，请重启打印机。", **kw):
    return comments.add_comment(org.agent, t.id, body, mail_settings, **kw)


def test_an_agent_reply_on_an_email_ticket_is_delivered_threaded_and_tagged(
        backend, mail_settings, org, email_ticket, relay):
    c = reply(org, email_ticket, mail_settings, "您好，\n请重启打印机 <b>立即</b>。",
              uploads=[Upload("说明书.pdf", PDF)])
    [row] = outbox(email_ticket.id)
    assert row.status == "queued" and row.comment_id == c.id
    assert run_send_jobs() == 1

    [got] = relay.messages
    msg = got.message
    assert got.rcpt_tos == [CUSTOMER]
    assert str(msg["To"]) == CUSTOMER
    assert msg["From"].addresses[0].addr_spec == "support@example.com"
    assert msg["From"].addresses[0].display_name == "售后支持"
    assert msg["Reply-To"].addresses[0].addr_spec == "support@example.com"
    assert str(msg["Subject"]) == f"[{email_ticket.number}] Re: 打印机无法打印"
    subject_line = next(ln for ln in got.raw.split(b"\r\n") if ln.startswith(b"Subject:"))
    assert b"=?utf-8?" in subject_line and got.raw.isascii()  # encoded on the wire
    assert msg["Message-ID"].endswith("@support.example.com>")
    assert msg["Message-ID"] == row.message_id
    assert msg["In-Reply-To"] == CUSTOMER_MID
    assert msg["References"].split() == [ROOT_MID, CUSTOMER_MID]
    text = msg.get_body(("plain",)).get_content()
    assert "请重启打印机 <b>立即</b>" in text
    assert "&lt;b&gt;立即&lt;/b&gt;" in msg.get_body(("html",)).get_content()
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == "说明书.pdf" and att.get_content() == PDF

    row = MailMessage.get_by_id(row.id)
    assert row.status == "sent" and row.sent_at is not None and row.error == ""
    assert mail_addresses.sender_of(row) == "support@example.com"


def test_a_temporary_refusal_backs_off_and_a_later_run_delivers(
        backend, mail_settings, org, email_ticket, relay):
    relay.answer = "451 4.3.0 try again later"
    reply(org, email_ticket, mail_settings)
    run_send_jobs()
    [row] = outbox(email_ticket.id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.next_attempt_at > utcnow() + dt.timedelta(seconds=30)
    assert "451" in row.error and CUSTOMER not in row.error
    assert len(failures(email_ticket.id)) == 1

    relay.answer = None
    mail_outbound.send_mail(row.id)  # not due yet: nothing happens
    assert relay.messages == [] and mail_outbound.schedule_due(mail_settings) == 0

    MailMessage.update(next_attempt_at=utcnow() - dt.timedelta(seconds=1)).where(
        MailMessage.id == row.id).execute()
    assert mail_outbound.schedule_due(mail_settings) == 1
    run_send_jobs()
    assert len(relay.messages) == 1
    row = MailMessage.get_by_id(row.id)
    assert row.status == "sent" and row.error == ""
    assert len(failures(email_ticket.id)) == 1  # one event for the one change of state


def test_a_permanent_refusal_fails_visibly_and_retry_delivers(
        backend, mail_settings, org, email_ticket, relay):
    relay.answer = "550 5.1.1 no such mailbox"
    reply(org, email_ticket, mail_settings)
    run_send_jobs()
    [row] = outbox(email_ticket.id)
    assert row.status == "failed" and "550" in row.error
    [event] = failures(email_ticket.id)
    assert event.internal and event.after["status"] == "failed"
    [view] = mail_outbound.outbound_for_ticket(org.agent, email_ticket.id)
    assert view.status == "failed" and view.can_retry

    with pytest.raises(NotFound):
        mail_outbound.retry(org.agent2, row.id)  # another department's agent
    relay.answer = None
    mail_outbound.retry(org.agent, row.id)
    assert MailMessage.get_by_id(row.id).status == "queued"
    run_send_jobs()
    assert len(relay.messages) == 1
    assert MailMessage.get_by_id(row.id).status == "sent"
    with pytest.raises(Conflict):
        mail_outbound.retry(org.agent, row.id)


def test_without_a_relay_replies_wait_in_the_outbox_with_the_reason(
        backend, mail_settings, org, email_ticket, relay):
    unconfigured = with_settings(mail_settings, smtp_url="")
    runtime.configure(unconfigured)
    reply(org, email_ticket, unconfigured)
    run_send_jobs()
    run_send_jobs()
    [row] = outbox(email_ticket.id)
    assert (row.status, row.error) == ("queued", "outgoing mail is not configured")
    assert len(failures(email_ticket.id)) == 1
    assert mail_outbound.schedule_due(unconfigured) == 0

    runtime.configure(mail_settings)  # the administrator configures the relay
    assert mail_outbound.schedule_due(mail_settings) == 1
    run_send_jobs()
    assert len(relay.messages) == 1 and MailMessage.get_by_id(row.id).status == "sent"


def test_running_the_send_job_twice_sends_once(backend, mail_settings, org, email_ticket,
                                               relay):
    reply(org, email_ticket, mail_settings)
    [row] = outbox(email_ticket.id)
    mail_outbound.send_mail(row.id)
    mail_outbound.send_mail(row.id)
    run_send_jobs()
    assert mail_outbound.schedule_due(mail_settings) == 0
    assert len(relay.messages) == 1


def test_a_row_whose_send_job_gave_up_is_scheduled_again(backend, mail_settings, org,
                                                         email_ticket, relay):
    reply(org, email_ticket, mail_settings)
    [row] = outbox(email_ticket.id)
    assert mail_outbound.schedule_due(mail_settings) == 0      # its job is still pending
    Job.update(attempts=jobs.MAX_ATTEMPTS).where(Job.name == "send_mail").execute()
    assert mail_outbound.schedule_due(mail_settings) == 1
    jobs.run_job(Job.select().where((Job.name == "send_mail") & (Job.attempts == 0)).get().id)
    assert len(relay.messages) == 1 and MailMessage.get_by_id(row.id).status == "sent"


def test_web_tickets_and_internal_notes_send_no_mail(backend, mail_settings, org, relay):
    t = ticket(mail_settings, org.customer, "网页工单")  # 张三 has an e-mail contact
    comments.add_comment(org.agent, t.summary.id, "好的", mail_settings)
    comments.add_comment(org.agent, t.summary.id, "内部备注", mail_settings, internal=True)
    assert outbox(t.summary.id) == []
    assert not Job.select().where(Job.name == "send_mail").exists()


def test_an_internal_note_on_an_email_ticket_sends_nothing(backend, mail_settings, org,
                                                           email_ticket, relay):
    comments.add_comment(org.agent, email_ticket.id, "内部备注", mail_settings, internal=True)
    assert outbox(email_ticket.id) == []


def test_without_inbound_mail_the_customers_first_address_is_used(backend, mail_settings, org,
                                                                  relay):
    Mailbox.create(address="help@example.com", name="Help")
    c = customers.create_customer(org.agent, "赵六", contacts=[
        {"kind": "phone", "value": "13800138000"}, {"kind": "email", "value": "a@example.com"},
        {"kind": "email", "value": "b@example.com"}])
    t = ticket(mail_settings, org.agent, "电话转邮件", channel="email", customer_id=c.id)
    reply(org, t.summary, mail_settings)
    run_send_jobs()
    [got] = relay.messages
    assert got.rcpt_tos == ["a@example.com"]
    assert got.message["In-Reply-To"] is None
    assert str(got.message["Subject"]) == f"[{t.summary.number}] Re: 电话转邮件"


def test_a_subject_with_a_line_break_never_reaches_the_wire(backend, mail_settings, org,
                                                           email_ticket, relay):
    MailMessage.update(subject="打印机\r\nBcc: victim@example.org").where(
        MailMessage.message_id == CUSTOMER_MID).execute()
    reply(org, email_ticket, mail_settings)
    run_send_jobs()
    run_send_jobs()
    [row] = outbox(email_ticket.id)
    assert relay.messages == []
    assert row.status == "failed" and row.attempts == 1
    assert "header injection" in row.error and "subject" in row.error
    assert "victim" not in row.error
    assert len(failures(email_ticket.id)) == 1


def test_a_bad_mail_domain_fails_the_mail_not_the_reply(backend, mail_settings, org,
                                                        email_ticket, relay):
    bad = with_settings(mail_settings, mail_domain="not a domain")
    runtime.configure(bad)
    reply(org, email_ticket, bad)
    run_send_jobs()
    [row] = outbox(email_ticket.id)
    assert row.status == "failed" and "domain" in row.error
    assert relay.messages == []


def test_without_a_mailbox_the_reply_waits_with_the_reason(backend, mail_settings, org,
                                                           relay):
    c = customers.create_customer(org.agent, "赵六", contacts=[
        {"kind": "email", "value": "a@example.com"}])
    t = ticket(mail_settings, org.agent, "无邮箱", channel="email", customer_id=c.id)
    reply(org, t.summary, mail_settings)
    run_send_jobs()
    [row] = outbox(t.summary.id)
    assert (row.status, row.error) == ("queued", mail_outbound.NO_MAILBOX)
    assert relay.messages == []


def test_backoff_doubles_from_one_minute_up_to_an_hour():
    assert [mail_outbound.backoff(n).total_seconds() / 60 for n in range(1, 9)] == \
        [1, 2, 4, 8, 16, 32, 60, 60]


def test_the_eighth_temporary_failure_gives_up(backend, mail_settings, org, email_ticket,
                                               relay):
    relay.answer = "421 4.7.0 busy"
    reply(org, email_ticket, mail_settings)
    [row] = outbox(email_ticket.id)
    for _ in range(mail_outbound.MAX_ATTEMPTS):
        MailMessage.update(next_attempt_at=utcnow() - dt.timedelta(seconds=1)).where(
            MailMessage.id == row.id).execute()
        mail_outbound.send_mail(row.id)
    row = MailMessage.get_by_id(row.id)
    assert (row.status, row.attempts) == ("failed", mail_outbound.MAX_ATTEMPTS)
    assert [e.after["status"] for e in failures(email_ticket.id)] == ["queued", "failed"]


# -- the SMTP adapter on its own -------------------------------------------------------------

def _message(to="a@example.com"):
    from appliance.mail.compose import compose_reply
    return compose_reply(sender="help@example.com", to=[to], subject="测试",
                         ticket_number="GD-2026-000001", domain="example.com", text="hi")


def _smtp_settings(port: int, security: str, **kw):
    return types.SimpleNamespace(smtp_url=f"smtp://127.0.0.1:{port}", smtp_security=security,
                                 smtp_username="", smtp_password="", mail_domain="example.com",
                                 **kw)


def test_a_refused_connection_is_a_temporary_error():
    with pytest.raises(MailSendError) as err:
        SmtpMailer(_smtp_settings(free_port(), "none")).send(_message())
    assert err.value.transient


def test_starttls_is_required_when_configured(relay):
    with pytest.raises(MailSendError) as err:
        SmtpMailer(_smtp_settings(relay.port, "starttls")).send(_message())
    assert not err.value.transient and "STARTTLS" in str(err.value)
    assert relay.messages == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (needed for a test certificate)")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


def _server_context(certificate) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*certificate)
    return ctx


@pytest.fixture
def tls_relay(certificate):
    with running_relay(tls_context=_server_context(certificate),
                       require_starttls=True) as handler:
        yield handler


def test_implicit_tls_delivers(certificate):
    client_ctx = ssl.create_default_context(cafile=str(certificate[0]))
    with running_relay(ssl_context=_server_context(certificate)) as relay:
        SmtpMailer(_smtp_settings(relay.port, "tls"), ssl_context=client_ctx).send(_message())
        assert [m.rcpt_tos for m in relay.messages] == [["a@example.com"]]


def test_starttls_delivers_with_a_trusted_certificate(certificate, tls_relay):
    client_ctx = ssl.create_default_context(cafile=str(certificate[0]))
    SmtpMailer(_smtp_settings(tls_relay.port, "starttls"), ssl_context=client_ctx).send(
        _message())
    [got] = tls_relay.messages
    assert got.rcpt_tos == ["a@example.com"]


def test_starttls_refuses_an_untrusted_certificate(tls_relay):
    with pytest.raises(MailSendError) as err:
        SmtpMailer(_smtp_settings(tls_relay.port, "starttls")).send(_message())
    assert not err.value.transient and "certificate" in str(err.value)
    assert tls_relay.messages == []


def test_a_relay_requiring_starttls_refuses_plain_text(tls_relay):
    with pytest.raises(MailSendError) as err:
        SmtpMailer(_smtp_settings(tls_relay.port, "none")).send(_message())
    assert not err.value.transient  # 530 must issue STARTTLS first
