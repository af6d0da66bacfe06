"""The "we received your request" confirmation, through a real SMTP relay on loopback
(aiosmtpd), on SQLite and PostgreSQL: sent once for a new ticket, in the customer's
language, threaded and tagged; never to automatic mail, our own or no-reply addresses,
and at most NOTICE_LIMIT per address per hour."""
from __future__ import annotations

from email.message import EmailMessage

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd (the test extras) is not installed")

from appliance import jobs  # noqa: E402
from appliance.jobs import unit_of_work  # noqa: E402
from appliance.models import Job, Mailbox, MailMessage, Ticket, User  # noqa: E402
from appliance.rules.access import SYSTEM  # noqa: E402
from appliance.services import customers, mail_addresses, mail_intake, mail_notify, mailboxes  # noqa: E402
from tests.conftest import with_settings  # noqa: E402
from tests.factories import make_org, ticket  # noqa: E402
from tests.smtp_relay import relay, relay_settings  # noqa: E402,F401

SUPPORT = "support@gongdan.example"
SENDER = "xiaoming@customer.example"


@pytest.fixture
def site(settings, relay):
    s = relay_settings(settings, relay)
    o = make_org()
    mailboxes.add_mailbox(SYSTEM, "sales@gongdan.example", department_code="LOG", name="销售")
    mailboxes.add_mailbox(SYSTEM, SUPPORT, department_code="AS", name="售后支持")
    return s, o


def mail(subject="打印机无法打印", body="打印机一直卡纸，怎么办？", *, sender=f"王小明 <{SENDER}>",
         message_id="<m1@customer.example>", in_reply_to=None, headers=()) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, SUPPORT, subject
    msg["Date"] = "Mon, 03 Mar 2025 10:15:00 +0800"
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    for name, value in headers:
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def run_send_jobs() -> int:
    return sum(jobs.run_job(j.id) for j in list(
        Job.select(Job.id).where((Job.name == "send_mail") & Job.done_at.is_null()).order_by(Job.id)))


def shown(msg) -> str:
    """What the recipient reads: the decoded subject and every text part."""
    return str(msg["Subject"]) + "".join(
        part.get_content() for part in msg.walk() if part.get_content_maintype() == "text")


def notices() -> list[MailMessage]:
    return list(MailMessage.select().where((MailMessage.direction == "out")
                                           & (MailMessage.comment.is_null()))
                .order_by(MailMessage.id))


def test_a_new_email_ticket_gets_one_tagged_threaded_confirmation_in_chinese(
        backend, site, relay):
    s, _ = site
    result = mail_intake.ingest(mail(), s)
    t = Ticket.get_by_id(result.ticket_id)
    [row] = notices()
    assert (row.ticket_id, row.kind, row.status, mail_addresses.recipients_of(row)) == (
        t.id, "received:zh_CN", "queued", [SENDER])
    assert run_send_jobs() == 1

    [got] = relay.messages
    msg = got.message
    assert got.rcpt_tos == [SENDER]
    # Nothing the sender wrote is mailed back, the subject included: the From may be forged.
    assert str(msg["Subject"]) == f"[{t.number}] 我们已收到您的请求"
    assert msg["From"].addresses[0].addr_spec == SUPPORT        # the mailbox it came in to
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["In-Reply-To"] == "<m1@customer.example>"
    assert msg["Message-ID"] == MailMessage.get_by_id(row.id).message_id
    text = msg.get_body(("plain",)).get_content()
    assert t.number in text and "我们已收到您的请求" in text
    assert "打印机一直卡纸" not in shown(msg) and "打印机无法打印" not in shown(msg)
    assert t.number in msg.get_body(("html",)).get_content()
    assert MailMessage.get_by_id(row.id).status == "sent"

    # The customer answers the confirmation: threaded by its Message-ID, no new notice.
    again = mail_intake.ingest(mail("Re: 收到", "补充：型号 HP 1020", message_id="<m2@customer.example>",
                                    in_reply_to=msg["Message-ID"]), s)
    assert (again.status, again.ticket_id) == ("appended", t.id)
    assert len(notices()) == 1


def test_english_mail_and_an_english_portal_customer_get_english(backend, site, relay):
    s, o = site
    result = mail_intake.ingest(mail("Printer broken", "My printer jams every time.",
                                     sender="Tom <tom@customer.example>"), s)
    [row] = notices()
    assert row.kind == "received:en"
    run_send_jobs()
    assert str(relay.messages[0].message["Subject"]).endswith("] We received your request")
    assert Ticket.get_by_id(result.ticket_id).number in str(relay.messages[0].message["Subject"])

    # 张三 writes Chinese, but chose English in the portal.
    User.update(locale="en").where(User.username == "zhangsan").execute()
    with unit_of_work():
        t = ticket(s, o.customer, "发票开错了", channel="web", department_id=o.after_sales)
        row_id = mail_notify.queue_ticket_notice(t.summary.id, "received", s)
    assert MailMessage.get_by_id(row_id).kind == "received:en"
    assert mail_addresses.recipients_of(MailMessage.get_by_id(row_id)) == ["zhangsan@example.com"]


def test_a_form_ticket_is_confirmed_to_the_given_address_from_its_departments_mailbox(
        backend, site, relay):
    s, o = site
    with unit_of_work():
        t = ticket(s, SYSTEM, "物流查询", channel="web", department_id=o.logistics)
        row_id = mail_notify.queue_ticket_notice(t.summary.id, "received", s,
                                                 to="Buyer@Shop.example", form_title="联系我们")
        assert mail_notify.queue_ticket_notice(t.summary.id, "received", s,
                                               to="buyer@shop.example") is None   # once
    run_send_jobs()
    [got] = relay.messages
    assert got.rcpt_tos == ["buyer@shop.example"]
    # The form's title (the organisation's wording), never the visitor's subject.
    assert str(got.message["Subject"]) == f"[{t.summary.number}] 我们已收到您的请求：联系我们"
    assert "物流查询" not in shown(got.message)
    assert got.message["From"].addresses[0].addr_spec == "sales@gongdan.example"
    assert got.message["In-Reply-To"] is None
    assert MailMessage.get_by_id(row_id).status == "sent"


@pytest.mark.parametrize("headers,sender", [
    ((("Auto-Submitted", "auto-replied"),), f"<{SENDER}>"),
    ((("Precedence", "bulk"),), f"<{SENDER}>"),
    ((("List-Id", "<users.lists.example>"),), f"<{SENDER}>"),
    ((("X-Auto-Response-Suppress", "All"),), f"<{SENDER}>"),
    ((), "<noreply@customer.example>"),
    ((), "<MAILER-DAEMON@customer.example>"),
])
def test_automatic_mail_and_no_reply_senders_get_no_confirmation(backend, site, headers,
                                                                 sender):
    s, _ = site
    mail_intake.ingest(mail(headers=headers, sender=sender), s)
    assert notices() == []


def test_a_reply_on_an_existing_ticket_and_our_own_address_get_none(backend, site):
    s, o = site
    first = mail_intake.ingest(mail(), s)
    assert len(notices()) == 1
    mail_intake.ingest(mail("Re: 打印机无法打印", "还是不行", message_id="<m2@customer.example>",
                            in_reply_to="<m1@customer.example>"), s)
    assert len(notices()) == 1
    with unit_of_work():
        t = ticket(s, o.agent, "内部测试", channel="web", department_id=o.after_sales)
        assert mail_notify.queue_ticket_notice(t.summary.id, "received", s,
                                               to="Support+x@gongdan.example") is None
        assert mail_notify.queue_ticket_notice(t.summary.id, "received", s,
                                               to="not an address") is None
    assert first.status == "created"


def test_one_address_gets_at_most_the_limit_per_hour(backend, site):
    s, _ = site
    for n in range(mail_notify.NOTICE_LIMIT + 2):
        result = mail_intake.ingest(mail(f"问题 {n}", message_id=f"<flood{n}@customer.example>"), s)
        assert result.status == "created"
    assert len(notices()) == mail_notify.NOTICE_LIMIT
    # Another sender is not affected.
    mail_intake.ingest(mail(sender="<other@customer.example>", message_id="<o@customer.example>"), s)
    assert len(notices()) == mail_notify.NOTICE_LIMIT + 1


def test_switched_off_or_without_any_active_mailbox_nothing_is_queued(backend, site):
    s, o = site
    mail_intake.ingest(mail(), with_settings(s, mail_acknowledge=False))
    assert notices() == []
    Mailbox.update(active=False).execute()
    with unit_of_work():
        t = ticket(s, o.agent, "无邮箱", channel="web", department_id=o.after_sales)
        assert mail_notify.queue_ticket_notice(t.summary.id, "received", s,
                                               to="buyer@shop.example") is None
    with pytest.raises(ValueError):
        mail_notify.queue_ticket_notice(t.summary.id, "closed", s)


def test_a_customer_without_an_email_address_gets_no_notice(backend, site):
    s, o = site
    c = customers.create_customer(o.agent, "无邮箱客户", contacts=[{"kind": "phone",
                                                               "value": "13800138000"}])
    with unit_of_work():
        t = ticket(s, o.agent, "电话客户", channel="web", customer_id=c.id,
                   department_id=o.after_sales)
        assert mail_notify.queue_ticket_notice(t.summary.id, "received", s) is None
