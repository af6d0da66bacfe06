"""Two small schema fixes (docs/decisions/0040):

- routing_decision.latency_ms becomes a 64-bit integer: a manual assignment of a ticket
  older than 24.8 days overflowed PostgreSQL's 32-bit integer (SQLite's INTEGER is 64-bit
  already, so nothing changes there).
- ticket.updated_at gets an index: the report refresh reads the tickets changed since
  its watermark every five minutes (a full scan of a million tickets otherwise).
"""
from peewee import *


def up(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql('ALTER TABLE "routing_decision" ALTER COLUMN "latency_ms" TYPE BIGINT')
    migrator.migrate(migrator.add_index('ticket', ('updated_at',), False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index('ticket', 'ticket_updated_at'))
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql('ALTER TABLE "routing_decision" ALTER COLUMN "latency_ms" TYPE INTEGER')
