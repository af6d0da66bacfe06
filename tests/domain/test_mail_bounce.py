"""Bounces of mail Gongdan sent (through a real relay on loopback), on both databases: the
outgoing row named by the report's original Message-ID is marked failed with the Status
and Diagnostic-Code, shown on the ticket and retryable; the bounce is never a ticket."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd (the test extras) is not installed")

from appliance import jobs  # noqa: E402
from appliance.mail.dsn import read_bounce  # noqa: E402
from appliance.models import Job, MailMessage, Ticket, TimelineEvent  # noqa: E402
from appliance.services import comments, customers, mail_intake, mail_outbound  # noqa: E402
from appliance.models.mail import Mailbox  # noqa: E402
from tests.factories import make_org, ticket  # noqa: E402
from tests.smtp_relay import relay, relay_settings  # noqa: E402,F401

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mail_corpus"
CUSTOMER = "zhao.liu@example.com"


@pytest.fixture
def sent(settings, relay):
    """An agent's reply on an e-mail ticket, delivered to the relay: (settings, org, row)."""
    s = relay_settings(settings, relay)
    o = make_org()
    Mailbox.create(address="support@example.com", name="售后支持", department=o.after_sales)
    c = customers.create_customer(o.agent, "赵六", contacts=[{"kind": "email", "value": CUSTOMER}])
    t = ticket(s, o.agent, "打印机无法打印", channel="email", customer_id=c.id,
               department_id=o.after_sales)
    comments.add_comment(o.agent, t.summary.id, "请重启打印机。", s)
    for job in list(Job.select().where(Job.name == "send_mail")):
        jobs.run_job(job.id)
    row = MailMessage.get((MailMessage.direction == "out") & (MailMessage.ticket == t.summary.id))
    assert row.status == "sent" and len(relay.messages) == 1
    return s, o, row


def dsn(original_id: str, *, action="failed", status="5.1.1",
        diagnostic="smtp; 550 5.1.1 <zhao.liu@example.com>: Recipient address rejected",
        returned="headers") -> bytes:
    if returned == "headers":
        part = ("Content-Type: text/rfc822-headers\r\n\r\n"
                f"From: support@example.com\r\nTo: {CUSTOMER}\r\nMessage-ID: {original_id}\r\n"
                "Subject: [GD] Re: x\r\n")
    else:
        part = ("Content-Type: message/rfc822\r\n\r\n"
                f"From: support@example.com\r\nTo: {CUSTOMER}\r\nMessage-ID: {original_id}\r\n"
                "Subject: Re: x\r\n\r\n请重启打印机。\r\n")
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        "To: support@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.example.com>\r\nDate: Mon, 03 Mar 2025 10:15:00 +0800\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        "--r\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {CUSTOMER}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n\r\n"
        f"--r\r\n{part}--r--\r\n").encode()


@pytest.mark.parametrize("returned", ["headers", "message"])
def test_a_bounce_marks_the_sent_reply_failed_with_the_diagnostic(backend, sent, returned):
    s, o, row = sent
    tickets_before = Ticket.select().count()
    result = mail_intake.ingest(dsn(row.message_id, returned=returned), s)
    assert (result.status, result.ticket_id) == ("ignored", None)
    assert Ticket.select().count() == tickets_before
    inbound = MailMessage.get_by_id(result.mail_message_id)
    assert inbound.kind == "bounce" and f"outgoing mail {row.id}" in inbound.error

    row = MailMessage.get_by_id(row.id)
    assert row.status == "failed"
    assert row.error.startswith("bounced: 5.1.1 smtp; 550 5.1.1")
    assert TimelineEvent.select().where((TimelineEvent.ticket == row.ticket_id)
                                        & (TimelineEvent.kind == "mail_failed")).count() == 1
    [view] = mail_outbound.outbound_for_ticket(o.agent, row.ticket_id)
    assert (view.status, view.can_retry) == ("failed", True) and "5.1.1" in view.error

    # The same bounce delivered again changes nothing more.
    assert mail_intake.ingest(dsn(row.message_id, returned=returned), s).status == "duplicate"
    assert TimelineEvent.select().where(TimelineEvent.kind == "mail_failed").count() == 1


def test_a_delay_report_leaves_the_reply_sent(backend, sent):
    s, _, row = sent
    mail_intake.ingest(dsn(row.message_id, action="delayed", status="4.4.1",
                           diagnostic="smtp; 451 try later"), s)
    assert MailMessage.get_by_id(row.id).status == "sent"


def test_a_bounce_of_mail_we_did_not_send_changes_nothing(backend, sent):
    s, _, row = sent
    result = mail_intake.ingest(dsn("<someone-else@other.example>"), s)
    assert result.status == "ignored" and "outgoing mail" not in result.reason
    assert MailMessage.get_by_id(row.id).status == "sent"


def test_a_plain_text_bounce_quoting_the_headers_is_understood(backend, sent):
    s, _, row = sent
    raw = ("From: MAILER-DAEMON@old-mta.example.com\r\nTo: support@example.com\r\n"
           "Subject: failure notice\r\nMessage-ID: <q1@old-mta.example.com>\r\n\r\n"
           "Hi. This is the qmail-send program. I'm afraid I wasn't able to deliver.\r\n"
           f"<{CUSTOMER}>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n"
           "--- Below this line is a copy of the message.\r\n\r\n"
           f"From: support@example.com\r\nMessage-ID: {row.message_id}\r\n").encode()
    mail_intake.ingest(raw, s)
    row = MailMessage.get_by_id(row.id)
    assert row.status == "failed" and row.error == "bounced"


def test_read_bounce_finds_status_and_original_or_nothing():
    report = read_bounce(dsn("<abc@gongdan.example>"))
    assert report.original_message_ids == ("<abc@gongdan.example>",)
    assert (report.failed, report.status) == (True, "5.1.1")
    assert "Recipient address rejected" in report.diagnostic
    # The corpus bounce returns headers without a Message-ID: nothing to link.
    assert read_bounce((CORPUS / "dsn_bounce_multipart_report.eml").read_bytes()) is None
    assert read_bounce(b"\x00\xff garbage") is None
