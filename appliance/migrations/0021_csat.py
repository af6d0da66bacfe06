"""Satisfaction surveys (docs/decisions/0037): the survey table, one CSAT survey per
resolution of a ticket (unique ticket + resolved_at), its link token stored as a hash."""
import datetime

from peewee import *


def _now():
    return datetime.datetime.utcnow()


def _ref(db, table):
    class Ref(Model):
        class Meta:
            database = db
            table_name = table
    return Ref


def up(migrator, db):
    Ticket, Customer = _ref(db, 'ticket'), _ref(db, 'customer')
    Department, User, Category = _ref(db, 'department'), _ref(db, 'user'), _ref(db, 'category')
    MailMessage = _ref(db, 'mail_message')

    class Survey(Model):
        kind = CharField(max_length=8, default='csat')
        ticket = ForeignKeyField(Ticket, null=True, backref='+', on_delete='CASCADE')
        resolved_at = DateTimeField(null=True)
        customer = ForeignKeyField(Customer, null=True, on_delete='SET NULL')
        department = ForeignKeyField(Department, null=True, on_delete='SET NULL')
        agent = ForeignKeyField(User, null=True, on_delete='SET NULL')
        category = ForeignKeyField(Category, null=True, on_delete='SET NULL')
        token_hash = CharField(max_length=64, null=True, unique=True)
        mail = ForeignKeyField(MailMessage, null=True, on_delete='SET NULL')
        created_at = DateTimeField(default=_now)
        expires_at = DateTimeField()
        rating = SmallIntegerField(null=True)
        comment = TextField(default='')
        answered_at = DateTimeField(null=True)
        answered_via = CharField(max_length=8, default='')
        follow_up = ForeignKeyField(Ticket, null=True, backref='+', on_delete='SET NULL')
        period_key = CharField(max_length=64, null=True, unique=True)

        class Meta:
            database = db
            table_name = 'survey'
            indexes = ((('ticket', 'resolved_at'), True), (('kind', 'created_at'), False))

    db.create_tables([Survey])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('survey'))
