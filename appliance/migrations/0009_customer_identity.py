"""Customer identity: contacts stored normalised and unique per (kind, value), external
ids as a contact kind, and customers that can be merged into another (merged_into,
merged_at).

Existing rows are normalised with the rules of services.identity.normalize as they were
when this step was written (frozen below). Where two rows end up with the same
(kind, value), the oldest row (lowest id) keeps it; the newer row is deleted, and when it
belonged to a different customer that customer's notes record which contact (masked:
agents read notes) went to which customer, so staff can check the two and merge them. A value that cannot be
normalised is kept trimmed (it never matches anything) and is deduplicated the same way.
See docs/decisions/0016-customer-identity.md.
"""
import re

from peewee import *

FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
EMAIL = re.compile(r"^[^@\s<>\r\n]{1,64}@[^@\s<>\r\n]{1,190}\.[^@\s<>\r\n]{1,63}$")
PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-]+$")
CN_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalize(kind, value):
    """services.identity.normalize as of this migration (frozen: do not import it)."""
    if not isinstance(value, str):
        return ""
    value = value.translate(FULLWIDTH).strip()
    if kind == "email":
        value = value.lower()
        if value.startswith("mailto:"):
            value = value[len("mailto:"):]
        value = value.strip().strip("<>").strip()
        return value if len(value) <= 254 and EMAIL.match(value) else ""
    if kind == "phone":
        return _phone(value)
    if kind == "external":
        return value if value and len(value) <= 254 and not CONTROL.search(value) else ""
    return ""


def _phone(value):
    if value.lower().startswith("tel:"):
        value = value[4:].strip()
    if not PHONE_CHARS.match(value):
        return ""
    digits = re.sub(r"[^0-9]", "", value)
    plus = value.startswith("+")
    if not plus and digits.startswith("00"):
        plus, digits = True, digits[2:]
    if not plus and len(digits) == 13 and CN_MOBILE.match(digits[2:]) and digits[:2] == "86":
        plus = True
    if plus and digits.startswith("86"):
        rest = digits[2:]
        plus, digits = False, (rest if CN_MOBILE.match(rest) or rest.startswith("0")
                               else "0" + rest)
    if not 5 <= len(digits) <= 20:
        return ""
    return ("+" if plus else "") + digits


def _models(db):
    class Customer(Model):
        notes = TextField(default="")
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'customer'

    class Contact(Model):
        customer_id = IntegerField()
        kind = CharField(max_length=16)
        value = CharField(max_length=254)
        class Meta:
            database = db
            table_name = 'customer_contact'
    return Customer, Contact


def mask(kind, value):
    """rules.pii.mask_contact as of this migration (frozen): notes are shown to agents
    who only see contacts masked, so the note names the contact the same way."""
    value = value or ""
    if kind == "email" and "@" in value:
        local, domain = value.rsplit("@", 1)
        return f"{local[:1]}***@{domain}"
    if kind == "phone":
        digits = value.lstrip("+")
        sign = value[:len(value) - len(digits)]
        if len(digits) >= 9:
            return f"{sign}{digits[:3]}****{digits[-4:]}"
        return f"{sign}{'*' * max(len(digits) - 2, 1)}{digits[-2:]}"
    prefix, sep, rest = value.rpartition(":")
    body = rest if sep else value
    return f"{prefix}{sep}***{body[-2:] if len(body) > 4 else ''}"


def _note(kind, value, winner):
    return (f"[upgrade 0009] The {kind} contact {mask(kind, value)} was also recorded for "
            f"customer #{winner}; it stays there and was removed here. If both are the same "
            f"customer, merge them.")


def _deduplicate(db):
    """Normalise every contact; the oldest row keeps a (kind, value) seen twice."""
    Customer, Contact = _models(db)
    keeper, notes = {}, {}
    rows = list(Contact.select(Contact.id, Contact.customer_id, Contact.kind, Contact.value)
                .order_by(Contact.id).tuples())
    for contact_id, customer_id, kind, value in rows:
        key = normalize(kind, value) or (value or "").strip()[:254]
        first = keeper.get((kind, key))
        if first is None:
            keeper[(kind, key)] = customer_id
            if key != value:
                Contact.update(value=key).where(Contact.id == contact_id).execute()
            continue
        Contact.delete().where(Contact.id == contact_id).execute()
        if first != customer_id:
            lines = notes.setdefault(customer_id, [])
            if _note(kind, key, first) not in lines:
                lines.append(_note(kind, key, first))
    for customer_id, lines in sorted(notes.items()):
        c = Customer.get_by_id(customer_id)
        text = "\n".join(lines)
        Customer.update(notes=(c.notes + "\n\n" + text) if c.notes else text,
                        version=Customer.version + 1).where(Customer.id == customer_id).execute()


def up(migrator, db):
    Customer, _ = _models(db)
    migrator.migrate(
        migrator.add_column('customer', 'merged_into_id',
                            ForeignKeyField(Customer, field=Customer.id, null=True,
                                            on_delete='SET NULL')),
        migrator.add_column('customer', 'merged_at', DateTimeField(null=True)))
    _deduplicate(db)
    _drop_kind_value_index(migrator, db)
    migrator.migrate(migrator.add_index('customer_contact', ('kind', 'value'), True))


def _drop_kind_value_index(migrator, db):
    # 0001 created it as "customercontact_kind_value" (peewee's older naming); look it up.
    for index in db.get_indexes('customer_contact'):
        if list(index.columns) == ['kind', 'value']:
            migrator.migrate(migrator.drop_index('customer_contact', index.name))


def down(migrator, db):
    _drop_kind_value_index(migrator, db)
    migrator.migrate(migrator.add_index('customer_contact', ('kind', 'value'), False))
    for index in db.get_indexes('customer'):
        if list(index.columns) == ['merged_into_id']:
            migrator.migrate(migrator.drop_index('customer', index.name))
    migrator.migrate(migrator.drop_column('customer', 'merged_at'),
                     migrator.drop_column('customer', 'merged_into_id'))
