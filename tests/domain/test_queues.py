"""Queue views, filters and keyset paging."""
import pytest

from appliance.errors import ValidationError
from appliance.services import tickets
from appliance.services.queues import TicketQuery, count_capped, list_tickets
from tests.factories import make_org, ticket


@pytest.fixture
def org(settings):
    return make_org()


def numbers(page):
    return [t.number for t in page.items]


def test_views_show_my_open_unassigned_in_my_department_and_all_open(settings, org):
    mine = ticket(settings, org.agent, department_id=org.after_sales, assignee_id=org.agent.user_id)
    unassigned = ticket(settings, org.agent, department_id=org.after_sales)
    pool = ticket(settings, org.agent)
    other = ticket(settings, org.agent2, department_id=org.logistics)
    done = ticket(settings, org.agent, department_id=org.after_sales, assignee_id=org.agent.user_id)
    tickets.transition_ticket(org.agent, done.summary.id, "resolved", settings)
    assert numbers(list_tickets(org.agent, TicketQuery(view="mine"))) == [mine.summary.number]
    assert numbers(list_tickets(org.agent, TicketQuery(view="unassigned"))) == [unassigned.summary.number]
    assert set(numbers(list_tickets(org.agent, TicketQuery(view="open")))) == {
        mine.summary.number, unassigned.summary.number, pool.summary.number}
    assert other.summary.number in numbers(list_tickets(org.admin, TicketQuery(view="open")))


def test_a_customer_lists_only_their_own_tickets(settings, org):
    from appliance.services.tickets import TicketInput
    own = tickets.create_ticket(org.customer, TicketInput(subject="mine"), settings)
    tickets.create_ticket(org.other_customer, TicketInput(subject="theirs"), settings)
    assert numbers(list_tickets(org.customer, TicketQuery(view="all"))) == [own.summary.number]


def test_keyset_pages_are_disjoint_and_complete_in_every_sort(settings, org):
    for i in range(7):
        ticket(settings, org.agent, subject=f"t{i}", department_id=org.after_sales, priority=(i % 4) + 1)
    for sort in ("newest", "oldest", "priority"):
        seen, cursor = [], None
        while True:
            page = list_tickets(org.agent, TicketQuery(view="all", sort=sort, limit=3, cursor=cursor))
            seen += page.items
            cursor = page.next_cursor
            if not cursor:
                break
        assert len(seen) == 7 and len({t.id for t in seen}) == 7
        if sort == "priority":
            assert [t.priority for t in seen] == sorted(t.priority for t in seen)


def test_filters_combine(settings, org):
    a = ticket(settings, org.agent, department_id=org.after_sales, priority=1, tags=["vip"],
               channel="phone")
    ticket(settings, org.agent, department_id=org.after_sales, priority=2, channel="phone")
    page = list_tickets(org.agent, TicketQuery(view="all", priority=[1], channel="phone", tag="vip"))
    assert numbers(page) == [a.summary.number]
    page = list_tickets(org.agent, TicketQuery(view="all", status=["new"], assignee_id="none"))
    assert len(page.items) == 2


def test_bad_query_values_are_field_errors(settings, org):
    for q, field in ((TicketQuery(view="everything"), "view"), (TicketQuery(sort="random"), "sort"),
                     (TicketQuery(cursor="!!!"), "cursor"), (TicketQuery(status=["done"]), "status")):
        with pytest.raises(ValidationError) as exc:
            list_tickets(org.agent, q)
        assert field in exc.value.fields


def test_counts_are_capped_to_stay_cheap(settings, org):
    for _ in range(3):
        ticket(settings, org.agent, department_id=org.after_sales)
    assert count_capped(org.agent, TicketQuery(view="open")) == "3"
    assert count_capped(org.agent, TicketQuery(view="open"), cap=2) == "2+"
