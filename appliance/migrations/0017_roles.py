"""Separated administrators and custom roles (docs/decisions/0029-roles-and-permissions.md):
the `role` table (custom roles built from the permission catalogue) and
`user.custom_role_id`. The built-in roles security_admin and audit_admin need no schema:
`user.role` already holds a role name of up to 16 characters.
"""
import datetime

from peewee import *


def _now():
    return datetime.datetime.utcnow()


def up(migrator, db):
    class Role(Model):
        name = CharField(max_length=64, unique=True)
        description = CharField(max_length=255, default='')
        base_role = CharField(max_length=16)
        permissions = TextField(default='')
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)
        version = IntegerField(default=1)

        class Meta:
            database = db
            table_name = 'role'

    db.create_tables([Role])
    migrator.migrate(migrator.add_column(
        'user', 'custom_role_id',
        ForeignKeyField(Role, field=Role.id, null=True, on_delete='RESTRICT')))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('user', 'custom_role_id'))
    migrator.migrate(migrator.drop_table('role'))
