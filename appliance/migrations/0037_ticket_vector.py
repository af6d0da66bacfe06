"""ticket_vector: each ticket's sentence vector from the local model, for the triage
classifiers' semantic features (docs/decisions/0053)."""
import datetime

from peewee import *


def _now():
    return datetime.datetime.utcnow()


def up(migrator, db):
    class Ticket(Model):
        class Meta:
            database = db
            table_name = 'ticket'

    class TicketVector(Model):
        ticket = ForeignKeyField(Ticket, primary_key=True, on_delete='CASCADE')
        space = CharField(max_length=64)
        text_sha = CharField(max_length=64)
        vector = BlobField()
        created_at = DateTimeField(default=_now)

        class Meta:
            database = db
            table_name = 'ticket_vector'

    db.create_tables([TicketVector])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('ticket_vector'))
