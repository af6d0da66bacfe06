"""Audit log: audit_record (HMAC-chained, append-only), audit_checkpoint (Ed25519-signed),
audit_head (the chain's end, locked by writers) and audit_prune_gate (opened only inside
the retention prune's transaction). Triggers refuse UPDATE and DELETE of records and
checkpoints unless the gate is open. See docs/decisions/0026-audit-log.md.
"""
import datetime

from peewee import *


def _now():
    return datetime.datetime.utcnow()


SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_record_no_update BEFORE UPDATE ON audit_record
       BEGIN SELECT RAISE(ABORT, 'audit records cannot be changed'); END""",
    """CREATE TRIGGER audit_record_no_delete BEFORE DELETE ON audit_record
       WHEN NOT EXISTS (SELECT 1 FROM audit_prune_gate)
       BEGIN SELECT RAISE(ABORT, 'audit records cannot be deleted'); END""",
    """CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
       BEGIN SELECT RAISE(ABORT, 'audit checkpoints cannot be changed'); END""",
    """CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
       WHEN NOT EXISTS (SELECT 1 FROM audit_prune_gate)
       BEGIN SELECT RAISE(ABORT, 'audit checkpoints cannot be deleted'); END""",
]

PG_TRIGGERS = [
    # %% is psycopg2's escape for the % placeholders of RAISE.
    """CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_prune_gate) THEN
           RETURN OLD;
         END IF;
         RAISE EXCEPTION 'audit rows cannot be changed or deleted (%% on %%)', TG_OP, TG_TABLE_NAME
           USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER audit_record_guard BEFORE UPDATE OR DELETE ON audit_record
       FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()""",
    """CREATE TRIGGER audit_checkpoint_guard BEFORE UPDATE OR DELETE ON audit_checkpoint
       FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()""",
]


def up(migrator, db):
    class AuditRecord(Model):
        seq = BigIntegerField(unique=True)
        at = DateTimeField(default=_now, index=True)
        actor_id = IntegerField(null=True, index=True)
        actor_name = CharField(max_length=150, default="")
        ip = CharField(max_length=64, default="")
        action = CharField(max_length=64, index=True)
        object_type = CharField(max_length=64, default="")
        object_id = CharField(max_length=64, default="")
        result = CharField(max_length=16, default="success")
        detail = TextField(default="{}")
        mac = CharField(max_length=64)
        class Meta:
            database = db
            table_name = 'audit_record'
            indexes = ((("object_type", "object_id"), False),)

    class AuditCheckpoint(Model):
        seq = BigIntegerField(index=True)
        kind = CharField(max_length=16, default="periodic")
        head_mac = CharField(max_length=64)
        at = CharField(max_length=32)
        count = BigIntegerField()
        key_id = CharField(max_length=16)
        signature = CharField(max_length=128)
        class Meta:
            database = db
            table_name = 'audit_checkpoint'

    class AuditHead(Model):
        seq = BigIntegerField(default=0)
        mac = CharField(max_length=64)
        class Meta:
            database = db
            table_name = 'audit_head'

    db.create_tables([AuditRecord, AuditCheckpoint, AuditHead])
    db.execute_sql("CREATE TABLE audit_prune_gate (id INTEGER PRIMARY KEY)")
    postgres = isinstance(db, PostgresqlDatabase)
    for sql in (PG_TRIGGERS if postgres else SQLITE_TRIGGERS):
        db.execute_sql(sql)


def down(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql("DROP FUNCTION IF EXISTS audit_refuse_change() CASCADE")
    for table in ('audit_prune_gate', 'audit_head', 'audit_checkpoint', 'audit_record'):
        migrator.migrate(migrator.drop_table(table))
