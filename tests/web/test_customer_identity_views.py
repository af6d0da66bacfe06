"""Customer identity on the web: the profile panel on the ticket page, contacts masked the
same way in the panel and the API, merging from the API and the customer page."""
from __future__ import annotations

import html as htmllib
import re

from appliance.models import Conversation, Customer, Ticket, utcnow
from appliance.services import customers, users
from tests.factories import ticket
from tests.web.apiclient import api  # noqa: F401

XSS = '<script>alert("x")</script>'


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def panel_of(text: str) -> str:
    m = re.search(r'<section class="panel customer-panel".*?</section>', text, re.S)
    assert m, "no customer panel"
    return m.group(0)


def vip_customer(org):
    return customers.create_customer(org.admin, "王五" + XSS, company="五金公司",
                                     tags=["vip-gold", XSS], contacts=[
                                         {"kind": "phone", "value": "13812345678"},
                                         {"kind": "email", "value": "zhang@example.com"}])


def test_the_ticket_page_shows_the_customer_panel_masked_for_agents_not_on_it(
        login, settings, org):
    c = vip_customer(org)
    mine = ticket(settings, org.admin, "我的工单", customer_id=c.id, assignee_id=org.agent.user_id,
                  department_id=org.after_sales).summary
    old = ticket(settings, org.admin, "以前的工单", customer_id=c.id).summary
    Ticket.update(status="closed").where(Ticket.id == old.id).execute()
    Conversation.create(channel="call", external_id="pbx-9", payload_sha256="0" * 64,
                        customer=c.id, ticket=mine.id, started_at=utcnow(), status="analysed",
                        outcome="ticket")

    agent = panel_of(page(login("wangfang").get(f"/agent/tickets/{mine.id}")))
    assert "13812345678" in agent and "zhang@example.com" in agent
    assert "VIP-GOLD" in agent and "五金公司" in agent
    assert XSS not in agent and htmllib.escape(XSS, quote=False) in agent.replace("&#34;", '"')
    assert f"/agent/tickets/{old.id}" in agent and old.number in agent
    assert "Phone call" in agent and "ticket opened" in agent  # the shared channel words

    # 李雷 (logistics) may open the ticket once it is back in the triage pool, but does
    # not work on this customer: masked in the panel and in the API alike.
    Ticket.update(department=None, assignee=None).where(Ticket.id == mine.id).execute()
    other = panel_of(page(login("lilei").get(f"/agent/tickets/{mine.id}")))
    assert "138****5678" in other and "z***@example.com" in other
    assert "13812345678" not in other and "zhang@example.com" not in other

    lead = panel_of(page(login("lead").get(f"/agent/tickets/{mine.id}")))
    assert "13812345678" in lead


def test_the_api_masks_contacts_like_the_panel(api, settings, org):
    c = vip_customer(org)
    got = api("lilei").get(f"/customers/{c.id}").get_json()
    assert got["contacts_masked"] is True
    assert [x["value"] for x in got["contacts"]] == ["138****5678", "z***@example.com"]
    assert api("lilei").get("/customers").get_json()["items"][-1]["contacts"][0]["value"] \
        == "138****5678"
    full = api("lead").get(f"/customers/{c.id}").get_json()
    assert full["contacts_masked"] is False and full["contacts"][0]["value"] == "13812345678"
    r = api("lilei").patch(f"/customers/{c.id}", json={"contacts": [
        {"kind": "phone", "value": "138****5678"}]})
    assert r.status_code == 403
    ticket(settings, org.admin, "物流", customer_id=c.id, department_id=org.logistics)
    assert api("lilei").get(f"/customers/{c.id}").get_json()["contacts"][0]["value"] \
        == "13812345678"


def test_merging_through_the_api_needs_a_supervisor_and_is_repeatable(api, settings, org):
    keep = customers.create_customer(org.admin, "华为", contacts=[
        {"kind": "email", "value": "buy@huawei.example"}])
    dup = customers.create_customer(org.admin, "华为", contacts=[
        {"kind": "external", "value": "crm:12345"}])
    t = ticket(settings, org.admin, "采购", customer_id=dup.id).summary
    assert api("wangfang").post(f"/customers/{dup.id}/merge",
                                json={"into": keep.id}).status_code == 403
    r = api("lead").post(f"/customers/{dup.id}/merge", json={"into": dup.id})
    assert r.status_code == 400 and r.get_json()["error"]["details"]["fields"] == {
        "into": "cannot merge a customer into itself"}
    r = api("lead").post(f"/customers/{dup.id}/merge", json={"into": keep.id},
                         headers={"If-Match": '"7"'})
    assert r.status_code == 409
    r = api("lead").post(f"/customers/{dup.id}/merge", json={"into": keep.id})
    assert r.status_code == 200 and r.get_json()["id"] == keep.id
    assert r.headers["ETag"] == f'"{r.get_json()["version"]}"'
    assert [x["value"] for x in r.get_json()["contacts"]] == ["buy@huawei.example", "crm:12345"]
    assert api("lead").post(f"/customers/{dup.id}/merge", json={"into": keep.id}
                            ).get_json()["id"] == keep.id
    assert Ticket.get_by_id(t.id).customer_id == keep.id
    source = api("lead").get(f"/customers/{dup.id}").get_json()
    assert source["merged_into"] == keep.id and source["merged_at"]
    assert r.status_code == 200
    assert api("lead").post(f"/customers/{dup.id}/merge", json={}).status_code == 400


def test_a_supervisor_merges_from_the_customer_page_after_confirming(login, settings, org):
    keep = customers.create_customer(org.admin, "陈总", company="陈氏贸易")
    dup = customers.create_customer(org.admin, "陈总", contacts=[
        {"kind": "phone", "value": "13700001111"}])
    agent_view = page(login("wangfang").get(f"/agent/customers/{dup.id}"))
    assert 'id="duplicate-list"' in agent_view and f"/agent/customers/{keep.id}" in agent_view
    assert 'id="merge"' not in agent_view  # agents may not merge
    lead = login("lead")
    text = page(lead.get(f"/agent/customers/{dup.id}"))
    assert 'id="merge"' in text and "same name and company" in text
    url = f"/agent/customers/{dup.id}/merge"
    r = lead.post(url, {"into": str(keep.id)}, csrf_from=f"/agent/customers/{dup.id}")
    assert r.status_code == 302 and Customer.get_by_id(dup.id).merged_into is None
    r = lead.post(url, {"into": str(dup.id), "confirm": "yes"},
                  csrf_from=f"/agent/customers/{dup.id}")
    assert "cannot merge a customer into itself" in page(lead.get(r.headers["Location"]))
    r = lead.post(url, {"into": f"#{keep.id}", "confirm": "yes"},
                  csrf_from=f"/agent/customers/{dup.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/agent/customers/{keep.id}")
    assert Customer.get_by_id(dup.id).merged_into_id == keep.id
    # The old address leads to the survivor; the list no longer shows the duplicate.
    r = lead.get(f"/agent/customers/{dup.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/agent/customers/{keep.id}")
    listing = page(lead.get("/agent/customers/?q=陈总"))
    assert f"/agent/customers/{dup.id}\"" not in listing
    assert f"/agent/customers/{keep.id}\"" in listing
    assert lead.post(url, {"into": str(keep.id), "confirm": "yes"},
                     csrf_from=f"/agent/customers/{keep.id}").status_code == 302
    assert login("wangfang").post(url, {"into": str(keep.id), "confirm": "yes"},
                                  csrf_from="/agent/customers/").status_code == 403


def test_customer_pages_render_in_chinese(login, settings, org):
    c = vip_customer(org)
    t = ticket(settings, org.admin, "工单", customer_id=c.id, department_id=org.after_sales)
    users.set_locale(org.agent, "zh_CN")
    agent = login("wangfang")
    agent.client.set_cookie("lang", "zh_CN")
    for path in (f"/agent/tickets/{t.summary.id}", f"/agent/customers/{c.id}",
                 f"/agent/customers/{c.id}/edit"):
        text = page(agent.get(path))
        assert 'lang="zh' in text and XSS not in text


def test_the_panel_neither_names_nor_links_a_conversations_ticket_out_of_reach(
        login, settings, org):
    c = vip_customer(org)
    shown = ticket(settings, org.admin, "物流工单", customer_id=c.id,
                   department_id=org.logistics).summary
    hidden = ticket(settings, org.admin, "售后工单", customer_id=c.id,
                    department_id=org.after_sales).summary
    for ext_id, t in (("pbx-1", shown), ("pbx-2", hidden)):
        Conversation.create(channel="call", external_id=ext_id, payload_sha256="0" * 64,
                            customer=c.id, ticket=t.id, started_at=utcnow(),
                            status="analysed", outcome="ticket")
    panel = panel_of(page(login("lilei").get(f"/agent/tickets/{shown.id}")))
    conversations = panel[panel.index('id="customer-conversations"'):]
    assert shown.number in conversations
    assert hidden.number not in panel and f"/agent/tickets/{hidden.id}" not in panel
    lead = panel_of(page(login("lead").get(f"/agent/tickets/{hidden.id}")))
    assert hidden.number in lead[lead.index('id="customer-conversations"'):]
