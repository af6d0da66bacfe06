"""Partial indexes where nearly every row has the same value (docs/decisions/0049).

SQLite's planner has one average per index (sqlite_stat1), so an index on a column
whose value is the same on nearly every row looks useless to it, and it scans the table:

- the sidebar's "Needs triage" count (every agent page) walked the agent's whole
  department: 40-90 ms a page at 200,000 tickets. Indexes holding only the tickets in
  "review" (or "pending") replace the plain (triage_state, id) one; the state stays their
  first column, so an equality on it is what the planner sees;
- merged_into (tickets, customers) and the ID number's blind index are empty on nearly
  every row: the ticket page's "merged into this one" lookup scanned the ticket table
  (40 ms). Their indexes now hold only the rows with a value.

PostgreSQL uses the same partial indexes (each query's condition implies the index's).
"""
from peewee import *

STATES = ("review", "pending")
# (table, column, index name, condition): fixed names, never input
PARTIAL = (("ticket", "merged_into_id", "ticket_merged_into_id", '"merged_into_id" IS NOT NULL'),
           ("customer", "merged_into_id", "customer_merged_into_id",
            '"merged_into_id" IS NOT NULL'),
           ("customer", "id_number_bidx", "customer_id_number_bidx", "\"id_number_bidx\" != ''"))


def up(migrator, db):
    migrator.migrate(migrator.drop_index('ticket', 'ticket_triage_state_id'))
    for state in STATES:
        db.execute_sql(f'CREATE INDEX "ticket_triage_{state}_id" ON "ticket" ("triage_state", "id") '
                       f"WHERE \"triage_state\" = '{state}'")
    for table, column, name, condition in PARTIAL:
        migrator.migrate(migrator.drop_index(table, name))
        db.execute_sql(f'CREATE INDEX "{name}" ON "{table}" ("{column}") WHERE {condition}')


def down(migrator, db):
    for table, column, name, _ in PARTIAL:
        migrator.migrate(migrator.drop_index(table, name))
        migrator.migrate(migrator.add_index(table, (column,), False))
    for state in STATES:
        migrator.migrate(migrator.drop_index('ticket', f'ticket_triage_{state}_id'))
    migrator.migrate(migrator.add_index('ticket', ('triage_state', 'id'), False))
