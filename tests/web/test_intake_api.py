"""POST /api/v1/intake/chat and /intake/call through the real app and database:
integration-token authentication, validation with field paths, idempotent delivery."""
from __future__ import annotations

import json
import threading

import pytest

from appliance import jobs
from appliance.models import Conversation, Customer, CustomerContact, Job, Ticket
from appliance.rules.access import SYSTEM
from appliance.services import contacts, customer_names, identity, integrations
from appliance.services import conversation_personal as personal
from tests.web.apiclient import ApiClient, token_for


def chat_payload(**over):
    body = {"id": "wx-1001", "channel": "wechat",
            "customer": {"name": "张三", "phone": "138 0013 8000", "external_id": "wx_openid_1"},
            "agent": "王芳", "started_at": "2026-05-01T09:30:00+08:00",
            "ended_at": "2026-05-01T09:41:00+08:00",
            "messages": [{"speaker": "客户", "text": "洗衣机不脱水，订单号 SO20260501001",
                          "at": "2026-05-01T09:30:05+08:00"},
                         {"speaker": "agent", "text": "好的，我们安排师傅上门。"}]}
    body.update(over)
    return body


def call_payload(**over):
    body = {"call_id": "pbx-77", "caller": "+86 138 0013 8000", "callee": "4008001234",
            "agent": "1002", "start": "2026-05-01T01:30:00Z", "end": "2026-05-01T01:34:10Z",
            "recording_ref": "rec/2026/05/01/pbx-77.wav",
            "transcript": [{"speaker": "A", "text": "My fridge is not cooling.", "start": 1.5,
                            "end": 4.0},
                           {"speaker": "B", "text": "Sorry to hear that.", "start": 4.2}]}
    body.update(over)
    return body


@pytest.fixture
def integration(app, org):
    """integration("chat") → an ApiClient with a fresh integration token of that channel."""
    def make(channel: str = "chat") -> ApiClient:
        _, secret = integrations.create_token(SYSTEM, f"{channel} system", channel)
        return ApiClient(app, secret)
    return make


def post(client, path, body):
    return client.post(path, data=json.dumps(body, ensure_ascii=False),
                       content_type="application/json")


def test_a_chat_is_accepted_with_202_stored_with_its_customer_and_queued(integration):
    r = post(integration("chat"), "/intake/chat", chat_payload())
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert body["status"] == "received" and body["replay"] is False
    assert body["url"] == f"/api/v1/intake/conversations/{body['id']}"
    row = Conversation.get_by_id(body["id"])
    assert (row.channel, row.external_id) == ("chat", "wx-1001")
    assert row.participants == {"agent": "王芳", "source": "wechat"}
    assert [m["speaker"] for m in row.messages] == ["customer", "agent"]
    assert row.messages[0]["at"] == "2026-05-01T01:30:05Z"
    found = {(c.kind, c.value) for c in contacts.of_customer(row.customer_id)}
    assert ("phone", identity.normalize("phone", "138 0013 8000")) in found
    # The chat system's user id is kept in this integration's namespace.
    assert ("external", f"integration-{row.token_id}:wx_openid_1") in found
    assert customer_names.name_by_id(row.customer_id) == "张三"
    job = Job.get(Job.name == "analyse_conversation")
    assert job.object_id == row.id and job.done_at is None
    assert Ticket.select().count() == 0  # the AI step runs later, not in the request


def test_a_call_maps_the_caller_to_the_customer_and_stores_the_recording(integration):
    r = post(integration("call"), "/intake/call", call_payload())
    assert r.status_code == 202, r.get_json()
    row = Conversation.get_by_id(r.get_json()["id"])
    assert [m["speaker"] for m in row.messages] == ["customer", "agent"]
    assert row.messages[0]["at"] == "2026-05-01T01:30:01.500000Z"
    assert row.recording_ref == "rec/2026/05/01/pbx-77.wav"
    assert personal.read(row)[0]["phone"] == "+86 138 0013 8000"
    assert row.identifiers == {} and "0013" not in row.personal_enc     # encrypted at rest
    phone = identity.normalize("phone", "+86 138 0013 8000")  # identity decides the form
    assert contacts.of_customer(row.customer_id)[0].value == phone
    assert customer_names.name_by_id(row.customer_id) == "138****8000"  # never the full number
    out = post(integration("call"), "/intake/call",
               call_payload(call_id="pbx-78", direction="outbound"))
    row = Conversation.get_by_id(out.get_json()["id"])
    assert [m["speaker"] for m in row.messages] == ["agent", "customer"]
    assert personal.read(row)[0]["phone"] == "4008001234"


def test_no_token_an_unknown_or_revoked_token_is_401(app, integration):
    anonymous = ApiClient(app, None)
    assert post(anonymous, "/intake/chat", chat_payload()).status_code == 401
    assert post(ApiClient(app, "gdi_not-a-real-token"), "/intake/chat",
                chat_payload()).status_code == 401
    view, secret = integrations.create_token(SYSTEM, "old chat", "chat")
    integrations.revoke_token(SYSTEM, view.id)
    r = post(ApiClient(app, secret), "/intake/chat", chat_payload())
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert Conversation.select().count() == 0


def test_a_token_of_the_other_channel_is_403(integration):
    r = post(integration("call"), "/intake/chat", chat_payload())
    assert r.status_code == 403 and r.get_json()["error"]["details"]["channel"] == "call"
    assert post(integration("chat"), "/intake/call", call_payload()).status_code == 403


def test_a_personal_api_token_is_refused_here_and_an_integration_token_everywhere_else(
        app, org, integration):
    user_token = ApiClient(app, token_for("admin"))
    assert post(user_token, "/intake/chat", chat_payload()).status_code == 401
    assert user_token.get("/intake/conversations/1").status_code == 401
    chat = integration("chat")
    assert chat.get("/tickets").status_code == 401
    assert chat.get("/me").status_code == 401


def test_missing_and_bad_fields_are_400_with_each_field_path(integration):
    body = chat_payload(messages=[{"speaker": "customer", "text": "hi"},
                                  {"speaker": "martian", "text": "x"},
                                  {"speaker": "agent"}, "not an object",
                                  {"speaker": "agent", "text": "ok", "at": "yesterday"}],
                        ended_at="2026-05-01T09:00:00+08:00", colour="blue")
    del body["id"]
    r = post(integration("chat"), "/intake/chat", body)
    assert r.status_code == 400
    fields = r.get_json()["error"]["details"]["fields"]
    assert fields["id"] == "required"
    assert fields["colour"] == "unknown field"
    assert fields["messages.1.speaker"].startswith("must be one of")
    assert fields["messages.2.text"] == "required"
    assert fields["messages.3"] == "must be a JSON object"
    assert "ISO 8601" in fields["messages.4.at"]
    assert fields["ended_at"] == "must not be before the start"
    assert Conversation.select().count() == 0


def test_a_call_without_its_required_fields_names_each_of_them(integration):
    r = post(integration("call"), "/intake/call",
             {"call_id": "c1", "transcript": [{"speaker": "A", "text": "x", "start": 5,
                                               "end": 2}]})
    fields = r.get_json()["error"]["details"]["fields"]
    assert r.status_code == 400
    assert {"caller", "callee", "start", "end"} <= {k for k, v in fields.items()
                                                   if v == "required"}
    assert fields["transcript.0.end"] == "must not be before the start"
    empty = post(integration("call"), "/intake/call", call_payload(transcript=[]))
    assert empty.get_json()["error"]["details"]["fields"]["transcript"] == "must not be empty"


def test_sizes_are_bounded(integration):
    chat = integration("chat")
    long_text = [{"speaker": "customer", "text": "x" * 10_001}]
    r = post(chat, "/intake/chat", chat_payload(messages=long_text))
    assert r.get_json()["error"]["details"]["fields"]["messages.0.text"] == \
        "at most 10000 characters"
    many = [{"speaker": "customer", "text": "x"}] * 2001
    r = post(chat, "/intake/chat", chat_payload(messages=many))
    assert r.get_json()["error"]["details"]["fields"]["messages"] == "at most 2000 items"
    huge = chat_payload(messages=[{"speaker": "customer", "text": "字" * 9000}] * 100)
    r = post(chat, "/intake/chat", huge)
    assert r.status_code == 413
    assert chat.post("/intake/chat", data="id=1").status_code == 415
    assert chat.post("/intake/chat", data="{", content_type="application/json").status_code == 400


def test_the_same_delivery_twice_answers_200_with_the_same_conversation(integration):
    chat = integration("chat")
    first = post(chat, "/intake/chat", chat_payload())
    reordered = dict(reversed(list(chat_payload().items())))
    again = post(chat, "/intake/chat", reordered)
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"] and again.get_json()["replay"]
    assert Conversation.select().count() == 1
    assert Job.select().where(Job.name == "analyse_conversation").count() == 1


def test_a_different_payload_under_the_same_id_is_a_409(integration):
    chat = integration("chat")
    post(chat, "/intake/chat", chat_payload())
    changed = chat_payload(messages=[{"speaker": "customer", "text": "something else"}])
    r = post(chat, "/intake/chat", changed)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    assert Conversation.select().count() == 1
    # The same id on the other channel is another conversation.
    assert post(integration("call"), "/intake/call", call_payload(call_id="wx-1001")
                ).status_code == 202


def test_concurrent_duplicate_deliveries_make_one_row(app, integration):
    chat = integration("chat")
    statuses, barrier = [], threading.Barrier(6)

    def deliver():
        client = ApiClient(app, chat.token)
        barrier.wait()
        statuses.append(post(client, "/intake/chat", chat_payload()).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses).count(202) == 1 and set(statuses) <= {200, 202}, statuses
    assert Conversation.select().count() == 1


def test_the_status_endpoint_tells_what_became_of_it_to_the_posting_integration_only(
        settings, integration):
    chat = integration("chat")
    conv_id = post(chat, "/intake/chat", chat_payload()).get_json()["id"]
    assert chat.get(f"/intake/conversations/{conv_id}").get_json()["status"] == "received"
    jobs.run_pending_inline()
    body = chat.get(f"/intake/conversations/{conv_id}").get_json()
    assert body["status"] == "analysed" and body["outcome"] == "ticket"
    assert body["ticket_number"] == Ticket.get().number
    assert integration("call").get(f"/intake/conversations/{conv_id}").status_code == 404
    # Another chat system's token: the same 404 as an id that does not exist.
    other = integration("chat").get(f"/intake/conversations/{conv_id}")
    missing = chat.get("/intake/conversations/999999")
    assert other.status_code == missing.status_code == 404
    assert other.get_json()["error"]["code"] == missing.get_json()["error"]["code"]


def test_two_chat_systems_may_use_the_same_ids_without_meeting(integration):
    first, second = integration("chat"), integration("chat")
    a = post(first, "/intake/chat", chat_payload())
    b = post(second, "/intake/chat", chat_payload(
        customer={"name": "李四", "external_id": "wx_openid_1"},
        messages=[{"speaker": "customer", "text": "另一个系统的对话"}]))
    assert (a.status_code, b.status_code) == (202, 202), b.get_json()
    assert a.get_json()["id"] != b.get_json()["id"] and not b.get_json()["replay"]
    rows = {r.token_id: r for r in Conversation.select()}
    assert {r.external_id for r in rows.values()} == {"wx-1001"}
    # User "wx_openid_1" of one system is not user "wx_openid_1" of the other.
    assert len({r.customer_id for r in rows.values()}) == 2
    assert customer_names.name_by_id(
        Conversation.get_by_id(b.get_json()["id"]).customer_id) == "李四"
    # Each replays and reads only its own.
    again = post(second, "/intake/chat", chat_payload(
        customer={"name": "李四", "external_id": "wx_openid_1"},
        messages=[{"speaker": "customer", "text": "另一个系统的对话"}]))
    assert again.status_code == 200 and again.get_json()["id"] == b.get_json()["id"]
    assert second.get(f"/intake/conversations/{a.get_json()['id']}").status_code == 404
    assert first.get(f"/intake/conversations/{a.get_json()['id']}").status_code == 200


def test_a_visitor_typing_a_known_customers_email_in_a_chat_adds_nothing_to_that_customer(
        integration):
    known = identity.find_or_create_customer("王五", email="w5@example.com")
    r = post(integration("chat"), "/intake/chat", chat_payload(
        customer={"name": "冒充者", "email": "W5@example.com", "phone": "13912345678",
                  "external_id": "visitor-9"}))
    row = Conversation.get_by_id(r.get_json()["id"])
    assert row.customer_id == known  # a typed address still matches
    assert [(c.kind, c.value) for c in contacts.of_customer(known)] == \
        [("email", "w5@example.com")]
    notes = Customer.get_by_id(known).notes
    assert f"[chat conversation #{row.id} " in notes and "139****5678" in notes
    assert "13912345678" not in notes and "visitor-9" not in notes
    assert not contacts.exists("phone", "13912345678")


def test_a_pbx_links_the_callers_number_to_the_customer_of_its_own_customer_id(integration):
    pbx = integration("call")
    first = post(pbx, "/intake/call", call_payload(customer={"external_id": "crm-9"}))
    customer_id = Conversation.get_by_id(first.get_json()["id"]).customer_id
    # The same customer (by the PBX's id) calls from another line: the number is linked.
    post(pbx, "/intake/call", call_payload(call_id="pbx-78", caller="13700001111",
                                           customer={"external_id": "crm-9"}))
    # A number the payload states, not the line's, is not.
    post(pbx, "/intake/call", call_payload(call_id="pbx-79", caller="13700002222",
                                           customer={"external_id": "crm-9",
                                                     "phone": "13700003333"}))
    values = {c.value for c in contacts.of_customer(customer_id)}
    token_id = Conversation.get_by_id(first.get_json()["id"]).token_id
    assert values == {"13800138000", "13700001111", f"integration-{token_id}:crm-9"}
    assert "137****3333" in Customer.get_by_id(customer_id).notes


def test_numeric_ids_and_extensions_are_taken_as_text(integration):
    r = post(integration("call"), "/intake/call",
             call_payload(call_id=778899, caller=13800138000, callee=8001))
    assert r.status_code == 202, r.get_json()
    row = Conversation.get_by_id(r.get_json()["id"])
    assert (row.external_id, personal.read(row)[1]["callee"]) == ("778899", "8001")
    assert "callee" not in row.participants
