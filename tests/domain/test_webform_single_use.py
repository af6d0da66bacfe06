"""A web form token opens at most one ticket, on SQLite and PostgreSQL: a resubmit of the
same post gets the first post's ticket number and stores nothing; the same token with a
different post is refused; parallel posts with one token open one ticket; the unique
nonce decides should two posts ever get past the check together; a replay after the
token's lifetime opens nothing."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import peewee
import pytest

from appliance.db import database
from appliance.models import Attachment, Customer, FormSubmission, Job, Ticket, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import webform_log, webforms
from appliance.services.attachments import Upload
from tests.factories import make_org

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64
GOOD = {"name": "赵六", "email": "zhao@example.com", "subject": "打印机卡纸",
        "description": "一直卡纸"}


@pytest.fixture
def form(settings):
    o = make_org()
    return webforms.save_form(SYSTEM, webforms.WebFormInput(
        slug="support", title="联系我们", department_id=o.after_sales))


def token(settings, age=5.0) -> str:
    return webforms.issue_token("support", settings, now=time.time() - age)


def post(settings, tok, addr="203.0.113.7", now=None, **fields):
    s = webforms.Submission(**{**GOOD, "uploads": [Upload("a.png", PNG)], **fields})
    return webforms.submit("support", s, addr, settings, token=tok, now=now)


def files(settings) -> list[Path]:
    root = Path(settings.attachment_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def stored() -> tuple:
    """Everything a post can store: tickets, customers, attachments, log rows, jobs."""
    return (Ticket.select().count(), Customer.select().count(), Attachment.select().count(),
            FormSubmission.select().count(), Job.select().count())


def test_a_resubmit_of_the_same_post_gets_the_same_number_and_stores_nothing(settings, form):
    tok = token(settings)
    first = post(settings, tok)
    before, on_disk = stored(), files(settings)
    again = post(settings, tok, addr="198.51.100.9")  # a reconnecting phone: another address
    assert (again.outcome, again.ticket_number, again.replay) == \
        ("accepted", first.ticket_number, True)
    assert not first.replay and first.ticket_number == Ticket.get().number
    assert stored() == before and files(settings) == on_disk  # no second confirmation either


def test_the_accepted_row_keeps_only_hashes_of_the_nonce_and_the_post(settings, form):
    tok = token(settings)
    post(settings, tok)
    row = FormSubmission.get()
    assert len(row.nonce_hash) == 64 and len(row.post_hash) == 64
    assert tok not in (row.nonce_hash, row.post_hash)
    assert "zhao" not in row.post_hash and "打印机" not in row.post_hash


def test_the_same_token_with_a_different_post_is_refused_and_stores_nothing(settings, form):
    tok = token(settings)
    post(settings, tok)
    before, on_disk = stored(), files(settings)
    for change in ({"subject": "另一个问题"}, {"uploads": [Upload("b.png", PNG)]},
                   {"uploads": []}):
        with pytest.raises(webforms.FormTokenError) as exc:
            post(settings, tok, **change)
        assert exc.value.reason == "used"
    assert stored() == before and files(settings) == on_disk


def test_a_refused_post_does_not_use_up_its_token(settings, form):
    tok = token(settings)
    with pytest.raises(webforms.ValidationError):
        post(settings, tok, subject="")
    assert post(settings, tok).outcome == "accepted" and Ticket.select().count() == 1


def test_a_replay_after_the_token_lifetime_opens_nothing_even_once_the_log_is_pruned(
        settings, form):
    tok = token(settings)
    post(settings, tok)
    before = stored()
    later = time.time() + webforms.TOKEN_MAX_AGE + 1
    with pytest.raises(webforms.FormTokenError) as exc:
        post(settings, tok, now=later)
    assert exc.value.reason == "expired" and stored() == before
    FormSubmission.update(created_at=utcnow() - webform_log.KEEP).execute()
    assert webform_log.prune() == 1 and not FormSubmission.select().exists()
    with pytest.raises(webforms.FormTokenError) as exc:
        post(settings, tok, now=later)
    assert exc.value.reason == "expired" and Ticket.select().count() == 1


def test_parallel_posts_with_one_token_open_one_ticket_and_all_get_its_number(settings, form):
    tok, n = token(settings), 6
    start = threading.Barrier(n)
    results, errors = [], []

    def send():
        try:
            start.wait(10)  # a burst of clicks arriving together
            results.append(post(settings, tok))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(results) == n and sum(not r.replay for r in results) == 1
    assert {r.ticket_number for r in results} == {Ticket.get().number}
    assert Ticket.select().count() == 1 and FormSubmission.select().count() == 1
    assert len(files(settings)) == 1  # the others removed the files they had written


def test_the_database_holds_one_row_per_nonce(settings, form):
    FormSubmission.create(form=form.id, client_hash="c" * 64, outcome="invalid")
    FormSubmission.create(form=form.id, client_hash="c" * 64, outcome="invalid")  # NULLs
    FormSubmission.create(form=form.id, client_hash="c" * 64, outcome="accepted",
                          nonce_hash="n" * 64)
    with pytest.raises(peewee.IntegrityError), database.atomic():
        FormSubmission.create(form=form.id, client_hash="d" * 64, outcome="accepted",
                              nonce_hash="n" * 64)
    assert FormSubmission.select().count() == 3


def test_when_two_posts_pass_the_check_together_the_unique_nonce_keeps_one_ticket(
        settings, form, monkeypatch):
    """Fault injection: the look-ups for the token miss (as if a post committed between
    them and the insert); the unique index refuses the second row, the second post's
    ticket, customer and files are rolled back, and it answers with the first number."""
    tok = token(settings)
    first = post(settings, tok)
    before, on_disk = stored(), files(settings)
    real, calls = webform_log.earlier, []

    def missing_twice(seal):
        calls.append(seal)
        return None if len(calls) <= 2 else real(seal)
    monkeypatch.setattr(webform_log, "earlier", missing_twice)
    again = post(settings, tok)
    assert len(calls) == 3  # early check, check in the transaction, after the refusal
    assert (again.ticket_number, again.replay) == (first.ticket_number, True)
    assert stored() == before and files(settings) == on_disk
