"""The web forms' submission log is pruned, on SQLite and PostgreSQL: rows older than any
limit window and the token lifetime go; rows that still count for a limit, or whose token
could still be posted again, stay; pruning twice changes nothing; the nightly periodic
task runs it."""
from __future__ import annotations

import datetime as dt
import time

import pytest

from appliance import tasks
from appliance.models import FormSubmission, Ticket, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import webform_log, webforms
from tests.conftest import with_settings
from tests.factories import make_org

GOOD = {"name": "赵六", "email": "zhao@example.com", "subject": "打印机卡纸",
        "description": "一直卡纸"}


@pytest.fixture
def form(settings):
    o = make_org()
    return webforms.save_form(SYSTEM, webforms.WebFormInput(
        slug="support", title="联系我们", department_id=o.after_sales))


def token(settings, age=5.0) -> str:
    return webforms.issue_token("support", settings, now=time.time() - age)


def post(settings, tok=None, addr="203.0.113.7", **fields):
    return webforms.submit("support", webforms.Submission(**{**GOOD, **fields}), addr,
                           settings, token=tok or token(settings))


def age_rows(ids, by: dt.timedelta) -> None:
    for row in list(FormSubmission.select().where(FormSubmission.id.in_(ids))):
        FormSubmission.update(created_at=row.created_at - by).where(
            FormSubmission.id == row.id).execute()


def last_id() -> int:
    return FormSubmission.select(FormSubmission.id).order_by(FormSubmission.id.desc()).scalar()


def test_the_log_is_kept_as_long_as_the_limits_and_the_token_lifetime_need(settings, form):
    assert webform_log.KEEP > dt.timedelta(seconds=webforms.TOKEN_MAX_AGE)
    assert webform_log.KEEP > webform_log.CLIENT_WINDOW > webform_log.FORM_WINDOW


def test_old_rows_go_and_rows_that_still_count_stay(settings, form):
    s = with_settings(settings, webform_limit_per_hour=2)
    for i in range(3):  # yesterday's posts from the same client
        post(settings, subject=f"昨天{i}")
    age_rows([r.id for r in FormSubmission.select()], dt.timedelta(days=1))
    post(s, subject="半小时前")
    counting = last_id()
    age_rows([counting], dt.timedelta(minutes=30))
    with pytest.raises(webforms.ValidationError):
        post(s, addr="198.51.100.2", subject="")  # an invalid post counts too
    invalid = last_id()
    assert webform_log.prune() == 3
    assert [r.id for r in FormSubmission.select().order_by(FormSubmission.id)] == \
        [counting, invalid]
    assert webform_log.prune() == 0  # idempotent
    post(s, subject="现在")  # one of two this hour: still room
    with pytest.raises(webforms.RateLimited):  # the kept row still counts for the limit
        post(s, subject="再来一个")
    assert Ticket.select().count() == 5


def test_a_token_that_can_still_be_posted_keeps_its_row_and_stays_used(settings, form):
    tok = token(settings, age=webforms.TOKEN_MAX_AGE - 120)  # issued almost 2 h ago
    first = post(settings, tok)
    age_rows([last_id()], dt.timedelta(seconds=webforms.TOKEN_MAX_AGE - 130))
    assert webform_log.prune() == 0
    again = post(settings, tok)
    assert (again.replay, again.ticket_number) == (True, first.ticket_number)
    assert Ticket.select().count() == 1


def test_pruning_goes_in_batches_until_nothing_old_is_left(settings, form, monkeypatch):
    monkeypatch.setattr(webform_log, "PRUNE_BATCH", 2)
    s = with_settings(settings, webform_limit_per_hour=100)
    for i in range(5):
        with pytest.raises(webforms.ValidationError):
            post(s, subject="")
    age_rows([r.id for r in FormSubmission.select()], dt.timedelta(hours=3))
    post(s)
    assert webform_log.prune() == 5 and FormSubmission.select().count() == 1


def test_the_nightly_periodic_task_prunes_the_log(settings, form):
    post(settings, subject="很久以前")
    age_rows([last_id()], dt.timedelta(days=2))
    post(settings, subject="刚才")
    kept = last_id()
    huey = tasks.get_huey(settings)
    due = {type(t).__name__: t for t in huey.read_periodic(dt.datetime(2026, 3, 2, 3, 17))}
    assert "gongdan.nightly" in due
    assert "gongdan.nightly" not in {
        type(t).__name__ for t in huey.read_periodic(dt.datetime(2026, 3, 2, 4, 17))}
    huey.execute(due["gongdan.nightly"])
    assert [r.id for r in FormSubmission.select()] == [kept]
    assert utcnow() - FormSubmission.get().created_at < dt.timedelta(minutes=5)
