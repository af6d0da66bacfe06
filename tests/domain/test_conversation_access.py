"""Who sees what of a chat or call conversation, on SQLite and PostgreSQL: contacts masked
like on the customer page (rules.pii), conversations on tickets out of reach left out of
lists and of the ticket's customer panel."""
from __future__ import annotations

import pytest

from appliance.errors import NotFound
from appliance.models import Conversation
from appliance.rules.access import SYSTEM
from appliance.rules.intake_payload import parse_call, parse_chat
from appliance.services import (conversation_tickets, conversation_views, conversations,
                                customer_profile, customers, integrations, tickets)
from appliance.services.conversation_ai import Extraction
from tests.factories import make_org, ticket

PHONE, EMAIL = "13800138000", "zhang@example.com"


@pytest.fixture
def o(settings):
    return make_org()


def _accept(data, channel: str) -> int:
    token = integrations.create_token(SYSTEM, f"{channel} system", channel)[0].id
    return conversations.accept(integrations.Caller(token, channel), data).id


def _call(settings, needs: bool = True) -> Conversation:
    """An analysed call whose customer, caller, transcript and extraction carry contacts."""
    data = parse_call({
        "call_id": "pbx-1", "caller": PHONE, "callee": "4008001234",
        "start": "2026-05-01T01:00:00Z", "end": "2026-05-01T01:05:00Z",
        "customer": {"name": "张三", "email": EMAIL, "external_id": "crm:778899"},
        "transcript": [{"speaker": "A", "text": f"洗衣机坏了，回电 {PHONE}，邮箱 {EMAIL}"}]})
    conv_id = _accept(data, "call")
    ext = Extraction(needs, 0.9, f"problem_reported: 回电 {PHONE}", f"洗衣机坏了 {PHONE}",
                     f"请回电 {PHONE}", phones=(PHONE,), emails=(EMAIL,),
                     addresses=("北京市海淀区中关村大街27号",), order_numbers=("SO1",))
    conversation_tickets.apply_outcome(conv_id, ext, settings)
    return Conversation.get_by_id(conv_id)


def _contacts(d: conversation_views.ConversationDetail) -> str:
    return repr((d.identifiers, d.participants, d.messages, d.extraction, d.summary.subject))


def test_an_agent_not_on_the_customer_sees_every_contact_masked(backend, settings, o):
    row = _call(settings)  # its ticket waits in the triage pool: every agent may open it
    d = conversation_views.get_conversation(o.agent2, row.id)
    assert d.contacts_masked
    assert PHONE not in _contacts(d) and EMAIL not in _contacts(d)
    assert "778899" not in _contacts(d) and "中关村大街" not in _contacts(d)
    assert d.identifiers["phone"] == "138****8000" and d.identifiers["email"] == "z***@example.com"
    assert d.identifiers["external_id"] == "crm:***99"
    assert (d.participants["caller"], d.participants["callee"]) == ("138****8000", "400****1234")
    assert d.extraction["phones"] == ["138****8000"] and d.extraction["emails"] == [
        "z***@example.com"]
    assert d.extraction["order_numbers"] == ["SO1"]  # not a contact: kept for matching
    assert "〔phone〕" in d.messages[0]["text"] and "〔email〕" in d.messages[0]["text"]
    assert "〔phone〕" in d.summary.subject and "〔phone〕" in d.extraction["description"]
    panel = conversation_views.conversation_for_ticket(o.agent2, row.ticket_id)
    assert PHONE not in _contacts(panel[0]) and EMAIL not in _contacts(panel[0])
    listed = [s for s in conversation_views.list_recent(o.agent2) if s.id == row.id]
    assert listed and PHONE not in listed[0].subject


def test_supervisors_and_the_agent_working_on_the_customer_see_the_contacts_in_full(
        backend, settings, o):
    row = _call(settings)
    lead = conversation_views.get_conversation(o.supervisor, row.id)
    assert not lead.contacts_masked and lead.participants["caller"] == PHONE
    assert lead.identifiers["email"] == EMAIL and PHONE in lead.messages[0]["text"]
    tickets.update_ticket(SYSTEM, row.ticket_id, {"department_id": o.after_sales}, settings)
    mine = conversation_views.get_conversation(o.agent, row.id)  # 售后: works on it now
    assert not mine.contacts_masked and mine.extraction["phones"] == [PHONE]
    assert conversation_views.conversation_for_ticket(o.agent, row.ticket_id)[0] \
        .identifiers["phone"] == PHONE


def test_a_conversation_on_no_ticket_is_listed_for_agents_but_masked(backend, settings, o):
    row = _call(settings, needs=False)  # resolved in the conversation: no ticket
    assert row.ticket_id is None and row.outcome == "resolved"
    d = conversation_views.get_conversation(o.agent, row.id)
    assert d.contacts_masked and PHONE not in _contacts(d)
    assert row.id in [s.id for s in conversation_views.list_recent(o.agent)]
    assert conversation_views.get_conversation(o.admin, row.id).identifiers["phone"] == PHONE


def test_a_conversation_on_a_ticket_out_of_reach_is_neither_listed_nor_opened(
        backend, settings, o):
    row = _call(settings)
    tickets.update_ticket(SYSTEM, row.ticket_id, {"department_id": o.after_sales}, settings)
    assert row.id not in [s.id for s in conversation_views.list_recent(o.agent2)]
    with pytest.raises(NotFound):
        conversation_views.get_conversation(o.agent2, row.id)


def test_the_ticket_customer_panel_names_no_ticket_the_reader_cannot_see(backend, settings, o):
    c = customers.create_customer(o.admin, "王五", contacts=[{"kind": "phone", "value": PHONE}])
    shown = ticket(settings, o.admin, "物流的", customer_id=c.id,
                   department_id=o.logistics).summary
    hidden = ticket(settings, o.admin, "售后的", customer_id=c.id,
                    department_id=o.after_sales).summary
    for ext_id, t in (("wx-a", shown), ("wx-b", hidden)):
        conv_id = _accept(parse_chat({"id": ext_id, "customer": {"phone": PHONE},
                                      "messages": [{"speaker": "客户", "text": "你好"}]}), "chat")
        Conversation.update(ticket=t.id, outcome="ticket", customer=c.id).where(
            Conversation.id == conv_id).execute()
    p = customer_profile.ticket_customer_panel(o.agent2, shown.id)  # logistics agent
    assert [v.ticket.name for v in p.conversations if v.ticket] == [shown.number]
    assert hidden.number not in repr(p)
    admin = customer_profile.ticket_customer_panel(o.admin, shown.id)
    assert [v.ticket.name for v in admin.conversations] == [hidden.number, shown.number]
