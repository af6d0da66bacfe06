"""Backups and backup checks asked for on the system administrator's backup page and run
by the worker (docs/decisions/0044): one row per run, its state and result."""
import datetime

from peewee import *


def _now():
    return datetime.datetime.utcnow()


def up(migrator, db):
    class BackupRun(Model):
        kind = CharField(max_length=8)
        file_name = CharField(max_length=64, default='')
        requested_by = IntegerField(null=True)
        requested_at = DateTimeField(default=_now)
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        status = CharField(max_length=16, default='queued')
        bytes = BigIntegerField(default=0)
        files = IntegerField(default=0)
        seconds = FloatField(default=0.0)
        error = CharField(max_length=300, default='')

        class Meta:
            database = db
            table_name = 'backup_run'

    db.create_tables([BackupRun])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('backup_run'))
