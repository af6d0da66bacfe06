"""Migration 0010 on a database that already holds web form submissions (SQLite and
PostgreSQL): the rows stay with no nonce, the nonce is unique from then on, and the step
goes down and up again."""
from __future__ import annotations

import datetime as dt

import peewee
import pytest
from peewee import BooleanField, CharField, DateTimeField, IntegerField, JSONField, Model

from appliance import migrate
from appliance.db import database
from appliance.models import FormSubmission
from tests.migration_helpers import database_at, runner

STEP = "0010_webform_token_nonce"


@pytest.fixture
def old_database(backend, settings, tmp_path):
    """A database migrated only up to 0009."""
    with database_at("0009_customer_identity", backend, settings, tmp_path):
        yield


def old_rows():
    """The two tables as 0009 left them."""
    class OldForm(Model):
        slug = CharField()
        title = CharField()
        intro = CharField(default="")
        allow_attachments = BooleanField(default=True)
        send_confirmation = BooleanField(default=True)
        active = BooleanField(default=True)
        embed_origins = JSONField(default=list)
        created_at = DateTimeField(default=dt.datetime(2026, 1, 1))

        class Meta:
            database = database.obj
            table_name = "web_form"

    class OldSubmission(Model):
        form_id = IntegerField()
        client_hash = CharField()
        outcome = CharField()
        created_at = DateTimeField(default=dt.datetime(2026, 1, 1))

        class Meta:
            database = database.obj
            table_name = "form_submission"
    form = OldForm.create(slug="support", title="联系我们")
    return [OldSubmission.create(form_id=form.id, client_hash=c * 64, outcome=o).id
            for c, o in (("a", "accepted"), ("b", "invalid"), ("a", "rate_limited"))]


def columns() -> set[str]:
    return {c.name for c in database.get_columns("form_submission")}


def test_upgrading_keeps_old_submissions_without_a_nonce_and_makes_the_nonce_unique(
        backend, old_database):
    ids = old_rows()
    assert STEP in migrate.upgrade()
    rows = list(FormSubmission.select().order_by(FormSubmission.id))
    assert [(r.id, r.outcome, r.nonce_hash, r.post_hash) for r in rows] == [
        (ids[0], "accepted", None, None), (ids[1], "invalid", None, None),
        (ids[2], "rate_limited", None, None)]
    form_id = rows[0].form_id
    FormSubmission.create(form=form_id, client_hash="c" * 64, outcome="accepted",
                          nonce_hash="n" * 64, post_hash="p" * 64)
    with pytest.raises(peewee.IntegrityError), database.atomic():
        FormSubmission.create(form=form_id, client_hash="d" * 64, outcome="accepted",
                              nonce_hash="n" * 64, post_hash="q" * 64)
    assert migrate.pending() == []


def test_the_step_goes_down_and_up_again(backend, old_database):
    old_rows()
    assert runner().up(STEP) == [STEP]  # this step alone: later steps are theirs to test
    assert {"nonce_hash", "post_hash"} <= columns()
    assert runner().down(STEP) == [STEP]
    assert not {"nonce_hash", "post_hash"} & columns()
    assert FormSubmission.select(FormSubmission.id).count() == 3
    assert migrate.pending()[:1] == [STEP]
    assert runner().up(STEP) == [STEP]
    assert {"nonce_hash", "post_hash"} <= columns()
    assert FormSubmission.select(FormSubmission.id).count() == 3
