"""Inbound e-mail intake: tickets, replies, loops, duplicates and failures, on both databases."""
from __future__ import annotations

import datetime as dt
import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from appliance.errors import PermissionDenied, ValidationError
from appliance.mail import dedupe
from appliance.models import (Attachment, Comment, Customer, Mailbox, MailMessage,
                              Ticket, TicketLink, utcnow)
from appliance.rules.access import SYSTEM
from appliance.services import (contacts, customer_names, mail_addresses, mail_intake, mailboxes,
                                tickets)
from tests.conftest import with_settings
from tests.factories import make_org

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mail_corpus"
SUPPORT = "support@gongdan.example"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4a80000000049454e44ae426082")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def site(settings):
    o = make_org()
    mailboxes.add_mailbox(SYSTEM, SUPPORT.upper(), department_code="AS", name="Support")
    return o


def mail(subject="打印机无法打印", body="打印机一直卡纸。", *, sender="王小明 <xiaoming@customer.example>",
         message_id="<m1@customer.example>", in_reply_to=None, headers=(), files=()) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, SUPPORT, subject
    msg["Date"] = "Mon, 03 Mar 2025 10:15:00 +0800"
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    for name, value in headers:
        msg[name] = value
    msg.set_content(body)
    for filename, maintype, subtype, data in files:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def stored_files(settings) -> list[Path]:
    root = Path(settings.attachment_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_every_corpus_message_is_taken_in_or_set_aside_with_a_reason(backend, settings, site):
    names = sorted(json.loads((CORPUS / "expected.json").read_text(encoding="utf-8")))
    for name in names:
        result = mail_intake.ingest((CORPUS / name).read_bytes(), settings)
        if result.status == "ignored":
            assert result.reason and result.ticket_id is None, name
        else:
            assert result.status in ("created", "appended"), (name, result)
            assert Ticket.get_by_id(result.ticket_id).channel == "email", name
    assert MailMessage.select().where(MailMessage.direction == "in").count() == len(names)


def test_a_new_message_makes_an_email_ticket_for_a_new_customer(backend, settings, site):
    raw = mail(body="打印机一直卡纸。\n\n> 旧的引用\n",
               files=[("screen.png", "image", "png", PNG), ("invoice.pdf", "application", "pdf", PDF)])
    result = mail_intake.ingest(raw, settings)
    assert result.status == "created"
    t = Ticket.get_by_id(result.ticket_id)
    assert (t.channel, t.subject, t.department_id) == ("email", "打印机无法打印", site.after_sales)
    assert t.description == "打印机一直卡纸。"
    assert customer_names.name_by_id(t.customer_id) == "王小明"
    contact, = contacts.of_customer(t.customer_id)
    assert (contact.kind, contact.value) == ("email", "xiaoming@customer.example")
    atts = {a.filename: a.internal for a in Attachment.select().where(Attachment.ticket == t.id)}
    assert atts == {"screen.png": False, "invoice.pdf": False, "original.eml": True}
    assert len(stored_files(settings)) == 3
    row = MailMessage.get_by_id(result.mail_message_id)
    assert (row.status, row.ticket_id, row.message_id) == ("processed", t.id, "<m1@customer.example>")


def test_a_second_message_from_the_same_address_reuses_the_customer(backend, settings, site):
    first = mail_intake.ingest(mail(), settings)
    second = mail_intake.ingest(mail(subject="另一个问题", message_id="<m2@customer.example>",
                                     sender="XiaoMing@Customer.Example"), settings)
    assert second.status == "created" and second.ticket_id != first.ticket_id
    assert Ticket.get_by_id(second.ticket_id).customer_id == Ticket.get_by_id(first.ticket_id).customer_id
    assert Customer.select().count() == 2 + 1   # the two portal customers and 王小明


def test_a_known_contact_files_under_the_existing_customer(backend, settings, site):
    result = mail_intake.ingest(mail(sender="zhangsan@example.com"), settings)
    assert Ticket.get_by_id(result.ticket_id).customer_id == site.customer.customer_id


def test_a_reply_to_a_message_we_received_threads_onto_the_ticket(backend, settings, site):
    first = mail_intake.ingest(mail(), settings)
    reply = mail_intake.ingest(mail(subject="Re: 打印机无法打印", body="还是不行。\n\n> 打印机一直卡纸。",
                                    message_id="<m2@customer.example>",
                                    in_reply_to="<m1@customer.example>"), settings)
    assert (reply.status, reply.ticket_id) == ("appended", first.ticket_id)
    c = Comment.get_by_id(reply.comment_id)
    assert (c.author_kind, c.author_id, c.channel, c.body) == ("customer", None, "email", "还是不行。")
    assert Ticket.select().count() == 1


def test_a_reply_from_another_address_opens_a_related_ticket_instead_of_speaking_for_the_customer(
        backend, settings, site):
    first = mail_intake.ingest(mail(), settings)
    reply = mail_intake.ingest(mail(sender="colleague@customer.example", message_id="<c1@x.example>",
                                    in_reply_to="<m1@customer.example>"), settings)
    assert reply.status == "created" and reply.ticket_id != first.ticket_id
    assert mail_addresses.sender_of(MailMessage.get_by_id(reply.mail_message_id)) == \
        "colleague@customer.example"
    assert not Comment.select().where(Comment.ticket == first.ticket_id).exists()
    assert TicketLink.select().where((TicketLink.source == first.ticket_id)
                                     & (TicketLink.target == reply.ticket_id)).exists()
    assert "Related to " + Ticket.get_by_id(first.ticket_id).number in \
        Ticket.get_by_id(reply.ticket_id).description


def test_a_stranger_guessing_the_ticket_number_cannot_write_into_anothers_ticket(
        backend, settings, site):
    first = mail_intake.ingest(mail(), settings)
    number = Ticket.get_by_id(first.ticket_id).number
    forged = mail_intake.ingest(mail(subject=f"Re: [{number}] hi", sender="evil@attacker.example",
                                     message_id="<e1@attacker.example>"), settings)
    assert forged.ticket_id != first.ticket_id
    assert not Comment.select().where(Comment.ticket == first.ticket_id).exists()
    # The customer's own reply still threads.
    own = mail_intake.ingest(mail(subject=f"Re: [{number}] 打印机无法打印",
                                  message_id="<m9@customer.example>"), settings)
    assert (own.status, own.ticket_id) == ("appended", first.ticket_id)


def test_the_ticket_number_in_the_subject_threads(backend, settings, site):
    first = mail_intake.ingest(mail(), settings)
    number = Ticket.get_by_id(first.ticket_id).number
    reply = mail_intake.ingest(mail(subject=f"Re: [{number}] 打印机无法打印",
                                    message_id="<m2@customer.example>"), settings)
    assert (reply.status, reply.ticket_id) == ("appended", first.ticket_id)


def test_the_same_subject_without_a_number_makes_a_new_ticket(backend, settings, site):
    first = mail_intake.ingest(mail(), settings)
    again = mail_intake.ingest(mail(subject="Re: 打印机无法打印", message_id="<m2@customer.example>"),
                               settings)
    assert again.status == "created" and again.ticket_id != first.ticket_id


def _closed_ticket(settings) -> int:
    first = mail_intake.ingest(mail(), settings)
    tickets.transition_ticket(SYSTEM, first.ticket_id, "closed", settings)
    return first.ticket_id


def test_a_reply_to_a_closed_ticket_within_the_window_reopens_it(backend, settings, site):
    ticket_id = _closed_ticket(settings)
    reply = mail_intake.ingest(mail(message_id="<m2@customer.example>",
                                    in_reply_to="<m1@customer.example>"), settings,
                               now=utcnow() + dt.timedelta(days=1))
    assert (reply.status, reply.ticket_id) == ("reopened", ticket_id)
    assert Ticket.get_by_id(ticket_id).status == "open"


def test_a_reply_to_a_closed_ticket_after_the_window_makes_a_linked_follow_up(
        backend, settings, site):
    ticket_id = _closed_ticket(settings)
    reply = mail_intake.ingest(mail(message_id="<m2@customer.example>",
                                    in_reply_to="<m1@customer.example>"), settings,
                               now=utcnow() + dt.timedelta(days=settings.reopen_window_days + 1))
    assert reply.status == "follow_up" and reply.ticket_id != ticket_id
    old, new = Ticket.get_by_id(ticket_id), Ticket.get_by_id(reply.ticket_id)
    assert old.status == "closed" and old.number in new.description
    assert TicketLink.get((TicketLink.source == ticket_id) & (TicketLink.target == new.id)).kind == "related"


def test_the_same_message_twice_makes_one_ticket(backend, settings, site):
    raw = mail(files=[("screen.png", "image", "png", PNG)])
    first = mail_intake.ingest(raw, settings)
    again = mail_intake.ingest(raw, settings)
    assert again.status == "duplicate"
    assert (again.ticket_id, again.mail_message_id) == (first.ticket_id, first.mail_message_id)
    assert Ticket.select().count() == 1 and len(stored_files(settings)) == 2


def test_a_message_without_message_id_twice_makes_one_ticket(backend, settings, site):
    raw = mail(message_id=None)
    first = mail_intake.ingest(raw, settings)
    again = mail_intake.ingest(raw, settings)
    assert first.status == "created" and again.status == "duplicate"
    assert Ticket.select().count() == 1
    assert MailMessage.get_by_id(first.mail_message_id).dedupe_key.startswith("fp:")


def test_nul_and_other_controls_in_ids_and_addresses_do_not_stop_storing(backend, settings,
                                                                         site):
    # On PostgreSQL a NUL in any stored string made psycopg2 refuse the whole message.
    raw = (b"From: Wang <wang\x00x@customer.example>\r\nTo: support@gongdan.example\r\n"
           b"Subject: printer\r\nMessage-ID: <m\x00nul@customer.example>\r\n"
           b"In-Reply-To: <r\x00@x.example>\r\nReferences: <a\x7f@x.example> <ok@x.example>\r\n"
           b"\r\nThe printer jams.\r\n")
    first = mail_intake.ingest(raw, settings)
    assert first.status in ("created", "ignored"), first
    row = MailMessage.get_by_id(first.mail_message_id)
    stored = [row.message_id, mail_addresses.sender_of(row), row.in_reply_to, *row.references, row.dedupe_key]
    assert not any("\x00" in v or "\x7f" in v for v in stored)
    assert row.references == ["<ok@x.example>"]
    assert mail_intake.ingest(raw, settings).status == "duplicate"


def test_a_message_over_the_size_limit_is_rejected_and_nothing_is_stored(backend, settings, site):
    small = with_settings(settings, mail_max_bytes=2000)
    result = mail_intake.ingest(mail(body="x" * 5000), small)
    assert result.status == "rejected" and "limit 2000" in result.reason
    assert Ticket.select().count() == 0 and Customer.select().count() == 2
    assert stored_files(settings) == []
    assert MailMessage.get_by_id(result.mail_message_id).status == "rejected"


@pytest.mark.parametrize("kind, headers, sender", [
    ("auto_reply", [("Auto-Submitted", "auto-replied")], "xiaoming@customer.example"),
    ("bounce", [("X-Failed-Recipients", "someone@customer.example")],
     "MAILER-DAEMON@mx.customer.example"),
    ("list", [("List-Id", "<news.customer.example>")], "news@customer.example"),
    ("own", [], "Support <support@gongdan.example>"),
])
def test_machine_mail_is_set_aside_without_a_ticket(backend, settings, site, kind, headers, sender):
    result = mail_intake.ingest(mail(headers=headers, sender=sender), settings)
    assert result.status == "ignored" and result.ticket_id is None and result.reason
    assert Ticket.select().count() == 0
    assert MailMessage.get_by_id(result.mail_message_id).kind == kind


def test_a_sender_over_the_hourly_limit_is_set_aside(backend, settings, site):
    limited = with_settings(settings, mail_sender_limit_per_hour=3)
    results = [mail_intake.ingest(mail(message_id=f"<n{i}@customer.example>"), limited)
               for i in range(4)]
    assert [r.status for r in results] == ["created"] * 3 + ["ignored"]
    assert results[-1].reason == "rate limit"
    later = mail_intake.ingest(mail(message_id="<n9@customer.example>"), limited,
                               now=utcnow() + dt.timedelta(hours=2))
    assert later.status == "created"


def test_an_attachment_of_a_forbidden_type_is_skipped_and_noted(backend, settings, site):
    result = mail_intake.ingest(mail(files=[("tool.exe", "application", "octet-stream",
                                             b"MZ\x90\x00")]), settings)
    assert result.status == "created"
    names = {a.filename for a in Attachment.select().where(Attachment.ticket == result.ticket_id)}
    assert names == {"original.eml"}
    assert "tool.exe" in MailMessage.get_by_id(result.mail_message_id).error


def test_a_failure_in_the_middle_leaves_no_ticket_no_row_and_no_files(
        backend, settings, site, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(mail_intake, "_attach_files", broken)
    with pytest.raises(RuntimeError):
        mail_intake.ingest(mail(files=[("screen.png", "image", "png", PNG)]), settings)
    assert Ticket.select().count() == 0 and MailMessage.select().count() == 0
    assert Customer.select().count() == 2
    assert stored_files(settings) == []
    monkeypatch.undo()
    assert mail_intake.ingest(mail(), settings).status == "created"  # the retry goes through


def test_mailboxes_are_validated_and_only_admins_manage_them(backend, settings, site):
    with pytest.raises(ValidationError):
        mailboxes.add_mailbox(SYSTEM, SUPPORT, department_code="AS")
    with pytest.raises(ValidationError):
        mailboxes.add_mailbox(SYSTEM, "not an address", department_code="AS")
    with pytest.raises(ValidationError):
        mailboxes.add_mailbox(SYSTEM, "sales@gongdan.example", department_code="NOPE")
    with pytest.raises(PermissionDenied):
        mailboxes.add_mailbox(site.agent, "sales@gongdan.example", department_code="AS")
    mailboxes.add_mailbox(SYSTEM, "logistics@gongdan.example", department_code="LOG")
    listed = [(m.address, m.department_code) for m in mailboxes.list_mailboxes(SYSTEM)]
    assert listed == [("logistics@gongdan.example", "LOG"), (SUPPORT, "AS")]


def test_a_concurrent_twin_that_commits_first_wins_and_this_intake_stores_nothing(
        backend, settings, site, monkeypatch):
    """The unique dedupe_key decides a race between two deliveries of one message."""
    write = mail_intake._write_files

    def twin_commits_meanwhile(raw, msg, s):
        files = write(raw, msg, s)
        MailMessage.create(direction="in", message_id="<m1@customer.example>", status="processed",
                           dedupe_key=dedupe.dedupe_key(Mailbox.get().id, "<m1@customer.example>",
                                                        dedupe.fingerprint(msg)))
        return files
    monkeypatch.setattr(mail_intake, "_write_files", twin_commits_meanwhile)
    result = mail_intake.ingest(mail(files=[("screen.png", "image", "png", PNG)]), settings)
    assert result.status == "duplicate"
    assert Ticket.select().count() == 0 and MailMessage.select().count() == 1
    assert stored_files(settings) == []


def test_files_inside_a_winmail_dat_become_ticket_attachments(backend, settings, site):
    result = mail_intake.ingest((CORPUS / "tnef_winmail_dat_with_files.eml").read_bytes(), settings)
    assert result.status == "created"
    names = {a.filename: a.internal for a in Attachment.select().where(
        Attachment.ticket == result.ticket_id)}
    assert names == {"报价单 2025.pdf": False, "photo.png": False, "original.eml": True}
