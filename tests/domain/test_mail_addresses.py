"""The addresses of mail messages encrypted at rest (docs/decisions/0051): sealed to their
row, the sender found through its blind index (rate limit, sender checks), replies sent
to the decrypted address, erased with the customer, re-encrypted by key rotation, and
migration 0034 over plaintext rows."""
from __future__ import annotations

from email.message import EmailMessage

import pytest

from appliance import migrate
from appliance.db import database
from appliance.models import MailMessage, Ticket
from appliance.rules.access import SYSTEM
from appliance.services import (comments, customers, encryption, erasure, key_rotation, keys,
                                mail_addresses, mail_intake, mailboxes)
from tests.conftest import with_settings
from tests.factories import make_org
from tests.migration_helpers import database_at

SUPPORT = "support@gongdan.example"
SENDER = "xiaoming.wang@customer.example"


@pytest.fixture
def site(settings):
    o = make_org()
    mailboxes.add_mailbox(SYSTEM, SUPPORT, department_code="AS", name="Support")
    return o


def mail(message_id: str, sender: str = SENDER, cc: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"王小明 <{sender}>", SUPPORT, "打印机无法打印"
    if cc:
        msg["Cc"] = cc
    msg["Message-ID"] = message_id
    msg.set_content("打印机一直卡纸。")
    return msg.as_bytes()


def raw_table() -> str:
    return repr(database.execute_sql('SELECT * FROM "mail_message"').fetchall())


def test_addresses_are_stored_only_encrypted_and_read_back(backend, settings, site):
    result = mail_intake.ingest(mail("<a1@customer.example>", cc="boss@customer.example"),
                                settings)
    assert result.status == "created"
    comments.add_comment(site.agent, result.ticket_id, "您好，请重启打印机。", settings)
    stored = raw_table()
    for plain in (SENDER, "xiaoming", "boss@customer.example", SUPPORT):
        assert plain not in stored, plain
    [inbound] = MailMessage.select().where(MailMessage.direction == "in")
    [reply] = MailMessage.select().where(MailMessage.comment.is_null(False))
    assert mail_addresses.sender_of(inbound) == SENDER
    assert mail_addresses.recipients_of(inbound) == [SUPPORT, "boss@customer.example"]
    assert (reply.direction, mail_addresses.recipients_of(reply)) == ("out", [SENDER])
    assert "address" not in " ".join(c.name for c in database.get_columns("mail_message"))


def test_the_rate_limit_and_the_sender_check_work_on_the_blind_index(backend, settings, site):
    limited = with_settings(settings, mail_sender_limit_per_hour=2)
    results = [mail_intake.ingest(mail(f"<r{i}@customer.example>", sender=s), limited)
               for i, s in enumerate([SENDER, SENDER.upper(), SENDER, "other@customer.example"])]
    assert [r.status for r in results] == ["created", "created", "ignored", "created"]
    assert results[2].reason == "rate limit"


def test_an_address_moved_to_another_row_does_not_open(backend, settings, site):
    a = mail_intake.ingest(mail("<t1@customer.example>"), settings).mail_message_id
    b = mail_intake.ingest(mail("<t2@customer.example>", sender="zhao@customer.example"),
                           settings).mail_message_id
    stolen = MailMessage.get_by_id(a).from_enc
    MailMessage.update(from_enc=stolen).where(MailMessage.id == b).execute()
    with pytest.raises(encryption.TamperedData):
        mail_addresses.sender_of(MailMessage.get_by_id(b))


def test_erasure_clears_the_customers_mail_addresses_and_gives_up_queued_mail(
        backend, settings, site):
    first = mail_intake.ingest(mail("<e1@customer.example>"), settings)
    limited = with_settings(settings, mail_sender_limit_per_hour=1)
    over = mail_intake.ingest(mail("<e2@customer.example>"), limited)     # no ticket
    assert over.status == "ignored" and over.ticket_id is None
    comments.add_comment(site.agent, first.ticket_id, "您好", settings)   # queued reply
    other = mail_intake.ingest(mail("<e3@customer.example>", sender="zhao@customer.example"),
                               settings)
    customer_id = Ticket.get_by_id(first.ticket_id).customer_id
    customers.erase(site.admin, customer_id)
    rows = {r.id: r for r in MailMessage.select()}
    mine = [r for r in rows.values() if r.ticket_id != other.ticket_id]
    assert len([r for r in mine if r.direction == "in"]) == 2
    assert all((r.from_enc, r.from_bidx, r.to_enc) == ("", "", "") for r in mine)
    queued = [r for r in mine if r.direction == "out"]   # the reply and the receipt notice
    assert queued and {(r.status, r.error) for r in queued} == {
        ("failed", erasure.RECIPIENT_ERASED)}
    kept = rows[other.mail_message_id]
    assert mail_addresses.sender_of(kept) == "zhao@customer.example"


def test_key_rotation_moves_the_addresses_to_the_new_data_key(backend, settings, site):
    row_id = mail_intake.ingest(mail("<k1@customer.example>"), settings).mail_message_id
    before = MailMessage.get_by_id(row_id)
    key_rotation.rotate(settings, reencrypt=True, environ={}, pause=0)
    after = MailMessage.get_by_id(row_id)
    assert after.from_enc != before.from_enc and after.to_enc != before.to_enc
    assert int(after.from_enc.split(".")[1]) == keys.current_data_key()[0]
    assert mail_addresses.sender_of(after) == SENDER
    assert mail_addresses.recipients_of(after) == [SUPPORT]


def test_migration_0034_encrypts_addresses_written_before_it(backend, settings, tmp_path):
    with database_at("0033_customer_name", backend, settings, tmp_path):
        keys.activate(settings, environ={})
        p = database.param
        for sender, to in ((SENDER, f'["{SUPPORT}"]'), ("", "[]")):
            database.execute_sql(
                f'INSERT INTO "mail_message" (direction, message_id, raw_sha256, from_address,'
                f' to_addresses, subject, in_reply_to, "references", kind, status, error,'
                f' attempts, created_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p},'
                f' {p}, {p}, {p}, CURRENT_TIMESTAMP)',
                ("in", "<m@x>", "", sender, to, "s", "", "[]", "normal", "processed", "", 0))
        assert "0034_mail_addresses" in migrate.upgrade()
        columns = [c.name for c in database.get_columns("mail_message")]
        assert "from_address" not in columns and "to_addresses" not in columns
        assert SENDER not in raw_table() and SUPPORT not in raw_table()
        first, empty = MailMessage.select().order_by(MailMessage.id)
        assert mail_addresses.sender_of(first) == SENDER
        assert mail_addresses.recipients_of(first) == [SUPPORT]
        assert (empty.from_enc, empty.to_enc) == ("", "")
        assert MailMessage.select().where(mail_addresses.sent_by(SENDER.upper())).count() == 1
