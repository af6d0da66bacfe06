"""Follow-up visits (回访) through the real app on SQLite and PostgreSQL: "My follow-ups",
the visit page with the script, recording "not solved" reopens the ticket, who gets 403 or
404, a closed visit answers 409, the administrator's rule form refuses overlapping rules,
and the outcome counts page."""
from __future__ import annotations

import pytest

from appliance.models import Comment, FollowUpRule, FollowUpVisit, Ticket, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import customers, follow_up_rules, org as org_service, tickets


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def visit(settings, org):
    printers = org_service.save_category(SYSTEM, "打印机", department_id=org.after_sales).id
    follow_up_rules.save_rule(SYSTEM, None, {
        "name": "打印机回访", "category_ids": [printers], "delay_minutes": 0,
        "script": "您好，**问题解决了吗？**<script>alert(1)</script>"})
    customers.update_customer(SYSTEM, org.customer.customer_id, {
        "contacts": [{"kind": "email", "value": "zhangsan@example.com"},
                     {"kind": "phone", "value": "13800001111"}]})
    t = tickets.create_ticket(SYSTEM, tickets.TicketInput(
        subject="打印机卡纸", department_id=org.after_sales, category_id=printers,
        customer_id=org.customer.customer_id, assignee_id=org.agent.user_id), settings).summary
    tickets.transition_ticket(org.agent, t.id, "resolved", settings)
    return t, FollowUpVisit.get()


def test_an_agent_records_not_solved_and_the_ticket_reopens(login, visit):
    t, v = visit
    agent = login("wangfang")
    listing = agent.get("/agent/follow-ups").get_data(as_text=True)
    assert f'id="my-follow-ups-{v.id}"' in listing and t.number in listing
    assert 'id="follow-ups-due"' in listing                       # due now (no delay)
    page = agent.get(f"/agent/follow-ups/{v.id}").get_data(as_text=True)
    assert "<strong>问题解决了吗？</strong>" in page and "<script>alert(1)" not in page
    assert "13800001111" in page
    r = agent.post(f"/agent/follow-ups/{v.id}/outcome",
                   {"outcome": "not_solved", "note": "<b>还是卡纸</b>", "version": str(v.version)},
                   csrf_from=f"/agent/follow-ups/{v.id}")
    assert r.status_code == 302
    assert Ticket.get_by_id(t.id).status == "open"
    ticket_page = agent.get(f"/agent/tickets/{t.id}").get_data(as_text=True)
    assert f'id="ticket-visit-{v.id}"' in ticket_page and "Not solved" in ticket_page
    assert "&lt;b&gt;还是卡纸&lt;/b&gt;" in ticket_page and "recorded a follow-up call" in ticket_page
    note = Comment.get(Comment.channel == "phone")
    assert note.internal
    # Once recorded, the visit is closed: a second post is a conflict.
    again = agent.post(f"/agent/follow-ups/{v.id}/outcome", {"outcome": "satisfied"},
                       csrf_from="/agent/follow-ups")
    assert again.status_code == 409


def test_customers_get_403_other_departments_and_bad_ids_404(login, visit):
    t, v = visit
    customer = login("zhangsan")
    assert customer.get(f"/agent/follow-ups/{v.id}").status_code == 403
    assert customer.post(f"/agent/follow-ups/{v.id}/outcome", {"outcome": "satisfied"},
                         csrf_from="/portal/").status_code == 403
    assert "问题解决了吗" not in customer.get(f"/portal/tickets/{t.id}").get_data(as_text=True)
    other = login("lilei")
    assert other.get(f"/agent/follow-ups/{v.id}").status_code == 404
    assert other.post(f"/agent/follow-ups/{v.id}/outcome", {"outcome": "satisfied"},
                      csrf_from="/agent/follow-ups").status_code == 404
    assert other.post(f"/agent/follow-ups/{v.id}/claim", {},
                      csrf_from="/agent/follow-ups").status_code == 404
    assert f"my-follow-ups-{v.id}" not in other.get("/agent/follow-ups").get_data(as_text=True)
    agent = login("wangfang")
    assert agent.get(f"/agent/follow-ups/{v.id + 100}").status_code == 404
    r = agent.post(f"/agent/follow-ups/{v.id}/outcome", {"outcome": "great"},
                   csrf_from="/agent/follow-ups")
    assert r.status_code == 400 and 'id="err-outcome"' in r.get_data(as_text=True)
    assert FollowUpVisit.get_by_id(v.id).attempts == 0
    assert Ticket.get_by_id(t.id).status == "resolved"


def test_unreachable_reschedules_from_the_page(login, visit):
    t, v = visit
    agent = login("wangfang")
    r = agent.post(f"/agent/follow-ups/{v.id}/outcome", {"outcome": "unreachable"},
                   csrf_from=f"/agent/follow-ups/{v.id}")
    assert r.status_code == 302
    row = FollowUpVisit.get_by_id(v.id)
    assert (row.status, row.attempts) == ("scheduled", 1) and row.due_at > utcnow()
    assert 'id="follow-ups-due"' not in agent.get("/agent/follow-ups").get_data(as_text=True)


def test_the_admin_rule_form_saves_and_refuses_an_overlapping_rule(login, visit, org):
    admin = login("admin")
    page = admin.get("/admin/follow-ups/").get_data(as_text=True)
    assert "打印机回访" in page
    r = admin.post("/admin/follow-ups/new", {
        "name": "VIP 回访", "active": "1", "customer_tags": "vip", "delay_hours": "24",
        "script": "VIP 回访话术", "assign_to": "department", "max_attempts": "3",
        "retry_hours": "4"}, csrf_from="/admin/follow-ups/new")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="err-customer_tags"' in html and "打印机回访" in html
    assert FollowUpRule.select().count() == 1
    other = org_service.save_category(SYSTEM, "配送", department_id=org.logistics).id
    r = admin.post("/admin/follow-ups/new", {
        "name": "配送回访", "active": "1", "category_ids": str(other), "delay_hours": "1.5",
        "business_time": "1", "script": "配送回访话术", "assign_to": "department",
        "pool_department_id": str(org.logistics), "max_attempts": "2", "retry_hours": "2"},
        csrf_from="/admin/follow-ups/new")
    assert r.status_code == 302
    saved = FollowUpRule.get(FollowUpRule.name == "配送回访")
    assert (saved.delay_minutes, saved.business_time, saved.pool_department_id,
            saved.retry_minutes) == (90, True, org.logistics, 120)
    assert login("wangfang").get("/admin/follow-ups/").status_code == 403
    assert admin.get("/admin/follow-ups/9999").status_code == 404


def test_the_outcome_counts_page_is_for_supervisors(login, visit, settings):
    t, v = visit
    agent = login("wangfang")
    agent.post(f"/agent/follow-ups/{v.id}/outcome", {"outcome": "satisfied"},
               csrf_from=f"/agent/follow-ups/{v.id}")
    today = utcnow().date().isoformat()
    html = login("lead").get(f"/agent/reports/follow-ups?start={today}&end={today}")
    assert html.status_code == 200
    assert 'id="follow-up-by-agent"' in html.get_data(as_text=True)
    assert "王芳" in html.get_data(as_text=True)
    assert agent.get("/agent/reports/follow-ups").status_code == 403
    bad = login("lead").get(f"/agent/reports/follow-ups?start={today}&end=x")
    assert bad.status_code == 400


def test_a_due_visit_shows_in_the_callers_notifications(login, visit):
    from appliance.services import follow_up_due
    t, v = visit
    assert follow_up_due.remind_due() == 1
    html = login("wangfang").get("/agent/notifications").get_data(as_text=True)
    assert f"A follow-up visit for {t.number} is due: call the customer now." in html
