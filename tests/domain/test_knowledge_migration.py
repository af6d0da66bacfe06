"""Migration 0013 on a database that already holds articles written by the minimal
knowledge table of 0004: each gets its content as a first version, its own translation
group and its author as owner; published ones get a publication time."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance import migrate
from appliance.db import database
from appliance.models import Article, ArticleVersion
from tests.migration_helpers import database_at


@pytest.fixture
def old_database(backend, settings, tmp_path):
    """A database migrated only up to 0012."""
    with database_at("0012_live_events", backend, settings, tmp_path):
        yield


def test_existing_articles_get_a_first_version_group_owner_and_publication_time(old_database):
    when = dt.datetime(2026, 5, 1, 8, 0)
    sql = ("INSERT INTO article (title, body, language, visibility, status, tags, created_at, "
           "updated_at, version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)")
    if database.obj.param == "?":
        sql = sql.replace("%s", "?")
    for title, status, version in (("打印机无法打印", "published", 3), ("草稿", "draft", 1)):
        database.obj.execute_sql(sql, (title, "正文 " + title, "zh", "public", status, '["x"]',
                                       when, when, version))
    assert migrate.pending()[0] == "0013_knowledge_base"
    migrate.upgrade()
    assert migrate.pending() == []

    published, draft = Article.select().order_by(Article.id)
    assert (published.translation_group, draft.translation_group) == (published.id, draft.id)
    assert published.published_at == when and draft.published_at is None
    assert published.ai_generated is False and published.reject_reason == ""
    v = ArticleVersion.get(ArticleVersion.article == published.id)
    assert (v.version, v.title, v.body, v.tags, v.note) == (3, "打印机无法打印", "正文 打印机无法打印",
                                                            ["x"], "imported")
    assert ArticleVersion.select().count() == 2
