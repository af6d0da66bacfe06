"""Customers: portal sign-up, profiles, and submitting a ticket with files from the portal."""
from __future__ import annotations

from pathlib import Path

import pytest

from appliance.errors import (NotFound, PayloadTooLarge, PermissionDenied, UnsupportedMediaType,
                              ValidationError)
from appliance.models import (Attachment, Customer, CustomerContact, NumberSequence, Ticket,
                              TimelineEvent, User)
from appliance.services import contacts, customer_names, customers, org, portal, user_emails, users
from appliance.services.attachments import Upload
from appliance.services.tickets import TicketInput
from tests.conftest import with_settings
from tests.factories import make_org

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64


@pytest.fixture
def demo(settings):
    return make_org()


def stored_files(settings) -> list[Path]:
    root = Path(settings.attachment_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- sign-up -------------------------------------------------------------------------------------

def test_sign_up_creates_a_customer_profile_an_email_contact_and_a_customer_login(settings):
    user = customers.sign_up("wangwu", " 王五 ", "WangWu@Example.com", "Ein-langes-Passwort")
    assert (user.role, user_emails.email_of(user)) == ("customer", "wangwu@example.com")
    # The name lives on the customer, encrypted; the login shows it from there.
    assert user.display_name == "-" and users.actor_of(user).display_name == "王五"
    assert customer_names.name_by_id(user.customer_id) == "王五"
    assert [(x.kind, x.value) for x in contacts.of_customers(
        [r.id for r in Customer.select()])] == [("email", "wangwu@example.com")]
    assert users.authenticate("wangwu", "Ein-langes-Passwort").id == user.id


@pytest.mark.parametrize("args, field", [
    (("a", "王五", "w@example.com", "Ein-langes-Passwort"), "username"),
    (("wangwu", "", "w@example.com", "Ein-langes-Passwort"), "display_name"),
    (("wangwu", "王五", "w@", "Ein-langes-Passwort"), "email"),
    (("wangwu", "王五", "w@example.com", "short"), "password"),
    (("wangwu", "王五", "w@example.com", "wangwu-is-my-password"), "password"),
])
def test_sign_up_reports_each_bad_field_and_creates_nothing(settings, args, field):
    with pytest.raises(ValidationError) as exc:
        customers.sign_up(*args)
    assert field in exc.value.fields
    assert User.select().count() == 0 and Customer.select().count() == 0


def test_a_taken_user_name_cannot_sign_up_again(settings, demo):
    with pytest.raises(ValidationError) as exc:
        customers.sign_up("zhangsan", "另一个张三", "z2@example.com", "Ein-langes-Passwort")
    assert exc.value.fields == {"username": "already taken"}
    assert Customer.select().count() == 2


def test_customers_never_read_staff_profiles_not_even_their_own(settings, demo):
    customers.update_customer(demo.agent, demo.customer.customer_id,
                              {"notes": "abusive, blacklist", "tags": ["vip-watch"]})
    with pytest.raises(NotFound):
        customers.get_customer(demo.customer, demo.customer.customer_id)
    with pytest.raises(NotFound):
        customers.get_customer(demo.customer, demo.other_customer.customer_id)
    with pytest.raises(PermissionDenied):
        customers.list_customers(demo.customer)


def test_staff_find_a_signed_up_customer_by_email(settings, demo):
    found = customers.find_customer_by_contact(demo.agent, "ZHANGSAN@example.com")
    assert found is not None and found.id == demo.customer.customer_id


# --- submitting from the portal ------------------------------------------------------------------

def test_a_portal_ticket_and_its_files_are_stored_together(settings, demo):
    d = portal.submit_ticket(demo.customer, TicketInput(subject="屏幕坏了"),
                             [Upload("a.png", PNG), Upload("log.txt", b"boot failed")], settings)
    assert d.summary.channel == "web" and d.requester.id == demo.customer.user_id
    assert d.summary.customer.id == demo.customer.customer_id
    assert sorted(a.filename for a in d.attachments) == ["a.png", "log.txt"]
    assert all(a.comment_id is None and not a.internal for a in d.attachments)
    assert len(stored_files(settings)) == 2
    kinds = [e.kind for e in TimelineEvent.select().order_by(TimelineEvent.id)]
    assert kinds == ["created", "attachment_added", "attachment_added"]


def test_a_portal_ticket_without_files_is_just_a_ticket(settings, demo):
    d = portal.submit_ticket(demo.customer, TicketInput(subject="问个问题"), [], settings)
    assert d.attachments == [] and stored_files(settings) == []


@pytest.mark.parametrize("uploads, error", [
    ([Upload("ok.png", PNG), Upload("x.exe", b"MZ")], UnsupportedMediaType),
    ([Upload("fake.png", b"<html></html>")], UnsupportedMediaType),
])
def test_a_refused_file_leaves_no_ticket_no_rows_and_no_files(settings, demo, uploads, error):
    with pytest.raises(error):
        portal.submit_ticket(demo.customer, TicketInput(subject="x"), uploads, settings)
    assert Ticket.select().count() == 0 and Attachment.select().count() == 0
    assert stored_files(settings) == []


def test_a_file_over_the_size_limit_leaves_nothing_behind(settings, demo):
    small = with_settings(settings, max_attachment_bytes=100)
    with pytest.raises(PayloadTooLarge):
        portal.submit_ticket(demo.customer, TicketInput(subject="x"),
                             [Upload("big.png", PNG + b"\x00" * 100)], small)
    assert Ticket.select().count() == 0 and stored_files(settings) == []


def test_a_failing_transaction_removes_the_files_it_wrote(settings, demo):
    """Files are written before the transaction; a failure inside it must remove them again."""
    first = portal.submit_ticket(demo.customer, TicketInput(subject="first"), [], settings)
    NumberSequence.update(last=NumberSequence.last - 1).execute()  # the next number collides
    with pytest.raises(Exception):
        portal.submit_ticket(demo.customer, TicketInput(subject="x"), [Upload("a.png", PNG)],
                             settings)
    assert [t.number for t in Ticket.select()] == [first.summary.number]
    assert Attachment.select().count() == 0 and stored_files(settings) == []


def test_field_errors_are_reported_before_any_file_is_checked(settings, demo):
    with pytest.raises(ValidationError) as exc:
        portal.submit_ticket(demo.customer, TicketInput(subject=""), [Upload("x.exe", b"MZ")],
                             settings)
    assert exc.value.fields == {"subject": "required"}


def test_customers_cannot_file_under_an_inactive_category(settings, demo):
    c = org.save_category(demo.admin, "旧产品", active=False)
    with pytest.raises(ValidationError) as exc:
        portal.submit_ticket(demo.customer, TicketInput(subject="x", category_id=c.id), [],
                             settings)
    assert exc.value.fields == {"category_id": "does not exist"}


def test_the_portal_form_is_for_customers_only(settings, demo):
    with pytest.raises(PermissionDenied):
        portal.submit_ticket(demo.agent, TicketInput(subject="x"), [], settings)


def test_at_most_ten_files_per_ticket(settings, demo):
    with pytest.raises(ValidationError) as exc:
        portal.submit_ticket(demo.customer, TicketInput(subject="x"),
                             [Upload(f"{i}.png", PNG) for i in range(11)], settings)
    assert "attachments" in exc.value.fields and stored_files(settings) == []
