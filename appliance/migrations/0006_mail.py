"""E-mail intake and outbox: mailboxes and every message received or sent."""
import datetime

from peewee import *


def _now():
    return datetime.datetime.utcnow()


def up(migrator, db):
    class Department(Model):
        class Meta:
            database = db
            table_name = 'department'

    class Ticket(Model):
        class Meta:
            database = db
            table_name = 'ticket'

    class Comment(Model):
        class Meta:
            database = db
            table_name = 'comment'

    class Mailbox(Model):
        address = CharField(max_length=254, unique=True)
        name = CharField(max_length=100, default='')
        department = ForeignKeyField(Department, null=True, on_delete='SET NULL')
        active = BooleanField(default=True)
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'mailbox'

    class MailMessage(Model):
        direction = CharField(max_length=3)
        mailbox = ForeignKeyField(Mailbox, null=True, on_delete='SET NULL')
        message_id = CharField(max_length=998, default='', index=True)
        dedupe_key = CharField(max_length=128, null=True, unique=True)
        raw_sha256 = CharField(max_length=64, default='')
        ticket = ForeignKeyField(Ticket, null=True, on_delete='SET NULL')
        comment = ForeignKeyField(Comment, null=True, on_delete='SET NULL')
        from_address = CharField(max_length=254, default='')
        to_addresses = JSONField(default=list)
        subject = CharField(max_length=998, default='')
        in_reply_to = CharField(max_length=998, default='')
        references = JSONField(default=list)
        kind = CharField(max_length=16, default='normal')
        status = CharField(max_length=16)
        error = TextField(default='')
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(null=True)
        created_at = DateTimeField(default=_now)
        sent_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'mail_message'
            indexes = ((('direction', 'status', 'next_attempt_at'), False),
                       (('ticket', 'id'), False), (('from_address', 'created_at'), False))

    db.create_tables([Mailbox, MailMessage])


def down(migrator, db):
    for table in ('mail_message', 'mailbox'):
        migrator.migrate(migrator.drop_table(table))
