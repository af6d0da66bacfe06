"""Fetching mailboxes from a real Dovecot on loopback, exactly once, on both databases."""
from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from appliance.models import Job, Mailbox, MailMessage, Ticket, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import mail_fetch, mailboxes
from tests.conftest import with_settings
from tests.factories import make_org
from tests.imap_server import running_dovecot

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mail_corpus"
SUPPORT = "support@gongdan.example"
# Distinct senders and Message-IDs, each a new ticket; one without a Message-ID.
MESSAGES = ["apple_mail_flowed.eml", "android_huawei_footer.eml", "foxmail_gbk_reply.eml",
            "netease_163_alternative.eml", "missing_message_id.eml"]


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory):
    with running_dovecot(tmp_path_factory.mktemp("dovecot")) as server:
        yield server


@pytest.fixture(scope="module")
def dovecot_tls(tmp_path_factory):
    with running_dovecot(tmp_path_factory.mktemp("dovecot-tls"), tls=True) as server:
        yield server


def corpus(*names: str) -> list[bytes]:
    return [(CORPUS / n).read_bytes() for n in names or MESSAGES]


@pytest.fixture
def box(settings, dovecot):
    """A mailbox fetched from its own fresh folder on the plain (loopback) listener."""
    make_org()
    view = mailboxes.add_mailbox(SYSTEM, SUPPORT, department_code="AS", name="Support")
    folder = "t" + uuid.uuid4().hex[:12]
    dovecot.create(folder)
    mailboxes.configure_imap(SYSTEM, view.id, "127.0.0.1", dovecot.port, "none", dovecot.user,
                             dovecot.password, folder, True, settings=settings)
    return type("Box", (), {"id": view.id, "folder": folder})


def email_tickets() -> int:
    return Ticket.select().where(Ticket.channel == "email").count()


def test_appended_messages_become_tickets_once_and_are_marked_seen(backend, settings, dovecot,
                                                                    box):
    dovecot.append(box.folder, *corpus())
    result = mail_fetch.fetch_mailbox(box.id, settings)
    assert (result.status, dict(result.statuses), result.more) == (
        "done", {"created": len(MESSAGES)}, False)
    assert email_tickets() == len(MESSAGES)
    mailbox = Mailbox.get_by_id(box.id)
    assert (mailbox.last_uid, mailbox.last_error, mailbox.fetch_lease_until) == (
        len(MESSAGES), "", None)
    assert all("\\Seen" in f for f in dovecot.flags(box.folder).values())

    again = mail_fetch.fetch_mailbox(box.id, settings)
    assert (again.status, dict(again.statuses)) == ("done", {})
    assert email_tickets() == len(MESSAGES)


def test_a_run_takes_at_most_the_limit_and_says_more_is_waiting(backend, settings, dovecot,
                                                                box):
    dovecot.append(box.folder, *corpus())
    first = mail_fetch.fetch_mailbox(box.id, settings, limit=2)
    assert (sum(first.statuses.values()), first.more) == (2, True)
    rest = mail_fetch.fetch_mailbox(box.id, settings, limit=200)
    assert (sum(rest.statuses.values()), rest.more) == (len(MESSAGES) - 2, False)
    assert email_tickets() == len(MESSAGES)


def test_a_crash_between_intake_and_last_uid_creates_no_duplicate(backend, settings, dovecot,
                                                                  box, monkeypatch):
    dovecot.append(box.folder, *corpus())
    real, calls = mail_fetch._advance, []

    def crash_on_third(mailbox_id, uid):
        calls.append(uid)
        if len(calls) == 3:
            raise RuntimeError("power cut")
        real(mailbox_id, uid)
    monkeypatch.setattr(mail_fetch, "_advance", crash_on_third)
    crashed = mail_fetch.fetch_mailbox(box.id, settings)
    assert crashed.status == "error" and crashed.transient
    assert email_tickets() == 3          # the third message committed, its UID did not
    assert Mailbox.get_by_id(box.id).last_uid == 2
    assert Mailbox.get_by_id(box.id).fetch_lease_until is None

    rerun = mail_fetch.fetch_mailbox(box.id, settings)
    assert dict(rerun.statuses) == {"duplicate": 1, "created": len(MESSAGES) - 3}
    assert email_tickets() == len(MESSAGES)

    # Losing last_uid altogether (a restore, a reset) still adds nothing.
    Mailbox.update(last_uid=0).where(Mailbox.id == box.id).execute()
    replay = mail_fetch.fetch_mailbox(box.id, settings)
    assert dict(replay.statuses) == {"duplicate": len(MESSAGES)}
    assert email_tickets() == len(MESSAGES)


def test_a_new_uidvalidity_reads_the_folder_again_without_duplicates(backend, settings,
                                                                     dovecot, box):
    dovecot.append(box.folder, *corpus())
    mail_fetch.fetch_mailbox(box.id, settings)
    before = Mailbox.get_by_id(box.id).uidvalidity
    dovecot.delete(box.folder)
    dovecot.create(box.folder)
    dovecot.append(box.folder, *corpus(), corpus("gmail_en_reply.eml")[0])

    result = mail_fetch.fetch_mailbox(box.id, settings)
    assert dict(result.statuses) == {"duplicate": len(MESSAGES), "created": 1}
    mailbox = Mailbox.get_by_id(box.id)
    assert mailbox.uidvalidity != before and mailbox.last_uid == len(MESSAGES) + 1
    assert "UIDVALIDITY changed" in mailbox.last_error
    assert email_tickets() == len(MESSAGES) + 1


def test_an_oversized_message_is_flagged_and_left_without_a_ticket(backend, settings, dovecot,
                                                                   box):
    small = with_settings(settings, mail_max_bytes=20_000)
    big = corpus("long_references_100kb.eml")[0]
    assert len(big) > 20_000
    dovecot.append(box.folder, big, corpus("apple_mail_flowed.eml")[0])
    result = mail_fetch.fetch_mailbox(box.id, small)
    assert (result.oversized, dict(result.statuses)) == (1, {"created": 1})
    assert email_tickets() == 1
    rejected = MailMessage.get(MailMessage.status == "rejected")
    assert "limit 20000" in rejected.error and rejected.ticket_id is None
    flags = dovecot.flags(box.folder)
    assert "\\Flagged" in flags[1] and "\\Seen" not in flags[1]
    assert "\\Seen" in flags[2]

    Mailbox.update(last_uid=0).where(Mailbox.id == box.id).execute()
    mail_fetch.fetch_mailbox(box.id, small)
    assert MailMessage.select().where(MailMessage.status == "rejected").count() == 1


def test_a_wrong_password_is_a_permanent_error_retried_only_rarely(backend, settings, dovecot,
                                                                   box):
    mailboxes.configure_imap(SYSTEM, box.id, "127.0.0.1", dovecot.port, "none", dovecot.user,
                             "not-the-password", box.folder, True, settings=settings)
    result = mail_fetch.fetch_mailbox(box.id, settings)
    assert (result.status, result.transient) == ("error", False)
    mailbox = Mailbox.get_by_id(box.id)
    assert mailbox.last_error.startswith("permanent: login")
    assert dovecot.user not in mailbox.last_error
    assert mail_fetch.schedule_due() == 0
    assert mail_fetch.schedule_due(now=utcnow() + dt.timedelta(minutes=16)) == 1


def test_an_unreachable_server_is_a_transient_error(backend, settings, box):
    Mailbox.update(imap_port=1).where(Mailbox.id == box.id).execute()
    result = mail_fetch.fetch_mailbox(box.id, settings)
    assert (result.status, result.transient) == ("error", True)
    assert Mailbox.get_by_id(box.id).last_error.startswith("transient: connect")
    assert mail_fetch.schedule_due() == 1


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_a_trusted_certificate_works_and_an_untrusted_one_is_refused(
        backend, settings, dovecot_tls, box, security):
    port = dovecot_tls.port if security == "starttls" else dovecot_tls.tls_port
    dovecot_tls.create(box.folder)
    dovecot_tls.append(box.folder, *corpus("apple_mail_flowed.eml"))
    mailboxes.configure_imap(SYSTEM, box.id, "127.0.0.1", port, security, dovecot_tls.user,
                             dovecot_tls.password, box.folder, True, settings=settings)
    refused = mail_fetch.fetch_mailbox(box.id, settings)   # the system's CAs only
    assert (refused.status, refused.transient) == ("error", False)
    assert "certificate not trusted" in refused.error
    result = mail_fetch.fetch_mailbox(box.id, settings, ssl_context=dovecot_tls.ssl_context())
    assert (result.status, dict(result.statuses)) == ("done", {"created": 1})


def test_a_second_run_while_one_holds_the_lease_does_nothing(backend, settings, dovecot, box):
    dovecot.append(box.folder, *corpus())
    Mailbox.update(fetch_lease_until=utcnow() + dt.timedelta(minutes=1)).where(
        Mailbox.id == box.id).execute()
    assert mail_fetch.fetch_mailbox(box.id, settings).status == "busy"
    assert email_tickets() == 0
    Mailbox.update(fetch_lease_until=utcnow() - dt.timedelta(seconds=1)).where(
        Mailbox.id == box.id).execute()   # an expired lease: its holder died
    assert mail_fetch.fetch_mailbox(box.id, settings).status == "done"
    assert email_tickets() == len(MESSAGES)


def test_enabled_mailboxes_get_one_fetch_job_each_run_by_the_worker(backend, settings, dovecot,
                                                                    box):
    dovecot.append(box.folder, *corpus("apple_mail_flowed.eml"))
    assert mail_fetch.schedule_due() == 1
    assert mail_fetch.schedule_due() == 0      # one unfinished job is enough
    from appliance import jobs
    jobs.run_job(Job.get(Job.name == "fetch_mailbox").id)
    assert email_tickets() == 1
    Mailbox.update(fetch_enabled=False).where(Mailbox.id == box.id).execute()
    assert mail_fetch.schedule_due() == 0
    assert mail_fetch.fetch_mailbox(box.id, settings).status == "disabled"


def test_a_message_whose_intake_keeps_failing_is_given_up_after_three_runs(
        backend, settings, dovecot, box, monkeypatch):
    bad, good = corpus("apple_mail_flowed.eml", "android_huawei_footer.eml")
    dovecot.append(box.folder, bad, good)
    real = mail_fetch.mail_intake.ingest

    def ingest(raw, *args, **kw):
        if raw == bad:
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        return real(raw, *args, **kw)
    monkeypatch.setattr(mail_fetch.mail_intake, "ingest", ingest)
    key = f"imapfail:{box.id}:"
    for attempt in (1, 2):
        result = mail_fetch.fetch_mailbox(box.id, settings)
        assert (result.status, result.transient) == ("error", True)
        assert Mailbox.get_by_id(box.id).last_uid == 0 and email_tickets() == 0
        row = MailMessage.get(MailMessage.dedupe_key.startswith(key))
        assert (row.status, row.attempts) == ("failed", attempt)

    result = mail_fetch.fetch_mailbox(box.id, settings)
    assert (result.status, dict(result.statuses)) == ("done", {"failed": 1, "created": 1})
    assert Mailbox.get_by_id(box.id).last_uid == 2 and email_tickets() == 1
    row = MailMessage.get(MailMessage.dedupe_key.startswith(key))
    assert (row.direction, row.status, row.attempts, row.ticket_id) == ("in", "failed", 3, None)
    assert "ValueError" in row.error and "UID 1" in row.error and "@" not in row.error
    flags = dovecot.flags(box.folder)
    assert "\\Flagged" in flags[1] and "\\Seen" not in flags[1] and "\\Seen" in flags[2]
    again = mail_fetch.fetch_mailbox(box.id, settings)
    assert (again.status, dict(again.statuses)) == ("done", {})


def test_a_message_that_fails_once_and_then_goes_in_leaves_no_failure_behind(
        backend, settings, dovecot, box, monkeypatch):
    dovecot.append(box.folder, *corpus("apple_mail_flowed.eml"))
    real, calls = mail_fetch.mail_intake.ingest, []

    def flaky(*args, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return real(*args, **kw)
    monkeypatch.setattr(mail_fetch.mail_intake, "ingest", flaky)
    assert mail_fetch.fetch_mailbox(box.id, settings).status == "error"
    assert MailMessage.select().where(MailMessage.status == "failed").count() == 1
    assert dict(mail_fetch.fetch_mailbox(box.id, settings).statuses) == {"created": 1}
    assert MailMessage.select().where(MailMessage.status == "failed").count() == 0


def test_a_database_outage_is_not_counted_against_the_message(backend, settings, dovecot, box,
                                                               monkeypatch):
    from peewee import OperationalError
    dovecot.append(box.folder, *corpus("apple_mail_flowed.eml"))

    def down(*args, **kw):
        raise OperationalError("database is locked")
    monkeypatch.setattr(mail_fetch.mail_intake, "ingest", down)
    for _ in range(4):
        assert mail_fetch.fetch_mailbox(box.id, settings).status == "error"
    assert Mailbox.get_by_id(box.id).last_uid == 0
    assert not MailMessage.select().where(MailMessage.status == "failed").exists()


def test_a_refused_store_neither_stops_the_run_nor_takes_mail_in_twice(
        backend, settings, dovecot, box, monkeypatch):
    small = with_settings(settings, mail_max_bytes=20_000)
    dovecot.append(box.folder, *corpus("long_references_100kb.eml"), *corpus())

    def read_only(self, uid, flag):
        raise mail_fetch.MailFetchError("store: NO [READ-ONLY] mailbox is read-only",
                                        transient=True)
    monkeypatch.setattr(mail_fetch.ImapSession, "flag", read_only)
    result = mail_fetch.fetch_mailbox(box.id, small)
    assert (result.status, dict(result.statuses), result.oversized) == (
        "done", {"created": len(MESSAGES)}, 1)
    mailbox = Mailbox.get_by_id(box.id)
    assert (mailbox.last_uid, mailbox.last_error) == (len(MESSAGES) + 1, "")
    again = mail_fetch.fetch_mailbox(box.id, small)
    assert (again.status, dict(again.statuses), again.oversized) == ("done", {}, 0)
    assert email_tickets() == len(MESSAGES)


def test_a_message_expunged_after_the_search_is_skipped_and_not_marked_seen(
        backend, settings, dovecot, box, monkeypatch):
    dovecot.append(box.folder, *corpus("apple_mail_flowed.eml", "android_huawei_footer.eml"))
    real_new_mail = mail_fetch.ImapSession.new_mail

    def new_mail_then_expunge(self, last_uid, limit):
        new = real_new_mail(self, last_uid, limit)
        with dovecot.client() as c:   # another client deletes the first one meanwhile
            c.select(box.folder)
            c.uid("STORE", "1", "+FLAGS.SILENT", "(\\Deleted)")
            c.expunge()
        return new
    monkeypatch.setattr(mail_fetch.ImapSession, "new_mail", new_mail_then_expunge)
    result = mail_fetch.fetch_mailbox(box.id, settings)
    assert (result.status, dict(result.statuses)) == ("done", {"created": 1})
    assert Mailbox.get_by_id(box.id).last_uid == 2
    assert list(dovecot.flags(box.folder)) == [2]

    # A message reported missing is never marked \Seen, whatever the reason.
    dovecot.append(box.folder, *corpus("foxmail_gbk_reply.eml"))
    monkeypatch.setattr(mail_fetch.ImapSession, "fetch", lambda self, uid: None)
    assert mail_fetch.fetch_mailbox(box.id, settings).status == "done"
    assert "\\Seen" not in dovecot.flags(box.folder)[3]


class _FakeConn:
    """Canned replies for ImapSession.fetch, as imaplib would return them."""

    def __init__(self, fetch_data, search_data=(b"",)):
        self.fetch_data, self.search_data, self.commands = fetch_data, list(search_data), []

    def uid(self, command, *args):
        self.commands.append(command)
        return "OK", list(self.fetch_data if command == "FETCH" else self.search_data)


def _session(conn):
    from appliance.mail.imap import ImapConfig, ImapSession
    session = ImapSession(ImapConfig("127.0.0.1", 143, "none", "u", "p"))
    session.conn = conn
    return session


def test_imap_fetch_accepts_the_uid_after_the_literal_and_confirms_a_missing_message():
    from appliance.mail.imap import MessageUnreadable
    after = _FakeConn([(b"1 (BODY[] {5}", b"hello"), b" UID 7)"])
    assert _session(after).fetch(7) == b"hello" and after.commands == ["FETCH"]
    only = _FakeConn([(b"1 (BODY[] {5}", b"hello"), b")"])
    assert _session(only).fetch(7) == b"hello"
    other = _FakeConn([(b"1 (UID 8 BODY[] {5}", b"other"), b")"], [b""])
    assert _session(other).fetch(7) is None and other.commands == ["FETCH", "SEARCH"]
    still_there = _FakeConn([b"1 (UID 7 FLAGS ())"], [b"7"])
    with pytest.raises(MessageUnreadable):
        _session(still_there).fetch(7)
