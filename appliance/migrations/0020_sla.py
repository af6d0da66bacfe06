"""SLA policies on business calendars (docs/decisions/0036): sla_calendar (one per
department, plus the default one without a department, created here: Monday–Friday
09:00–12:00 and 13:30–18:00 in Asia/Shanghai with Chinese holidays and make-up days),
sla_policy, ticket_sla (each ticket's computed clocks) and sla_event (warnings and
breaches, once each).

Customer tiers need no schema: a customer's tier is its VIP tag (vip, vip-gold, ...), as
dispatch and triage already read it, else "standard".
"""
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

    class SlaCalendar(Model):
        name = CharField(max_length=100)
        department = ForeignKeyField(Department, null=True, unique=True, on_delete='CASCADE')
        time_zone = CharField(max_length=64, default='Asia/Shanghai')
        week = JSONField(default=list)
        chinese_holidays = BooleanField(default=True)
        makeup_day_hours = JSONField(null=True)
        closures = JSONField(default=list)
        extra_open_days = JSONField(default=list)
        version = IntegerField(default=1)
        updated_at = DateTimeField(default=_now)

        class Meta:
            database = db
            table_name = 'sla_calendar'

    class SlaPolicy(Model):
        name = CharField(max_length=100)
        position = IntegerField(default=100)
        active = BooleanField(default=True)
        priorities = JSONField(default=list)
        category_ids = JSONField(default=list)
        tiers = JSONField(default=list)
        channels = JSONField(default=list)
        first_response_minutes = IntegerField(null=True)
        next_response_minutes = IntegerField(null=True)
        resolution_minutes = IntegerField(null=True)
        warn_at = JSONField(default=list)
        escalations = JSONField(default=list)
        version = IntegerField(default=1)
        updated_at = DateTimeField(default=_now)

        class Meta:
            database = db
            table_name = 'sla_policy'

    class TicketSla(Model):
        ticket = ForeignKeyField(Ticket, primary_key=True, on_delete='CASCADE')
        policy = ForeignKeyField(SlaPolicy, null=True, on_delete='SET NULL')
        is_open = BooleanField(default=True)
        next_due_at = DateTimeField(null=True)
        breached = BooleanField(default=False)
        warning = SmallIntegerField(null=True)
        paused = BooleanField(default=False)
        clocks = JSONField(default=dict)
        computed_at = DateTimeField(default=_now)

        class Meta:
            database = db
            table_name = 'ticket_sla'
            indexes = ((('is_open', 'next_due_at'), False), (('is_open', 'breached'), False))

    class SlaEvent(Model):
        ticket = ForeignKeyField(Ticket, on_delete='CASCADE')
        policy = ForeignKeyField(SlaPolicy, null=True, on_delete='SET NULL')
        clock = CharField(max_length=16)
        threshold = SmallIntegerField()
        started_at = DateTimeField()
        created_at = DateTimeField(default=_now)

        class Meta:
            database = db
            table_name = 'sla_event'
            indexes = ((('ticket', 'clock', 'threshold', 'started_at'), True),)

    db.create_tables([SlaCalendar, SlaPolicy, TicketSla, SlaEvent])
    office = [['09:00', '12:00'], ['13:30', '18:00']]
    SlaCalendar.create(name='默认 Default', department=None, time_zone='Asia/Shanghai',
                       week=[office] * 5 + [[], []], chinese_holidays=True)


def down(migrator, db):
    for table in ('sla_event', 'ticket_sla', 'sla_policy', 'sla_calendar'):
        migrator.migrate(migrator.drop_table(table))
