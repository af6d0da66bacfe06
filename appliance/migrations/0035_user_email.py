"""The e-mail addresses of logins encrypted at rest (docs/decisions/0052): user.email_enc
holds the address bound to user|email|<id>, user.email_bidx its blind index (the HMAC an
e-mail contact gets); the plaintext column is dropped (on SQLite the table is rebuilt
and secure_delete overwrites the freed pages).

Existing addresses are encrypted here with the master key the upgrading process loaded
(`gongdan db upgrade` activates it); without it, a database holding addresses stops here
with a message and nothing changes (one transaction). Frozen logic: security.envelope
and the keys as 0018 left them.
"""
import base64

from peewee import *

from security import envelope

# PostgreSQL keeps dropped columns' values and replaced row versions (the plaintext) in
# the table's files until it is rewritten: `db upgrade` rewrites these tables afterwards
# (appliance.migrate._rewrite).
REWRITE_TABLES = ('user',)


def _models(db):
    class DataKey(Model):
        purpose = CharField(max_length=16, default='data')
        wrapped = TextField()
        master_version = IntegerField()
        retired_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'data_key'

    class User(Model):
        email = CharField(max_length=254, default='')
        email_enc = TextField(default='')
        email_bidx = CharField(max_length=64, default='')

        class Meta:
            database = db
            table_name = 'user'
    return DataKey, User


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
            "migration 0035 encrypts the e-mail addresses of logins and needs the master "
            "key: restore the key file, then run `gongdan db upgrade` again; nothing was "
            "changed")
    return data, index[1]


def up(migrator, db):
    DataKey, User = _models(db)
    migrator.migrate(
        migrator.add_column('user', 'email_enc', TextField(default='')),
        migrator.add_column('user', 'email_bidx', CharField(max_length=64, default='')))
    rows = [(i, e.strip()) for i, e in User.select(User.id, User.email)
            .where(User.email != '').order_by(User.id).tuples() if e.strip()]
    if rows:
        (key_id, key), index_key = _keys(DataKey)
        for user_id, email in rows:
            User.update(
                email_enc=envelope.encrypt_text(key, key_id, email, envelope.field_aad(
                    'user', 'email', user_id)),
                email_bidx=envelope.blind_index(index_key, 'email', email.lower()),
            ).where(User.id == user_id).execute()
    migrator.migrate(migrator.drop_column('user', 'email'),
                     migrator.add_index('user', ('email_bidx',), False))


def down(migrator, db):
    raise RuntimeError("0035 cannot be undone: the plaintext addresses are gone by design; "
                       "restore a backup taken before the upgrade")
