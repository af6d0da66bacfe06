"""CSV and XLSX files of the reports dashboard (its figures and series) and of a drill-down
ticket list (docs/decisions/0041, docs/reports.md).

- CSV is UTF-8 with a byte-order mark (Excel otherwise reads Chinese as mojibake), and
  every cell that a spreadsheet would run as a formula (= + - @ tab CR first) gets a
  leading apostrophe; XLSX cells are written as text cells, never as formulas.
- Customer name, phone and e-mail in a ticket list follow the reader's masking (the same
  rule as the screens: rules.access.sees_pii); a masked reader also gets the subject with
  numbers and addresses masked and the name shortened to its first character.
- Every export is an audit event (report.exported) with the kind, format, filter and row
  count, never the data, recorded before the file is returned.
Permission checks are the reports service's (dashboard / drill_down raise PermissionDenied).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from appliance.errors import ValidationError
from appliance.models import Department, Ticket, User
from appliance.rules.access import Actor
from appliance.rules.pii import mask_contact, mask_pii
from appliance.services import audit, contacts, customer_names, reports
from appliance.services.customers import full_contact_ids

FORMATS = ("csv", "xlsx")
MAX_ROWS = 10_000          # a drill-down export; the page says when a list was cut
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
DASHBOARD_COLUMNS = ("section", "key", "label", "bucket", "value", "unit", "numerator",
                     "denominator")
TICKET_COLUMNS = ("number", "subject", "status", "channel", "department", "agent",
                  "created_at", "customer", "customer_phone", "customer_email")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    data: bytes
    rows: int


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationError({"format": "must be csv or xlsx"})
    return fmt


def filter_detail(flt) -> dict:
    """The filter as the audit record and file names show it (ids and dates only)."""
    out = {"from": flt.date_from.isoformat(), "to": flt.date_to.isoformat()}
    for key, attr in (("department", "department_id"), ("channel", "channel"),
                      ("agent", "agent_id"), ("category", "category_id")):
        value = getattr(flt, attr, None)
        if value not in (None, ""):
            out[key] = value
    return out


# -- the tables ---------------------------------------------------------------------------

def dashboard_table(dash) -> list[list]:
    """One row per figure, then one per series bucket (value rows the charts draw)."""
    rows = []
    for f in dash.figures:
        label = reports.METRICS[f.key].label if f.key in reports.METRICS else f.key
        rows.append(["figure", f.key, label, "", _num(f.value), f.unit, _num(f.numerator),
                     _num(f.denominator)])
    for s in dash.series:
        label = reports.METRICS[s.key].label if s.key in reports.METRICS else s.key
        for bucket, value in zip(s.labels, s.values):
            rows.append(["series", s.key, label, bucket, _num(value), "", None, None])
    return rows


def _num(value):
    """2.0 -> 2, 87.512345 -> 87.5123: what a spreadsheet reader expects to see."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 4)
    return value


def ticket_ids(page) -> list[int]:
    """The ticket ids of a drill-down page (reports.DrillPage), in its order."""
    return list(page.ticket_ids) if page is not None else []


def ticket_table(actor: Actor, ids: list[int]) -> list[list]:
    """The tickets (already scoped by drill_down) in the given order, PII per the reader."""
    if not ids:
        return []
    tickets = {t.id: t for t in Ticket.select().where(Ticket.id.in_(ids))}
    names = _names(tickets.values())
    customer_ids = sorted({t.customer_id for t in tickets.values() if t.customer_id})
    full = full_contact_ids(actor, customer_ids)
    reach = _reach(customer_ids)
    rows = []
    for tid in ids:
        t = tickets.get(tid)
        if t is None:
            continue
        shown = t.customer_id in full
        cust = names["customer"].get(t.customer_id, "")
        phone, email = reach.get(t.customer_id, ("", ""))
        rows.append([t.number, t.subject if shown or not t.customer_id else mask_pii(t.subject),
                     t.status, t.channel, names["department"].get(t.department_id, ""),
                     names["user"].get(t.assignee_id, ""), t.created_at,
                     cust if shown else mask_name(cust),
                     phone if shown or not phone else mask_contact("phone", phone),
                     email if shown or not email else mask_contact("email", email)])
    return rows


def mask_name(name: str) -> str:
    """王** / J*** : a person's name for a reader who sees contacts masked."""
    return f"{name[:1]}{'*' * min(max(len(name) - 1, 1), 3)}" if name else ""


def _names(tickets) -> dict[str, dict]:
    def ids(attr):
        return sorted({getattr(t, attr) for t in tickets if getattr(t, attr)})
    out = {"department": {}, "user": {}, "customer": {}}
    if ids("department_id"):
        out["department"] = {d.id: d.name for d in Department.select().where(
            Department.id.in_(ids("department_id")))}
    if ids("assignee_id"):
        out["user"] = {u.id: u.display_name for u in User.select(User.id, User.display_name)
                       .where(User.id.in_(ids("assignee_id")))}
    if ids("customer_id"):
        out["customer"] = customer_names.names(ids("customer_id"))
    return out


def _reach(customer_ids: list[int]) -> dict[int, tuple[str, str]]:
    """(first phone, first e-mail) of each customer, decrypted."""
    out: dict[int, list[str]] = {}
    for c in contacts.of_customers(customer_ids):
        slot = out.setdefault(c.customer_id, ["", ""])
        i = 0 if c.kind == "phone" else 1 if c.kind == "email" else None
        if i is not None and not slot[i]:
            slot[i] = c.value
    return {k: (v[0], v[1]) for k, v in out.items()}


# -- the files ----------------------------------------------------------------------------

def guard(value) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    text = _text(value)
    return "'" + text if text[:1] in _FORMULA_START else text


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_csv(columns, rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([guard(v) for v in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(title: str, columns, rows) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31] or "report")
    ws.append(list(columns))

    def cell(value):
        if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return value
        # Control characters are not allowed in XLSX: dropped.
        text = ILLEGAL_CHARACTERS_RE.sub("", _text(value))
        if not text.startswith("="):
            return text                 # openpyxl writes any other str as a text cell
        c = WriteOnlyCell(ws, value=None)
        c.value, c.data_type = text, "s"   # a text cell, never a formula
        return c

    for r in rows:
        ws.append([cell(v) for v in r])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def make_file(stem: str, fmt: str, columns, rows) -> ExportFile:
    data = to_csv(columns, rows) if fmt == "csv" else to_xlsx(stem, columns, rows)
    return ExportFile(f"{stem}.{fmt}", CONTENT_TYPES[fmt], data, len(rows))


def _stem(kind: str, flt) -> str:
    return f"gongdan-{kind}-{flt.date_from.isoformat()}-{flt.date_to.isoformat()}"


# -- the exports (audited) ----------------------------------------------------------------

def export_dashboard(actor: Actor, flt, fmt: str, *, via: str = "web") -> ExportFile:
    check_format(fmt)
    dash = reports.dashboard(actor, flt)          # scopes and checks report.view
    rows = dashboard_table(dash)
    _audit(actor, "dashboard", fmt, flt, len(rows), via=via)
    return make_file(_stem("report", flt), fmt, DASHBOARD_COLUMNS, rows)


def export_drill(actor: Actor, flt, metric: str, bucket: str | None, fmt: str) -> ExportFile:
    """Every ticket of the drill-down (up to MAX_ROWS), page by page through drill_down
    (which scopes them to what the reader may open)."""
    check_format(fmt)
    ids: list[int] = []
    page_no, size = 1, reports.MAX_PER_PAGE
    while len(ids) < MAX_ROWS:
        page = reports.drill_down(actor, flt, metric, bucket, page=page_no, per_page=size)
        ids += ticket_ids(page)
        if page_no >= page.pages:
            break
        page_no += 1
    rows = ticket_table(actor, ids[:MAX_ROWS])
    _audit(actor, "tickets", fmt, flt, len(rows), metric=metric, bucket=bucket)
    return make_file(_stem(f"{metric}-tickets", flt), fmt, TICKET_COLUMNS, rows)


def _audit(actor: Actor, kind: str, fmt: str, flt, rows: int, **extra) -> None:
    detail = {"kind": kind, "format": fmt, "filter": filter_detail(flt), "rows": rows}
    detail.update({k: v for k, v in extra.items() if v not in (None, "")})
    audit.record("report.exported", actor_id=actor.user_id, object_type="report",
                 object_id=kind, detail=detail)
