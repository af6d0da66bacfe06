"""Quality inspection (docs/decisions/0039): rule-set versions, one inspection per agent
reply and rule-set version (unique comment + ruleset_version), the adjustment history."""
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
    User, Department = _ref(db, 'user'), _ref(db, 'department')
    Comment, Ticket = _ref(db, 'comment'), _ref(db, 'ticket')

    class QualityRuleset(Model):
        version = IntegerField(unique=True)
        config = JSONField(default=dict)
        created_by = ForeignKeyField(User, null=True, backref='+', on_delete='SET NULL')
        created_at = DateTimeField(default=_now)

        class Meta:
            database = db
            table_name = 'quality_ruleset'

    class QualityInspection(Model):
        comment = ForeignKeyField(Comment, backref='+', on_delete='CASCADE')
        ruleset_version = IntegerField()
        ticket = ForeignKeyField(Ticket, backref='+', on_delete='CASCADE')
        agent = ForeignKeyField(User, null=True, backref='+', on_delete='SET NULL')
        department = ForeignKeyField(Department, null=True, backref='+', on_delete='SET NULL')
        replied_at = DateTimeField()
        language = CharField(max_length=8, default='')
        findings = JSONField(default=list)
        rule_points = FloatField(default=0)
        rubric = JSONField(null=True)
        rubric_state = CharField(max_length=8, default='pending')
        rubric_error = CharField(max_length=255, default='')
        rubric_tries = SmallIntegerField(default=0)
        rubric_model = CharField(max_length=128, default='')
        prompt_version = CharField(max_length=32, default='')
        score = FloatField(default=0)
        complete = BooleanField(default=False)
        adjusted = JSONField(default=dict)
        adjusted_score = FloatField(null=True)
        sampled = BooleanField(default=False)
        reviewed_by = ForeignKeyField(User, null=True, backref='+', on_delete='SET NULL')
        reviewed_at = DateTimeField(null=True)
        appeal_state = CharField(max_length=8, default='')
        appeal_reason = TextField(default='')
        appealed_at = DateTimeField(null=True)
        appeal_comment = TextField(default='')
        appeal_resolved_by = ForeignKeyField(User, null=True, backref='+', on_delete='SET NULL')
        appeal_resolved_at = DateTimeField(null=True)
        version = IntegerField(default=1)
        created_at = DateTimeField(default=_now)

        class Meta:
            database = db
            table_name = 'quality_inspection'
            indexes = ((('comment', 'ruleset_version'), True),
                       (('department', 'replied_at'), False), (('agent', 'replied_at'), False))

    class QualityAdjustment(Model):
        inspection = ForeignKeyField(QualityInspection, backref='history', on_delete='CASCADE')
        actor = ForeignKeyField(User, null=True, backref='+', on_delete='SET NULL')
        kind = CharField(max_length=16)
        item = CharField(max_length=32, default='')
        before = FloatField(null=True)
        after = FloatField(null=True)
        comment = TextField(default='')
        created_at = DateTimeField(default=_now)

        class Meta:
            database = db
            table_name = 'quality_adjustment'

    db.create_tables([QualityRuleset, QualityInspection, QualityAdjustment])


def down(migrator, db):
    for table in ('quality_adjustment', 'quality_inspection', 'quality_ruleset'):
        migrator.migrate(migrator.drop_table(table))
