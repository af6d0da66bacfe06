"""Migration 0009 on a database that already holds contacts written the old way, with
duplicates: normalised, the oldest row kept, the conflict noted, then unique."""
from __future__ import annotations


import peewee
import pytest

from appliance import migrate
from appliance.db import database
from appliance.models import Customer
from appliance.services import contacts
from tests.migration_helpers import database_at, old_customer_tables as old_tables


@pytest.fixture
def old_database(backend, settings, tmp_path):
    """A database migrated only up to 0008."""
    with database_at("0008_omnichannel", backend, settings, tmp_path):
        yield


def test_upgrading_keeps_the_oldest_of_duplicate_contacts_and_notes_the_conflict(
        backend, old_database):
    OldCustomer, OldContact = old_tables()
    first = OldCustomer.create(name="王五").id
    second = OldCustomer.create(name="王五（重复）", notes="旧备注").id
    third = OldCustomer.create(name="赵六").id
    for customer_id, kind, value in (
            (first, "email", "Wang@Example.com"), (first, "phone", "+86 138 0013 8000"),
            (second, "email", "wang@example.com"), (second, "phone", "13900139000 "),
            (first, "phone", "138-0013-8000"),           # the same number twice on one customer
            (third, "phone", "０１０-６２３４５６７８"),     # full-width digits
            (third, "email", "wang@example.com"), (third, "phone", "not a number")):
        OldContact.create(customer_id=customer_id, kind=kind, value=value)

    assert migrate.upgrade()[:1] == ["0009_customer_identity"]  # later steps follow

    # Encrypted since 0018: read through the service that decrypts them.
    rows = [(c.customer_id, c.kind, c.value) for c in contacts.of_customers([first, second, third])]
    assert rows == [(first, "email", "wang@example.com"), (first, "phone", "13800138000"),
                    (second, "phone", "13900139000"), (third, "phone", "01062345678"),
                    (third, "phone", "not a number")]
    assert Customer.get_by_id(first).notes == "" and Customer.get_by_id(first).version == 1
    moved = Customer.get_by_id(second)
    # Masked: agents read notes but see other customers' contacts only masked.
    assert moved.notes.startswith("旧备注\n\n[upgrade 0009] The email contact w***@example.com "
                                  f"was also recorded for customer #{first}")
    assert "wang@example.com" not in moved.notes
    assert moved.version == 2
    third_notes = Customer.get_by_id(third).notes
    assert f"customer #{first}" in third_notes and "wang@example.com" not in third_notes
    assert Customer.get_by_id(third).merged_into is None
    with pytest.raises(peewee.IntegrityError):
        with database.atomic():
            contacts.add(third, "phone", "13800138000")
