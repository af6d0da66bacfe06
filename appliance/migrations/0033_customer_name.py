"""Customer names encrypted at rest (docs/decisions/0050), like contacts (0018) and the ID
number: customer.name_enc holds the name bound to customer|name|<id> under the current
data key, customer.name_bidx the blind index of its comparison form (spacing collapsed,
case folded: services.customer_names.name_key) for exact lookups; the plaintext column
is dropped (on SQLite the table is rebuilt and secure_delete overwrites the freed pages).

Existing names are encrypted here with the master key the upgrading process loaded
(`gongdan db upgrade` activates it); without it, a database holding customers stops here
with a message and nothing changes (one transaction). Frozen logic: security.envelope,
the keys as 0018 left them and name_key as it was written. Names that merges copied
into timeline events and notes before this step are replaced by the customer's #id.
"""
import base64
import re

from peewee import *

from security import envelope

# PostgreSQL keeps dropped columns' values and replaced row versions (the plaintext) in
# the table's files until it is rewritten: `db upgrade` rewrites these tables afterwards
# (appliance.migrate._rewrite).
REWRITE_TABLES = ('customer', 'timeline_event')


def _models(db):
    class DataKey(Model):
        purpose = CharField(max_length=16, default='data')
        wrapped = TextField()
        master_version = IntegerField()
        retired_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'data_key'

    class Customer(Model):
        name = CharField(max_length=200)
        notes = TextField(default='')
        name_enc = TextField(default='')
        name_bidx = CharField(max_length=64, default='')

        class Meta:
            database = db
            table_name = 'customer'
    class TimelineEvent(Model):
        kind = CharField(max_length=32)
        before = JSONField(null=True)
        after = JSONField(null=True)

        class Meta:
            database = db
            table_name = 'timeline_event'
    return DataKey, Customer, TimelineEvent


# Copies of names that merges wrote before this step: the timeline event's "<name> (#id)"
# and the heading appended to the survivor's notes. They become "#id", as merges now write.
_EVENT_REF = re.compile(r'^.*\(#(\d+)\)\s*$', re.S)
_NOTES_HEADING = re.compile(r'^--- merged from customer #(\d+) \(.*\) ---$', re.M)


def _drop_name_copies(Customer, TimelineEvent):
    for event in TimelineEvent.select().where(TimelineEvent.kind == 'customer_merged'):
        values = {}
        for field in ('before', 'after'):
            m = _EVENT_REF.match(getattr(event, field) or '') if isinstance(
                getattr(event, field), str) else None
            if m:
                values[field] = f'#{m.group(1)}'
        if values:
            TimelineEvent.update(**values).where(TimelineEvent.id == event.id).execute()
    for customer_id, notes in (Customer.select(Customer.id, Customer.notes)
                               .where(Customer.notes.contains('--- merged from customer #'))
                               .tuples()):
        Customer.update(notes=_NOTES_HEADING.sub(r'--- merged from customer #\1 ---', notes)
                        ).where(Customer.id == customer_id).execute()


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
            "migration 0033 encrypts the customer names and needs the master key: restore "
            "the key file, then run `gongdan db upgrade` again; nothing was changed")
    return data, index[1]


def _name_key(name):
    out = []
    for ch in " ".join((name or "").split()):
        folded = ch.casefold()
        out.append(folded if len(folded) == 1 and (ch.isascii() or not folded.isascii())
                   else ch)
    return "".join(out)


def up(migrator, db):
    DataKey, Customer, TimelineEvent = _models(db)
    _drop_name_copies(Customer, TimelineEvent)
    migrator.migrate(migrator.add_column('customer', 'name_enc', TextField(default='')),
                     migrator.add_column('customer', 'name_bidx', CharField(max_length=64,
                                                                            default='')))
    rows = list(Customer.select(Customer.id, Customer.name).order_by(Customer.id).tuples())
    if rows:
        (key_id, key), index_key = _keys(DataKey)
        for customer_id, name in rows:
            aad = envelope.field_aad('customer', 'name', customer_id)
            key_form = _name_key(name)
            Customer.update(
                name_enc=envelope.encrypt_text(key, key_id, name, aad) if name else '',
                name_bidx=envelope.blind_index(index_key, 'name', key_form) if key_form else '',
            ).where(Customer.id == customer_id).execute()
    migrator.migrate(migrator.drop_column('customer', 'name'),
                     migrator.add_index('customer', ('name_bidx',), False))


def down(migrator, db):
    raise RuntimeError("0033 cannot be undone: the plaintext names are gone by design; "
                       "restore a backup taken before the upgrade")
