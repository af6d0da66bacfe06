"""The reports dashboard for supervisors (their department) and administrators (all):
figure tiles, charts of the series (webapp/static/charts.js draws Chart.js charts from
JSON; each chart has a data table beside it), drill-down to the tickets behind a figure or
a bar, and CSV/XLSX exports (POST: each export is an audit event). The figures are
services.reports'; the exports services.reports_export's (docs/reports.md)."""
from __future__ import annotations

import datetime as dt

from flask import Response, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import ValidationError
from appliance.services import reports, reports_export
from webapp.filters import CHANNEL_LABELS
from webapp.messages import translate
from webapp.views.agent_common import actor, bp, form_choices

FILTER_KEYS = ("from", "to", "department", "channel", "agent", "category")
PER_PAGE = 50


def _raw(source) -> dict:
    return {k: (source.get(k) or "").strip() for k in FILTER_KEYS}


def field_label(name: str) -> str:
    return {"from": _("From"), "to": _("To"), "department": _("Department"),
            "channel": _("Channel"), "agent": _("Agent"), "category": _("Category"),
            "format": _("Format"), "metric": _("Figure"), "bucket": _("Bucket"),
            "page": _("Page")}.get(name, name)


def field_messages(fields: dict) -> dict:
    """The service's field errors in the reader's language, the field named."""
    out = {}
    for name, message in fields.items():
        text = str(message)
        if "before" in text or "revers" in text:
            out[name] = _("The end date must not be before the start date.")
        elif "at most" in text and "day" in text:
            out[name] = _("The date range is too long.")
        elif "date" in text:
            out[name] = _("Enter a date like 2026-01-31.")
        elif "required" in text or "empty" in text:
            out[name] = _("This field is required.")
        else:
            out[name] = _("This value is not valid.") + " (" + translate(text) + ")"
    return out


def _filter_or_errors(raw: dict):
    try:
        return reports.parse_filter(raw, dt.date.today()), {}
    except ValidationError as exc:
        return None, field_messages(exc.fields)


def filter_args(flt) -> dict:
    """The GET parameters that give this filter again (links to drill-down and back)."""
    return {k: v for k, v in reports_export.filter_detail(flt).items()}


def _choices() -> dict:
    c = form_choices()
    return {"departments": c["departments"], "categories": c["categories"],
            "agents": c["agents"], "channels": CHANNEL_LABELS}


@bp.get("/reports")
def reports_dashboard():
    raw = _raw(request.args)
    flt, errors = _filter_or_errors(raw)
    dash = reports.dashboard(actor(), flt) if flt is not None else None
    if flt is not None:    # show the effective range (the default one included)
        raw.update({"from": flt.date_from.isoformat(), "to": flt.date_to.isoformat()})
    charts = _charts(dash, flt) if dash is not None else []
    # The open backlog is "now", whatever the range: a range without any activity is
    # worth saying even when tickets are open.
    quiet = dash is not None and (dash.empty or all(
        not f.value for f in dash.figures if f.key not in ("backlog",)))
    return render_template("agent/reports.html", dash=dash, raw=raw, errors=errors, quiet=quiet,
                           choices=_choices(), metrics=reports.METRICS, charts=charts,
                           args=filter_args(flt) if flt is not None else {},
                           field_label=field_label), 400 if errors else 200


def _charts(dash, flt) -> list[dict]:
    """One chart per series: its JSON for charts.js and the drill-down link of each bar."""
    args = filter_args(flt)
    out = []
    for s in dash.series:
        metric = reports.METRICS.get(s.key)
        title = translate(metric.label) if metric else s.key
        buckets = list(getattr(s, "buckets", None) or s.labels)   # drill_down's bucket per label
        links = [url_for("agent.reports_drill", metric=s.key, bucket=str(b), **args)
                 for b in buckets]
        out.append({"id": f"chart-{s.key}", "key": s.key, "title": title,
                    "rows": list(zip([str(b) for b in s.labels], s.values, links)),
                    "data": {"type": "line" if s.key.endswith(("_by_day", "_trend")) else "bar",
                             "title": title, "labels": [str(b) for b in s.labels],
                             "values": list(s.values), "links": links}})
    return out


@bp.post("/reports/export")
def reports_export_dashboard():
    raw = _raw(request.form)
    flt, errors = _filter_or_errors(raw)
    if errors:
        raise ValidationError(errors)
    fmt = reports_export.check_format(request.form.get("format", ""))
    return _download(reports_export.export_dashboard(actor(), flt, fmt))


@bp.get("/reports/drill")
def reports_drill():
    raw = _raw(request.args)
    metric, bucket = request.args.get("metric", ""), request.args.get("bucket", "")
    page_no = request.args.get("page", "1")
    flt, errors = _filter_or_errors(raw)
    page = None
    if flt is not None:
        try:
            page = reports.drill_down(actor(), flt, metric, bucket or None,
                                      page=int(page_no) if page_no.isdigit() else 1,
                                      per_page=PER_PAGE)
        except ValidationError as exc:
            errors = field_messages(exc.fields)
    rows = reports_export.ticket_table(actor(), reports_export.ticket_ids(page)) if page else []
    ids = reports_export.ticket_ids(page) if page else []
    return render_template("agent/reports_drill.html", page=page, rows=list(zip(ids, rows)),
                           metric=metric, bucket=bucket, raw=raw, errors=errors,
                           metrics=reports.METRICS, field_label=field_label,
                           args=filter_args(flt) if flt is not None else {}), \
        400 if errors else 200


@bp.post("/reports/drill/export")
def reports_export_drill():
    raw = _raw(request.form)
    flt, errors = _filter_or_errors(raw)
    if errors:
        raise ValidationError(errors)
    fmt = reports_export.check_format(request.form.get("format", ""))
    return _download(reports_export.export_drill(
        actor(), flt, request.form.get("metric", ""), request.form.get("bucket") or None, fmt))


def _download(file) -> Response:
    return Response(file.data, mimetype=file.content_type.split(";")[0], headers={
        "Content-Type": file.content_type,
        "Content-Disposition": f'attachment; filename="{file.filename}"',
        "Cache-Control": "no-store"})


@bp.app_template_filter("report_count")
def report_count(value) -> str:
    """12.0 -> 12 (numerators and denominators are counts)."""
    if value is None:
        return "—"
    return f"{int(value):,}" if float(value).is_integer() else f"{float(value):,.1f}"


@bp.app_template_filter("report_value")
def report_value(value, unit: str = "") -> str:
    """A figure in its unit: 1 h 05 min, 87.5 %, 1,234."""
    if value is None:
        return "—"
    unit = (unit or "").lower()
    if unit in ("s", "sec", "seconds", "second"):
        minutes = int(round(float(value) / 60))
        return _("%(h)s h %(m)02d min", h=minutes // 60, m=minutes % 60) if minutes >= 60 \
            else _("%(m)s min", m=minutes)
    if unit in ("min", "minutes"):
        return report_value(float(value) * 60, "s")
    if unit in ("h", "hours"):
        return report_value(float(value) * 3600, "s")
    if unit in ("ratio", "share", "fraction"):
        return f"{float(value) * 100:.1f} %"
    if unit in ("%", "percent", "pct"):
        return f"{float(value):.1f} %"
    if unit == "score":
        return f"{float(value):.1f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)
