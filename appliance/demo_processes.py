"""The demo's processes (`gongdan demo load`): what the three shipped examples name beyond
the demo organisation (the scenic area's park dispatch and security departments with an
agent each, the refund amount and quality-check fields, a finance lead), then the
examples themselves, published (services.process_defs.install_examples).

Called after the demo tickets are made, so only tickets filed from then on enter the
processes by their start rules.
"""
from __future__ import annotations

from appliance.models import CustomFieldDef, Department, User
from appliance.rules.access import SYSTEM
from appliance.services import org, process_defs, users

DEPARTMENTS = (("PARK", "园区调度", "Park dispatch", ("liqiang", "李强", "li.qiang")),
               ("SEC", "安保", "Security", ("wujun", "吴军", "wu.jun")))
FIELDS = (("refund_amount", "退款金额 Refund amount", "number", ()),
          ("qc_result", "质检结果 QC result", "select", ("pass", "fail")))
FINANCE_LEAD = ("FIN", "sunli")


def make_processes(depts: dict[str, int], logins: list[tuple[str, str, str]]) -> list:
    """Add what the examples need (reusing what exists) and install them; returns
    (key, status) of each example installed."""
    for code, name, name_en, (username, display, email) in DEPARTMENTS:
        d = Department.get_or_none(Department.code == code)
        depts[code] = d.id if d else org.save_department(SYSTEM, code, name, name_en).id
        if not User.select().where(User.username == username).exists():
            _, password = users.create_user(SYSTEM, username, display, "agent",
                                            department_id=depts[code],
                                            email=f"{email}@example.com")
            logins.append((username, password, "agent"))
    for position, (key, label, kind, options) in enumerate(FIELDS, start=10):
        if not CustomFieldDef.select().where(CustomFieldDef.key == key).exists():
            org.save_custom_field(SYSTEM, key, label, kind, options, position=position)
    code, username = FINANCE_LEAD
    lead = User.get_or_none(User.username == username)
    d = Department.get_or_none(Department.code == code)
    if lead is not None and d is not None and d.lead_id is None:
        org.save_department(SYSTEM, d.code, d.name, d.name_en, d.active, department_id=d.id,
                            lead_id=lead.id)
    return process_defs.install_examples(SYSTEM)
