"""The ticket page's conversation review panel after a merge (links.merge_tickets), on
SQLite and PostgreSQL: the survivor shows the merged ticket's call with its extraction,
transcript and a link to the merged ticket; the merged ticket still shows it; permissions
follow the ticket each page is about."""
from __future__ import annotations

import pytest

from appliance.rules.access import SYSTEM
from appliance.services import links, tickets
from tests.domain.test_conversation_merge import call_ticket
from tests.factories import ticket


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def panel(page: str) -> str:
    start = page.index('id="intake-review"')
    return page[start:page.index("</section>", start)]


def test_the_survivors_page_shows_the_merged_call_and_names_its_ticket(settings, org, login):
    conv = call_ticket(settings)
    tickets.update_ticket(SYSTEM, conv.ticket_id, {"department_id": org.after_sales}, settings)
    source = tickets.get_ticket(org.admin, conv.ticket_id, settings).summary
    survivor = ticket(settings, org.admin, "物流投诉", customer_id=conv.customer_id,
                      department_id=org.logistics).summary
    links.merge_tickets(org.admin, source.id, survivor.id, settings)

    lilei = login("lilei")   # logistics: sees the survivor, never saw the after-sales ticket
    html = panel(lilei.get(f"/agent/tickets/{survivor.id}").get_data(as_text=True))
    assert f'id="intake-conversation-{conv.id}"' in html
    assert "from merged ticket" in html
    assert f'<a href="/agent/tickets/{source.id}">{source.number}</a>' in html
    assert "SO778" in html and "Transcript (1 messages)" in html and "Needs a ticket" in html
    assert lilei.get(f"/agent/conversations/{conv.id}").status_code == 200

    wangfang = login("wangfang")   # after-sales: the merged ticket, not the survivor
    assert wangfang.get(f"/agent/tickets/{survivor.id}").status_code == 404
    own = panel(wangfang.get(f"/agent/tickets/{source.id}").get_data(as_text=True))
    assert f'id="intake-conversation-{conv.id}"' in own and "from merged ticket" not in own

