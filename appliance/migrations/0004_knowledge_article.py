"""Knowledge articles: the minimal table reply drafts ground on (the knowledge-base
issue adds the rest). created_at/updated_at get their value from the model (utcnow)."""
from peewee import *


def up(migrator, db):
    class Category(Model):
        class Meta:
            database = db
            table_name = 'category'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Article(Model):
        title = CharField()
        body = TextField(default='')
        language = CharField(max_length=8, default='zh')
        visibility = CharField(max_length=16, default='internal')
        status = CharField(max_length=16, default='draft')
        tags = JSONField(default=list)
        category = ForeignKeyField(Category, null=True, on_delete='SET NULL')
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        updated_at = DateTimeField()
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'article'
            indexes = ((('status', 'language', 'id'), False),)
    db.create_tables([Article])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('article'))
