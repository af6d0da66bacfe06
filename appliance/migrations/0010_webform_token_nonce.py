"""Single-use web form tokens: form_submission gets nonce_hash (the SHA-256 of the nonce
of the token that opened the ticket; unique, so two posts with one token cannot both
commit) and post_hash (a keyed hash of what was posted, so a resubmit of the same post
gets the first answer again). Both are NULL on rows written before this step and on every
refused post; NULLs do not collide in a unique index on SQLite or PostgreSQL.
"""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('form_submission', 'nonce_hash',
                            CharField(max_length=64, null=True, unique=True)),
        migrator.add_column('form_submission', 'post_hash', CharField(max_length=64, null=True)))


def down(migrator, db):
    for index in db.get_indexes('form_submission'):
        if index.columns == ['nonce_hash']:
            migrator.migrate(migrator.drop_index('form_submission', index.name))
    migrator.migrate(migrator.drop_column('form_submission', 'post_hash'),
                     migrator.drop_column('form_submission', 'nonce_hash'))
