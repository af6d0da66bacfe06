"""A read-only request loads each ticket it shows once (appliance.request_context.reads,
services.common.ticket_for and facts): the ticket page's panels each check the same
ticket, which was 11 loads and 7 parent queries a page before. Writes never share."""
from __future__ import annotations

import pytest

from appliance import request_context
from appliance.errors import NotFound, PermissionDenied
from appliance.services import common, tickets
from tests.factories import ticket


def _statements(queries, needle: str, params: list) -> list[str]:
    return [sql for sql, p in queries.with_params if needle in sql and list(p or ()) == params]


def test_the_ticket_page_loads_its_ticket_once(login, settings, org, queries):
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    agent = login("wangfang")
    queries.clear()
    r = agent.get(f"/agent/tickets/{t.id}")
    assert r.status_code == 200
    # The row loaded by id: once by ticket_for (11 times before, one per panel) plus two
    # other readers; the parents' query of the access facts once with and once without
    # the process steps' holders (7 before).
    loads = _statements(queries, 'FROM "ticket" AS "t1" WHERE ("t1"."id" = ?) LIMIT ?', [t.id, 1])
    assert len(loads) <= 3, loads
    parents = _statements(queries, '"kind" = ?', [t.id, "parent"])
    assert len(parents) <= 2, parents


def test_a_change_reads_the_ticket_afresh(login, settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    agent = login("wangfang")
    page = agent.get(f"/agent/tickets/{t.id}").get_data(as_text=True)
    assert "打印机无法打印" in page
    r = agent.post(f"/agent/tickets/{t.id}/comments", data={"body": "已联系客户", "kind": "note"},
                   csrf_from=f"/agent/tickets/{t.id}")
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:300]
    assert "已联系客户" in agent.get(f"/agent/tickets/{t.id}").get_data(as_text=True)


def test_a_ticket_not_visible_is_not_remembered_as_visible(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    token = request_context.start_reads()
    try:
        with pytest.raises(NotFound):
            common.ticket_for(org.agent2, t.id)      # logistics: not theirs
        with pytest.raises(NotFound):
            common.ticket_for(org.agent2, t.id)
        assert common.ticket_for(org.agent, t.id) is common.ticket_for(org.agent, t.id)
    finally:
        request_context.end_reads(token)
    assert request_context.reads() is None


def test_outside_a_read_only_request_every_load_is_fresh(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales).summary
    first = common.ticket_for(org.agent, t.id)
    tickets.update_ticket(org.agent, t.id, {"priority": "P1"}, settings,
                          expected_version=first.version)
    assert common.ticket_for(org.agent, t.id).priority == 1
    assert common.ticket_for(org.agent, t.id, edit=True) is not common.ticket_for(
        org.agent, t.id, edit=True)                  # a write's load is never shared


def test_a_read_only_request_still_checks_the_right_to_edit(settings, org):
    """Panels ask edit=True to decide whether to offer their forms: the shared load
    answers them, and the edit check is made on it each time."""
    t = ticket(settings, org.customer, subject="发票开错了").summary
    token = request_context.start_reads()
    try:
        seen = common.ticket_for(org.customer, t.id)
        with pytest.raises(PermissionDenied):
            common.ticket_for(org.customer, t.id, edit=True)   # customers see, not work
        assert common.ticket_for(org.customer, t.id) is seen
        staff = common.ticket_for(org.admin, t.id)
        assert common.ticket_for(org.admin, t.id, edit=True) is staff
    finally:
        request_context.end_reads(token)
