"""Sub-tickets, related/duplicate links, merge and split."""
import pytest

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.models import Comment, Ticket
from appliance.services import comments, links, tickets
from appliance.services.tickets import TicketInput
from tests.factories import make_org, ticket


@pytest.fixture
def org(settings):
    return make_org()


def test_a_sub_ticket_for_another_department_shows_its_progress_on_the_parent(settings, org):
    parent = ticket(settings, org.agent, department_id=org.after_sales)
    child = links.create_subticket(org.agent, parent.summary.id, TicketInput(
        subject="请物流查件", department_id=org.logistics), settings)
    d = tickets.get_ticket(org.agent, parent.summary.id, settings)
    assert [(lk.kind, lk.ticket_id) for lk in d.links] == [("child", child.summary.id)]
    assert d.children_progress == (0, 1)
    tickets.transition_ticket(org.agent2, child.summary.id, "resolved", settings)
    assert tickets.get_ticket(org.agent, parent.summary.id, settings).children_progress == (1, 1)
    back = tickets.get_ticket(org.agent2, child.summary.id, settings)
    assert [(lk.kind, lk.visible) for lk in back.links] == [("parent", False)]


def test_parent_child_cycles_are_refused(settings, org):
    a = ticket(settings, org.agent, department_id=org.after_sales)
    b = links.create_subticket(org.agent, a.summary.id, TicketInput(subject="b"), settings)
    with pytest.raises(ValidationError):
        links.link_tickets(org.agent, b.summary.id, a.summary.id, "parent", settings)


def test_related_and_duplicate_links_show_on_both_sides_and_can_be_removed(settings, org):
    a = ticket(settings, org.agent, department_id=org.after_sales)
    b = ticket(settings, org.agent, department_id=org.after_sales)
    links.link_tickets(org.agent, a.summary.id, b.summary.id, "duplicate", settings)
    assert [lk.kind for lk in tickets.get_ticket(org.agent, b.summary.id, settings).links] == ["duplicate"]
    assert [lk.kind for lk in tickets.get_ticket(org.agent, a.summary.id, settings).links] == ["duplicate_of"]
    with pytest.raises(Conflict):
        links.link_tickets(org.agent, a.summary.id, b.summary.id, "duplicate", settings)
    links.unlink_tickets(org.agent, a.summary.id, b.summary.id, "duplicate", settings)
    assert tickets.get_ticket(org.agent, a.summary.id, settings).links == []
    with pytest.raises(NotFound):
        links.unlink_tickets(org.agent, a.summary.id, b.summary.id, "duplicate", settings)


def test_merging_moves_the_conversation_and_leaves_a_pointer(settings, org):
    a = ticket(settings, org.agent, department_id=org.after_sales, tags=["a"])
    b = ticket(settings, org.agent, department_id=org.after_sales, tags=["b"])
    comments.add_comment(org.agent, a.summary.id, "from a", settings)
    comments.add_comment(org.agent, b.summary.id, "from b", settings)
    survivor = links.merge_tickets(org.agent, a.summary.id, b.summary.id, settings)
    assert sorted(c.body for c in survivor.comments) == ["from a", "from b"]
    assert survivor.tags == ["a", "b"]
    merged = tickets.get_ticket(org.agent, a.summary.id, settings)
    assert merged.merged_into.id == b.summary.id and merged.summary.status == "closed"
    assert "merged" in [e.kind for e in merged.events]
    with pytest.raises(Conflict):
        links.merge_tickets(org.agent, a.summary.id, b.summary.id, settings)


def test_merging_a_ticket_into_itself_is_refused(settings, org):
    a = ticket(settings, org.agent)
    with pytest.raises(ValidationError):
        links.merge_tickets(org.agent, a.summary.id, a.summary.id, settings)


def test_merging_needs_edit_rights_on_both_tickets(settings, org):
    a = ticket(settings, org.agent, department_id=org.after_sales)
    b = ticket(settings, org.agent2, department_id=org.logistics)
    with pytest.raises(NotFound):
        links.merge_tickets(org.agent, a.summary.id, b.summary.id, settings)
    assert Ticket.get_by_id(a.summary.id).merged_into is None


def test_splitting_a_reply_makes_a_new_related_ticket_with_that_reply(settings, org):
    t = tickets.create_ticket(org.customer, TicketInput(subject="两个问题"), settings)
    c1 = comments.add_comment(org.customer, t.summary.id, "第一个问题", settings)
    c2 = comments.add_comment(org.customer, t.summary.id, "另外，发票开错了\n请重开", settings)
    new = links.split_comment(org.agent, t.summary.id, c2.id, settings)
    assert new.summary.subject == "另外，发票开错了"
    assert new.summary.customer.id == org.customer.customer_id
    assert [c.id for c in new.comments] == [c2.id]
    assert Comment.get_by_id(c1.id).ticket_id == t.summary.id
    assert [lk.kind for lk in new.links] == ["related"]
