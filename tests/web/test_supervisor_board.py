"""The supervisor board, reassignment by hand and routing on the ticket page, through the
real app: who may see what, the sentences in both languages, and what customers never see.

Tickets are routed by the real dispatch services (tests/domain covers their rules).
"""
from __future__ import annotations

import datetime as dt
import re

import pytest

from appliance.models import DispatchPolicy, QueueEntry, RoutingDecision, Ticket, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import (dispatch, dispatch_actions, dispatch_board, org as org_services,
                                presence, users)
from tests.factories import actor, ticket
from webapp import routing_text


def html(r) -> str:
    return r.get_data(as_text=True)


def panel(page: str) -> str:
    m = re.search(r'<section class="panel routing-panel".*?</section>', page, re.S)
    assert m, page[:3000]
    return m.group(0)


def timeline(page: str) -> str:
    m = re.search(r'<ol class="timeline">.*?</ol>', page, re.S)
    assert m
    return m.group(0)


@pytest.fixture
def world(settings, org):
    """After-sales with 王芳 (售后维修 4) and 钱进 (售后维修 5, capacity 8), both online."""
    repair = org_services.save_skill(SYSTEM, "售后维修")
    users.create_user(SYSTEM, "qian", "钱进", "agent", department_id=org.after_sales)
    users.update_user(org.admin, actor("qian").user_id, {"capacity": 8})
    org_services.set_agent_skill(SYSTEM, actor("qian").user_id, repair.id, 5)
    org_services.set_agent_skill(SYSTEM, org.agent.user_id, repair.id, 4)
    return org


def routed(settings, o, subject="洗衣机漏水", **fields):
    """A triaged after-sales ticket that needs 售后维修, dispatched now."""
    t = ticket(settings, o.admin, subject, department_id=o.after_sales, **fields).summary
    Ticket.update(required_skills=["售后维修"], triage_state="auto").where(
        Ticket.id == t.id).execute()
    dispatch.dispatch_ticket(t.id)
    return t


def online(*who):
    for a in who:
        presence.set_presence(a, "online")


@pytest.fixture
def lead(login):
    return login("lead")


# --- the board ---------------------------------------------------------------------------

def test_the_board_shows_agents_queues_and_decisions_with_their_sentences(world, settings, lead):
    waiting = routed(settings, world)
    online(actor("qian"))
    assigned = routed(settings, world, "空调不制冷")
    page = html(lead.get("/agent/board"))
    assert 'id="nav-board"' in page and 'src="/static/board.js"' in page
    agents = re.search(r'<tbody id="board-agents">.*?</tbody>', page, re.S).group(0)
    assert "钱进" in agents and "王芳" in agents and "1/8" in agents and "李雷" not in agents
    queues = re.search(r'<div id="board-queues".*?</ol>', page, re.S).group(0)
    assert waiting.number in queues and "Waiting: nobody is available" in queues
    decisions = re.search(r'<ol id="board-decisions".*?</ol>', page, re.S).group(0)
    assert assigned.number in decisions
    assert "Assigned to 钱进: 售后维修 level 5, load 1/8" in decisions
    assert "Runners-up:" not in decisions  # 王芳 is offline: nobody else was eligible


def test_board_json_carries_the_same_rows_with_translated_texts(world, settings, lead):
    online(actor("qian"), world.agent)
    t = routed(settings, world)
    r = lead.get("/agent/board.json", headers={"Accept-Language": "en"})
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    data = r.get_json()
    qian = next(a for a in data["agents"] if a["name"] == "钱进")
    assert qian["effective_label"] == "Online" and qian["load_text"] == "1/8"
    d = data["decisions"][0]
    assert d["number"] == t.number and d["mode"] == "auto" and d["url"] == f"/agent/tickets/{t.id}"
    assert d["sentence"].startswith("Assigned to 钱进: 售后维修 level 5")
    assert [c["name"] for c in d["runners_up"]] == ["王芳"]
    assert "Skill 0.80" in d["runners_up"][0]["parts_text"]
    queue = next(q for q in data["queues"] if q["department_id"] == world.after_sales)
    assert queue["stats"][0] == ["Waiting", "0"]


def test_the_board_stops_polling_when_nobody_is_at_it(world, lead, app):
    """Polling every 5 s would keep the session alive forever (30-min idle logout)."""
    page = html(lead.get("/agent/board"))
    assert 'data-interval="5000" data-idle="600000"' in page
    paused = re.search(r'<span [^>]*id="board-paused"[^>]*>([^<]*)</span>', page)
    assert paused and " hidden" in paused.group(0)
    assert paused.group(1) == "Paused — move the mouse to resume"
    script = html(lead.get("/static/board.js"))
    assert 'getAttribute("data-idle")' in script and "board-paused" in script
    for event in ("mousemove", "keydown", "mousedown", "scroll"):
        assert f'"{event}"' in script
    assert "Date.now() - lastActivity > idleMs" in script


def test_of_an_overflowing_department_the_board_lists_escalated_tickets_without_links(
        world, settings, lead):
    """The supervisor cannot open another department's ticket: no link to a 404."""
    DispatchPolicy.create(department=world.logistics, overflow_department=world.after_sales)
    plain = ticket(settings, world.admin, "物流延误", department_id=world.logistics).summary
    escalated = ticket(settings, world.admin, "物流升级", department_id=world.logistics).summary
    for t in (plain, escalated):
        Ticket.update(triage_state="auto").where(Ticket.id == t.id).execute()
        dispatch.dispatch_ticket(t.id)
    QueueEntry.update(escalated_at=utcnow()).where(QueueEntry.ticket == escalated.id).execute()
    page = html(lead.get("/agent/board"))
    box = re.search(rf'<section class="panel board-queue" data-department="{world.logistics}">'
                    r'.*?</section>', page, re.S).group(0)
    assert escalated.number in box and plain.number not in box and "物流延误" not in page
    assert f"/agent/tickets/{escalated.id}" not in page
    assert "Overflows into your department: escalated tickets only" in box
    data = lead.get("/agent/board.json").get_json()
    queue = next(q for q in data["queues"] if q["department_id"] == world.logistics)
    assert [(w["number"], w["url"]) for w in queue["tickets"]] == [(escalated.number, None)]
    assert "李雷" not in {a["name"] for a in data["agents"]}
    assert lead.get(f"/agent/tickets/{escalated.id}").status_code == 404


def test_agents_get_no_board_no_link_and_cannot_reassign(world, settings, login):
    t = routed(settings, world)
    agent = login("wangfang")
    assert agent.get("/agent/board").status_code == 403
    assert agent.get("/agent/board.json").status_code == 403
    assert 'id="nav-board"' not in html(agent.get("/agent/"))
    r = agent.post(f"/agent/tickets/{t.id}/reassign", {"user_id": world.agent.user_id})
    assert r.status_code == 403
    assert Ticket.get_by_id(t.id).assignee_id is None
    box = panel(html(agent.get(f"/agent/tickets/{t.id}")))
    assert "Waiting: nobody is available" in box
    assert 'id="reassign-form"' not in box and "routing-runners-up" not in box


def test_customers_are_sent_away_from_the_board(world, login):
    customer = login("zhangsan")
    assert customer.get("/agent/board").status_code == 403


# --- reassignment --------------------------------------------------------------------------

def test_a_supervisor_reassigns_by_hand_and_the_timeline_says_who_did_it(world, settings, lead):
    t = routed(settings, world)
    r = lead.post(f"/agent/tickets/{t.id}/reassign",
                  {"user_id": world.agent.user_id, "note": "客户点名要她"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/agent/tickets/{t.id}#routing")
    assert Ticket.get_by_id(t.id).assignee_id == world.agent.user_id
    d = RoutingDecision.select().where(RoutingDecision.ticket == t.id).order_by(
        RoutingDecision.id.desc()).first()
    assert d.mode == "manual" and d.agent_id == world.agent.user_id
    page = html(lead.get(f"/agent/tickets/{t.id}"))
    assert "Reassigned." in page
    expected = "Assigned by hand by 陈主管 to 王芳 Note: 客户点名要她"
    assert expected in timeline(page) and expected in panel(page)
    assert "Waiting: nobody is available" in timeline(page)  # the queued event before


def test_back_to_the_queue_unassigns_and_routes_again(world, settings, lead):
    online(actor("qian"))
    t = routed(settings, world)
    lead.post(f"/agent/tickets/{t.id}/reassign", {"user_id": "queue"})
    assert Ticket.get_by_id(t.id).assignee_id is None
    page = html(lead.get(f"/agent/tickets/{t.id}"))
    assert "Sent back to the queue by hand by 陈主管" in timeline(page)


def test_a_reassignment_to_someone_who_is_not_an_agent_is_refused_with_the_reason(world, settings,
                                                                                lead):
    t = routed(settings, world)
    r = lead.post(f"/agent/tickets/{t.id}/reassign", {"user_id": world.customer.user_id},
                  follow_redirects=True)
    assert "Not reassigned: must be an active agent" in html(r)
    r = lead.post(f"/agent/tickets/{t.id}/reassign", {"user_id": ""}, follow_redirects=True)
    assert "Not reassigned: required" in html(r)
    assert Ticket.get_by_id(t.id).assignee_id is None


def test_a_supervisor_who_reassigns_a_ticket_out_of_sight_lands_on_the_board(world, settings,
                                                                            lead):
    """Seen only as its assignee, the ticket is out of the supervisor's sight once given
    to another department's agent: no 404 page after the change was made."""
    t = ticket(settings, world.admin, "物流延误", department_id=world.logistics).summary
    dispatch_actions.reassign(world.admin, t.id, world.supervisor.user_id)
    r = lead.post(f"/agent/tickets/{t.id}/reassign", {"user_id": world.agent2.user_id})
    assert r.status_code == 302 and r.headers["Location"].endswith("/agent/board")
    assert Ticket.get_by_id(t.id).assignee_id == world.agent2.user_id
    page = html(lead.get("/agent/board"))
    assert "Reassigned." in page
    assert "You can no longer see this ticket, so you are back on the board." in page


def test_a_reassignment_with_unicode_digits_or_a_huge_id_is_refused_not_a_500(world, settings,
                                                                              lead):
    """"²".isdigit() is True, yet int("²") fails; 20 digits overflow SQLite."""
    t = routed(settings, world)
    for choice in ("²", "9" * 20):
        r = lead.post(f"/agent/tickets/{t.id}/reassign", {"user_id": choice},
                      follow_redirects=True)
        assert r.status_code == 200, choice
        assert "Not reassigned: must be an active agent" in html(r)
    assert Ticket.get_by_id(t.id).assignee_id is None


# --- the ticket page -------------------------------------------------------------------------

def _expected(app, locale: str, ticket_id: int) -> str:
    """The sentence of the ticket's latest decision, as routing_text writes it in `locale`."""
    with app.test_request_context(headers={"Accept-Language": locale}):
        d = dispatch_board.ticket_routing(actor("lead"), ticket_id).decisions[0]
        return routing_text.decision_text(d)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_routing_panel_explains_the_decision_in_the_readers_language(world, settings, app,
                                                                         browser, locale):
    online(actor("qian"), world.agent)
    t = routed(settings, world)
    lead = browser()
    lead.client.set_cookie("lang", "en" if locale == "en" else "zh_CN")
    lead.login("lead", world.passwords["lead"])
    page = html(lead.get(f"/agent/tickets/{t.id}"))
    assert f'<html lang="{locale}">' in page
    box = panel(page)
    sentence = _expected(app, locale, t.id)
    assert "钱进" in sentence and "1/8" in sentence
    assert sentence in box and sentence in timeline(page)
    if locale == "en":
        assert sentence.startswith("Assigned to 钱进: 售后维修 level 5, load 1/8")
    runners = re.search(r'<table class="runners-up small" id="routing-runners-up">.*?</table>',
                        box, re.S).group(0)
    assert "王芳" in runners and 'id="reassign-form"' in box
    options = re.search(r'<select name="user_id".*?</select>', box, re.S).group(0)
    assert 'value="queue"' in options and "李雷" not in options and "王芳" in options


def test_escalation_and_redistribution_read_as_sentences_in_the_timeline(world, settings, lead):
    DispatchPolicy.create(department=world.after_sales, escalate_after_minutes=10)
    waiting = routed(settings, world)
    presence.escalate(utcnow() + dt.timedelta(minutes=12))
    online(actor("qian"))
    taken = routed(settings, world, "空调不制冷")
    presence.set_presence(actor("qian"), "offline")
    presence.redistribute_agent(actor("qian").user_id)
    assert "Escalated after 12 minutes of waiting" in timeline(
        html(lead.get(f"/agent/tickets/{waiting.id}")))
    page = html(lead.get(f"/agent/tickets/{waiting.id}"))
    assert "Escalated after 12 minutes of waiting" in panel(page)
    assert "Taken back from 钱进, who is no longer available, and routed again" in timeline(
        html(lead.get(f"/agent/tickets/{taken.id}")))


def test_the_customer_portal_never_shows_routing(world, settings, login, lead):
    online(actor("qian"))
    t = routed(settings, world, customer_id=world.customer.customer_id)
    lead.post(f"/agent/tickets/{t.id}/reassign", {"user_id": "queue", "note": "内部备注"})
    staff_page = html(lead.get(f"/agent/tickets/{t.id}"))
    assert "Assigned to 钱进" in staff_page and "内部备注" in staff_page
    customer = login("zhangsan")
    page = html(customer.get(f"/portal/tickets/{t.id}"))
    assert t.number in page
    for secret in ("钱进", "内部备注", "Assigned to", "by hand", "Waiting:", "routing",
                   "Runners-up"):
        assert secret not in page, secret
