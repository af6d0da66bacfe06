"""Service guards the REST API relies on: bad ids and forged cursors are 400s, not crashes."""
import pytest

from appliance.errors import ValidationError
from appliance.services import queues, users
from appliance.services.queues import TicketQuery, encode_cursor
from tests.factories import make_org, ticket


@pytest.fixture
def org(settings):
    return make_org()


def test_a_user_cannot_be_linked_to_a_customer_that_does_not_exist(settings, org):
    with pytest.raises(ValidationError) as exc:
        users.create_user(org.admin, "ghost", "Ghost", "customer", customer_id=999)
    assert exc.value.fields == {"customer_id": "does not exist"}


def test_a_user_can_be_linked_to_an_existing_customer(settings, org):
    view, _ = users.create_user(org.admin, "zhang2", "张三 (2)", "customer",
                                customer_id=org.customer.customer_id)
    assert view.customer_id == org.customer.customer_id


@pytest.mark.parametrize("values", [[2**40], [-1], [True], [1, 2**63]])
def test_a_forged_paging_cursor_is_a_validation_error_not_a_database_error(settings, org, values):
    ticket(settings, org.admin)
    sort = "priority" if len(values) == 2 else "newest"
    with pytest.raises(ValidationError) as exc:
        queues.list_tickets(org.admin, TicketQuery(view="all", sort=sort,
                                                   cursor=encode_cursor(values)))
    assert "cursor" in exc.value.fields
