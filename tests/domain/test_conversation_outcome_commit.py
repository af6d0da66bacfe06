"""A conversation's outcome whose commit fails leaves no transcript file behind, on SQLite
and PostgreSQL. The commit is made to fail by the database itself: a deferred foreign key,
checked only at COMMIT, that a trigger breaks whenever an attachment row is inserted."""
from __future__ import annotations

import os

import pytest
from peewee import IntegrityError

from appliance.db import database, is_postgres
from appliance.models import Attachment, Conversation, Ticket
from appliance.rules.access import SYSTEM
from appliance.rules.intake_payload import parse_chat
from appliance.services import conversation_tickets, conversations, integrations
from appliance.services.conversation_ai import Extraction
from tests.factories import make_org

_SQLITE = [
    "CREATE TABLE commit_guard (ticket_id INTEGER REFERENCES ticket (id) "
    "DEFERRABLE INITIALLY DEFERRED)",
    "CREATE TRIGGER commit_guard_trigger AFTER INSERT ON attachment "
    "BEGIN INSERT INTO commit_guard VALUES (-1); END",
]
_POSTGRES = [
    "CREATE TABLE commit_guard (ticket_id INTEGER REFERENCES ticket (id) "
    "DEFERRABLE INITIALLY DEFERRED)",
    "CREATE FUNCTION commit_guard_insert() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN INSERT INTO commit_guard VALUES (-1); RETURN NEW; END $$",
    "CREATE TRIGGER commit_guard_trigger AFTER INSERT ON attachment "
    "FOR EACH ROW EXECUTE FUNCTION commit_guard_insert()",
]


@pytest.fixture
def failing_commit(settings):
    """Every transaction that inserts an attachment fails when it commits."""
    pg = is_postgres()
    with database.atomic():
        for sql in _POSTGRES if pg else _SQLITE:
            database.execute_sql(sql)
    yield
    with database.atomic():
        if pg:
            database.execute_sql("DROP TRIGGER IF EXISTS commit_guard_trigger ON attachment")
            database.execute_sql("DROP FUNCTION IF EXISTS commit_guard_insert()")
        else:
            database.execute_sql("DROP TRIGGER IF EXISTS commit_guard_trigger")
        database.execute_sql("DROP TABLE IF EXISTS commit_guard")


def test_a_failed_commit_of_a_new_ticket_removes_the_transcript_file(settings,
                                                                     failing_commit):
    make_org()
    caller = integrations.Caller(
        integrations.create_token(SYSTEM, "chat system", "chat")[0].id, "chat")
    conv_id = conversations.accept(caller, parse_chat({
        "id": "wx-commit", "channel": "wechat", "customer": {"name": "张三", "phone": "13800138000"},
        "messages": [{"speaker": "客户", "text": "洗衣机坏了，不能脱水。"}]})).id
    outcome = Extraction(True, confidence=0.9, reason="test", subject="洗衣机不脱水",
                         description="洗衣机不能脱水，需要上门维修。")

    with pytest.raises(IntegrityError):
        conversation_tickets.apply_outcome(conv_id, outcome, settings)

    assert Ticket.select().count() == 0 and Attachment.select().count() == 0
    assert Conversation.get_by_id(conv_id).status != "analysed"
    assert [f for _, _, files in os.walk(settings.attachment_dir) for f in files] == []
