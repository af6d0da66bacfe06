"""Scheduled e-mail reports (docs/decisions/0041): report_schedule, and report_run with
one row per schedule and period (unique), which makes sending a period exactly-once."""
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
    User, MailMessage = _ref(db, 'user'), _ref(db, 'mail_message')

    class ReportSchedule(Model):
        owner = ForeignKeyField(User, backref='+', on_delete='CASCADE')
        name = CharField(max_length=100)
        params = JSONField(default=dict)
        frequency = CharField(max_length=8)
        weekday = SmallIntegerField(null=True)
        day = SmallIntegerField(null=True)
        hour = SmallIntegerField(default=8)
        time_zone = CharField(max_length=64, default='Asia/Shanghai')
        recipients = JSONField(default=list)
        format = CharField(max_length=4, default='xlsx')
        active = BooleanField(default=True)
        paused_reason = CharField(max_length=200, default='')
        last_sent_at = DateTimeField(null=True)
        next_run_at = DateTimeField(null=True, index=True)
        created_at = DateTimeField(default=_now)
        version = IntegerField(default=1)

        class Meta:
            database = db
            table_name = 'report_schedule'

    class ReportRun(Model):
        schedule = ForeignKeyField(ReportSchedule, backref='runs', on_delete='CASCADE')
        period_key = CharField(max_length=16)
        date_from = DateField()
        date_to = DateField()
        mail = ForeignKeyField(MailMessage, null=True, on_delete='SET NULL')
        status = CharField(max_length=8, default='queued')
        rows = IntegerField(default=0)
        created_at = DateTimeField(default=_now)

        class Meta:
            database = db
            table_name = 'report_run'
            indexes = ((('schedule', 'period_key'), True),)

    db.create_tables([ReportSchedule, ReportRun])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('report_run'))
    migrator.migrate(migrator.drop_table('report_schedule'))
