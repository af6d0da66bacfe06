"""Configuring a mailbox's IMAP fetching: validated by field, password encrypted at rest."""
import pytest

from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import Mailbox
from appliance.rules.access import SYSTEM, Actor
from appliance.services import mailboxes
from security.crypto import decrypt_secret
from tests.factories import make_org

PASSWORD = "Imap-Secret-9f3a"


@pytest.fixture
def box(settings):
    make_org()
    return mailboxes.add_mailbox(SYSTEM, "support@gongdan.example", department_code="AS")


def configure(settings, box, **changes):
    args = dict(host="imap.example.com", port=993, security="tls", username="support",
                password=PASSWORD, folder="INBOX", enabled=True)
    args.update(changes)
    return mailboxes.configure_imap(SYSTEM, box.id, settings=settings, **args)


def test_the_password_is_stored_encrypted_and_never_shown(backend, settings, box):
    view = configure(settings, box)
    stored = Mailbox.get_by_id(box.id).imap_password
    assert PASSWORD not in stored and stored
    assert decrypt_secret(stored, settings.secret_key) == PASSWORD
    assert view.imap_password == "set" and PASSWORD not in repr(view)
    assert mailboxes.list_mailboxes(SYSTEM)[0].imap_password == "set"


def test_leaving_the_password_out_keeps_the_stored_one(backend, settings, box):
    with pytest.raises(ValidationError) as exc:
        configure(settings, box, password=None)
    assert exc.value.fields == {"password": "required"}
    configure(settings, box)
    before = Mailbox.get_by_id(box.id).imap_password
    view = configure(settings, box, password=None, enabled=False)
    assert Mailbox.get_by_id(box.id).imap_password == before and not view.fetch_enabled


@pytest.mark.parametrize("changes, field", [
    ({"host": "bad host!"}, "host"), ({"host": ""}, "host"),
    ({"port": 0}, "port"), ({"port": "x"}, "port"), ({"port": 70000}, "port"),
    ({"security": "ssl"}, "security"),
    ({"security": "none"}, "security"),                     # plain IMAP to a remote host
    ({"username": ""}, "username"), ({"username": "a\r\nb"}, "username"),
    ({"password": ""}, "password"), ({"password": "x\r\nA1 LOGOUT"}, "password"),
    ({"folder": "IN\nBOX"}, "folder"),
    ({"username": "支持@example.cn"}, "username"),          # IMAP LOGIN is ASCII only
    ({"password": "密码-9f3a"}, "password"), ({"password": "pässword"}, "password"),
])
def test_bad_settings_are_refused_by_field(backend, settings, box, changes, field):
    with pytest.raises(ValidationError) as exc:
        configure(settings, box, **changes)
    assert field in exc.value.fields
    assert Mailbox.get_by_id(box.id).imap_password == ""


def test_plain_imap_is_allowed_to_loopback_only(backend, settings, box):
    assert configure(settings, box, host="127.0.0.1", security="none").imap_security == "none"
    assert configure(settings, box, host="localhost", security="none", port=143).imap_port == 143


def test_moving_to_another_folder_starts_it_from_the_first_message(backend, settings, box):
    configure(settings, box)
    Mailbox.update(uidvalidity=7, last_uid=42).where(Mailbox.id == box.id).execute()
    configure(settings, box, password=None)            # same place: position kept
    assert Mailbox.get_by_id(box.id).last_uid == 42
    configure(settings, box, password=None, folder="Support")
    m = Mailbox.get_by_id(box.id)
    assert (m.uidvalidity, m.last_uid) == (None, 0)


def test_only_administrators_configure_and_unknown_mailboxes_are_not_found(backend, settings,
                                                                           box):
    agent = Actor(user_id=99, role="agent")
    with pytest.raises(PermissionDenied):
        mailboxes.configure_imap(agent, box.id, "imap.example.com", 993, "tls", "u", "p",
                                 "INBOX", True, settings=settings)
    with pytest.raises(NotFound):
        mailboxes.configure_imap(SYSTEM, 9999, "imap.example.com", 993, "tls", "u", "p",
                                 "INBOX", True, settings=settings)
