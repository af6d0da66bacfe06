"""A customer's portal login shows its customer's name (docs/decisions/0052): the name
typed at sign-up is already the customer's (encrypted since 0033), so the login's
plaintext copy in user.display_name is replaced by "-". Logins without a customer and
staff keep theirs. (SQLite's secure_delete overwrites the old values in place.)"""
from peewee import *


# PostgreSQL keeps dropped columns' values and replaced row versions (the plaintext) in
# the table's files until it is rewritten: `db upgrade` rewrites these tables afterwards
# (appliance.migrate._rewrite).
REWRITE_TABLES = ('user',)


def up(migrator, db):
    db.execute_sql("UPDATE \"user\" SET display_name = '-' "
                   "WHERE role = 'customer' AND customer_id IS NOT NULL")


def down(migrator, db):
    raise RuntimeError("0036 cannot be undone: the names live on the customers; restore a "
                       "backup taken before the upgrade")
