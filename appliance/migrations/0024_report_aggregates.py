"""Report aggregates (docs/decisions/0040): per-ticket and per-survey facts, daily buckets
and the refresh state. A cache: `gongdan reports rebuild` fills it from the ticket tables."""
import datetime

from peewee import *

CREATED = ("created", "frt_n", "frt_sum", "assign_n", "assign_sum", "reassigns",
           "ai_suggested", "ai_accepted", "csat_sent", "csat_answered", "csat_good",
           "nps_sent", "nps_answered", "nps_promoters", "nps_detractors")
RESOLVED = ("resolved", "aht_sum", "fcr", "reopened", "kb_linked", "kb_inserted",
            "sla_n", "sla_met")
BIGS = ("frt_sum", "assign_sum", "aht_sum")
HOURS = tuple(f"h{i:02d}" for i in range(24))
FRT_HIST = tuple(f"frt_b{i:02d}" for i in range(11))


def _now():
    return datetime.datetime.utcnow()


def _add(model, names):
    for name in names:
        model._meta.add_field(name, BigIntegerField(default=0) if name in BIGS
                              else IntegerField(default=0))


def up(migrator, db):
    class ReportFact(Model):
        kind = CharField(max_length=8)
        ref_id = IntegerField()
        ticket_id = IntegerField(null=True)
        department_id = IntegerField(default=0)
        channel = CharField(max_length=16, default='')
        category_id = IntegerField(default=0)
        agent_id = IntegerField(default=0)
        day = DateField()
        hour = SmallIntegerField(default=0)
        rday = DateField(null=True)
        is_open = BooleanField(default=False)
        opened_at = DateTimeField(null=True)
        frt_bin = SmallIntegerField(default=-1)
        updated_at = DateTimeField(default=_now)

        class Meta:
            database = db
            table_name = 'report_fact'
            indexes = (
                (('kind', 'ref_id'), True),
                (('day', 'department_id', 'channel', 'category_id', 'agent_id'), False),
                (('rday', 'department_id', 'channel', 'category_id', 'agent_id'), False),
                (('is_open', 'department_id', 'channel', 'category_id', 'agent_id',
                  'opened_at'), False),
                (('agent_id', 'day'), False),
                (('kind', 'day', 'ticket_id'), False),
                (('kind', 'rday', 'ticket_id'), False),
                (('ticket_id',), False),
            )

    class ReportBucket(Model):
        grain = CharField(max_length=1)
        day = DateField()
        department_id = IntegerField(default=0)
        channel = CharField(max_length=16, default='')
        category_id = IntegerField(default=0)
        agent_id = IntegerField(default=0)

        class Meta:
            database = db
            table_name = 'report_bucket'
            indexes = (
                (('grain', 'day', 'department_id', 'channel', 'category_id', 'agent_id'), True),
                (('grain', 'agent_id', 'day'), False),
                (('grain', 'category_id', 'day'), False),
            )

    class ReportState(Model):
        id = IntegerField(primary_key=True)
        time_zone = CharField(max_length=64, default='')
        changed_since = DateTimeField(null=True)
        last_ids = JSONField(default=dict)
        sweep_after = IntegerField(default=0)
        refreshed_at = DateTimeField(null=True)
        rebuilt_at = DateTimeField(null=True)
        rebuilding_since = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'report_state'

    _add(ReportFact, CREATED + RESOLVED)
    _add(ReportBucket, CREATED + RESOLVED + HOURS + FRT_HIST)
    db.create_tables([ReportFact, ReportBucket, ReportState])


def down(migrator, db):
    for table in ('report_state', 'report_bucket', 'report_fact'):
        migrator.migrate(migrator.drop_table(table))
