"""Mailboxes fetched over IMAP: server, encrypted credentials and the UID reached."""
from peewee import *


def up(migrator, db):
    columns = (
        ('imap_host', CharField(max_length=253, default='')),
        ('imap_port', IntegerField(default=993)),
        ('imap_security', CharField(max_length=8, default='tls')),
        ('imap_username', CharField(max_length=254, default='')),
        ('imap_password', TextField(default='')),
        ('imap_folder', CharField(max_length=200, default='INBOX')),
        ('uidvalidity', BigIntegerField(null=True)),
        ('last_uid', BigIntegerField(default=0)),
        ('last_fetch_at', DateTimeField(null=True)),
        ('fetch_lease_until', DateTimeField(null=True)),
        ('last_error', TextField(default='')),
        ('fetch_enabled', BooleanField(default=False)),
    )
    for name, field in columns:
        migrator.migrate(migrator.add_column('mailbox', name, field))


def down(migrator, db):
    for name in ('imap_host', 'imap_port', 'imap_security', 'imap_username', 'imap_password',
                 'imap_folder', 'uidvalidity', 'last_uid', 'last_fetch_at', 'fetch_lease_until', 'last_error',
                 'fetch_enabled'):
        migrator.migrate(migrator.drop_column('mailbox', name))
