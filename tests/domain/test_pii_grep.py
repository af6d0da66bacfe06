"""The grep test (SECURITY.md, Data protection): a customer's phone number and resident ID
number, in their usual spellings, appear nowhere in the raw SQLite file, its WAL, the
index directory, the queue file or the attachment store; after the customer is erased
(PIPL) neither do the encrypted values or their blind indexes. The customer's name is
never there in plaintext (encrypted, decision 0050).

SQLite only: the test reads the database's own files, which PostgreSQL does not expose
to the test (its domain behaviour, erasure included, runs in test_encryption.py and
below on both back-ends)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from appliance import jobs, tasks
from appliance.errors import PermissionDenied
from appliance.models import Callback, Conversation, Customer, CustomerContact, User, utcnow
from appliance.rules.access import SYSTEM
from appliance.rules.intake_payload import parse_call
from appliance.services import (callbacks, conversations, customers, encryption, indexing,
                                integrations, mail_intake, mailboxes)
from appliance.services.attachments import Upload
from appliance.services.tickets import TicketInput, create_ticket
from tests.factories import make_org

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"
EMAIL = "ouyang.nana@customer.example"
SPELLINGS = [EMAIL, "ouyang.nana", PHONE, "138 1234 5678", "138-1234-5678", "+8613812345678", "+86 138 1234 5678",
             "1234-5678", "1234 5678", ID_NUMBER, ID_NUMBER.lower(), "110105 19491231 002X",
             "19491231002"]


@pytest.fixture
def backend():
    return "sqlite"


def files(settings) -> list[Path]:
    """The database file and its WAL/SHM, the queue file(s), index and attachment stores."""
    db = Path(settings.database_url[len("sqlite:///"):])
    queue = Path(settings.queue_url[len("sqlite:///"):])
    out = [p for base in (db, queue) for p in base.parent.glob(base.name + "*")]
    for folder in (settings.index_dir, settings.attachment_dir):
        out += [p for p in Path(folder).rglob("*") if p.is_file()]
    return out


def found(settings, needles) -> list[tuple[str, str]]:
    hits = []
    for path in files(settings):
        data = path.read_bytes()
        hits += [(n, path.name) for n in needles if n.encode("utf-8") in data]
    return hits


def run_queue(settings) -> int:
    """Execute what the web process put on the Huey queue, as the worker would."""
    huey = tasks.get_huey(settings)
    count = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        count += 1
    return count + jobs.run_pending_inline()


def test_phone_and_id_number_are_nowhere_on_disk_before_and_after_erasure(settings):
    site = make_org()
    tasks.install_enqueuer(settings)
    c = customers.create_customer(site.admin, "欧阳娜娜", contacts=[
        {"kind": "phone", "value": "+86 138-1234-5678"},
        {"kind": "email", "value": EMAIL}], id_number=ID_NUMBER,
        address="北京市海淀区中关村大街27号")
    # Her mail: its sender and recipients are encrypted too (decision 0051).
    mailboxes.add_mailbox(SYSTEM, "support@gongdan.example", department_code="AS", name="S")
    assert mail_intake.ingest(
        f"From: =?utf-8?b?5qyn6Ziz5aic5aic?= <{EMAIL}>\r\nTo: support@gongdan.example\r\n"
        f"Subject: printer\r\nMessage-ID: <grep-1@customer.example>\r\n\r\nIt jams.\r\n"
        .encode(), settings).status == "created"
    t = create_ticket(site.agent, TicketInput(
        subject="洗衣机漏水 marker-subject", description="上门维修", customer_id=c.id,
        department_id=site.after_sales), settings,
        uploads=[Upload("id-card.txt", f"身份证 {ID_NUMBER} 电话 {PHONE}\n".encode())])
    callbacks.schedule_callback(site.agent, t.summary.id, callbacks.CallbackInput(
        phone="138 1234 5678", due_at=utcnow() + dt.timedelta(hours=2),
        agent_id=site.agent.user_id))
    # A call from that number: its caller and posted identifiers are encrypted too.
    token = integrations.create_token(SYSTEM, "pbx", "call")[0].id
    conversations.accept(integrations.Caller(token, "call"), parse_call({
        "call_id": "pbx-grep-1", "caller": "+86 138 1234 5678", "callee": "4008001234",
        "start": "2026-05-01T01:00:00Z", "end": "2026-05-01T01:05:00Z",
        "customer": {"name": "欧阳娜娜", "phone": "138-1234-5678"},
        "transcript": [{"speaker": "A", "text": "洗衣机漏水"}]}))
    assert run_queue(settings) > 0
    indexing.rebuild()
    assert customers.find_customer_by_contact(site.agent, "138 1234 5678").id == c.id
    # The grep itself works: what is stored in plaintext is found.
    assert ("marker-subject", "gongdan.db") in found(settings, ["marker-subject"]) or \
        ("marker-subject", "gongdan.db-wal") in found(settings, ["marker-subject"])
    assert found(settings, SPELLINGS) == []
    assert found(settings, ["欧阳娜娜"]) == []  # names are encrypted too (decision 0050)

    sealed = [r.value_enc for r in CustomerContact.select()
              .where(CustomerContact.customer == c.id)]
    row = Customer.get_by_id(c.id)
    [call] = Conversation.select()
    [callback] = Callback.select()
    assert callbacks.for_ticket(site.agent, t.summary.id)[0].phone == "138 1234 5678"
    traces = [*sealed, row.name_enc, row.name_bidx, row.id_number_enc, row.id_number_bidx,
              row.address_enc, callback.phone_enc, call.personal_enc,
              encryption.blind("phone", PHONE), "中关村"]
    assert found(settings, traces)  # present before erasure, so the check below can fail

    with pytest.raises(PermissionDenied):
        customers.erase(site.supervisor, c.id)
    customers.erase(site.admin, c.id)
    assert found(settings, traces) == []  # overwritten at once, not at the next checkpoint
    run_queue(settings)
    assert found(settings, SPELLINGS + traces) == []
    erased = customers.get_customer(site.admin, c.id)
    assert (erased.name, erased.contacts, erased.id_number, erased.address) == (
        f"Erased customer #{c.id}", [], "", "")
    assert customers.find_customer_by_contact(site.admin, PHONE) is None
    assert customers.find_customer_by_contact(site.admin, ID_NUMBER) is None
    kept = [i.id for i in customers.customer_history(site.admin, c.id).items]
    assert t.summary.id in kept                                     # the tickets stay


def test_erasure_clears_logins_and_callbacks_and_is_audited(settings):
    site = make_org()
    portal_customer = User.get(User.username == "zhangsan")
    customers.erase(site.admin, portal_customer.customer_id)
    user = User.get_by_id(portal_customer.id)
    assert (user.email_enc, user.email_bidx, user.active) == ("", "", False)
    assert not CustomerContact.select().where(
        CustomerContact.customer == portal_customer.customer_id).exists()
    assert Callback.select().count() == 0
    from appliance.db import database
    actions = [r[0] for r in database.execute_sql("SELECT action FROM audit_record").fetchall()]
    assert "customer.erased" in actions
    customers.erase(site.admin, portal_customer.customer_id)  # again: nothing more to do
