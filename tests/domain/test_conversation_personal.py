"""The personal part of chat and call records encrypted at rest (services.
conversation_personal, migration 0030, decision 0046), on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
from peewee import CharField, DateTimeField, JSONField, Model, TextField

from appliance import migrate
from appliance.db import database
from appliance.models import Conversation
from appliance.rules.access import SYSTEM
from appliance.rules.intake_payload import parse_call
from appliance.services import (conversation_personal, conversations, encryption,
                                integrations, key_rotation, keys)
from tests.factories import make_org
from tests.migration_helpers import database_at

PHONE = "13800138000"


def _call(call_id: str = "pbx-1") -> Conversation:
    token = integrations.create_token(SYSTEM, "pbx", "call")[0].id
    data = parse_call({"call_id": call_id, "caller": PHONE, "callee": "4008001234",
                       "start": "2026-05-01T01:00:00Z", "end": "2026-05-01T01:05:00Z",
                       "customer": {"name": "张三", "email": "zhang@example.com"},
                       "transcript": [{"speaker": "A", "text": "洗衣机坏了"}]})
    return Conversation.get_by_id(conversations.accept(integrations.Caller(token, "call"),
                                                       data).id)


def test_caller_callee_and_identifiers_are_stored_encrypted(settings):
    make_org()
    row = _call()
    raw = repr(database.execute_sql('SELECT * FROM "conversation"').fetchall())
    assert PHONE not in raw and "zhang@example.com" not in raw and "4008001234" not in raw
    identifiers, participants = conversation_personal.read(row)
    assert identifiers["email"] == "zhang@example.com"
    assert (participants["caller"], participants["callee"]) == (PHONE, "4008001234")
    assert row.participants.get("direction") and "caller" not in row.participants


def test_a_ciphertext_moved_to_another_record_is_refused(settings):
    make_org()
    a, b = _call("pbx-1"), _call("pbx-2")
    Conversation.update(personal_enc=a.personal_enc).where(Conversation.id == b.id).execute()
    with pytest.raises(encryption.TamperedData):
        conversation_personal.read(Conversation.get_by_id(b.id))


def test_key_rotation_moves_them_to_the_new_data_key(settings):
    make_org()
    row = _call()
    old = keys.current_data_key()[0]
    key_rotation.rotate(settings, reencrypt=True, batch=1)
    assert keys.current_data_key()[0] != old
    row = Conversation.get_by_id(row.id)
    assert conversation_personal.read(row)[1]["caller"] == PHONE


class OldConversation(Model):
    """conversation as 0029 left it: identifiers and caller/callee in plain JSON."""
    channel = CharField()
    external_id = CharField()
    payload_sha256 = CharField(default="0" * 64)
    identifiers = JSONField(default=dict)
    participants = JSONField(default=dict)
    recording_ref = CharField(default="")
    messages = JSONField(default=list)
    status = CharField(default="analysed")
    outcome = CharField(default="")
    extraction = JSONField(default=dict)
    error = TextField(default="")
    created_at = DateTimeField(default=dt.datetime(2026, 5, 1))

    class Meta:
        table_name = "conversation"


def test_migration_0030_encrypts_records_written_before_it(backend, settings, tmp_path):
    with database_at("0029_callback_phone", backend, settings, tmp_path):
        keys.activate(settings, environ={})
        OldConversation._meta.set_database(database)
        call = OldConversation.create(channel="call", external_id="pbx-9", identifiers={
            "phone": PHONE, "name": "张三"}, participants={
            "caller": PHONE, "callee": "8001", "direction": "inbound", "source": "pbx"}).id
        chat = OldConversation.create(channel="chat", external_id="wx-9",
                                      participants={"agent": "王芳", "source": "wechat"}).id
        assert "0030_conversation_personal" in migrate.upgrade()
        assert PHONE not in repr(database.execute_sql('SELECT * FROM "conversation"').fetchall())
        row = Conversation.get_by_id(call)
        assert conversation_personal.read(row) == (
            {"phone": PHONE, "name": "张三"},
            {"direction": "inbound", "source": "pbx", "caller": PHONE, "callee": "8001"})
        untouched = Conversation.get_by_id(chat)
        assert untouched.personal_enc == "" and untouched.participants["agent"] == "王芳"
