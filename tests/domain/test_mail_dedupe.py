"""De-duplication of inbound mail, on both databases: the same message delivered twice
(other Received headers, a re-encoded body) is taken in once; a different message reusing
a Message-ID (broken mailers do) is not dropped; rows keyed before the fingerprint are
still recognised."""
from __future__ import annotations

import base64
import quopri
from email.header import Header

import pytest

from appliance.mail import dedupe
from appliance.mail.parse import parse_message
from appliance.models import Mailbox, MailMessage, Ticket
from appliance.rules.access import SYSTEM
from appliance.services import mail_addresses, mail_intake, mailboxes
from tests.factories import make_org

SUPPORT = "support@gongdan.example"


@pytest.fixture
def site(settings):
    make_org()
    mailboxes.add_mailbox(SYSTEM, SUPPORT, department_code="AS", name="Support")


def raw(subject="打印机无法打印", body="打印机一直卡纸，型号 HP 1020。", *, received="mx1.example.net",
        cte="8bit", message_id="<fixed-id@printer.example>", date="Mon, 03 Mar 2025 10:15:00 +0800"
        ) -> bytes:
    """One message as a relay hands it over: its own Received line, its own encoding."""
    data = body.encode("utf-8") + b"\r\n"
    encoded = {"8bit": data, "quoted-printable": quopri.encodestring(data),
               "base64": base64.encodebytes(data)}[cte]
    return (f"Received: from {received} by mx.gongdan.example; {date}\r\n"
            f"From: =?utf-8?b?546L5bCP5piO?= <xiaoming@customer.example>\r\nTo: {SUPPORT}\r\n"
            f"Subject: {Header(subject, 'utf-8').encode()}\r\nDate: {date}\r\n"
            f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
            ).encode() + encoded


def test_the_same_message_through_two_relays_is_taken_in_once(backend, settings, site):
    first = mail_intake.ingest(raw(), settings)
    assert first.status == "created"
    for received, cte in (("mx2.example.org", "quoted-printable"), ("backup.example", "base64")):
        again = mail_intake.ingest(raw(received=received, cte=cte), settings)
        assert (again.status, again.mail_message_id) == ("duplicate", first.mail_message_id)
    assert Ticket.select().count() == 1


@pytest.mark.parametrize("changes", [
    {"subject": "扫描仪也坏了", "body": "扫描仪无法开机。"},
    {"body": "打印机又卡纸了，第二次。"},
    {"date": "Tue, 04 Mar 2025 09:00:00 +0800"},
])
def test_another_message_reusing_a_message_id_is_not_dropped(backend, settings, site, changes):
    first = mail_intake.ingest(raw(), settings)
    second = mail_intake.ingest(raw(**changes), settings)
    assert (first.status, second.status) == ("created", "created")
    assert second.ticket_id != first.ticket_id
    assert MailMessage.select().where(MailMessage.message_id == "<fixed-id@printer.example>"
                                      ).count() == 2
    assert mail_intake.ingest(raw(**changes), settings).status == "duplicate"


def test_rows_stored_under_the_old_key_are_still_recognised(backend, settings, site):
    """A message received before the upgrade (key: Message-ID per mailbox) is a duplicate
    when the sender and subject match, and another message when they do not."""
    box = Mailbox.get()
    mail_addresses.create(direction="in", mailbox=box.id, message_id="<fixed-id@printer.example>",
                       dedupe_key=f"{box.id}:<fixed-id@printer.example>", status="processed",
                       from_address="xiaoming@customer.example", subject="打印机无法打印")
    assert mail_intake.ingest(raw(received="late.example"), settings).status == "duplicate"
    assert mail_intake.ingest(raw(subject="另一个问题"), settings).status == "created"


def test_the_key_fits_the_column_and_differs_only_with_the_content():
    a, b = parse_message(raw()), parse_message(raw(received="x", cte="base64"))
    assert dedupe.fingerprint(a) == dedupe.fingerprint(b)
    assert dedupe.fingerprint(a) != dedupe.fingerprint(parse_message(raw(body="别的")))
    long_id = "<" + "x" * 900 + "@example.com>"
    for key in (dedupe.dedupe_key(12345, long_id, dedupe.fingerprint(a)),
                dedupe.dedupe_key(None, "", dedupe.fingerprint(a))):
        assert len(key) <= 128
    assert dedupe.dedupe_key(1, "<a@b>", "f") != dedupe.dedupe_key(2, "<a@b>", "f")
