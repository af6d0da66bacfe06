"""The knowledge base: articles with versions, translations, review, links to tickets,
usage (what replies and the portal did with an article) and the searches people made.

Bodies are Markdown source, rendered and sanitised only where shown (never stored as
HTML). See docs/decisions/0023-knowledge-base.md.
"""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .org import Department, User
from .tickets import Category, Comment, Ticket


class Article(BaseModel):
    """One article in one language.

    status: draft → in_review → published → archived; an AI proposal ends as
    `rejected` (reason kept) or `merged` (its text went into `update_of`).
    `translation_group` is the id of the group's first article: the articles that
    share it are translations of each other (one per language).
    """
    title = pw.CharField(max_length=255)
    body = pw.TextField(default="")
    language = pw.CharField(max_length=8, default="zh")  # zh | en
    visibility = pw.CharField(max_length=16, default="internal")  # internal | public
    status = pw.CharField(max_length=16, default="draft")
    tags = pw.JSONField(default=list)
    category = pw.ForeignKeyField(Category, null=True, on_delete="SET NULL")
    # SET NULL: an article outlives the account of whoever wrote it.
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    owner = pw.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="owned_articles")
    review_by = pw.DateField(null=True)
    translation_group = pw.IntegerField(null=True)
    ai_generated = pw.BooleanField(default=False)
    update_of = pw.ForeignKeyField("self", null=True, on_delete="SET NULL", backref="proposals")
    reject_reason = pw.TextField(default="")
    reviewed_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    published_at = pw.DateTimeField(null=True)
    version = pw.IntegerField(default=1)
    # Who may see it while unpublished (rules.knowledge.in_department_scope; None =
    # organisation-wide). RESTRICT: deleting the department must not widen the scope.
    department = pw.ForeignKeyField(Department, null=True, on_delete="RESTRICT", backref="+")

    class Meta:
        # Retrieval reads the published articles of one language, newest first; a
        # translation group holds one article per language.
        indexes = ((("status", "language", "id"), False),
                   (("translation_group", "language"), True))


class ArticleVersion(BaseModel):
    """The content of an article as of one version (written on every content change);
    rollback writes the old content as a new version, so history only grows."""
    article = pw.ForeignKeyField(Article, backref="versions", on_delete="CASCADE")
    version = pw.IntegerField()
    title = pw.CharField(max_length=255)
    body = pw.TextField(default="")
    tags = pw.JSONField(default=list)
    category_id = pw.IntegerField(null=True)
    visibility = pw.CharField(max_length=16, default="internal")
    editor = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    note = pw.CharField(max_length=255, default="")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("article", "version"), True),)


class ArticleTicket(BaseModel):
    """An article linked to a ticket: `source` (an AI draft was written from it),
    `related` (linked by hand) or `used` (a reply on the ticket inserted the article)."""
    article = pw.ForeignKeyField(Article, backref="ticket_links", on_delete="CASCADE")
    ticket = pw.ForeignKeyField(Ticket, on_delete="CASCADE")
    kind = pw.CharField(max_length=16)
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("article", "ticket", "kind"), True), (("ticket", "kind"), False))


class ArticleUse(BaseModel):
    """What someone did with an article: `link` or `snippet` inserted in a reply
    (comment set once the reply is posted), `deflection` (a customer said it solved
    the problem instead of opening a ticket), `cited` by an AI draft. Reuse metrics
    count these; an article a published reply used cannot be hard-deleted."""
    article = pw.ForeignKeyField(Article, backref="uses", on_delete="RESTRICT")
    kind = pw.CharField(max_length=16)
    ticket = pw.ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
    comment = pw.ForeignKeyField(Comment, null=True, on_delete="SET NULL")
    user = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("kind", "created_at"), False), (("article", "kind"), False))


class ArticleFile(BaseModel):
    """An image or attachment of an article (bytes in the attachment store, encrypted
    like ticket attachments)."""
    article = pw.ForeignKeyField(Article, backref="files", on_delete="CASCADE")
    filename = pw.CharField(max_length=255)
    storage_name = pw.CharField(max_length=64, unique=True)
    content_type = pw.CharField(max_length=100)
    size = pw.IntegerField()
    sha256 = pw.CharField(max_length=64)
    uploaded_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)


class KnowledgeSearch(BaseModel):
    """One knowledge search as typed (PII-masked, at most 200 characters) and how many
    results it had: "top searches with no result" shows what to write next."""
    query = pw.CharField(max_length=200)
    scope = pw.CharField(max_length=16)  # agent | portal | api
    results = pw.IntegerField()
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("results", "created_at"), False),)


class SynonymSet(BaseModel):
    """Words that mean the same to searchers (退款/退钱/返款), admin-managed."""
    words = pw.JSONField(default=list)
    updated_at = pw.DateTimeField(default=utcnow)


class CategoryReviewer(BaseModel):
    """Who reviews articles of a category (and its sub-categories) before publishing."""
    category = pw.ForeignKeyField(Category, on_delete="CASCADE")
    user = pw.ForeignKeyField(User, on_delete="CASCADE")

    class Meta:
        indexes = ((("category", "user"), True),)
