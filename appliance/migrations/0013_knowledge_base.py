"""The knowledge base (docs/decisions/0023-knowledge-base.md): article owner, review
date, translations, AI proposals and review; versions, ticket links, uses, files,
searches, synonyms and category reviewers; an index on ticket.resolved_at (knowledge
coverage counts the tickets resolved in a period). Existing articles get their current
content as a first version row, so every article has a history to roll back to.
"""
import datetime

from peewee import *


def _now():
    return datetime.datetime.utcnow()


def up(migrator, db):
    def table(name):
        class T(Model):
            class Meta:
                database = db
                table_name = name
        return T

    User, Category, Ticket, Comment, Article = (
        table(n) for n in ('user', 'category', 'ticket', 'comment', 'article'))

    fk = dict(field=User.id, null=True, on_delete='SET NULL')
    for column, field in (
            ('owner_id', ForeignKeyField(User, **fk)),
            ('review_by', DateField(null=True)),
            ('translation_group', IntegerField(null=True)),
            ('ai_generated', BooleanField(default=False)),
            ('update_of_id', ForeignKeyField(Article, field=Article.id, null=True,
                                             on_delete='SET NULL')),
            ('reject_reason', TextField(default='')),
            ('reviewed_by_id', ForeignKeyField(User, **fk)),
            ('published_at', DateTimeField(null=True))):
        migrator.migrate(migrator.add_column('article', column, field))
    migrator.migrate(migrator.add_index('article', ('translation_group', 'language'), True))
    # Knowledge coverage counts the tickets resolved in a period.
    migrator.migrate(migrator.add_index('ticket', ('resolved_at',)))

    class ArticleVersion(Model):
        article = ForeignKeyField(Article, on_delete='CASCADE')
        version = IntegerField()
        title = CharField(max_length=255)
        body = TextField(default='')
        tags = JSONField(default=list)
        category_id = IntegerField(null=True)
        visibility = CharField(max_length=16, default='internal')
        editor = ForeignKeyField(User, null=True, on_delete='SET NULL')
        note = CharField(max_length=255, default='')
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'article_version'
            indexes = ((('article', 'version'), True),)

    class ArticleTicket(Model):
        article = ForeignKeyField(Article, on_delete='CASCADE')
        ticket = ForeignKeyField(Ticket, on_delete='CASCADE')
        kind = CharField(max_length=16)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'article_ticket'
            indexes = ((('article', 'ticket', 'kind'), True), (('ticket', 'kind'), False))

    class ArticleUse(Model):
        article = ForeignKeyField(Article, on_delete='RESTRICT')
        kind = CharField(max_length=16)
        ticket = ForeignKeyField(Ticket, null=True, on_delete='SET NULL')
        comment = ForeignKeyField(Comment, null=True, on_delete='SET NULL')
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'article_use'
            indexes = ((('kind', 'created_at'), False), (('article', 'kind'), False))

    class ArticleFile(Model):
        article = ForeignKeyField(Article, on_delete='CASCADE')
        filename = CharField(max_length=255)
        storage_name = CharField(max_length=64, unique=True)
        content_type = CharField(max_length=100)
        size = IntegerField()
        sha256 = CharField(max_length=64)
        uploaded_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'article_file'

    class KnowledgeSearch(Model):
        query = CharField(max_length=200)
        scope = CharField(max_length=16)
        results = IntegerField()
        created_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'knowledge_search'
            indexes = ((('results', 'created_at'), False),)

    class SynonymSet(Model):
        words = JSONField(default=list)
        updated_at = DateTimeField(default=_now)
        class Meta:
            database = db
            table_name = 'synonym_set'

    class CategoryReviewer(Model):
        category = ForeignKeyField(Category, on_delete='CASCADE')
        user = ForeignKeyField(User, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'category_reviewer'
            indexes = ((('category', 'user'), True),)

    db.create_tables([ArticleVersion, ArticleTicket, ArticleUse, ArticleFile, KnowledgeSearch,
                      SynonymSet, CategoryReviewer])
    db.execute_sql(
        'INSERT INTO article_version (article_id, version, title, body, tags, category_id, '  # nosec B608  # constant SQL, no input
        'visibility, editor_id, note, created_at) '
        'SELECT id, version, title, body, tags, category_id, visibility, created_by_id, %s, '
        'updated_at FROM article' % ("'imported'",))
    db.execute_sql('UPDATE article SET translation_group = id, owner_id = created_by_id')
    db.execute_sql("UPDATE article SET published_at = updated_at WHERE status = 'published'")


def down(migrator, db):
    for t in ('category_reviewer', 'synonym_set', 'knowledge_search', 'article_file', 'article_use',
              'article_ticket', 'article_version'):
        migrator.migrate(migrator.drop_table(t))
    migrator.migrate(migrator.drop_index('article', 'article_translation_group_language'))
    migrator.migrate(migrator.drop_index('ticket', 'ticket_resolved_at'))
    for column in ('owner_id', 'review_by', 'translation_group', 'ai_generated', 'update_of_id',
                   'reject_reason', 'reviewed_by_id', 'published_at'):
        migrator.migrate(migrator.drop_column('article', column))
