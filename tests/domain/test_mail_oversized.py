"""A message over the size limit in a real Dovecot (a real 60 MB one, and small ones under
a lowered limit): refused from RFC822.SIZE without downloading the body, flagged and left
in the mailbox, recorded as a rejected row without a body, and answered with the polite
"too large" notice only when its header shows normal mail from a sender under the limit."""
from __future__ import annotations

import uuid
from email.message import EmailMessage

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd (the test extras) is not installed")

from appliance import jobs  # noqa: E402
from appliance.mail.imap import ImapSession  # noqa: E402
from appliance.models import Attachment, Job, Mailbox, MailMessage, Ticket  # noqa: E402
from appliance.rules.access import SYSTEM  # noqa: E402
from appliance.services import mail_addresses, mail_fetch, mail_intake, mailboxes  # noqa: E402
from tests.conftest import with_settings  # noqa: E402
from tests.factories import make_org  # noqa: E402
from tests.imap_server import running_dovecot  # noqa: E402
from tests.smtp_relay import relay, relay_settings  # noqa: E402,F401

pytestmark = pytest.mark.slow

SUPPORT = "support@gongdan.example"
SENDER = "xiaoming@customer.example"
MB = 1024 * 1024


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory):
    with running_dovecot(tmp_path_factory.mktemp("dovecot-big")) as server:
        yield server


@pytest.fixture
def box(settings, relay, dovecot):
    s = relay_settings(settings, relay)
    make_org()
    view = mailboxes.add_mailbox(SYSTEM, SUPPORT, department_code="AS", name="售后支持")
    folder = "t" + uuid.uuid4().hex[:12]
    dovecot.create(folder)
    mailboxes.configure_imap(SYSTEM, view.id, "127.0.0.1", dovecot.port, "none", dovecot.user,
                             dovecot.password, folder, True, settings=s)
    return type("Box", (), {"id": view.id, "folder": folder, "settings": s})


def header(subject="设备故障录像", message_id="<big1@customer.example>", sender=SENDER,
           extra=()) -> bytes:
    lines = [f"From: 王小明 <{sender}>", f"To: {SUPPORT}", f"Message-ID: {message_id}",
             "Date: Mon, 03 Mar 2025 10:15:00 +0800", "MIME-Version: 1.0", *extra]
    msg = EmailMessage()
    msg["Subject"] = subject
    subject_line = msg.as_bytes().split(b"\n")[0].rstrip(b"\r")
    return ("\r\n".join(lines).encode() + b"\r\n" + subject_line + b"\r\n"
            b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n')


def big_message(size: int, **kw) -> bytes:
    """A message of about `size` bytes: a short text and a base64 "video" attachment."""
    head = header(**kw) + (b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                           b"see the video\r\n--b1\r\nContent-Type: video/mp4\r\n"
                           b'Content-Transfer-Encoding: base64\r\n'
                           b'Content-Disposition: attachment; filename="v.mp4"\r\n\r\n')
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n"
    body = line * (max(0, size - len(head)) // len(line) + 1)
    return head + body + b"--b1--\r\n"


def run_send_jobs() -> int:
    return sum(jobs.run_job(j.id) for j in list(
        Job.select(Job.id).where((Job.name == "send_mail") & Job.done_at.is_null()).order_by(Job.id)))


def refusal_notices() -> list[MailMessage]:
    return list(MailMessage.select().where((MailMessage.direction == "out")
                                           & MailMessage.kind.startswith("too_large:")))


def test_a_60_mb_message_is_refused_unread_flagged_left_and_answered_politely(
        backend, box, dovecot, relay, monkeypatch):
    s = box.settings
    assert s.mail_max_bytes < 60 * MB
    dovecot.append(box.folder, big_message(60 * MB))
    downloaded = []
    real_fetch = ImapSession.fetch
    monkeypatch.setattr(ImapSession, "fetch",
                        lambda self, uid: downloaded.append(uid) or real_fetch(self, uid))

    result = mail_fetch.fetch_mailbox(box.id, s)
    assert (result.status, result.oversized, dict(result.statuses)) == ("done", 1, {})
    assert downloaded == []                                   # the body never came over
    [row] = MailMessage.select().where(MailMessage.direction == "in")
    assert (row.status, row.kind, row.ticket_id, mail_addresses.sender_of(row), row.subject) == (
        "rejected", "normal", None, SENDER, "设备故障录像")
    assert f"limit {s.mail_max_bytes}" in row.error and "IMAP UID 1" in row.error
    assert Ticket.select().count() == 0 and Attachment.select().count() == 0
    flags = dovecot.flags(box.folder)
    assert list(flags) == [1] and "\\Flagged" in flags[1] and "\\Seen" not in flags[1]
    assert Mailbox.get_by_id(box.id).last_uid == 1

    [notice] = refusal_notices()
    assert (notice.ticket_id, mail_addresses.recipients_of(notice), notice.in_reply_to) == (
        None, [SENDER], "<big1@customer.example>")
    assert run_send_jobs() == 1
    [got] = relay.messages
    assert got.rcpt_tos == [SENDER]
    assert got.message["Auto-Submitted"] == "auto-replied"
    # The sender's subject is not repeated: the From of a refused message may be forged.
    assert str(got.message["Subject"]) == "您的邮件过大，未能受理"
    assert not [part for part in got.message.walk() if part.get_content_maintype() == "text"
                and "设备故障录像" in part.get_content()]
    assert "[GD-" not in str(got.message["Subject"])
    assert f"{s.mail_max_bytes // MB} MB" in got.message.get_body(("plain",)).get_content()
    assert got.message["From"].addresses[0].addr_spec == SUPPORT

    # Read again from the start (a reset, a new UIDVALIDITY): no second row, no second notice.
    Mailbox.update(last_uid=0).where(Mailbox.id == box.id).execute()
    again = mail_fetch.fetch_mailbox(box.id, s)
    assert (again.status, again.oversized) == ("done", 1)
    assert MailMessage.select().where(MailMessage.direction == "in").count() == 1
    assert len(refusal_notices()) == 1


@pytest.mark.parametrize("extra,sender", [
    (("Auto-Submitted: auto-generated",), SENDER),
    (("Precedence: list", "List-Id: <videos.customer.example>"), SENDER),
    (("X-Auto-Response-Suppress: All",), SENDER),
    ((), "MAILER-DAEMON@customer.example"),
    ((), SUPPORT),
])
def test_automatic_or_own_oversized_mail_gets_no_notice(backend, box, dovecot, extra, sender):
    s = with_settings(box.settings, mail_max_bytes=20_000)
    dovecot.append(box.folder, big_message(40_000, extra=extra, sender=sender))
    assert mail_fetch.fetch_mailbox(box.id, s).oversized == 1
    assert MailMessage.get(MailMessage.direction == "in").status == "rejected"
    assert refusal_notices() == []
    assert "\\Flagged" in dovecot.flags(box.folder)[1]


def test_a_sender_over_the_rate_limit_gets_no_notice(backend, box, dovecot):
    s = with_settings(box.settings, mail_max_bytes=20_000, mail_sender_limit_per_hour=2)
    dovecot.append(box.folder, *[big_message(40_000, message_id=f"<b{n}@customer.example>")
                                 for n in range(4)])
    assert mail_fetch.fetch_mailbox(box.id, s).oversized == 4
    assert MailMessage.select().where(MailMessage.status == "rejected").count() == 4
    assert len(refusal_notices()) == 2


def test_a_piped_oversized_message_is_refused_from_its_header_too(backend, box):
    s = with_settings(box.settings, mail_max_bytes=20_000)
    result = mail_intake.ingest(big_message(40_000), s)
    assert result.status == "rejected"
    row = MailMessage.get_by_id(result.mail_message_id)
    assert (mail_addresses.sender_of(row), row.mailbox_id, row.ticket_id) == (SENDER, box.id, None)
    assert len(refusal_notices()) == 1
    assert mail_intake.ingest(big_message(40_000), s).status == "duplicate"
    assert len(refusal_notices()) == 1
    assert Attachment.select().count() == 0 and Ticket.select().count() == 0
