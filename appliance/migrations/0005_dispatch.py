"""Dispatch: agent profiles, shifts, absences, department policies, the waiting queue,
routing decisions, agent efficiency, notifications, category skills; skill kind and
language; how and when a ticket's assignee got it."""
import datetime

from peewee import *


def _now():
    return datetime.datetime.utcnow()


def up(migrator, db):
    class Department(Model):
        class Meta:
            database = db
            table_name = 'department'

    class Team(Model):
        class Meta:
            database = db
            table_name = 'team'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Ticket(Model):
        class Meta:
            database = db
            table_name = 'ticket'

    class Category(Model):
        class Meta:
            database = db
            table_name = 'category'

    class Skill(Model):
        class Meta:
            database = db
            table_name = 'skill'

    class AgentProfile(Model):
        user = ForeignKeyField(User, primary_key=True, on_delete='CASCADE')
        presence = CharField(max_length=8, default='offline')
        presence_auto = BooleanField(default=True)
        presence_changed_at = DateTimeField(default=_now)
        last_activity_at = DateTimeField(null=True)
        last_assigned_at = DateTimeField(null=True)
        allowed_category_ids = JSONField(default=list)
        allowed_customer_ids = JSONField(default=list)
        vip_tiers = JSONField(default=list)
        languages = JSONField(default=list)
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'agent_profile'

    class AgentShift(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        weekday = SmallIntegerField(constraints=[Check('weekday BETWEEN 0 AND 6')])
        start_minute = SmallIntegerField()
        end_minute = SmallIntegerField()
        class Meta:
            database = db
            table_name = 'agent_shift'
            indexes = ((('user', 'weekday'), False),)

    class AgentAbsence(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        kind = CharField(max_length=16, default='break')
        starts_at = DateTimeField()
        ends_at = DateTimeField()
        note = CharField(max_length=200, default='')
        class Meta:
            database = db
            table_name = 'agent_absence'
            indexes = ((('user', 'ends_at'), False),)

    class DispatchPolicy(Model):
        department = ForeignKeyField(Department, primary_key=True, on_delete='CASCADE')
        auto_assign = BooleanField(default=True)
        strategy = CharField(max_length=16, default='skills')
        weights = JSONField(default=dict)
        channel_weights = JSONField(default=dict)
        priority_weights = JSONField(default=dict)
        escalate_after_minutes = IntegerField(default=0)
        lead = ForeignKeyField(User, null=True, on_delete='SET NULL')
        overflow_department = ForeignKeyField(Department, null=True, on_delete='SET NULL',
                                              backref='overflow_for')
        overflow_team = ForeignKeyField(Team, null=True, on_delete='SET NULL')
        updated_at = DateTimeField(default=_now)
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'dispatch_policy'

    class QueueEntry(Model):
        ticket = ForeignKeyField(Ticket, primary_key=True, on_delete='CASCADE')
        department = ForeignKeyField(Department, on_delete='CASCADE')
        priority = SmallIntegerField(default=3)
        due_at = DateTimeField(null=True)
        since = DateTimeField(default=_now)
        reason = CharField(max_length=32, default='')
        escalated_at = DateTimeField(null=True)
        attempts = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'queue_entry'
            indexes = ((('department', 'priority', 'due_at', 'since'), False),)

    class RoutingDecision(Model):
        ticket = ForeignKeyField(Ticket, on_delete='CASCADE')
        department = ForeignKeyField(Department, null=True, on_delete='SET NULL')
        agent = ForeignKeyField(User, null=True, on_delete='SET NULL')
        mode = CharField(max_length=16)
        strategy = CharField(max_length=16, default='')
        explanation = JSONField(default=dict)
        candidates = JSONField(default=list)
        excluded = JSONField(default=dict)
        latency_ms = IntegerField(default=0)
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'routing_decision'
            indexes = ((('ticket', 'id'), False), (('created_at',), False))

    class AgentStat(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        category = ForeignKeyField(Category, null=True, on_delete='CASCADE')
        window_days = IntegerField()
        closed = IntegerField(default=0)
        median_handle_minutes = FloatField(null=True)
        fcr_rate = FloatField(null=True)
        reopen_rate = FloatField(null=True)
        csat = FloatField(null=True)
        updated_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'agent_stat'
            indexes = ((('user', 'category'), True),)

    class Notification(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        kind = CharField(max_length=32)
        ticket = ForeignKeyField(Ticket, null=True, on_delete='CASCADE')
        data = JSONField(default=dict)
        created_at = DateTimeField(default=_now)
        read_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'notification'
            indexes = ((('user', 'read_at', 'id'), False),)

    class CategorySkill(Model):
        category = ForeignKeyField(Category, on_delete='CASCADE')
        skill = ForeignKeyField(Skill, on_delete='CASCADE')
        min_level = SmallIntegerField(default=1, constraints=[Check('min_level BETWEEN 1 AND 5')])
        class Meta:
            database = db
            table_name = 'category_skill'
            indexes = ((('category', 'skill'), True),)

    db.create_tables([AgentProfile, AgentShift, AgentAbsence, DispatchPolicy, QueueEntry,
                      RoutingDecision, AgentStat, Notification, CategorySkill])
    migrator.migrate(migrator.add_column('ticket', 'assignment_mode',
                                         CharField(max_length=16, default='')))
    migrator.migrate(migrator.add_column('ticket', 'assigned_at', DateTimeField(null=True)))
    migrator.migrate(migrator.add_column('skill', 'kind', CharField(max_length=16, default='general')))
    migrator.migrate(migrator.add_column('skill', 'language', CharField(max_length=8, default='')))


def down(migrator, db):
    for column in ('assignment_mode', 'assigned_at'):
        migrator.migrate(migrator.drop_column('ticket', column))
    for column in ('kind', 'language'):
        migrator.migrate(migrator.drop_column('skill', column))
    for table in ('category_skill', 'notification', 'agent_stat', 'routing_decision', 'queue_entry',
                  'dispatch_policy', 'agent_absence', 'agent_shift', 'agent_profile'):
        migrator.migrate(migrator.drop_table(table))
