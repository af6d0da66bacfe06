"""Chat and call conversations after they are accepted: the analysis job turns them into a
ticket, a reply on the customer's open ticket about the same issue, or a resolved record;
on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import threading

import pytest

from appliance import jobs
from appliance.db import database
from appliance.errors import NotFound
from appliance.models import (Attachment, Comment, Conversation, Customer, CustomerContact,
                              Job, Ticket)
from appliance.rules.access import SYSTEM
from appliance.rules.intake_payload import parse_call, parse_chat
from appliance.services import (contacts, conversation_ai, conversation_tickets, conversations,
                                customers, integrations, tickets)
from appliance.services.attachments import open_attachment
from appliance.services.conversation_ai import Extraction
from tests.factories import make_org, ticket

REPAIR = [{"speaker": "客户", "text": "你好，我家的洗衣机坏了，不能脱水，订单号 SO20260501001。"},
          {"speaker": "坐席", "text": "抱歉给您带来不便，我这边给您登记维修工单，师傅会联系您上门。"},
          {"speaker": "客户", "text": "好的，请尽快安排，谢谢。"}]


def chat(ext_id="wx-1", messages=None, phone="13800138000", **over):
    body = {"id": ext_id, "channel": "wechat", "customer": {"name": "张三", "phone": phone},
            "messages": messages or REPAIR}
    body.update(over)
    return parse_chat(body)


def accept(data, channel="chat"):
    caller = integrations.Caller(_token(channel), channel)
    return conversations.accept(caller, data)


def _token(channel):
    return integrations.create_token(SYSTEM, f"{channel} system", channel)[0].id


def ext(needs=True, **kw):
    values = dict(confidence=0.9, reason="test", subject="洗衣机不脱水",
                  description="洗衣机不能脱水，需要上门维修。")
    values.update(kw)
    return Extraction(needs, **values)


def test_the_job_turns_a_conversation_into_a_ticket_with_the_transcript_attached(settings):
    make_org()
    conv_id = accept(chat()).id
    jobs.run_pending_inline()  # the real analyse, whatever it is today
    row = Conversation.get_by_id(conv_id)
    assert (row.status, row.outcome, row.error) == ("analysed", "ticket", "")
    t = Ticket.get_by_id(row.ticket_id)
    assert t.channel == "chat" and t.customer_id == row.customer_id
    assert row.extraction["needs_ticket"] is True and "confidence" in row.extraction
    att = Attachment.get(Attachment.ticket == t.id)
    assert att.internal and att.filename == f"chat-transcript-{conv_id}.txt"
    text = open_attachment(SYSTEM, att.id, settings)[1].decode("utf-8")
    assert "customer (客户): 你好，我家的洗衣机坏了" in text
    # The ticket went through the normal service: triage (or dispatch) and indexing ran.
    assert {"index_ticket"} <= {j.name for j in Job.select().where(Job.object_id == t.id)}
    conversations.analyse_conversation(conv_id)  # a second run changes nothing
    assert Ticket.select().count() == 1 and Attachment.select().count() == 1


def test_a_resolved_conversation_makes_no_ticket_but_is_on_the_customers_history(settings):
    o = make_org()
    conv_id = accept(chat()).id
    assert conversation_tickets.apply_outcome(conv_id, ext(False), settings) == "resolved"
    row = Conversation.get_by_id(conv_id)
    assert (row.status, row.outcome, row.ticket_id) == ("analysed", "resolved", None)
    assert Ticket.select().count() == 0 and Attachment.select().count() == 0
    recent = conversations.recent_for_customer(o.agent, row.customer_id)
    assert [(c.id, c.outcome, c.subject) for c in recent] == [(conv_id, "resolved", "洗衣机不脱水")]
    assert conversations.recent_for_customer(o.customer, row.customer_id) == []


def test_a_conversation_about_an_open_tickets_order_is_added_to_that_ticket(settings):
    o = make_org()
    first = accept(chat("wx-1")).id
    customer_id = Conversation.get_by_id(first).customer_id
    old = ticket(settings, o.agent, "洗衣机维修", description="订单 SO20260501001 洗衣机不脱水",
                 customer_id=customer_id, channel="phone")
    outcome = conversation_tickets.apply_outcome(
        first, ext(order_numbers=("so20260501001",)), settings)
    assert outcome == "appended"
    row = Conversation.get_by_id(first)
    assert row.ticket_id == old.summary.id and row.extraction["matched_by"] == "order"
    comment = Comment.get(Comment.ticket == old.summary.id)
    assert comment.channel == "chat" and comment.author_kind == "customer"
    assert "洗衣机不能脱水" in comment.body
    att = Attachment.get(Attachment.comment == comment.id)
    assert att.internal and Ticket.select().count() == 1


def test_same_product_on_the_same_channel_within_hours_appends_another_channel_does_not(
        settings):
    make_org()
    first = accept(chat("wx-1")).id
    conversation_tickets.apply_outcome(first, ext(product="洗衣机"), settings)
    made = Conversation.get_by_id(first).ticket_id
    second = accept(chat("wx-2", messages=[{"speaker": "customer", "text": "还是不能脱水"}])).id
    assert conversation_tickets.apply_outcome(second, ext(product=" 洗衣机 "), settings) == \
        "appended"
    assert Conversation.get_by_id(second).ticket_id == made
    call = parse_call({"call_id": "c-1", "caller": "13800138000", "callee": "400",
                       "start": "2026-05-01T01:00:00Z", "end": "2026-05-01T01:01:00Z",
                       "transcript": [{"speaker": "A", "text": "洗衣机还是坏的"}]})
    third = accept(call, "call").id
    assert conversation_tickets.apply_outcome(third, ext(product="洗衣机"), settings) == "ticket"
    assert Ticket.get_by_id(Conversation.get_by_id(third).ticket_id).channel == "phone"
    other = accept(chat("wx-3", phone="13900000000")).id  # another customer: never appended
    assert conversation_tickets.apply_outcome(other, ext(product="洗衣机"), settings) == "ticket"


def test_a_closed_ticket_is_never_appended_to(settings):
    o = make_org()
    conv = accept(chat()).id
    old = ticket(settings, o.agent, "订单 SO20260501001",
                 customer_id=Conversation.get_by_id(conv).customer_id)
    Ticket.update(status="closed", is_open=False).where(Ticket.id == old.summary.id).execute()
    assert conversation_tickets.apply_outcome(
        conv, ext(order_numbers=("SO20260501001",)), settings) == "ticket"


def test_a_failed_analysis_is_recorded_on_the_row_and_retried(settings, monkeypatch):
    make_org()
    conv_id = accept(chat()).id
    real = conversation_ai.analyse

    def broken(channel, messages, s):
        raise RuntimeError("model file is corrupt")
    monkeypatch.setattr(conversation_ai, "analyse", broken)
    with pytest.raises(RuntimeError):
        jobs.run_pending_inline()
    row = Conversation.get_by_id(conv_id)
    assert row.status == "failed" and row.error == "RuntimeError: model file is corrupt"
    assert Job.get(Job.name == "analyse_conversation").done_at is None
    monkeypatch.setattr(conversation_ai, "analyse", real)
    jobs.run_pending_inline()
    row = Conversation.get_by_id(conv_id)
    assert (row.status, row.error) == ("analysed", "") and row.ticket_id is not None


def test_a_crash_while_writing_the_outcome_leaves_nothing_half_written(settings, monkeypatch):
    make_org()
    conv_id = accept(chat()).id

    def crash(*args):
        raise OSError("disk full")
    monkeypatch.setattr(conversation_tickets, "mark_analysed", crash)
    with pytest.raises(OSError):
        conversations.analyse_conversation(conv_id)
    assert Ticket.select().count() == 0 and Attachment.select().count() == 0
    assert [f for _, _, files in os.walk(settings.attachment_dir) for f in files] == []
    assert Conversation.get_by_id(conv_id).status == "failed"


def test_conversations_follow_their_tickets_visibility(settings):
    o = make_org()
    conv_id = accept(chat()).id
    conversation_tickets.apply_outcome(conv_id, ext(), settings)
    row = Conversation.get_by_id(conv_id)
    tickets.update_ticket(SYSTEM, row.ticket_id, {"department_id": o.after_sales}, settings)
    assert conversations.get_conversation(o.agent, conv_id).summary.ticket_id == row.ticket_id
    assert [d.summary.id for d in conversations.conversation_for_ticket(o.agent, row.ticket_id)
            ] == [conv_id]
    with pytest.raises(NotFound):
        conversations.get_conversation(o.agent2, conv_id)  # logistics cannot see the ticket
    with pytest.raises(NotFound):
        conversations.get_conversation(o.customer, conv_id)
    assert conversations.recent_for_customer(o.agent2, row.customer_id) == []
    assert len(conversations.recent_for_customer(o.admin, row.customer_id)) == 1


def test_concurrent_deliveries_of_one_conversation_store_one_row(settings):
    make_org()
    caller = integrations.Caller(_token("chat"), "chat")
    data, results, errors = chat(), [], []
    barrier = threading.Barrier(4)

    def deliver():
        try:
            barrier.wait()
            results.append(conversations.accept(caller, data))
        except Exception as exc:  # asserted below
            errors.append(exc)
        finally:
            database.close()
    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len({r.id for r in results}) == 1 and sum(not r.replay for r in results) == 1
    assert Conversation.select().count() == 1
    assert Job.select().where(Job.name == "analyse_conversation").count() == 1


def test_a_callers_own_number_decides_over_an_address_they_typed(settings):
    o = make_org()
    caller_id = customers.create_customer(o.admin, "来电人", contacts=[
        {"kind": "phone", "value": "13700001111"}]).id
    victim = customers.create_customer(o.admin, "王五", contacts=[
        {"kind": "email", "value": "w5@example.com"}]).id
    call = parse_call({"call_id": "c-9", "caller": "13700001111", "callee": "400",
                       "start": "2026-05-01T01:00:00Z", "end": "2026-05-01T01:01:00Z",
                       "customer": {"email": "w5@example.com"},
                       "transcript": [{"speaker": "A", "text": "我要改王五的收货地址"}]})
    row = Conversation.get_by_id(accept(call, "call").id)
    assert row.customer_id == caller_id
    assert [c.kind for c in CustomerContact.select().where(
        CustomerContact.customer == caller_id)] == ["phone"]
    assert f"belongs to customer #{victim}" in Customer.get_by_id(caller_id).notes


def test_a_chat_user_id_never_matches_an_id_staff_typed_or_another_systems_id(settings):
    o = make_org()
    manual = customers.create_customer(o.admin, "CRM 客户", contacts=[
        {"kind": "external", "value": "42"}]).id
    a = accept(chat("wx-1", customer={"external_id": "42"}))
    b = accept(chat("wx-1", customer={"external_id": "42"}))
    ids = {Conversation.get_by_id(x.id).customer_id for x in (a, b)}
    assert len(ids) == 2 and manual not in ids
    assert contacts.of_customer(manual)[0].value == "42"
    with pytest.raises(NotFound):  # b's token may not read a's conversation
        conversations.status_for(integrations.Caller(Conversation.get_by_id(b.id).token_id,
                                                     "chat"), a.id)
