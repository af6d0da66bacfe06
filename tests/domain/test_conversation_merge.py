"""Chat and call conversations when their ticket is merged into another (links.merge_tickets),
on SQLite and PostgreSQL: the survivor's review panel lists them with the merged ticket's
number, through chains of merges, and whoever may see the survivor may open them; the
merged ticket keeps showing them too."""
from __future__ import annotations

import pytest

from appliance.errors import NotFound
from appliance.models import Conversation
from appliance.rules.access import SYSTEM
from appliance.rules.intake_payload import parse_call
from appliance.services import (conversation_tickets, conversation_views, conversations,
                                integrations, links, tickets)
from appliance.services.conversation_ai import Extraction
from tests.factories import make_org, ticket

PHONE = "13800138000"


@pytest.fixture
def o(settings):
    return make_org()


def call_ticket(settings, call_id: str = "pbx-7") -> Conversation:
    """An analysed call that opened a ticket (in the triage pool) for its customer."""
    token = integrations.create_token(SYSTEM, "pbx", "call")[0].id
    data = parse_call({"call_id": call_id, "caller": PHONE, "callee": "4008001234",
                       "start": "2026-05-01T01:00:00Z",
                       "end": "2026-05-01T01:04:00Z",
                       "transcript": [{"speaker": "A", "text": "洗衣机不脱水，订单 SO778"}]})
    conv_id = conversations.accept(integrations.Caller(token, "call"), data).id
    conversation_tickets.apply_outcome(conv_id, Extraction(
        True, 0.9, "problem_reported", "洗衣机不脱水", "不脱水", order_numbers=("SO778",),
        product="洗衣机"), settings)
    return Conversation.get_by_id(conv_id)


def merged_setup(settings, o, pool: bool = False):
    """The call's ticket (after-sales) merged by an admin into a logistics ticket (or one
    in the triage pool) of the same customer. Returns (conversation, source, survivor)."""
    conv = call_ticket(settings)
    tickets.update_ticket(SYSTEM, conv.ticket_id, {"department_id": o.after_sales}, settings)
    survivor = ticket(settings, o.admin, "物流投诉", customer_id=conv.customer_id,
                      department_id=None if pool else o.logistics).summary
    source = tickets.get_ticket(o.admin, conv.ticket_id, settings).summary
    links.merge_tickets(o.admin, source.id, survivor.id, settings)
    return conv, source, survivor


def test_the_survivors_panel_shows_the_merged_tickets_conversation_and_its_number(
        backend, settings, o):
    conv, source, survivor = merged_setup(settings, o)
    assert Conversation.get_by_id(conv.id).ticket_id == source.id   # the record stays put
    [shown] = conversation_views.conversation_for_ticket(o.agent2, survivor.id)
    assert shown.summary.id == conv.id
    assert (shown.summary.ticket_id, shown.summary.ticket_number) == (source.id, source.number)
    assert shown.extraction["order_numbers"] == ["SO778"] and shown.messages
    # The merged ticket still shows it (its history), to those who may see that ticket.
    assert [d.summary.id for d in
            conversation_views.conversation_for_ticket(o.agent, source.id)] == [conv.id]


def test_the_survivors_readers_may_open_the_conversation_others_still_may_not(
        backend, settings, o):
    conv, source, survivor = merged_setup(settings, o)
    # 李雷 (logistics) sees the survivor only; before the merge the call was out of reach.
    assert conversation_views.get_conversation(o.agent2, conv.id).summary.ticket_id == source.id
    assert conv.id in [s.id for s in conversation_views.list_recent(o.agent2)]
    assert conv.id in [s.id for s in conversation_views.recent_for_customer(
        o.agent2, conv.customer_id)]
    # 王芳 (after-sales) still reaches it through the merged ticket, not the survivor.
    assert conversation_views.get_conversation(o.agent, conv.id).summary.id == conv.id
    with pytest.raises(NotFound):
        conversation_views.conversation_for_ticket(o.agent, survivor.id)
    # Moving the survivor out of 李雷's reach takes the conversation with it.
    tickets.update_ticket(SYSTEM, survivor.id, {"department_id": o.after_sales}, settings)
    with pytest.raises(NotFound):
        conversation_views.get_conversation(o.agent2, conv.id)
    assert conv.id not in [s.id for s in conversation_views.list_recent(o.agent2)]


def test_a_chain_of_merges_carries_the_conversation_to_the_last_survivor(backend, settings, o):
    conv, source, middle = merged_setup(settings, o)
    last = ticket(settings, o.admin, "合并后的工单", customer_id=conv.customer_id,
                  department_id=o.logistics).summary
    links.merge_tickets(o.admin, middle.id, last.id, settings)
    [shown] = conversation_views.conversation_for_ticket(o.agent2, last.id)
    assert (shown.summary.id, shown.summary.ticket_number) == (conv.id, source.number)
    other = ticket(settings, o.admin, "无关工单", department_id=o.logistics).summary
    assert conversation_views.conversation_for_ticket(o.agent2, other.id) == []


def test_contacts_on_the_survivors_panel_are_masked_as_on_the_customer_page(
        backend, settings, o):
    # In the triage pool 李雷 may open the survivor, but works on no ticket of the customer.
    _conv, _source, survivor = merged_setup(settings, o, pool=True)
    [masked] = conversation_views.conversation_for_ticket(o.agent2, survivor.id)
    assert masked.contacts_masked and PHONE not in repr(masked.participants)
    assert masked.participants["caller"] == "138****8000"
    [full] = conversation_views.conversation_for_ticket(o.admin, survivor.id)
    assert not full.contacts_masked and full.participants["caller"] == PHONE


def test_a_later_call_about_the_merged_tickets_order_is_added_to_the_survivor(
        backend, settings, o):
    conv, source, survivor = merged_setup(settings, o)
    token = integrations.create_token(SYSTEM, "pbx2", "call")[0].id
    data = parse_call({"call_id": "pbx-8", "caller": PHONE, "callee": "4008001234",
                       "start": "2026-05-02T01:00:00Z", "end": "2026-05-02T01:03:00Z",
                       "transcript": [{"speaker": "A", "text": "还是订单 SO778 的事"}]})
    later = conversations.accept(integrations.Caller(token, "call"), data).id
    outcome = conversation_tickets.apply_outcome(later, Extraction(
        True, 0.9, "problem_reported", "还没修好", "还没修好", order_numbers=("SO778",)), settings)
    row = Conversation.get_by_id(later)
    assert outcome == "appended"
    assert row.ticket_id == survivor.id and row.extraction["matched_by"] == "order"
