"""The security administrator's policy values (docs/decisions/0042): one row per value
that overrides the config file (password policy, lockout, session lifetimes, the roles
that must use a second factor)."""
import datetime

from peewee import *


def _now():
    return datetime.datetime.utcnow()


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class SecurityPolicy(Model):
        key = CharField(max_length=64, unique=True)
        value = JSONField()
        updated_at = DateTimeField(default=_now)
        updated_by = ForeignKeyField(User, null=True, backref='+', on_delete='SET NULL')

        class Meta:
            database = db
            table_name = 'security_policy'

    db.create_tables([SecurityPolicy])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('security_policy'))
