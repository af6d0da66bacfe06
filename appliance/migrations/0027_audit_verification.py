"""Audit chain verification as a worker job (docs/decisions/0043): one row per run, its
state and result; the web request only queues it."""
import datetime

from peewee import *


def _now():
    return datetime.datetime.utcnow()


def up(migrator, db):
    class AuditVerification(Model):
        requested_by = IntegerField(null=True)
        requested_at = DateTimeField(default=_now)
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        status = CharField(max_length=16, default='queued')
        records = BigIntegerField(default=0)
        checkpoints = IntegerField(default=0)
        first_seq = BigIntegerField(null=True)
        last_seq = BigIntegerField(null=True)
        problems = JSONField(default=list)
        more_problems = IntegerField(default=0)
        error = CharField(max_length=200, default='')

        class Meta:
            database = db
            table_name = 'audit_verification'

    db.create_tables([AuditVerification])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('audit_verification'))
