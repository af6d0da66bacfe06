"""Live updates: live_event (what open pages follow, ids and kinds only, pruned after
live_keep_hours) and live_presence (who has a ticket open or is replying to it). See
docs/decisions/0019-live-updates.md.
"""
import datetime

from peewee import *


def _now():
    return datetime.datetime.utcnow()


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class LiveEvent(Model):
        topic = CharField(max_length=64, default="")
        ticket_id = IntegerField(null=True)
        kind = CharField(max_length=32)
        internal = BooleanField(default=False)
        actor_id = IntegerField(null=True)
        data = JSONField(null=True)
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'live_event'

    class LivePresence(Model):
        ticket_id = IntegerField()
        user = ForeignKeyField(User, on_delete="CASCADE")
        viewing_until = DateTimeField()
        replying_until = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'live_presence'
            indexes = ((("ticket_id", "user"), True),)

    db.create_tables([LiveEvent, LivePresence])


def down(migrator, db):
    for table in ('live_presence', 'live_event'):
        migrator.migrate(migrator.drop_table(table))
