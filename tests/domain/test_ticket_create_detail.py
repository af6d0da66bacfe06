"""create_ticket answers with a detail built from what it wrote (services/detail.py
`new_ticket_detail`), not read back: it must equal what get_ticket reads afterwards, for
every kind of caller and input, on SQLite and PostgreSQL."""
import dataclasses
import datetime as dt

import pytest

from appliance.errors import NotFound
from appliance.models import Customer, Job, Ticket, User
from appliance.rules.access import SYSTEM
from appliance.services import customer_merge, customers, tickets, users
from appliance.services import org as org_service
from appliance.services.attachments import Upload
from appliance.services.tickets import TicketInput
from tests.conftest import with_settings
from tests.factories import make_org


@pytest.fixture
def org(settings):
    return make_org()


@pytest.fixture
def fields(org):
    for key, kind, options in (("order_no", "text", ()), ("amount", "number", ()),
                               ("bought_on", "date", ()), ("channel", "select", ("店铺", "官网")),
                               ("parts", "multiselect", ("屏幕", "电池", "外壳"))):
        org_service.save_custom_field(SYSTEM, key, key, kind, options=options)


def _category(org, name="退货", department=None):
    return org_service.save_category(SYSTEM, name, department_id=department or org.after_sales).id


def _customer(org, name="华为门店"):
    return customers.create_customer(org.admin, name).id


def _same_as_read_back(settings, actor, data: TicketInput, **kw):
    created = tickets.create_ticket(actor, data, settings, **kw)
    read = tickets.get_ticket(actor, created.summary.id, settings)
    assert dataclasses.asdict(created) == dataclasses.asdict(read)
    return created


def test_staff_ticket_with_every_field(settings, org, fields):
    detail = _same_as_read_back(settings, org.admin, TicketInput(
        subject="  屏幕碎了\n请尽快 ", description="<b>到货</b>就是坏的\x00", channel="email",
        priority="P2", urgency="high", category_id=_category(org), department_id=org.after_sales,
        assignee_id=org.agent.user_id, customer_id=_customer(org), tags=["退货", "vip", "退货"],
        custom_fields={"order_no": "A-1", "amount": "12.50", "bought_on": "2026-01-03",
                       "channel": "店铺", "parts": ["电池", "屏幕"]},
        due_at="2026-12-01T08:30:00.123456+08:00"))
    s = detail.summary
    assert (s.subject, s.priority, s.urgency, s.channel) == ("屏幕碎了 请尽快", 2, "high", "email")
    assert s.assignee.name == "王芳" and s.department.name == "售后" and s.category.name == "退货"
    assert detail.tags == ["vip", "退货"] and detail.custom_fields["amount"] == 12.5
    assert [e.kind for e in detail.events] == ["created"] and detail.events[0].actor.name == "管理员"


def test_agent_defaults_and_ai_triage_on(settings, org):
    on = with_settings(settings, ai_enabled=True)
    detail = _same_as_read_back(on, org.agent, TicketInput(subject="打印机卡纸",
                                                           department_id=org.after_sales))
    assert detail.summary.priority == 3 and detail.summary.status == "new"
    assert detail.allowed_transitions and detail.can_reply
    assert Ticket.get_by_id(detail.summary.id).triage_state == "pending"


def test_customer_ticket_shows_only_what_a_customer_sees(settings, org, fields):
    detail = _same_as_read_back(settings, org.customer, TicketInput(
        subject="退款没到账", channel="phone", priority=1, tags=["内部"],
        category_id=_category(org, "退款"), custom_fields={"order_no": "B-7"}))
    assert detail.summary.channel == "web" and detail.tags == [] and detail.links == []
    assert detail.requester.name == "张三" and detail.summary.customer.name == "张三"
    assert detail.summary.priority == 3  # customers do not set the priority


@pytest.mark.parametrize("who", ["admin", "customer"])
def test_attachments_given_with_the_ticket(settings, org, who):
    actor = getattr(org, who)
    detail = _same_as_read_back(settings, actor, TicketInput(subject="发票附件"), uploads=[
        Upload("发票.pdf", b"%PDF-1.4 invoice"), Upload("photo.png", b"\x89PNG\r\n\x1a\n....")])
    assert [a.filename for a in detail.attachments] == ["发票.pdf", "photo.png"]
    assert [e.kind for e in detail.events] == ["created", "attachment_added", "attachment_added"]


def test_a_merged_customers_old_id_files_under_the_survivor(settings, org):
    old, survivor = _customer(org, "旧客户"), _customer(org, "新客户")
    customer_merge.merge_customers(org.admin, old, survivor)
    detail = _same_as_read_back(settings, org.agent, TicketInput(subject="换货", customer_id=old))
    assert detail.summary.customer.id == survivor and detail.summary.customer.name == "新客户"
    assert Customer.get_by_id(old).merged_into_id == survivor


def test_system_actor_and_a_sub_ticket(settings, org):
    parent = _same_as_read_back(settings, SYSTEM, TicketInput(subject="邮件来信", channel="email",
                                                              department_id=org.after_sales))
    assert parent.events[0].actor is None
    child = _same_as_read_back(settings, org.agent, TicketInput(
        subject="物流查件", department_id=org.logistics), parent_id=parent.summary.id)
    assert [lk.kind for lk in child.links] == ["parent"]


def test_a_ticket_the_creator_may_not_see_is_stored_and_answered_as_not_found(settings, org):
    """An agent filing for another department gets what reading the ticket would give."""
    no_ai = with_settings(settings, ai_enabled=False)
    with pytest.raises(NotFound):
        tickets.create_ticket(org.agent, TicketInput(subject="转物流", department_id=org.logistics),
                              no_ai)
    t = Ticket.get(Ticket.subject == "转物流")
    assert tickets.get_ticket(org.agent2, t.id, settings).summary.department.name == "物流"
    assert {j.name for j in Job.select().where(Job.object_id == t.id)} == {"index_ticket",
                                                                          "dispatch_ticket"}


def test_the_answer_is_built_without_reading_the_ticket_back(settings, org, queries):
    cat, cust = _category(org), _customer(org)
    tickets.create_ticket(org.admin, TicketInput(
        subject="新工单", category_id=cat, department_id=org.after_sales, customer_id=cust,
        assignee_id=org.agent.user_id, tags=["a"]), settings)
    reads = [q for q in queries if q.lstrip().upper().startswith("SELECT")]
    for table in ("ticket", "timeline_event", "comment", "attachment", "ticket_link",
                  "ticket_tag"):
        assert not any(f'FROM "{table}"' in q for q in reads), table


def test_a_token_sees_a_role_change_and_a_disabled_user_at_once(settings, org):
    _, token = users.create_api_token(org.agent, "script")
    assert users.user_for_api_token(token).role == "agent"
    User.update(role="supervisor").where(User.id == org.agent.user_id).execute()
    user = users.user_for_api_token(token)
    assert user.role == "supervisor" and user.id == org.agent.user_id
    assert isinstance(user.created_at, dt.datetime) and user.active is True  # typed as by the model
    User.update(active=False).where(User.id == org.agent.user_id).execute()
    assert users.user_for_api_token(token) is None
    assert users.user_for_api_token("gd_" + "x" * 40) is None and users.user_for_api_token("") is None
