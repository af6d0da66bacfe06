"""The personal part of chat and call records encrypted at rest (docs/decisions/0046):
the identifiers the integration posted (name, phone, e-mail, customer id) and the call's
caller and callee move into conversation.personal_enc, one JSON value bound to
conversation|personal|<id>; identifiers becomes {} and participants keeps source,
direction and agent.

Existing rows are encrypted here with the master key the upgrading process loaded
(`gongdan db upgrade`), like 0018 and 0029; without it a database holding such rows
stops here and nothing changes (one transaction). Frozen logic: the JSON layout of
services.conversation_personal as it was written.
"""
import base64
import json

from peewee import *

from security import envelope

# PostgreSQL keeps dropped columns' values and replaced row versions (the plaintext) in
# the table's files until it is rewritten: `db upgrade` rewrites these tables afterwards
# (appliance.migrate._rewrite).
REWRITE_TABLES = ('conversation',)

PRIVATE = ('caller', 'callee')


def _models(db):
    class DataKey(Model):
        purpose = CharField(max_length=16, default='data')
        wrapped = TextField()
        master_version = IntegerField()
        retired_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'data_key'

    class Conversation(Model):
        identifiers = JSONField(default=dict)
        participants = JSONField(default=dict)
        personal_enc = TextField(default='')

        class Meta:
            database = db
            table_name = 'conversation'
    return DataKey, Conversation


def _data_key(DataKey):
    from appliance.services import keys
    try:
        masters = keys.ring().masters
    except Exception:  # not loaded
        masters = None
    row = (DataKey.select().where((DataKey.purpose == 'data') & DataKey.retired_at.is_null())
           .order_by(DataKey.id.desc()).first()) if masters else None
    if row is None:
        raise RuntimeError(
            "migration 0030 encrypts the identifiers of chat and call records and needs the "
            "master key: restore the key file, then run `gongdan db upgrade` again; nothing "
            "was changed")
    return row.id, envelope.unwrap_key(masters[row.master_version], row.id,
                                       base64.b64decode(row.wrapped))


def up(migrator, db):
    DataKey, Conversation = _models(db)
    migrator.migrate(migrator.add_column('conversation', 'personal_enc', TextField(default='')))
    key = None
    for row in Conversation.select().order_by(Conversation.id):
        parts = dict(row.participants or {})
        private = {k: parts.pop(k) for k in PRIVATE if k in parts}
        if not row.identifiers and not private:
            continue
        key = key or _data_key(DataKey)
        value = json.dumps({'identifiers': row.identifiers or {}, 'participants': private},
                           ensure_ascii=False, sort_keys=True)
        aad = envelope.field_aad('conversation', 'personal', row.id)
        Conversation.update(personal_enc=envelope.encrypt_text(key[1], key[0], value, aad),
                            identifiers={}, participants=parts).where(
            Conversation.id == row.id).execute()


def down(migrator, db):
    raise RuntimeError("0030 cannot be undone: the identifiers are encrypted by design; "
                       "restore a backup taken before the upgrade")
