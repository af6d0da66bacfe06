"""Cross-department processes (docs/decisions/0018-process-definitions.md): versioned
definitions, instances per ticket, their steps and approvals; Department.lead and
User.manager, so "department lead" and "requester's manager" approvers resolve."""
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
    User, Ticket = _ref(db, 'user'), _ref(db, 'ticket')

    class ProcessDefinition(Model):
        key = CharField(max_length=64)
        version = IntegerField()
        status = CharField(max_length=16, default="draft")
        name = CharField(max_length=200, default="")
        document = JSONField()
        revision = IntegerField(default=1)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)
        published_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
        published_at = DateTimeField(null=True)
        retired_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'process_definition'
            indexes = ((("key", "version"), True), (("status", "key"), False))

    class ProcessInstance(Model):
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE", backref="+")
        definition = ForeignKeyField(ProcessDefinition, on_delete="RESTRICT", backref="+")
        key = CharField(max_length=64)
        version = IntegerField()
        status = CharField(max_length=16, default="running")
        active_key = CharField(max_length=64, null=True)
        started_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
        started_at = DateTimeField(default=_now)
        ended_at = DateTimeField(null=True)
        error = TextField(default="")
        revision = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'process_instance'
            indexes = ((("ticket", "active_key"), True), (("status", "id"), False),
                       (("ticket", "id"), False))

    class ProcessStep(Model):
        instance = ForeignKeyField(ProcessInstance, on_delete="CASCADE", backref="+")
        node_id = CharField(max_length=64)
        node_type = CharField(max_length=24)
        label = CharField(max_length=200, default="")
        branch = CharField(max_length=255, default="")
        visit = IntegerField(default=1)
        state = CharField(max_length=16, default="entered")
        outcome = CharField(max_length=16, default="")
        attempts = IntegerField(default=0)
        entered_at = DateTimeField(default=_now)
        due_at = DateTimeField(null=True)
        wake_at = DateTimeField(null=True)
        next_attempt_at = DateTimeField(null=True)
        claimed_at = DateTimeField(null=True)
        completed_at = DateTimeField(null=True)
        completed_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
        error = TextField(default="")
        data = JSONField(default=dict)
        class Meta:
            database = db
            table_name = 'process_step'
            indexes = ((("instance", "node_id", "branch", "visit"), True),
                       (("state", "next_attempt_at"), False), (("state", "wake_at"), False),
                       (("instance", "state"), False))

    class ProcessApproval(Model):
        step = ForeignKeyField(ProcessStep, on_delete="CASCADE", backref="+")
        approver = ForeignKeyField(User, on_delete="CASCADE", backref="+")
        decision = CharField(max_length=16, default="")
        comment = TextField(default="")
        escalated = BooleanField(default=False)
        created_at = DateTimeField(default=_now)
        decided_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'process_approval'
            indexes = ((("step", "approver"), True), (("approver", "decision", "id"), False))

    db.create_tables([ProcessDefinition, ProcessInstance, ProcessStep, ProcessApproval])
    migrator.migrate(
        migrator.add_column('department', 'lead_id',
                            ForeignKeyField(User, field=User.id, null=True, on_delete="SET NULL")),
        migrator.add_column('user', 'manager_id',
                            ForeignKeyField(User, field=User.id, null=True, on_delete="SET NULL")))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('user', 'manager_id'),
                     migrator.drop_column('department', 'lead_id'))
    for table in ('process_approval', 'process_step', 'process_instance', 'process_definition'):
        migrator.migrate(migrator.drop_table(table))
