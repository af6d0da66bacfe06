"""Knowledge-base articles: what agents write down once so that replies (and, later,
the customer portal) can point to it. The full knowledge base (editor, review,
index, portal pages) is a later issue; this is the part reply drafts ground on.
"""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .org import User
from .tickets import Category


class Article(BaseModel):
    """One article in one language; `body` is the Markdown source (rendered and
    sanitised only where it is shown, never stored as HTML)."""
    title = pw.CharField(max_length=255)
    body = pw.TextField(default="")
    language = pw.CharField(max_length=8, default="zh")  # zh | en
    visibility = pw.CharField(max_length=16, default="internal")  # internal | public
    status = pw.CharField(max_length=16, default="draft")  # draft | published | archived
    tags = pw.JSONField(default=list)
    category = pw.ForeignKeyField(Category, null=True, on_delete="SET NULL")
    # SET NULL: an article outlives the account of whoever wrote it.
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    version = pw.IntegerField(default=1)

    class Meta:
        # Retrieval reads the published articles of one language, newest first.
        indexes = ((("status", "language", "id"), False),)
