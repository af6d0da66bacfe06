"""IMAP IDLE against a real Dovecot on loopback: the session wakes when mail arrives, and
the worker-side watcher turns that into one fetch job (the periodic fetch stays)."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from appliance.db import database
from appliance.mail.imap import ImapConfig, ImapSession
from appliance.models import Job, Mailbox
from appliance.rules.access import SYSTEM
from appliance.services import mail_fetch, mail_idle, mailboxes
from tests.factories import make_org
from tests.imap_server import running_dovecot

pytestmark = pytest.mark.slow

MAIL = b"From: a@customer.example\r\nSubject: hi\r\nMessage-ID: <i1@customer.example>\r\n\r\nhi\r\n"


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory):
    with running_dovecot(tmp_path_factory.mktemp("dovecot-idle")) as server:
        yield server


@pytest.fixture
def folder(dovecot):
    name = "t" + uuid.uuid4().hex[:12]
    dovecot.create(name)
    return name


def later(seconds: float, action) -> threading.Thread:
    t = threading.Thread(target=lambda: (time.sleep(seconds), action()), daemon=True)
    t.start()
    return t


def test_idle_wakes_on_new_mail_and_times_out_without(dovecot, folder):
    cfg = ImapConfig("127.0.0.1", dovecot.port, "none", dovecot.user, dovecot.password, folder)
    with ImapSession(cfg) as session:
        assert session.can_idle()
        started = time.monotonic()
        assert session.idle(1.0) is False
        assert 0.9 <= time.monotonic() - started < 5

        later(0.5, lambda: dovecot.append(folder, MAIL))
        started = time.monotonic()
        assert session.idle(20.0) is True
        assert time.monotonic() - started < 15
        # The connection is still usable after DONE.
        assert [uid for uid, _ in session.new_mail(0, 10).sizes] == [1]

        stop = threading.Event()
        later(0.3, stop.set)
        started = time.monotonic()
        assert session.idle(30.0, stop) is False
        assert time.monotonic() - started < 5


def wait_for(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def fetch_jobs(mailbox_id: int) -> int:
    with database.connection_context():
        return Job.select().where((Job.name == "fetch_mailbox")
                                  & (Job.object_id == mailbox_id)).count()


def test_the_watcher_schedules_one_fetch_when_mail_arrives(backend, settings, dovecot, folder):
    make_org()
    box = mailboxes.add_mailbox(SYSTEM, "support@gongdan.example", department_code="AS")
    mailboxes.configure_imap(SYSTEM, box.id, "127.0.0.1", dovecot.port, "none", dovecot.user,
                             dovecot.password, folder, True, settings=settings)
    database.close()   # the watcher thread and this one each use their own connection
    try:
        assert mail_idle.keep_watching(settings) == [box.id]
        assert mail_idle.keep_watching(settings) == [box.id]      # one watcher, not two
        time.sleep(1.0)                                             # let it log in and idle
        dovecot.append(folder, MAIL)
        assert wait_for(lambda: fetch_jobs(box.id) == 1), "no fetch job after new mail"
        dovecot.append(folder, MAIL.replace(b"<i1@", b"<i2@"))
        time.sleep(2.0)
        assert fetch_jobs(box.id) == 1        # one is already waiting: not another

        with database.connection_context():
            assert mail_fetch.fetch_mailbox(box.id, settings).statuses["created"] == 2
            Mailbox.update(fetch_enabled=False).where(Mailbox.id == box.id).execute()
            assert mail_idle.keep_watching(settings) == []          # disabled: stopped
    finally:
        mail_idle.stop_all()
