"""PIPL erasure from the customer page: only the system administrator sees and may use it,
the customer id must be typed to confirm, and afterwards nothing personal is shown."""
from __future__ import annotations

from appliance.models import AuditRecord, CustomerContact
from appliance.services import customers


def _customer(org):
    return customers.create_customer(org.admin, "赵六", company="六六公司", notes="常客",
                                     contacts=[{"kind": "phone", "value": "13912345678"}])


def test_the_admin_erases_a_customer_after_typing_its_id(login, org):
    c = _customer(org)
    admin = login("admin")
    page = admin.get(f"/agent/customers/{c.id}").get_data(as_text=True)
    assert 'id="erase-customer"' in page and "13912345678" in page

    wrong = admin.post(f"/agent/customers/{c.id}/erase", {"confirm": "yes"},
                       csrf_from=f"/agent/customers/{c.id}")
    assert wrong.status_code == 400
    assert 'id="erase-error"' in wrong.get_data(as_text=True)
    assert CustomerContact.select().where(CustomerContact.customer == c.id).count() == 1

    done = admin.post(f"/agent/customers/{c.id}/erase", {"confirm": str(c.id)},
                      csrf_from=f"/agent/customers/{c.id}")
    assert done.status_code == 303
    after = admin.get(f"/agent/customers/{c.id}").get_data(as_text=True)
    assert "13912345678" not in after and "赵六" not in after and "六六公司" not in after
    assert 'id="erased-note"' in after and "erase-submit" not in after
    assert CustomerContact.select().where(CustomerContact.customer == c.id).count() == 0
    assert AuditRecord.select().where((AuditRecord.action == "customer.erased")
                                      & (AuditRecord.object_id == str(c.id))).count() == 1


def test_a_supervisor_neither_sees_nor_may_use_the_erasure(login, org):
    c = _customer(org)
    lead = login("lead")
    assert 'id="erase-customer"' not in lead.get(f"/agent/customers/{c.id}").get_data(as_text=True)
    r = lead.post(f"/agent/customers/{c.id}/erase", {"confirm": str(c.id)},
                  csrf_from=f"/agent/customers/{c.id}")
    assert r.status_code == 403
    assert CustomerContact.select().where(CustomerContact.customer == c.id).count() == 1
    assert customers.get_customer(org.admin, c.id).name == "赵六"


# --- PIPL copy of the data (services.customer_export) ----------------------------------

def test_a_supervisor_downloads_the_customers_data_as_json(login, org):
    import json
    c = _customer(org)
    lead = login("lead")
    page = lead.get(f"/agent/customers/{c.id}").get_data(as_text=True)
    assert 'id="export-customer"' in page
    r = lead.post(f"/agent/customers/{c.id}/export", {}, csrf_from=f"/agent/customers/{c.id}")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Content-Disposition"].startswith(f'attachment; filename="customer-{c.id}-')
    assert r.headers["Cache-Control"] == "no-store"
    doc = json.loads(r.get_data(as_text=True))
    assert doc["customer"]["name"] == "赵六"
    assert [x["value"] for x in doc["customer"]["contacts"]] == ["13912345678"]
    assert AuditRecord.select().where(AuditRecord.action == "customer.exported").count() == 1


def test_an_agent_neither_sees_nor_may_use_the_export(login, org):
    c = _customer(org)
    agent = login("wangfang")
    assert 'id="export-customer"' not in agent.get(f"/agent/customers/{c.id}").get_data(as_text=True)
    r = agent.post(f"/agent/customers/{c.id}/export", {}, csrf_from=f"/agent/customers/{c.id}")
    assert r.status_code == 403
    assert AuditRecord.select().where(AuditRecord.action == "customer.exported").count() == 0


def test_the_export_needs_a_csrf_token(login, org):
    c = _customer(org)
    lead = login("lead")
    r = lead.client.post(f"/agent/customers/{c.id}/export")
    assert r.status_code == 400
    assert AuditRecord.select().where(AuditRecord.action == "customer.exported").count() == 0
