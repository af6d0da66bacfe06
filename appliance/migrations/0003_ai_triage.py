"""AI triage: classifier versions, triage runs, label profiles, priority rules, drafts; AI fields on ticket."""
from peewee import *

# TODO: created_at: default <function utcnow at 0x7fdb1ad34220> must be added by hand
# TODO: created_at: default <function utcnow at 0x7fdb1ad34220> must be added by hand
# TODO: updated_at: default <function utcnow at 0x7fdb1ad34220> must be added by hand
# TODO: updated_at: default <function utcnow at 0x7fdb1ad34220> must be added by hand
# TODO: created_at: default <function utcnow at 0x7fdb1ad34220> must be added by hand

def up(migrator, db):
    class Ticket(Model):
        class Meta:
            database = db
            table_name = 'ticket'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class AiDraft(Model):
        ticket = ForeignKeyField(Ticket, on_delete='CASCADE')
        user = ForeignKeyField(User, on_delete='CASCADE')
        kind = CharField(max_length=16)
        tone = CharField(max_length=16, default='formal')
        language = CharField(max_length=8, default='')
        status = CharField(max_length=16, default='queued')
        text = TextField(default='')
        citations = JSONField(default=list)
        model = CharField(max_length=100, default='')
        prompt_version = CharField(max_length=32, default='')
        error = CharField(default='')
        created_at = DateTimeField()
        finished_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'ai_draft'
            indexes = ((('ticket', 'user', 'id'), False),)
    db.create_tables([AiDraft])

    class ClassifierVersion(Model):
        field = CharField(max_length=32)
        version = IntegerField()
        kind = CharField(max_length=16)
        blob = BlobField()
        sha256 = CharField(max_length=64)
        n_examples = IntegerField(default=0)
        metrics = JSONField(default=dict)
        active = BooleanField(default=False)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'classifier_version'
            indexes = ((('field', 'version'), True), (('field', 'active'), False))
    db.create_tables([ClassifierVersion])

    class LabelProfile(Model):
        field = CharField(max_length=32)
        value = CharField(max_length=64)
        description = TextField(default='')
        examples = JSONField(default=list)
        active = BooleanField(default=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'label_profile'
            indexes = ((('field', 'value'), True),)
    db.create_tables([LabelProfile])

    class TriageRule(Model):
        name = CharField(max_length=100)
        condition = CharField(max_length=32)
        keywords = JSONField(default=list)
        threshold = IntegerField(default=0)
        priority = SmallIntegerField(null=True)
        urgency = CharField(null=True, max_length=8)
        active = BooleanField(default=True)
        position = IntegerField(default=0)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'triage_rule'
    db.create_tables([TriageRule])

    class TriageRun(Model):
        ticket = ForeignKeyField(Ticket, on_delete='CASCADE')
        stage = CharField(max_length=16)
        status = CharField(max_length=16)
        model = CharField(max_length=100, default='')
        model_sha256 = CharField(max_length=64, default='')
        classifier_versions = JSONField(default=dict)
        prompt_version = CharField(max_length=32, default='')
        rules_version = CharField(max_length=32, default='')
        suggestions = JSONField(default=dict)
        applied = JSONField(default=dict)
        error = CharField(default='')
        duration_ms = IntegerField(default=0)
        created_at = DateTimeField()
        undone_at = DateTimeField(null=True)
        undone_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'triage_run'
            indexes = ((('ticket', 'id'), False),)
    db.create_tables([TriageRun])

    migrator.migrate(migrator.add_column('ticket', 'language', CharField(max_length=8, default='')))
    migrator.migrate(migrator.add_column('ticket', 'sentiment', CharField(max_length=16, default='')))
    migrator.migrate(migrator.add_column('ticket', 'summary', CharField(max_length=500, default='')))
    # JSON columns: the migrator cannot write a dict/list default into existing rows on
    # SQLite, so add them nullable, fill them, then make them NOT NULL.
    for column, empty in (('entities', '{}'), ('required_skills', '[]')):
        migrator.migrate(migrator.add_column('ticket', column, JSONField(null=True)))
        db.execute_sql(f"UPDATE ticket SET {column} = %s" % db.param, (empty,))  # nosec B608  # column names from a literal tuple
        migrator.migrate(migrator.add_not_null('ticket', column))
    migrator.migrate(migrator.add_column('ticket', 'triage_state', CharField(max_length=16, default='')))
    migrator.migrate(migrator.add_index('ticket', ('triage_state', 'id')))


def down(migrator, db):
    migrator.migrate(migrator.drop_index('ticket', 'ticket_triage_state_id'))
    migrator.migrate(migrator.drop_column('ticket', 'triage_state'))
    migrator.migrate(migrator.drop_column('ticket', 'required_skills'))
    migrator.migrate(migrator.drop_column('ticket', 'entities'))
    migrator.migrate(migrator.drop_column('ticket', 'summary'))
    migrator.migrate(migrator.drop_column('ticket', 'sentiment'))
    migrator.migrate(migrator.drop_column('ticket', 'language'))
    migrator.migrate(migrator.drop_table('triage_run'))
    migrator.migrate(migrator.drop_table('triage_rule'))
    migrator.migrate(migrator.drop_table('label_profile'))
    migrator.migrate(migrator.drop_table('classifier_version'))
    migrator.migrate(migrator.drop_table('ai_draft'))
