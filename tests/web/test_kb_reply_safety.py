"""The reply form and the Knowledge panel, after review: a reply that was sent stays sent
when recording its knowledge uses fails (no 500 that invites a resend), and an internal
article's snippet is offered with a warning, never recommended for a public reply.
On SQLite and PostgreSQL."""
from __future__ import annotations

import logging
import re

import pytest

from appliance.db import database, is_postgres
from appliance.models import ArticleUse, Comment
from tests.web.test_kb_suggest_pages import INTERNAL_TITLE, kb  # noqa: F401 (fixture)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def article_use_inserts_fail(settings):
    """A real database refusal of every ArticleUse row (a trigger), standing in for
    whatever can go wrong after the reply was committed — e.g. the article being
    deleted between the check and the insert."""
    if is_postgres():
        database.execute_sql(
            "CREATE FUNCTION test_kb_use_fails() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'refused by test trigger'; END $$ LANGUAGE plpgsql")
        database.execute_sql(
            "CREATE TRIGGER test_kb_use_fails BEFORE INSERT ON article_use "
            "FOR EACH ROW EXECUTE FUNCTION test_kb_use_fails()")
    else:
        database.execute_sql(
            "CREATE TRIGGER test_kb_use_fails BEFORE INSERT ON article_use "
            "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END")
    yield
    database.connect(reuse_if_open=True)
    database.execute_sql("DROP TRIGGER IF EXISTS test_kb_use_fails"
                         + (" ON article_use" if is_postgres() else ""))
    if is_postgres():
        database.execute_sql("DROP FUNCTION IF EXISTS test_kb_use_fails()")


def test_a_sent_reply_stays_sent_when_recording_its_uses_fails(
        login, kb, article_use_inserts_fail, caplog):  # noqa: F811
    ids, t = kb
    b = login("wangfang")
    with caplog.at_level(logging.WARNING, logger="webapp.views.agent_tickets"):
        r = b.post(f"/agent/tickets/{t.id}/comments", {
            "kind": "reply", "body": "请参考：如何申请退款", "kb_uses": f"{ids['public']}:link"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/agent/tickets/{t.id}#reply")
    c = Comment.select().where(Comment.ticket == t.id).order_by(Comment.id.desc()).first()
    assert c.body == "请参考：如何申请退款" and not c.internal
    assert ArticleUse.select().count() == 0  # nothing half-written
    [record] = [r for r in caplog.records if "knowledge uses" in r.getMessage()]
    assert record.levelno == logging.WARNING and record.exc_info
    assert record.getMessage() == (
        f"recording knowledge uses failed for ticket {t.id} comment {c.id}")
    page = b.get(r.headers["Location"]).get_data(as_text=True)
    assert "Reply sent." in page and "请参考：如何申请退款" in page


def test_an_internal_articles_snippet_comes_with_a_warning_not_a_recommendation(login, kb):  # noqa: F811
    ids, t = kb
    frame = login("wangfang").get(f"/agent/tickets/{t.id}").get_data(as_text=True)
    assert "Use a snippet in a public reply instead" not in frame
    assert re.search(r'data-msg-confirm-internal="This article is internal: its text is not '
                     r'meant for customers\.', frame)
    page = login("wangfang").get(f"/agent/tickets/{t.id}/kb-suggestions").get_data(as_text=True)
    internal = page[page.index(f'data-article-id="{ids["internal"]}"'):].split("</li>")[0]
    assert INTERNAL_TITLE in internal
    assert re.search(r'data-kb-kind="snippet"\s*data-kb-internal="1"', internal)
    assert (f'aria-describedby="kb-internal-warning-{ids["internal"]}"' in internal
            and f'id="kb-internal-warning-{ids["internal"]}"' in internal
            and "Internal text: not meant for customers." in internal)
    public = page[page.index(f'data-article-id="{ids["public"]}"'):].split("</li>")[0]
    assert re.search(r'data-kb-kind="snippet"\s*data-kb-internal=""', public)
    assert "kb-internal-warning" not in public
