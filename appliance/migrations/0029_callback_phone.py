"""Callback phone numbers encrypted at rest (docs/decisions/0045), like customer contacts
(0018): the new column phone_enc holds each number bound to callback|phone|<id> under
the current data key; the plaintext column is dropped (on SQLite the table is rebuilt
and secure_delete overwrites the freed pages).

Existing numbers are encrypted here with the master key the upgrading process loaded
(`gongdan db upgrade` activates it); without it, a database holding callbacks stops here
with a message and nothing changes (one transaction). Frozen logic: security.envelope
and the data key as 0018 left them.
"""
import base64

from peewee import *

from security import envelope

# PostgreSQL keeps dropped columns' values and replaced row versions (the plaintext) in
# the table's files until it is rewritten: `db upgrade` rewrites these tables afterwards
# (appliance.migrate._rewrite).
REWRITE_TABLES = ('callback',)


def _models(db):
    class DataKey(Model):
        purpose = CharField(max_length=16, default='data')
        wrapped = TextField()
        master_version = IntegerField()
        retired_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'data_key'

    class Callback(Model):
        phone = CharField(max_length=40)
        phone_enc = TextField(default='')

        class Meta:
            database = db
            table_name = 'callback'
    return DataKey, Callback


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
            "migration 0029 encrypts the callback phone numbers and needs the master key: "
            "restore the key file, then run `gongdan db upgrade` again; nothing was changed")
    return row.id, envelope.unwrap_key(masters[row.master_version], row.id,
                                       base64.b64decode(row.wrapped))


def up(migrator, db):
    DataKey, Callback = _models(db)
    migrator.migrate(migrator.add_column('callback', 'phone_enc', TextField(default='')))
    rows = list(Callback.select(Callback.id, Callback.phone).where(Callback.phone != '')
                .order_by(Callback.id).tuples())
    if rows:
        key_id, key = _data_key(DataKey)
        for callback_id, phone in rows:
            aad = envelope.field_aad('callback', 'phone', callback_id)
            Callback.update(phone_enc=envelope.encrypt_text(key, key_id, phone, aad)).where(
                Callback.id == callback_id).execute()
    migrator.migrate(migrator.drop_column('callback', 'phone'))


def down(migrator, db):
    raise RuntimeError("0029 cannot be undone: the plaintext phone numbers are gone by design; "
                       "restore a backup taken before the upgrade")
