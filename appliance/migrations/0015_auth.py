"""Authentication (decision 0027): lockout counters, password age, TOTP columns on user;
half-authenticated and re-authentication marks on user_session; password_history,
recovery_code and rate_event (the shared counters of the login rate limits).
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

    class PasswordHistory(Model):
        user = ForeignKeyField(User, on_delete="CASCADE")
        password_hash = CharField(max_length=255)
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'password_history'

    class RecoveryCode(Model):
        user = ForeignKeyField(User, on_delete="CASCADE")
        code_hash = CharField(max_length=64)
        used_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'recovery_code'
            indexes = ((("user", "code_hash"), True),)

    class RateEvent(Model):
        key = CharField(max_length=64)
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'rate_event'
            indexes = ((("key", "created_at"), False),)

    migrator.migrate(
        migrator.add_column('user', 'failed_logins', IntegerField(default=0)),
        migrator.add_column('user', 'locked_until', DateTimeField(null=True)),
        migrator.add_column('user', 'password_changed_at', DateTimeField(null=True)),
        migrator.add_column('user', 'totp_secret', CharField(max_length=255, default="")),
        migrator.add_column('user', 'totp_pending', CharField(max_length=255, default="")),
        migrator.add_column('user', 'totp_last_step', IntegerField(null=True)),
        migrator.add_column('user_session', 'mfa_pending', BooleanField(default=False)),
        migrator.add_column('user_session', 'reauth_at', DateTimeField(null=True)))
    db.create_tables([PasswordHistory, RecoveryCode, RateEvent])


def down(migrator, db):
    for table in ('rate_event', 'recovery_code', 'password_history'):
        migrator.migrate(migrator.drop_table(table))
    migrator.migrate(
        migrator.drop_column('user_session', 'reauth_at'),
        migrator.drop_column('user_session', 'mfa_pending'),
        *[migrator.drop_column('user', c) for c in (
            'totp_last_step', 'totp_pending', 'totp_secret', 'password_changed_at',
            'locked_until', 'failed_logins')])
