"""Enterprise directory login (decision 0028): user.auth_source ("local" or "ldap"), the
directory entry's DN and stable id, and directory_disabled (the sync, not an administrator,
disabled the account). Existing users are local.
"""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('user', 'auth_source', CharField(max_length=8, default='local')),
        migrator.add_column('user', 'external_dn', CharField(max_length=512, default='')),
        migrator.add_column('user', 'external_id', CharField(max_length=64, default='')),
        migrator.add_column('user', 'directory_disabled', BooleanField(default=False)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('user', 'directory_disabled'),
                     migrator.drop_column('user', 'external_id'),
                     migrator.drop_column('user', 'external_dn'),
                     migrator.drop_column('user', 'auth_source'))
