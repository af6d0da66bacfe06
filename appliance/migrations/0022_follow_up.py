"""Follow-up visits (回访, docs/decisions/0038): follow_up_rule and follow_up_visit (one visit
per resolution of a ticket: unique ticket + resolved_at, as the CSAT survey), and
agent_stat.csat_answers, how many survey answers the agent's csat figure rests on."""
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
    Ticket, Customer, Comment = _ref(db, 'ticket'), _ref(db, 'customer'), _ref(db, 'comment')
    Department, User, Team = _ref(db, 'department'), _ref(db, 'user'), _ref(db, 'team')

    class FollowUpRule(Model):
        name = CharField(max_length=100, unique=True)
        active = BooleanField(default=True)
        category_ids = JSONField(default=list)
        customer_tags = JSONField(default=list)
        customer_ids = JSONField(default=list)
        delay_minutes = IntegerField(default=1440)
        business_time = BooleanField(default=False)
        script = TextField(default='')
        assign_to = CharField(max_length=16, default='resolver')
        pool_department = ForeignKeyField(Department, null=True, on_delete='SET NULL')
        pool_team = ForeignKeyField(Team, null=True, on_delete='SET NULL')
        max_attempts = IntegerField(default=3)
        retry_minutes = IntegerField(default=240)
        version = IntegerField(default=1)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

        class Meta:
            database = db
            table_name = 'follow_up_rule'

    class FollowUpVisit(Model):
        ticket = ForeignKeyField(Ticket, backref='+', on_delete='CASCADE')
        resolved_at = DateTimeField()
        rule = ForeignKeyField(FollowUpRule, null=True, on_delete='SET NULL')
        customer = ForeignKeyField(Customer, null=True, on_delete='SET NULL')
        department = ForeignKeyField(Department, null=True, on_delete='SET NULL')
        agent = ForeignKeyField(User, null=True, on_delete='SET NULL')
        team = ForeignKeyField(Team, null=True, on_delete='SET NULL')
        resolver = ForeignKeyField(User, null=True, backref='+', on_delete='SET NULL')
        script = TextField(default='')
        due_at = DateTimeField()
        status = CharField(max_length=16, default='scheduled')
        outcome = CharField(max_length=16, default='')
        attempts = IntegerField(default=0)
        max_attempts = IntegerField(default=3)
        retry_minutes = IntegerField(default=240)
        note = TextField(default='')
        call_note = ForeignKeyField(Comment, null=True, backref='+', on_delete='SET NULL')
        follow_up = ForeignKeyField(Ticket, null=True, backref='+', on_delete='SET NULL')
        done_by = ForeignKeyField(User, null=True, backref='+', on_delete='SET NULL')
        done_at = DateTimeField(null=True)
        reminded_at = DateTimeField(null=True)
        created_at = DateTimeField(default=_now)
        version = IntegerField(default=1)

        class Meta:
            database = db
            table_name = 'follow_up_visit'
            indexes = ((('ticket', 'resolved_at'), True), (('status', 'due_at'), False),
                       (('agent', 'status', 'due_at'), False),
                       (('department', 'status', 'due_at'), False), (('done_at',), False))

    db.create_tables([FollowUpRule, FollowUpVisit])
    migrator.migrate(migrator.add_column('agent_stat', 'csat_answers', IntegerField(default=0)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('agent_stat', 'csat_answers'),
                     migrator.drop_table('follow_up_visit'),
                     migrator.drop_table('follow_up_rule'))
