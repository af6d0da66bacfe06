"""Index job(name, object_id): batch claiming and the re-run check look jobs up by object."""
from peewee import *

def up(migrator, db):
    migrator.migrate(migrator.add_index('job', ('name', 'object_id')))


def down(migrator, db):
    migrator.migrate(migrator.drop_index('job', 'job_name_object_id'))
