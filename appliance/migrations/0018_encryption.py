"""Encryption at rest (docs/decisions/0030-encryption-at-rest.md): data_key and key_check
tables; customer contacts stored encrypted with a blind index instead of in plaintext;
encrypted ID number and address columns (and erased_at) on customer.

Existing contact values are encrypted here, each bound to customer_contact|value|<id>,
under the installation's master key, which the process running the upgrade has loaded
(appliance.services.keys.activate, done by `gongdan db upgrade`): without it, a
database holding contacts stops here with a message, and nothing is changed (the step
is one transaction). The key check, the blind-index key and the first data key are
created here when the database has none, with the logic of services.keys as it was when
this step was written (frozen below). The plaintext column is dropped; on SQLite the
table is rebuilt and secure_delete (appliance.db) overwrites the freed pages.
"""
import base64
import datetime

from peewee import *

from security import envelope

# PostgreSQL keeps dropped columns' values and replaced row versions (the plaintext) in
# the table's files until it is rewritten: `db upgrade` rewrites these tables afterwards
# (appliance.migrate._rewrite).
REWRITE_TABLES = ('customer_contact',)


def _now():
    return datetime.datetime.utcnow()


def _models(db):
    class DataKey(Model):
        purpose = CharField(max_length=16, default='data')
        wrapped = TextField()
        master_version = IntegerField()
        created_at = DateTimeField(default=_now)
        retired_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'data_key'

    class KeyCheck(Model):
        master_version = IntegerField(primary_key=True)
        check_value = CharField(max_length=64)
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'key_check'

    class Contact(Model):
        kind = CharField(max_length=16)
        value = CharField(max_length=254)
        value_enc = TextField(default='')
        value_bidx = CharField(max_length=64, null=True)
        class Meta:
            database = db
            table_name = 'customer_contact'
    return DataKey, KeyCheck, Contact


def _masters():
    """The master key versions the upgrading process loaded, or None."""
    try:
        from appliance.services import keys
        return keys.ring().masters
    except Exception:  # not loaded (a bare migration of an empty database, e.g. in tests)
        return None


def _key(DataKey, masters, purpose):
    """(id, key) of the oldest unretired key of this purpose, created when missing."""
    version = max(masters)
    row = (DataKey.select().where((DataKey.purpose == purpose) & DataKey.retired_at.is_null())
           .order_by(DataKey.id).first())
    if row is not None:
        return row.id, envelope.unwrap_key(masters[row.master_version], row.id,
                                           base64.b64decode(row.wrapped))
    row = DataKey.create(purpose=purpose, wrapped='', master_version=version)
    key = envelope.new_key()
    wrapped = envelope.wrap_key(masters[version], row.id, key)
    DataKey.update(wrapped=base64.b64encode(wrapped).decode()).where(
        DataKey.id == row.id).execute()
    return row.id, key


def _encrypt_contacts(db):
    DataKey, KeyCheck, Contact = _models(db)
    if not Contact.select().exists():
        return
    masters = _masters()
    if not masters:
        raise RuntimeError(
            "migration 0018 encrypts the customer contacts and needs the master key: run "
            "`gongdan init` (new installation: creates var/keys/master.key) or restore the key "
            "file, then `gongdan db upgrade`; nothing was changed")
    version = max(masters)
    if not KeyCheck.select().exists():
        KeyCheck.create(master_version=version, check_value=envelope.key_check(masters[version]))
    index_key = _key(DataKey, masters, 'index')[1]
    key_id, key = _key(DataKey, masters, 'data')
    rows = list(Contact.select(Contact.id, Contact.kind, Contact.value).order_by(Contact.id)
                .tuples())
    for contact_id, kind, value in rows:
        aad = envelope.field_aad('customer_contact', 'value', contact_id)
        Contact.update(value_enc=envelope.encrypt_text(key, key_id, value, aad),
                       value_bidx=envelope.blind_index(index_key, kind, value)).where(
            Contact.id == contact_id).execute()


def _drop_kind_value_index(migrator, db):
    for index in db.get_indexes('customer_contact'):
        if list(index.columns) == ['kind', 'value']:
            migrator.migrate(migrator.drop_index('customer_contact', index.name))


def up(migrator, db):
    DataKey, KeyCheck, _ = _models(db)
    db.create_tables([DataKey, KeyCheck])
    migrator.migrate(
        migrator.add_column('customer', 'id_number_enc', TextField(default='')),
        migrator.add_column('customer', 'id_number_bidx', CharField(max_length=64, default='')),
        migrator.add_column('customer', 'address_enc', TextField(default='')),
        migrator.add_column('customer', 'erased_at', DateTimeField(null=True)),
        migrator.add_index('customer', ('id_number_bidx',), False),
        migrator.add_column('customer_contact', 'value_enc', TextField(default='')),
        migrator.add_column('customer_contact', 'value_bidx', CharField(max_length=64, null=True)))
    _encrypt_contacts(db)
    _drop_kind_value_index(migrator, db)
    migrator.migrate(
        migrator.drop_column('customer_contact', 'value'),
        migrator.add_not_null('customer_contact', 'value_bidx'),
        migrator.add_index('customer_contact', ('kind', 'value_bidx'), True))


def down(migrator, db):
    raise RuntimeError("0018 cannot be undone: the plaintext contacts are gone by design; "
                       "restore a backup taken before the upgrade")
