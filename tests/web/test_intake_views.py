"""Staff pages of chat and call intake: integration tokens (admin), the review panel on the
ticket page, the conversation page and list; escaped output and permissions."""
from __future__ import annotations

import html
import json
import re

from appliance.models import Conversation, IntegrationToken
from appliance.rules.access import SYSTEM
from appliance.rules.intake_payload import parse_chat
from appliance.services import conversation_tickets, conversations, integrations, tickets
from appliance.services.conversation_ai import Extraction
from security.tokens import token_hash
from tests.web.apiclient import ApiClient

EVIL = "<script>alert('x')</script>"


def _conversation(settings, text=EVIL + " 洗衣机坏了", reason="customer_reported_fault",
                  method="rules"):
    view, _ = integrations.create_token(SYSTEM, "chat", "chat")
    data = parse_chat({"id": "wx-9", "channel": "wechat",
                       "customer": {"name": "张三", "phone": "13800138000"},
                       "messages": [{"speaker": "客户", "text": text},
                                    {"speaker": "agent", "text": "好的"}]})
    conv_id = conversations.accept(integrations.Caller(view.id, "chat"), data).id
    ext = Extraction(True, 0.87, reason, "洗衣机 " + EVIL, "不脱水",
                     product="洗衣机 <b>X1</b>", urgency="high",
                     order_numbers=("SO2026<i>1</i>",), phones=("13800138000",),
                     emails=("zs@example.com",), method=method)
    conversation_tickets.apply_outcome(conv_id, ext, settings)
    return Conversation.get_by_id(conv_id)


def test_the_ticket_page_shows_the_extraction_and_the_folded_transcript_escaped(
        settings, login):
    row = _conversation(settings)
    page = login("wangfang").get(f"/agent/tickets/{row.ticket_id}").get_data(as_text=True)
    panel = page[page.index('id="intake-review"'):page.index('id="intake-review"') + 6000]
    assert "Needs a ticket" in panel and "confidence 87%" in panel
    assert "other reason (customer_reported_fault)" in panel and "High" in panel
    assert "by rules" in panel  # the method in words
    assert "洗衣机 &lt;b&gt;X1&lt;/b&gt;" in panel and "SO2026&lt;i&gt;1&lt;/i&gt;" in panel
    assert '<details class="intake-transcript">' in panel and "Transcript (2 messages)" in panel
    assert html.escape(EVIL, quote=True) in panel or "&lt;script&gt;" in panel
    assert "<script>alert" not in page
    assert f'/agent/conversations/{row.id}"' in panel


def test_the_review_panel_in_chinese(settings, login):
    row = _conversation(settings)
    b = login("wangfang")
    page = b.get(f"/agent/tickets/{row.ticket_id}",
                 headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    panel = page[page.index('id="intake-review"'):]
    assert "<strong>客户</strong>" in panel  # speaker labels go through gettext


def test_a_ticket_without_a_conversation_has_no_review_panel(settings, org, login):
    t = tickets.create_ticket(org.agent, tickets.TicketInput(subject="普通工单"), settings)
    page = login("wangfang").get(f"/agent/tickets/{t.summary.id}").get_data(as_text=True)
    assert 'id="intake-review"' not in page


def test_the_conversation_page_and_list_follow_the_tickets_visibility(settings, org, login):
    row = _conversation(settings)
    tickets.update_ticket(SYSTEM, row.ticket_id, {"department_id": org.after_sales}, settings)
    page = login("wangfang").get(f"/agent/conversations/{row.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "wx-9" in text and "<script>alert" not in text and "wechat" in text
    assert f"/agent/conversations/{row.id}" in login("wangfang").get(
        "/agent/conversations").get_data(as_text=True)
    assert login("lilei").get(f"/agent/conversations/{row.id}").status_code == 404
    assert f"/agent/conversations/{row.id}" not in login("lilei").get(
        "/agent/conversations").get_data(as_text=True)
    assert login("zhangsan").get(f"/agent/conversations/{row.id}").status_code == 403


def test_admins_create_list_and_revoke_integration_tokens_with_the_secret_shown_once(
        app, org, login):
    admin = login("admin")
    assert "Integrations" in admin.get("/admin/").get_data(as_text=True)
    r = admin.post("/admin/integrations/", {"name": "WeChat 客服", "channel": "chat"},
                   csrf_from="/admin/integrations/")
    assert r.status_code == 200
    secret = re.search(r'<code id="new-token">(gdi_[^<]+)</code>', r.get_data(as_text=True))
    assert secret
    row = IntegrationToken.get()
    assert row.token_hash == token_hash(secret.group(1)) and row.channel == "chat"
    listing = admin.get("/admin/integrations/").get_data(as_text=True)
    assert "WeChat 客服" in listing and secret.group(1) not in listing
    client = ApiClient(app, secret.group(1))
    body = json.dumps({"id": "1", "messages": [{"speaker": "customer", "text": "hi"}]})
    assert client.post("/intake/chat", data=body, content_type="application/json"
                       ).status_code == 202
    assert IntegrationToken.get().last_used_at is not None
    admin.post(f"/admin/integrations/{row.id}/revoke", csrf_from="/admin/integrations/")
    assert "Revoked" in admin.get("/admin/integrations/").get_data(as_text=True)
    assert client.post("/intake/chat", data=body, content_type="application/json"
                       ).status_code == 401


def test_a_bad_token_form_is_400_and_agents_cannot_reach_the_page(org, login):
    admin = login("admin")
    r = admin.post("/admin/integrations/", {"name": "", "channel": "fax"},
                   csrf_from="/admin/integrations/")
    assert r.status_code == 400 and IntegrationToken.select().count() == 0
    assert login("wangfang").get("/admin/integrations/").status_code == 403


def _reason_of(page: str) -> str:
    return re.search(r'<dd class="intake-reason">(.*?)</dd>', page, re.S).group(1)


def test_the_decision_reason_and_method_are_shown_in_words_not_codes(settings, login):
    row = _conversation(settings, reason="follow_up: 登记维修<b>工单</b>", method="rules+model")
    page = login("lead").get(f"/agent/tickets/{row.ticket_id}").get_data(as_text=True)
    assert _reason_of(page) == ("the agent promised further work: "
                                "“登记维修&lt;b&gt;工单&lt;/b&gt;”")
    assert "rules+model" not in page and "by rules, subject by the model" in page
    zh = login("lead").get(f"/agent/conversations/{row.id}",
                           headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "follow_up" not in _reason_of(zh)


def test_a_model_decision_names_the_verdict_and_the_rules_reason(settings, login):
    row = _conversation(settings, reason="model: follow_up (rules: customer_confirmed: 好的)",
                        method="model")
    page = login("lead").get(f"/agent/conversations/{row.id}").get_data(as_text=True)
    assert _reason_of(page) == ("the model judged that further work is needed (rules: the "
                                "customer confirmed it is resolved: “好的”)")
    assert "decided by the model" in page and "customer_confirmed" not in page


def test_the_conversation_page_masks_contacts_for_an_agent_not_on_the_customer(
        settings, org, login):
    row = _conversation(settings)  # its ticket is in the triage pool: nobody works on it
    page = login("wangfang").get(f"/agent/conversations/{row.id}").get_data(as_text=True)
    assert "13800138000" not in page and "zs@example.com" not in page
    assert "138****8000" in page and "z***@example.com" in page
    assert 'id="conversation-masked"' in page
    ticket_page = login("wangfang").get(f"/agent/tickets/{row.ticket_id}").get_data(as_text=True)
    review = ticket_page[ticket_page.index('id="intake-review"'):]
    assert "13800138000" not in review and "138****8000" in review
    lead = login("lead").get(f"/agent/conversations/{row.id}").get_data(as_text=True)
    assert "13800138000" in lead and "zs@example.com" in lead
    assert 'id="conversation-masked"' not in lead
    tickets.update_ticket(SYSTEM, row.ticket_id, {"department_id": org.after_sales}, settings)
    mine = login("wangfang").get(f"/agent/conversations/{row.id}").get_data(as_text=True)
    assert "13800138000" in mine  # 王芳 works on the customer now (an open 售后 ticket)
