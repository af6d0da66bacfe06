"""A posted conversation is analysed by the real `gongdan worker` in its background lane."""
from __future__ import annotations

import pytest

from appliance import tasks
from appliance.models import Conversation, Job, Ticket
from appliance.rules.access import SYSTEM
from appliance.rules.intake_payload import parse_call
from appliance.services import conversations, integrations
from tests.tasks.test_worker import wait_until, worker  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow


def test_the_worker_turns_a_posted_call_into_a_ticket(settings, worker):  # noqa: F811
    worker.start()
    tasks.install_enqueuer(settings)
    view, _ = integrations.create_token(SYSTEM, "pbx", "call")
    data = parse_call({"call_id": "w-1", "caller": "13800138000", "callee": "400",
                       "start": "2026-05-01T01:00:00Z", "end": "2026-05-01T01:02:00Z",
                       "transcript": [{"speaker": "A", "text": "冰箱不制冷了，请派人上门维修。"},
                                      {"speaker": "B", "text": "好的，已为您登记维修。"}]})
    conv_id = conversations.accept(integrations.Caller(view.id, "call"), data).id
    row = wait_until(lambda: Conversation.get_or_none((Conversation.id == conv_id)
                                                      & (Conversation.status != "received")),
                     timeout=60, what="the worker to analyse the call")
    assert row.status == "analysed", row.error
    assert row.outcome in ("ticket", "resolved")
    if row.outcome == "ticket":
        assert Ticket.get_by_id(row.ticket_id).channel == "phone"
    job = Job.get(Job.name == "analyse_conversation")
    assert job.done_at is not None and job.attempts == 1
