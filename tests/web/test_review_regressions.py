"""Regression tests for defects found in review (each named for the attack it stops)."""
import pytest

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.models import Ticket
from appliance.models import User
from appliance.services import comments, customers, links, tickets, users
from appliance.services import org as org_services
from appliance.services.queues import TicketQuery, list_tickets
from appliance.services.tickets import TicketInput
from webapp.auth import safe_next


@pytest.mark.parametrize("target", ["//evil.example/x", "/\t/evil.example", "/\\evil.example",
                                    "https://evil.example", "/%0a", "/\n/evil.example", "", None,
                                    "javascript:alert(1)", "/ /evil"])
def test_open_redirect_targets_fall_back_to_home(target):
    assert safe_next(target, "/home") in ("/home", "/%0a")


def test_same_site_paths_are_kept_for_redirects():
    assert safe_next("/agent/?view=mine&sort=priority", "/home") == "/agent/?view=mine&sort=priority"


def test_login_with_a_tab_smuggled_next_does_not_leave_the_site(browser, org):
    b = browser()
    token = b.csrf("/login?next=/%09/evil.example/x")
    r = b.client.post("/login?next=/%09/evil.example/x", data={
        "username": "wangfang", "password": org.passwords["wangfang"], "csrf_token": token})
    assert r.status_code == 302 and "evil.example" not in r.headers["Location"]


def test_merging_tickets_of_different_customers_is_refused(settings, org):
    a = tickets.create_ticket(org.customer, TicketInput(subject="A"), settings)
    b = tickets.create_ticket(org.other_customer, TicketInput(subject="B"), settings)
    comments.add_comment(org.customer, a.summary.id, "my private reply", settings)
    with pytest.raises(Conflict):
        links.merge_tickets(org.admin, a.summary.id, b.summary.id, settings)
    assert [c.body for c in tickets.get_ticket(org.other_customer, b.summary.id, settings).comments] == []


def test_splitting_an_internal_note_is_refused(settings, org):
    t = tickets.create_ticket(org.customer, TicketInput(subject="x"), settings)
    note = comments.add_comment(org.agent, t.summary.id, "INTERNAL: fraud suspect", settings,
                                internal=True)
    with pytest.raises(ValidationError):
        links.split_comment(org.agent, t.summary.id, note.id, settings)


def test_customers_see_no_internal_metadata_of_their_ticket(settings, org):
    t = tickets.create_ticket(org.customer, TicketInput(subject="x"), settings)
    tickets.update_ticket(org.agent, t.summary.id, {"tags": ["angry-customer"],
                                                     "assignee_id": org.agent.user_id}, settings)
    seen = tickets.get_ticket(org.customer, t.summary.id, settings)
    assert seen.tags == [] and {e.kind for e in seen.events} <= {
        "created", "status_changed", "reopened", "reply_added", "attachment_added"}
    assert "angry-customer" not in str(seen.events)


def test_sub_tickets_are_internal_work_orders_never_shown_to_the_customer(settings, org):
    t = tickets.create_ticket(org.customer, TicketInput(subject="退款"), settings)
    tickets.update_ticket(org.agent, t.summary.id, {"department_id": org.after_sales}, settings)
    child = links.create_subticket(org.agent, t.summary.id, TicketInput(
        subject="财务: 客户可疑，先别退款", department_id=org.logistics,
        customer_id=org.customer.customer_id), settings)
    assert child.summary.customer is None
    assert [x.number for x in list_tickets(org.customer, TicketQuery(view="all")).items] == [
        t.summary.number]


def test_sub_tickets_need_a_parent_with_an_owner_so_someone_can_follow_them(settings, org):
    parent = tickets.create_ticket(org.agent, TicketInput(subject="pool"), settings)
    with pytest.raises(ValidationError) as exc:
        links.create_subticket(org.agent, parent.summary.id, TicketInput(subject="x"), settings)
    assert "parent" in exc.value.fields


def test_a_sub_ticket_is_visible_to_the_parents_department_and_its_own_not_to_others(settings, org):
    parent = tickets.create_ticket(org.agent, TicketInput(subject="p", department_id=org.after_sales),
                                   settings)
    child = links.create_subticket(org.agent, parent.summary.id, TicketInput(
        subject="need a courier", department_id=org.logistics), settings)
    assert tickets.get_ticket(org.agent, child.summary.id, settings)
    assert tickets.get_ticket(org.agent2, child.summary.id, settings)
    other = users.create_user(org.admin, "finance1", "财务", "agent",
                              department_id=org_services.save_department(
                                  org.admin, "FIN", "财务").id)[0]
    with pytest.raises(NotFound):
        tickets.get_ticket(users.actor_of(User.get_by_id(other.id)), child.summary.id, settings)


def test_customers_cannot_tag_or_use_inactive_categories(settings, org):
    from appliance.services import org as org_services
    cat = org_services.save_category(org.admin, "旧分类", active=False)
    with pytest.raises(ValidationError) as exc:
        tickets.create_ticket(org.customer, TicketInput(subject="x", category_id=cat.id), settings)
    assert "category_id" in exc.value.fields
    t = tickets.create_ticket(org.customer, TicketInput(subject="x", tags=["vip"]), settings)
    assert tickets.get_ticket(org.agent, t.summary.id, settings).tags == []


def test_a_merged_ticket_is_terminal(settings, org):
    a = tickets.create_ticket(org.customer, TicketInput(subject="a"), settings)
    b = tickets.create_ticket(org.customer, TicketInput(subject="b"), settings)
    links.merge_tickets(org.agent, a.summary.id, b.summary.id, settings)
    with pytest.raises(Conflict):
        comments.add_comment(org.customer, a.summary.id, "hello?", settings)
    with pytest.raises(Conflict):
        tickets.transition_ticket(org.agent, a.summary.id, "open", settings)
    with pytest.raises(Conflict):
        tickets.update_ticket(org.agent, a.summary.id, {"priority": 1}, settings)
    assert not tickets.get_ticket(org.customer, a.summary.id, settings).can_reply


def test_a_customer_reply_to_a_ticket_resolved_long_ago_is_refused_not_swallowed(settings, org):
    import datetime as dt
    t = tickets.create_ticket(org.customer, TicketInput(subject="x"), settings)
    tickets.transition_ticket(org.agent, t.summary.id, "resolved", settings)
    Ticket.update(resolved_at=dt.datetime(2000, 1, 1)).execute()
    assert not tickets.get_ticket(org.customer, t.summary.id, settings).can_reply
    with pytest.raises(Conflict):
        comments.add_comment(org.customer, t.summary.id, "still broken", settings)


def test_customer_edits_are_guarded_by_version(settings, org):
    c = customers.create_customer(org.agent, "王五")
    customers.update_customer(org.agent, c.id, {"company": "A"}, expected_version=c.version)
    with pytest.raises(Conflict):
        customers.update_customer(org.agent, c.id, {"company": "B"}, expected_version=c.version)
    with pytest.raises(ValidationError):
        customers.update_customer(org.agent, c.id, {"company": "B"}, expected_version="abc")


def test_saving_without_changes_does_not_bump_the_version(settings, org):
    t = tickets.create_ticket(org.agent, TicketInput(subject="x"), settings)
    d = tickets.update_ticket(org.agent, t.summary.id, {"priority": t.summary.priority}, settings)
    assert d.summary.version == t.summary.version


def test_splitting_a_reply_makes_stale_forms_of_the_source_conflict(settings, org):
    t = tickets.create_ticket(org.customer, TicketInput(subject="x"), settings)
    c = comments.add_comment(org.customer, t.summary.id, "second problem", settings)
    before = tickets.get_ticket(org.agent, t.summary.id, settings).summary.version
    links.split_comment(org.agent, t.summary.id, c.id, settings)
    with pytest.raises(Conflict):
        tickets.update_ticket(org.agent, t.summary.id, {"priority": 1}, settings,
                              expected_version=before)


def test_ticket_numbers_use_the_year_of_the_site_time_zone():
    import datetime as dt
    from appliance.services.tickets import _local_year
    new_year_in_beijing = dt.datetime(2026, 12, 31, 17, 0)  # 01:00 on 1 January 2027 there
    assert _local_year(new_year_in_beijing, "Asia/Shanghai") == 2027
    assert _local_year(new_year_in_beijing, "UTC") == 2026
