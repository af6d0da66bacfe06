"""The web form service on SQLite and PostgreSQL: one accepted post stores customer,
ticket, attachment and submission together; tokens, honeypot and limits store only the
submission row (or nothing); parallel posts cannot pass the limits together; a failure
inside the transaction leaves nothing."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from appliance.db import database
from appliance.errors import PermissionDenied, UnsupportedMediaType, ValidationError
from appliance.models import Attachment, FormSubmission, Job, Ticket
from appliance.rules.access import SYSTEM
from appliance.services import contacts, webforms
from appliance.services.attachments import Upload
from tests.conftest import with_settings
from tests.factories import make_org

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64
GOOD = dict(name="赵六", email="zhao@example.com", subject="打印机卡纸", description="一直卡纸")


@pytest.fixture
def org(settings):
    return make_org()


@pytest.fixture
def form(org):
    return webforms.save_form(SYSTEM, webforms.WebFormInput(
        slug="support", title="联系我们", department_id=org.after_sales))


def submit(settings, age=5.0, addr="203.0.113.7", **fields):
    return webforms.submit("support", webforms.Submission(**{**GOOD, **fields}), addr, settings,
                           token=webforms.issue_token("support", settings,
                                                      now=time.time() - age))


def files(settings) -> list[Path]:
    root = Path(settings.attachment_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_an_accepted_post_stores_everything_together(settings, form, org):
    result = submit(settings, uploads=[Upload("a.png", PNG)])
    t = Ticket.get()
    assert (result.outcome, result.ticket_number) == ("accepted", t.number)
    assert (t.channel, t.department_id) == ("web", org.after_sales)
    assert contacts.owner("email", "zhao@example.com") == t.customer_id
    assert Attachment.get().ticket_id == t.id and len(files(settings)) == 1
    assert FormSubmission.get().ticket_id == t.id
    assert Job.select().where(Job.name == "triage_ticket").exists()  # as for any ticket


def test_token_checks(settings, form):
    with pytest.raises(webforms.FormTokenError) as exc:
        submit(settings, age=0.5)
    assert exc.value.reason == "too_fast"
    with pytest.raises(webforms.FormTokenError) as exc:
        submit(settings, age=webforms.TOKEN_MAX_AGE + 60)
    assert exc.value.reason == "expired"
    other = with_settings(settings, secret_key="another-secret")
    with pytest.raises(webforms.FormTokenError) as exc:
        webforms.check_token(webforms.issue_token("support", other, now=time.time() - 5),
                             "support", settings)
    assert exc.value.reason == "invalid"
    assert FormSubmission.select().count() == 0 and Ticket.select().count() == 0


def test_honeypot_and_rate_limit_store_only_the_row(settings, form):
    s = with_settings(settings, webform_limit_per_hour=1)
    assert submit(s, honeypot="x").outcome == "honeypot"
    with pytest.raises(webforms.RateLimited):
        submit(s)
    assert [r.outcome for r in FormSubmission.select().order_by(FormSubmission.id)] == [
        "honeypot", "rate_limited"]
    assert Ticket.select().count() == 0
    assert submit(s, addr="198.51.100.1").outcome == "accepted"


@pytest.mark.parametrize("limit,one_client", [("webform_limit_per_hour", True),
                                               ("webform_form_limit_per_minute", False)])
def test_parallel_posts_cannot_all_pass_the_limit_on_the_same_count(settings, form, limit,
                                                                   one_client):
    s = with_settings(settings, **{limit: 2})
    n = 8
    start = threading.Barrier(n)
    outcomes, errors = [], []

    def post(i):
        try:
            start.wait(10)  # all posts count at once
            addr = "203.0.113.7" if one_client else f"198.51.100.{i + 1}"
            outcomes.append(submit(s, addr=addr, subject=f"第{i}个",
                                   uploads=[Upload("a.png", PNG)]).outcome)
        except webforms.RateLimited:
            outcomes.append("rate_limited")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(outcomes) == ["accepted"] * 2 + ["rate_limited"] * (n - 2)
    assert Ticket.select().count() == 2
    assert sorted(r.outcome for r in FormSubmission.select()) == \
        ["accepted"] * 2 + ["rate_limited"] * (n - 2)
    assert len(files(s)) == 2  # a refused post's file is not left behind


def test_a_refused_file_stores_nothing_but_the_invalid_row(settings, form):
    with pytest.raises(UnsupportedMediaType):
        submit(settings, uploads=[Upload("a.png", PNG), Upload("b.png", b"<html>")])
    assert Ticket.select().count() == 0 and not files(settings)
    assert [r.outcome for r in FormSubmission.select()] == ["invalid"]


def test_a_failure_inside_the_transaction_rolls_everything_back(settings, form, monkeypatch):
    from appliance.services import mail_notify

    def broken(*a, **kw):
        raise RuntimeError("outbox down")
    monkeypatch.setattr(mail_notify, "queue_ticket_notice", broken)
    with pytest.raises(RuntimeError):
        submit(settings, uploads=[Upload("a.png", PNG)])
    assert Ticket.select().count() == 0 and Attachment.select().count() == 0
    assert not contacts.exists("email", "zhao@example.com")
    assert FormSubmission.select().count() == 0 and not files(settings)


def test_admin_validation_names_each_field_and_only_admins_manage(settings, form, org):
    with pytest.raises(ValidationError) as exc:
        webforms.save_form(SYSTEM, webforms.WebFormInput(
            slug="support", title="", category_id=999, embed_origins=["https://a.com/path"]))
    assert set(exc.value.fields) == {"slug", "title", "category_id", "embed_origins"}
    with pytest.raises(PermissionDenied):
        webforms.save_form(org.agent, webforms.WebFormInput(slug="x", title="x"))
    with pytest.raises(PermissionDenied):
        webforms.list_forms(org.supervisor)
