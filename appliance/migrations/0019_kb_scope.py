"""Department scope of unpublished knowledge articles (docs/decisions/0033): the column
article.department_id, filled for existing articles from the ticket an AI draft was
written from (its lowest-id "source" link), else from the author's current department
(None, organisation-wide, where there is neither).

Run `gongdan search rebuild` after upgrading: the article index gains a department field,
and until it is rebuilt, unpublished articles are left out of searches for staff who do
not see every department (never shown to the wrong ones).
"""
from peewee import *


def _models(db):
    class Department(Model):
        class Meta:
            database = db
            table_name = 'department'

    class User(Model):
        department = ForeignKeyField(Department, null=True)

        class Meta:
            database = db
            table_name = 'user'

    class Ticket(Model):
        department = ForeignKeyField(Department, null=True)

        class Meta:
            database = db
            table_name = 'ticket'

    class Article(Model):
        created_by = ForeignKeyField(User, null=True)
        department = ForeignKeyField(Department, null=True)

        class Meta:
            database = db
            table_name = 'article'

    class ArticleTicket(Model):
        article = ForeignKeyField(Article)
        ticket = ForeignKeyField(Ticket)
        kind = CharField(max_length=16)

        class Meta:
            database = db
            table_name = 'article_ticket'
    return Department, User, Ticket, Article, ArticleTicket


def _fill(db):
    Department, User, Ticket, Article, ArticleTicket = _models(db)
    sources = {}
    for article_id, department_id in (ArticleTicket.select(ArticleTicket.article, Ticket.department)
                                      .join(Ticket, on=(ArticleTicket.ticket == Ticket.id))
                                      .where(ArticleTicket.kind == 'source')
                                      .order_by(ArticleTicket.id.desc()).tuples()):
        sources[article_id] = department_id  # the lowest id wins: the ticket it was drafted from
    authors = dict(User.select(User.id, User.department).tuples())
    for article_id, author_id in Article.select(Article.id, Article.created_by).tuples():
        department = sources[article_id] if article_id in sources else authors.get(author_id)
        if department is not None:
            Article.update(department=department).where(Article.id == article_id).execute()


def up(migrator, db):
    Department = _models(db)[0]
    migrator.migrate(migrator.add_column(
        'article', 'department_id',
        ForeignKeyField(Department, field=Department.id, null=True, on_delete='RESTRICT')))
    _fill(db)


def down(migrator, db):
    migrator.migrate(migrator.drop_column('article', 'department_id'))
