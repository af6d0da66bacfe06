"""Omnichannel intake: integration tokens, chat/call conversations, web forms and their
submissions, callbacks."""
import datetime

from peewee import *


def _now():
    return datetime.datetime.utcnow()


def _ref(db, name):
    class Ref(Model):
        class Meta:
            database = db
            table_name = name
    return Ref


def up(migrator, db):
    Customer, Department, User = _ref(db, 'customer'), _ref(db, 'department'), _ref(db, 'user')
    Category, Ticket = _ref(db, 'category'), _ref(db, 'ticket')

    class IntegrationToken(Model):
        name = CharField(max_length=100)
        channel = CharField(max_length=8)
        token_hash = CharField(max_length=64, unique=True)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=_now)
        last_used_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'integration_token'

    class Conversation(Model):
        channel = CharField(max_length=8)
        external_id = CharField(max_length=200)
        token = ForeignKeyField(IntegrationToken, null=True, on_delete="SET NULL")
        payload_sha256 = CharField(max_length=64)
        customer = ForeignKeyField(Customer, null=True, backref="conversations",
                                      on_delete="SET NULL")
        ticket = ForeignKeyField(Ticket, null=True, backref="conversations", on_delete="SET NULL")
        started_at = DateTimeField(null=True)
        ended_at = DateTimeField(null=True)
        identifiers = JSONField(default=dict)
        participants = JSONField(default=dict)
        recording_ref = CharField(max_length=500, default="")
        messages = JSONField(default=list)
        status = CharField(max_length=16, default="received")
        outcome = CharField(max_length=16, default="")
        extraction = JSONField(default=dict)
        error = TextField(default="")
        created_at = DateTimeField(default=_now)
        analysed_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'conversation'
            # Idempotency per integration token (edited in place: 0008 never shipped).
            indexes = ((("token", "external_id"), True), (("customer", "id"), False),
                       (("status", "id"), False))

    class WebForm(Model):
        slug = CharField(max_length=64, unique=True)
        title = CharField(max_length=200)
        intro = TextField(default="")
        department = ForeignKeyField(Department, null=True, on_delete="SET NULL")
        category = ForeignKeyField(Category, null=True, on_delete="SET NULL")
        allow_attachments = BooleanField(default=True)
        send_confirmation = BooleanField(default=True)
        active = BooleanField(default=True)
        embed_origins = JSONField(default=list)
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'web_form'

    class FormSubmission(Model):
        form = ForeignKeyField(WebForm, backref="submissions", on_delete="CASCADE")
        client_hash = CharField(max_length=64)
        ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
        outcome = CharField(max_length=16)
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'form_submission'
            indexes = ((("client_hash", "created_at"), False), (("form", "created_at"), False))

    class Callback(Model):
        ticket = ForeignKeyField(Ticket, backref="callbacks", on_delete="CASCADE")
        agent = ForeignKeyField(User, backref="callbacks", on_delete="CASCADE")
        phone = CharField(max_length=40)
        due_at = DateTimeField()
        note = TextField(default="")
        status = CharField(max_length=16, default="open")
        outcome = TextField(default="")
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=_now)
        done_at = DateTimeField(null=True)
        reminded_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'callback'
            indexes = ((("agent", "status", "due_at"), False), (("status", "due_at"), False))

    db.create_tables([IntegrationToken, Conversation, WebForm, FormSubmission, Callback])


def down(migrator, db):
    for table in ('callback', 'form_submission', 'web_form', 'conversation', 'integration_token'):
        migrator.migrate(migrator.drop_table(table))
