"""PIPL copy of a customer's data (services.customer_export): complete for what the
exporter may see, nothing internal, other departments' tickets counted but withheld,
the permission checked in the service, and every export audited without the data."""
from __future__ import annotations

import json

import pytest

from appliance.errors import NotFound, PermissionDenied
from appliance.models import AuditRecord
from appliance.services import comments, customer_export, customers
from tests.factories import make_org, ticket


@pytest.fixture
def world(settings):
    o = make_org()
    c = customers.create_customer(o.admin, "赵六", company="六六公司", notes="常客，脾气急",
                                  contacts=[{"kind": "phone", "value": "13912345678"},
                                            {"kind": "email", "value": "zhao6@example.com"}])
    mine = ticket(settings, o.agent, "空调不制冷", description="三楼会议室的空调不制冷",
                  customer_id=c.id, department_id=o.after_sales)
    comments.add_comment(o.agent, mine.summary.id, "您好，师傅明天上门。", settings)
    comments.add_comment(o.agent, mine.summary.id, "客户说话很冲，注意安抚", settings, internal=True)
    theirs = ticket(settings, o.agent2, "快递丢件", description="快递单号 SF123 丢件",
                    customer_id=c.id, department_id=o.logistics)
    return o, c, mine, theirs


def test_the_supervisor_gets_the_profile_in_full_and_the_tickets_of_the_scope(world):
    o, c, mine, theirs = world
    doc = customer_export.export_customer(o.supervisor, c.id)
    assert doc["format"] == "gongdan.customer-export/1"
    p = doc["customer"]
    assert (p["name"], p["company"]) == ("赵六", "六六公司")
    assert sorted(x["value"] for x in p["contacts"]) == ["13912345678", "zhao6@example.com"]
    assert "notes" not in p  # staff notes about the customer are not the customer's data
    assert [t["number"] for t in doc["tickets"]] == [mine.summary.number]
    t = doc["tickets"][0]
    assert t["description"] == "三楼会议室的空调不制冷"
    assert [m["body"] for m in t["messages"]] == ["您好，师傅明天上门。"]
    assert t["messages"][0]["author"] == "王芳"
    assert doc["withheld_tickets"] == 1
    text = json.dumps(doc, ensure_ascii=False)
    assert "注意安抚" not in text and "快递丢件" not in text


def test_the_admin_sees_every_department_so_nothing_is_withheld(world):
    o, c, mine, theirs = world
    doc = customer_export.export_customer(o.admin, c.id)
    assert sorted(t["number"] for t in doc["tickets"]) == sorted([mine.summary.number, theirs.summary.number])
    assert doc["withheld_tickets"] == 0


def test_each_export_is_audited_with_counts_and_no_personal_data(world):
    o, c, *_ = world
    customer_export.export_customer(o.supervisor, c.id)
    rec = AuditRecord.get((AuditRecord.action == "customer.exported")
                          & (AuditRecord.object_id == str(c.id)))
    assert rec.actor_id == o.supervisor.user_id
    assert json.loads(rec.detail) == {"tickets": 1, "withheld": 1}  # counts, no values


def test_agents_and_customers_may_not_export_and_nothing_is_recorded(world):
    o, c, *_ = world
    for who in (o.agent, o.customer):
        with pytest.raises(PermissionDenied):
            customer_export.export_customer(who, c.id)
    assert AuditRecord.select().where(AuditRecord.action == "customer.exported").count() == 0


def test_an_unknown_customer_is_not_found(world):
    o, *_ = world
    with pytest.raises(NotFound):
        customer_export.export_customer(o.admin, 999_999)


def test_an_erased_customer_exports_only_what_is_left(world, settings):
    o, c, mine, _ = world
    customers.erase(o.admin, c.id)
    doc = customer_export.export_customer(o.admin, c.id)
    assert doc["customer"]["contacts"] == [] and doc["customer"]["erased_at"]
    assert "13912345678" not in json.dumps(doc, ensure_ascii=False)
