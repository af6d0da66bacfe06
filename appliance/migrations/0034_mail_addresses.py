"""The addresses of mail messages encrypted at rest (docs/decisions/0051): the sender moves
to mail_message.from_enc (bound to mail_message|from|<id>) with a blind index from_bidx
(the HMAC an e-mail contact gets), the To/Cc list to to_enc (JSON, bound to
mail_message|to|<id>); the plaintext columns and their index are dropped (on SQLite the
table is rebuilt and secure_delete overwrites the freed pages).

Existing rows are encrypted here with the master key the upgrading process loaded
(`gongdan db upgrade` activates it); without it, a database holding addressed messages
stops here with a message and nothing changes (one transaction). Frozen logic:
security.envelope and the keys as 0018 left them.
"""
import base64
import json

from peewee import *

from security import envelope

# PostgreSQL keeps dropped columns' values and replaced row versions (the plaintext) in
# the table's files until it is rewritten: `db upgrade` rewrites these tables afterwards
# (appliance.migrate._rewrite).
REWRITE_TABLES = ('mail_message',)


def _models(db):
    class DataKey(Model):
        purpose = CharField(max_length=16, default='data')
        wrapped = TextField()
        master_version = IntegerField()
        retired_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'data_key'

    class MailMessage(Model):
        from_address = CharField(max_length=254, default='')
        to_addresses = JSONField(default=list)
        from_enc = TextField(default='')
        from_bidx = CharField(max_length=64, default='')
        to_enc = TextField(default='')

        class Meta:
            database = db
            table_name = 'mail_message'
    return DataKey, MailMessage


def _key(DataKey, masters, purpose, newest):
    order = DataKey.id.desc() if newest else DataKey.id
    row = (DataKey.select().where((DataKey.purpose == purpose) & DataKey.retired_at.is_null())
           .order_by(order).first())
    if row is None:
        return None
    return row.id, envelope.unwrap_key(masters[row.master_version], row.id,
                                       base64.b64decode(row.wrapped))


def _keys(DataKey):
    from appliance.services import keys
    try:
        masters = keys.ring().masters
    except Exception:  # not loaded
        masters = None
    data = _key(DataKey, masters, 'data', True) if masters else None
    index = _key(DataKey, masters, 'index', False) if masters else None
    if data is None or index is None:
        raise RuntimeError(
            "migration 0034 encrypts the addresses of mail messages and needs the master "
            "key: restore the key file, then run `gongdan db upgrade` again; nothing was "
            "changed")
    return data, index[1]


def _rows(MailMessage, batch=5000):
    """The addressed rows, read in batches by id (a large mailbox history stays small)."""
    after = 0
    while True:
        rows = list(MailMessage.select(MailMessage.id, MailMessage.from_address,
                                       MailMessage.to_addresses)
                    .where(MailMessage.id > after).order_by(MailMessage.id).limit(batch)
                    .tuples())
        if not rows:
            return
        after = rows[-1][0]
        yield from (r for r in rows if r[1] or r[2])


def _encrypt(MailMessage, DataKey):
    keys = None
    for row_id, sender, to in _rows(MailMessage):
        if keys is None:
            keys = _keys(DataKey)
        (key_id, key), index_key = keys
        sender = (sender or '').strip().lower()
        to = list(to or [])
        MailMessage.update(
            from_enc=envelope.encrypt_text(key, key_id, sender, envelope.field_aad(
                'mail_message', 'from', row_id)) if sender else '',
            from_bidx=envelope.blind_index(index_key, 'email', sender) if sender else '',
            to_enc=envelope.encrypt_text(key, key_id, json.dumps(to, ensure_ascii=False),
                                         envelope.field_aad('mail_message', 'to', row_id))
            if to else '').where(MailMessage.id == row_id).execute()


def up(migrator, db):
    DataKey, MailMessage = _models(db)
    migrator.migrate(
        migrator.add_column('mail_message', 'from_enc', TextField(default='')),
        migrator.add_column('mail_message', 'from_bidx', CharField(max_length=64, default='')),
        migrator.add_column('mail_message', 'to_enc', TextField(default='')))
    _encrypt(MailMessage, DataKey)
    for index in db.get_indexes('mail_message'):
        if 'from_address' in index.columns:
            migrator.migrate(migrator.drop_index('mail_message', index.name))
    migrator.migrate(
        migrator.drop_column('mail_message', 'from_address'),
        migrator.drop_column('mail_message', 'to_addresses'),
        migrator.add_index('mail_message', ('from_bidx', 'created_at'), False))


def down(migrator, db):
    raise RuntimeError("0034 cannot be undone: the plaintext addresses are gone by design; "
                       "restore a backup taken before the upgrade")
